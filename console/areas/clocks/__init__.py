"""SLA clocks: moved by every action's events, fired once when due, escalated on breach; the
policies."""

from __future__ import annotations

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from starlette.routing import BaseRoute

from console.lib import api as operations
from console.lib.db import BeforeCommit, Database
from console.lib.hub import Hub


def routes() -> list[BaseRoute]:
    """The clocks area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.clocks import api, pages

    return [*operations.routes(api), *pages.ROUTES]


def before_commit() -> list[BeforeCommit]:
    """The clocks move with the workflow, in each action's own transaction."""
    from console.areas.clocks import actions

    return [actions.track]


def watch(db: Database, hub: Hub, timers: AsyncIOScheduler) -> None:
    """Fire each clock once when it is due: woken by the timers at the next deadline and by
    every instance's clock events."""
    from console.areas.clocks import actions

    runner = actions.Runner(db, timers)
    hub.watchers.append(runner.observe)
    runner.start()
