"""What a running instance holds: settings, database, Redis, live feed, limiter."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis
from starlette.requests import HTTPConnection

from console.lib.bus import Bus
from console.lib.config import Settings
from console.lib.db import Database
from console.lib.hub import Hub
from console.lib.ratelimit import LoginLimiter


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
