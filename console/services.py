"""What a running instance holds: settings, database, Redis, live feed, limiter."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection

from console.bus import Bus
from console.config import Settings
from console.db import Database
from console.hub import Hub
from console.ratelimit import LoginLimiter


@dataclass
class Services:
    settings: Settings
    db: Database
    redis: aioredis.Redis
    hub: Hub
    bus: Bus
    limiter: LoginLimiter


def of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services
