"""The event log hands out seqs in commit order: a reader tailing it never skips one.

A client resumes "after its last seq", so the log must never show seq n+1 before seq n is
committed (the reader would move past n and miss it forever), and a rolled-back action must not
leave a hole. These tests tail the log exactly as a resuming client does.
"""

from __future__ import annotations

import asyncio
import json
import random
from datetime import UTC, datetime

import asyncpg

from console.lib import eventlog
from console.lib.db import Database
from dispatch.events import NewEvent

WRITERS = 30
ACTIONS_PER_WRITER = 10
WRITES_TABLE = "CREATE TABLE writes (id bigserial PRIMARY KEY, writer int NOT NULL)"


class Refused(Exception):
    """An action that fails after writing: its transaction rolls back."""


def new_events(n: int, writer: int) -> list[NewEvent]:
    return [
        NewEvent(type="test.happened", subject=f"writer:{writer}", audience=frozenset({"room"}))
        for _ in range(n)
    ]


async def head(db: Database) -> int:
    return await eventlog.head(db.pool)


async def tail(conn: asyncpg.Connection, after: int) -> list[int]:
    """What a resuming client asks for: every seq after its cursor, in order."""
    rows = await conn.fetch("SELECT seq FROM events WHERE seq > $1 ORDER BY seq", after)
    return [r["seq"] for r in rows]


async def wait_until_blocked_on_a_lock(db: Database, pid: int) -> None:
    """Wait (bounded) until backend `pid` is waiting for a lock held by another transaction."""

    async def blocked() -> None:
        while (
            await db.pool.fetchval(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pid
            )
            != "Lock"
        ):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(blocked(), 5)


async def test_a_reader_tailing_the_log_under_concurrent_writers_sees_every_seq_once_in_order(
    db: Database,
):
    await db.pool.execute(WRITES_TABLE)
    rng = random.Random(20240611)
    committed_events = 0
    rolled_back = 0
    writers_done = asyncio.Event()

    async def act_through_database_action(writer: int, count: int, fail: bool) -> None:
        # The use-case path: rows and events in one transaction; the pause is inside it.
        async with db.action() as tx:
            await tx.conn.execute("INSERT INTO writes (writer) VALUES ($1)", writer)
            tx.emit(*new_events(count, writer))
            await asyncio.sleep(rng.uniform(0, 0.02))
            if fail:
                raise Refused

    async def act_holding_seqs_before_commit(writer: int, count: int, fail: bool) -> None:
        # The widest window: seqs already allocated, the transaction still open.
        async with db.pool.acquire() as conn, conn.transaction():
            await conn.execute("INSERT INTO writes (writer) VALUES ($1)", writer)
            await eventlog.append(conn, new_events(count, writer), datetime.now(UTC))
            await asyncio.sleep(rng.uniform(0, 0.02))
            if fail:
                raise Refused

    async def writer(index: int) -> None:
        nonlocal committed_events, rolled_back
        act = act_through_database_action if index % 2 else act_holding_seqs_before_commit
        for _ in range(ACTIONS_PER_WRITER):
            count = rng.randint(1, 3)
            fail = rng.random() < 0.2
            try:
                await act(index, count, fail)
            except Refused:
                rolled_back += 1
            else:
                committed_events += count

    async def reader() -> tuple[list[int], int]:
        seen: list[int] = []
        reads_with_news = 0
        async with db.pool.acquire() as conn:
            while True:
                finished = writers_done.is_set()  # before reading: nothing commits after this
                news = await tail(conn, seen[-1] if seen else 0)
                if news:
                    reads_with_news += 1
                    seen.extend(news)
                elif finished:
                    return seen, reads_with_news
                await asyncio.sleep(0.001)

    async def all_writers() -> None:
        await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        writers_done.set()

    (seen, reads_with_news), _ = await asyncio.wait_for(asyncio.gather(reader(), all_writers()), 30)

    assert rolled_back > 0, "the run should include rolled-back actions"
    assert reads_with_news > 10, "the reader should have tailed the log while it was written"
    assert seen == list(range(1, committed_events + 1))
    assert await head(db) == committed_events
    assert await db.pool.fetchval("SELECT count(*) FROM events") == committed_events
    assert await db.pool.fetchval("SELECT count(*) FROM writes") == (
        WRITERS * ACTIONS_PER_WRITER - rolled_back
    )


async def test_a_plain_sequence_lets_a_tailing_reader_skip_an_event_for_ever(db: Database):
    # Why the log does not use bigserial: nextval() is handed out at insert time, not at commit.
    await db.pool.execute("CREATE TABLE naive_events (seq bigserial PRIMARY KEY)")
    async with db.pool.acquire() as a, db.pool.acquire() as b, db.pool.acquire() as reader:
        tx_a = a.transaction()
        await tx_a.start()
        first = await a.fetchval("INSERT INTO naive_events DEFAULT VALUES RETURNING seq")
        async with b.transaction():
            second = await b.fetchval("INSERT INTO naive_events DEFAULT VALUES RETURNING seq")
        assert (first, second) == (1, 2)

        seen = [r["seq"] for r in await reader.fetch("SELECT seq FROM naive_events ORDER BY seq")]
        await tx_a.commit()
        seen += [
            r["seq"]
            for r in await reader.fetch(
                "SELECT seq FROM naive_events WHERE seq > $1 ORDER BY seq", seen[-1]
            )
        ]

    assert seen == [2], "the reader saw 2 before 1 was committed and moved past 1"
    assert [r["seq"] for r in await db.pool.fetch("SELECT seq FROM naive_events")] == [1, 2]


async def test_a_second_writer_waits_for_the_first_to_commit_so_the_reader_misses_nothing(
    db: Database,
):
    # The same interleaving as above, through the event log.
    now = datetime.now(UTC)
    async with db.pool.acquire() as a, db.pool.acquire() as b, db.pool.acquire() as reader:
        tx_a = a.transaction()
        await tx_a.start()
        [from_a] = await eventlog.append(a, new_events(1, 1), now)

        async def second_writer() -> int:
            async with b.transaction():
                [from_b] = await eventlog.append(b, new_events(1, 2), now)
            return from_b.seq

        b_task = asyncio.create_task(second_writer())
        await wait_until_blocked_on_a_lock(db, b.get_server_pid())
        seen = await tail(reader, 0)
        assert seen == [], "nothing is visible while the first writer is open"

        await tx_a.commit()
        b_seq = await asyncio.wait_for(b_task, 5)
        seen += await tail(reader, 0)

    assert (from_a.seq, b_seq) == (1, 2)
    assert seen == [1, 2]


async def test_events_of_an_action_that_raises_are_not_in_the_log_and_the_head_does_not_move(
    db: Database,
):
    await db.pool.execute(WRITES_TABLE)
    heard: list[object] = []
    db.listeners.append(heard.append)
    async with db.action() as tx:
        tx.emit(*new_events(2, 1))
    assert await head(db) == 2

    try:
        async with db.action() as tx:
            await tx.conn.execute("INSERT INTO writes (writer) VALUES (2)")
            tx.emit(*new_events(3, 2))
            raise Refused
    except Refused:
        pass

    assert await head(db) == 2
    assert [r["seq"] for r in await db.pool.fetch("SELECT seq FROM events ORDER BY seq")] == [1, 2]
    assert await db.pool.fetchval("SELECT count(*) FROM writes") == 0, "nor is its row"
    assert len(heard) == 1, "only the committed action is published"


async def test_a_rolled_back_writer_gives_its_seqs_back_to_the_next_one(db: Database):
    now = datetime.now(UTC)
    async with db.pool.acquire() as a, db.pool.acquire() as b:
        tx_a = a.transaction()
        await tx_a.start()
        taken = await eventlog.append(a, new_events(3, 1), now)
        assert [e.seq for e in taken] == [1, 2, 3]

        async def second_writer() -> list[int]:
            async with b.transaction():
                return [e.seq for e in await eventlog.append(b, new_events(2, 2), now)]

        b_task = asyncio.create_task(second_writer())
        await wait_until_blocked_on_a_lock(db, b.get_server_pid())
        await tx_a.rollback()
        assert await asyncio.wait_for(b_task, 5) == [1, 2]

    assert await head(db) == 2
    assert [r["seq"] for r in await db.pool.fetch("SELECT seq FROM events ORDER BY seq")] == [1, 2]


async def test_the_backfill_sends_each_event_as_the_same_message_the_live_feed_sends(
    db: Database,
):
    """The backfill builds its messages from the stored text (no decode and re-encode): they
    must say exactly what the live feed's messages say, whatever the payload holds."""
    payloads = [
        {},
        {"body": 'Città di Castello: «Sì» \u2014 emoji 🚑, RTL \u200f, \\ " \n'},
        {"nested": {"list": [1, 2.5, True, None, "x"], "deep": {"a": {"b": []}}}},
        {"big": 2**62, "neg": -1, "zero": 0.0},
    ]
    async with db.action(datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)) as tx:
        tx.emit(
            *(
                NewEvent(
                    type="test.happened",
                    subject=f"thing:{i}",
                    audience=frozenset({"room", "unit:1"}),
                    payload=payload,
                    actor="user:1" if i % 2 else None,
                    zone="firenze" if i % 2 else None,
                )
                for i, payload in enumerate(payloads)
            )
        )
    async with db.action(datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)) as tx:
        tx.emit(NewEvent(type="test.later", subject="thing:9", audience=frozenset({"room"})))
    live = {e.seq: json.loads(eventlog.wire(e)) for e in await eventlog.read_range(db.pool, 0, 99)}
    backfill = await eventlog.read_visible_wire(db.pool, 0, frozenset({"room"}), 100)
    assert [seq for seq, _ in backfill] == sorted(live)
    for seq, message in backfill:
        assert json.loads(message) == live[seq]
    assert await eventlog.read_visible_wire(db.pool, 0, frozenset({"unit:2"}), 100) == []
