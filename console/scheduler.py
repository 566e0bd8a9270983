"""Timers: APScheduler 3.x in each instance, with its in-memory job store only.

Jobs here must be safe to run in every instance at once (APScheduler runs each job once per
process); anything that must happen once is claimed in PostgreSQL by the job itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from console import booking_actions
from console.db import Database, unavailable
from dispatch.sessions import SessionPolicy

log = logging.getLogger("seus.scheduler")


async def purge_sessions(db: Database, policy: SessionPolicy) -> int:
    """Forget sessions that ended more than a day ago (idempotent: any instance may run it)."""
    now = datetime.now(UTC)
    status: str = await db.pool.execute(
        "DELETE FROM sessions WHERE revoked_at < $1 - interval '1 day'"
        " OR created_at < $1 - $2::interval - interval '1 day'"
        " OR last_seen_at < $1 - $3::interval - interval '1 day'",
        now,
        policy.absolute,
        policy.idle,
    )
    purged = int(status.split()[-1])
    if purged:
        log.info("purged ended sessions", extra={"count": purged})
    return purged


IDEMPOTENCY_RETENTION = timedelta(days=7)


async def purge_idempotency_keys(db: Database, now: datetime | None = None) -> int:
    """Forget idempotency keys older than a week: a client resends within minutes, not days."""
    status: str = await db.pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        (now or datetime.now(UTC)) - IDEMPOTENCY_RETENTION,
    )
    return int(status.split()[-1])


def _through_outages(job: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """A job that meets PostgreSQL unavailable logs a warning and waits for its next run (an
    error with a trace is for bugs)."""

    @functools.wraps(job)
    async def run(*args: Any) -> Any:
        try:
            return await job(*args)
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning(
                "%s: PostgreSQL unavailable, retrying at the next run",
                job.__name__,
                extra={"error": repr(exc)},
            )
            return None

    return run


def start(db: Database, policy: SessionPolicy) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _through_outages(purge_sessions),
        "interval",
        minutes=10,
        args=[db, policy],
        id="purge_sessions",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        _through_outages(purge_idempotency_keys),
        "interval",
        hours=1,
        args=[db],
        id="purge_idempotency_keys",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        _through_outages(booking_actions.expire_holds),
        "interval",
        seconds=15,
        args=[db],
        id="expire_holds",
        coalesce=True,
        max_instances=1,
    )
    scheduler.start()
    return scheduler
