"""PostgreSQL: the pool, and the transaction of one action with its events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg

from console.lib import eventlog
from dispatch.events import Event, NewEvent

CommitListener = Callable[[Sequence[Event]], None]


async def init_connection(conn: asyncpg.Connection) -> None:
    """What every connection of the console's pool is set up with (jsonb as Python values)."""
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# How long a request may wait on PostgreSQL. A server that is stopped answers at once (refused);
# one that is frozen or unreachable does not answer at all: these bound every wait, so the
# request fails with 503 in a few seconds instead of hanging (docs/operations.md).
CONNECT_TIMEOUT = 3.0  # opening a connection
ACQUIRE_TIMEOUT = 3.0  # waiting for a pooled connection, opening it included
COMMAND_TIMEOUT = 5.0  # one statement (BEGIN and COMMIT included)
RETRY_AFTER_SECONDS = 2  # what a client is told to wait while PostgreSQL is unavailable

# What PostgreSQL being away (stopped, restarting, in recovery, frozen, unreachable) looks like.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OSError,  # refused, reset, no socket file; TimeoutError (connect, acquire, statement) too
    asyncpg.PostgresConnectionError,  # 08xxx: the connection was lost in the middle of a call
    asyncpg.OperatorInterventionError,  # 57xxx: shutting down, starting up, in recovery
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
)


def unavailable(exc: BaseException) -> bool:
    """True when `exc` says PostgreSQL cannot be reached now (worth a 503 and a retry), not
    that the code asked something wrong of it."""
    if isinstance(exc, asyncpg.InterfaceError):
        return type(exc) is asyncpg.InterfaceError  # its subclasses are bad arguments or config
    return isinstance(exc, OUTAGE_ERRORS)


class _Transaction(asyncpg.transaction.Transaction):
    """A transaction that does not ask a server that is away to roll it back.

    After a statement failed because PostgreSQL is away (a timeout, a dropped connection), the
    ROLLBACK on leaving the block would wait out the statement timeout once more; the
    connection is dropped instead (PostgreSQL rolls back a transaction whose connection ends)
    and leaving the block raises asyncpg's "connection is closed", an outage error too.
    """

    async def __aexit__(self, extype: Any, ex: BaseException | None, tb: Any) -> None:
        if ex is not None and (unavailable(ex) or isinstance(ex, asyncio.CancelledError)):
            self._connection.terminate()  # (cancelled: the statement's state is unknown too)
        await super().__aexit__(extype, ex, tb)


class Connection(asyncpg.Connection):
    def get_reset_query(self) -> str:
        """Nothing to reset when a connection goes back to the pool, so no round trip for it:
        the console leaves no session state on pooled connections (no SET, LISTEN, cursors or
        session-level advisory locks; migrations use a connection of their own), and asyncpg
        rolls back a transaction left open whatever this returns."""
        return ""

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> asyncpg.transaction.Transaction:
        self._check_open()
        return _Transaction(self, isolation, readonly, deferrable)


class Pool(asyncpg.Pool):
    """asyncpg's pool with a bounded wait for a connection by default, and no waiting on a
    server that let a statement time out.

    asyncpg waits forever for a pooled connection unless told otherwise, and after a statement
    timed out it holds the connection until PostgreSQL confirms the cancellation, which a frozen
    server never does: the request would hang past its own timeout.
    """

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)

    async def release(
        self,
        connection: Any,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (asyncpg's own signature)
    ) -> None:
        raw = getattr(connection, "_con", None)
        cancelling = getattr(getattr(raw, "_protocol", None), "_is_cancelling", None)
        if raw is not None and cancelling is not None and cancelling():
            # A statement was cut short (timeout, cancelled request): the connection's state is
            # unknown and the server may not be answering. Drop it; the pool opens a new one.
            # (asyncpg has no public way to tell: should its internals change, release falls
            # back to asyncpg's own wait, bounded by the acquire timeout.)
            raw.terminate()
        await super().release(connection, timeout=timeout)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    acquire_timeout: float = ACQUIRE_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
) -> asyncpg.Pool:
    pool = Pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        init=init_connection,
        loop=None,
        connection_class=Connection,
        record_class=asyncpg.Record,
        acquire_timeout=acquire_timeout,
        command_timeout=command_timeout,
        timeout=CONNECT_TIMEOUT,
        server_settings={"application_name": "seus-console"},
    )
    await pool
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


BeforeCommit = Callable[[Tx], Awaitable[None]]


class Database:
    """The pool, what every action's transaction does before it commits (the areas' hooks, given
    by `console.app` when it composes them: the clocks move with the workflow) and what must
    happen after every commit (local delivery, Redis fan-out)."""

    def __init__(self, pool: asyncpg.Pool, before_commit: Sequence[BeforeCommit] = ()) -> None:
        self.pool = pool
        self.before_commit = tuple(before_commit)
        self.listeners: list[CommitListener] = []

    @asynccontextmanager
    async def action(self, now: datetime | None = None) -> AsyncIterator[Tx]:
        """Run one use case: rows, the hooks' work and events commit together, then are
        published."""
        async with self.pool.acquire() as conn, conn.transaction():
            tx = Tx(conn=conn, now=now or datetime.now(UTC))
            yield tx
            for hook in self.before_commit:
                await hook(tx)
            tx.logged = await eventlog.append(conn, tx.pending, tx.now)
        if tx.logged:
            for listener in self.listeners:
                listener(tx.logged)
