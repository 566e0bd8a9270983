"""resume_ms: a console that missed E events until it has them all.

E room messages are written while the client is away, through the product's own action
(`Database.action`, as `console/areas/room/api.py` does; 100 messages per action). Then the client
connects to `/ws?after=<the seq it last saw>` with an operator's session and is timed from the
start of the connection until the event with the last seq arrived. The instances run with
`SEUS_BACKFILL_LIMIT` raised (bench/__main__.py) so this is a real backfill read from
PostgreSQL, not a snapshot; the client checks it got every seq, once, in order.

Baseline: `SELECT seq, type, subject, zone, audience, payload, actor, at FROM events
WHERE seq > $1 ORDER BY seq` with plain asyncpg on an open connection (jsonb decoded as the
console's pool does). Each is run 3 times; the median counts.
"""

from __future__ import annotations

import json
import statistics
import time

import asyncpg
from websockets.asyncio.client import connect

from bench.common import Figure, Run
from console.app import database
from console.lib import auth
from console.lib.db import create_pool
from dispatch import access, events

PER_ACTION = 100
TRIES = 3


async def _write(run: Run, count: int) -> tuple[int, int]:
    author = run.operators[-1]
    principal = access.Principal(
        role=access.Role.OPERATOR, name="Operatore bench", user_id=author.user_id
    )
    pool = await create_pool(run.dsn, min_size=1, max_size=2)
    try:
        db = database(pool)  # no listeners: the instances learn of it by polling, as after a gap
        first = last = 0
        for start in range(0, count, PER_ACTION):
            async with db.action() as tx:
                for i in range(start, min(count, start + PER_ACTION)):
                    body = f"Messaggio {i} scritto mentre la console era assente."
                    message_id = await tx.conn.fetchval(
                        "INSERT INTO room_messages (body, author_id, posted_at)"
                        " VALUES ($1, $2, $3) RETURNING id",
                        body,
                        author.user_id,
                        tx.now,
                    )
                    tx.emit(events.room_message_posted(message_id, body, principal))
            first = first or tx.logged[0].seq
            last = tx.logged[-1].seq
    finally:
        await pool.close()
    return first, last


async def _ours(run: Run, after: int, last: int, count: int) -> float:
    console = run.consoles[0]
    operator = run.operators[0]
    headers = {"Origin": console.origin, "Cookie": f"{auth.SESSION_COOKIE}={operator.cookie}"}
    began = time.perf_counter()
    async with connect(
        f"{console.ws_url}?after={after}", additional_headers=headers, max_size=None
    ) as ws:
        seqs: list[int] = []
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "snapshot":
                run.check(False, "resume: got a snapshot instead of a backfill")
                break
            if message["type"] == "event":
                seqs.append(message["seq"])
                if message["seq"] >= last:
                    break
        elapsed = time.perf_counter() - began
    run.check(
        seqs == list(range(after + 1, last + 1)),
        f"resume: got {len(seqs)} events, expected {count} in order",
    )
    return elapsed * 1000


async def _baseline(run: Run, after: int, count: int) -> float:
    conn = await asyncpg.connect(run.dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        began = time.perf_counter()
        rows = await conn.fetch(
            "SELECT seq, type, subject, zone, audience, payload, actor, at FROM events"
            " WHERE seq > $1 ORDER BY seq",
            after,
        )
        elapsed = time.perf_counter() - began
    finally:
        await conn.close()
    run.check(len(rows) == count, f"resume baseline: {len(rows)} rows of {count}")
    return elapsed * 1000


async def measure(run: Run) -> list[Figure]:
    count = run.sizes.resume_events
    first, last = await _write(run, count)
    after = first - 1
    run.check(last - after == count, f"resume: other events interleaved ({last - after})")
    ours = statistics.median([await _ours(run, after, last, count) for _ in range(TRIES)])
    base = statistics.median([await _baseline(run, after, count) for _ in range(TRIES)])
    return [
        Figure(
            "resume_ms",
            ours,
            base,
            "ms",
            "ratio <= 3",
            ours <= 3 * base,
            f"{count} missed events; ours from connect to the last event, median of {TRIES}",
        )
    ]
