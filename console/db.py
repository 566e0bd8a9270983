"""PostgreSQL: the pool, and the transaction of one action with its events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from console import clockwork, eventlog
from dispatch.events import Event, NewEvent

CommitListener = Callable[[Sequence[Event]], None]


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=10,
        server_settings={"application_name": "seus-console"},
    )
    return pool


@dataclass
class Tx:
    """One action's transaction: its connection, its clock, and the events it records."""

    conn: asyncpg.Connection
    now: datetime
    pending: list[NewEvent] = field(default_factory=list)
    logged: list[Event] = field(default_factory=list)

    def emit(self, *events: NewEvent) -> None:
        self.pending.extend(events)


class Database:
    """The pool plus what must happen after every commit (local delivery, Redis fan-out)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.listeners: list[CommitListener] = []

    @asynccontextmanager
    async def action(self, now: datetime | None = None) -> AsyncIterator[Tx]:
        """Run one use case: rows, clocks and events commit together, then are published."""
        async with self.pool.acquire(timeout=5) as conn, conn.transaction():
            tx = Tx(conn=conn, now=now or datetime.now(UTC))
            yield tx
            await clockwork.track(tx)  # the clocks move with the workflow, in this transaction
            tx.logged = await eventlog.append(conn, tx.pending, tx.now)
        if tx.logged:
            for listener in self.listeners:
                listener(tx.logged)
