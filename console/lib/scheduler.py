"""Timers: APScheduler 3.x in each instance, with its in-memory job store only.

Jobs here must be safe to run in every instance at once (APScheduler runs each job once per
process); anything that must happen once is claimed in PostgreSQL by the job itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from console.lib.db import Database, unavailable

log = logging.getLogger("seus.scheduler")


IDEMPOTENCY_RETENTION = timedelta(days=7)


async def purge_idempotency_keys(db: Database, now: datetime | None = None) -> int:
    """Forget idempotency keys older than a week: a client resends within minutes, not days."""
    status: str = await db.pool.execute(
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        (now or datetime.now(UTC)) - IDEMPOTENCY_RETENTION,
    )
    return int(status.split()[-1])


def _through_outages(
    name: str, job: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    """A job that meets PostgreSQL unavailable logs a warning and waits for its next run (an
    error with a trace is for bugs)."""

    async def run(*args: Any) -> Any:
        try:
            return await job(*args)
        except Exception as exc:
            if not unavailable(exc):
                raise
            log.warning(
                "%s: PostgreSQL unavailable, retrying at the next run",
                name,
                extra={"error": repr(exc)},
            )
            return None

    return run


@dataclass(frozen=True)
class Job:
    """A job an area runs in every instance: `run(db)` every `every`."""

    name: str
    run: Callable[[Database], Awaitable[Any]]
    every: timedelta


def start(db: Database, jobs: Sequence[Job]) -> AsyncIOScheduler:
    """The scheduler of this instance with the platform's job and the areas' `jobs`."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    everything = [Job("purge_idempotency_keys", purge_idempotency_keys, timedelta(hours=1)), *jobs]
    for job in everything:
        scheduler.add_job(
            _through_outages(job.name, job.run),
            "interval",
            seconds=job.every.total_seconds(),
            args=[db],
            id=job.name,
            coalesce=True,
            max_instances=1,
        )
    scheduler.start()
    return scheduler
