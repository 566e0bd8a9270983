"""Field units: the units board, the ranked recommendation, dispatching and recalling a unit."""

from __future__ import annotations

from datetime import timedelta

from starlette.routing import BaseRoute

from console.lib import api as operations
from console.lib.db import Database
from console.lib.scheduler import Job


def routes() -> list[BaseRoute]:
    """The units area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.units import api, pages

    return [*operations.routes(api), *pages.ROUTES]


def jobs(history: timedelta) -> list[Job]:
    """Positions older than `history` are forgotten (each unit's last one stays), every 10
    minutes."""
    from console.areas.units import actions

    async def prune(db: Database) -> int:
        return await actions.prune_positions(db, history)

    return [Job("prune_positions", prune, timedelta(minutes=10))]
