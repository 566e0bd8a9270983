"""Accounts: logging in and out (pages and API), who am I, ended sessions purged."""

from __future__ import annotations

from datetime import timedelta

from starlette.routing import BaseRoute

from console.lib import api as operations
from console.lib.db import Database
from console.lib.scheduler import Job
from dispatch.sessions import SessionPolicy


def routes() -> list[BaseRoute]:
    """The accounts area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.accounts import api, pages

    return [*operations.routes(api), *pages.ROUTES]


def jobs(policy: SessionPolicy) -> list[Job]:
    """Ended sessions are forgotten every ten minutes."""
    from console.areas.accounts import actions

    async def purge_sessions(db: Database) -> int:
        return await actions.purge_sessions(db, policy)

    return [Job("purge_sessions", purge_sessions, timedelta(minutes=10))]
