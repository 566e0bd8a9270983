"""queue_page_p95_ms: the operator's queue with Q open referrals.

The queue is rendered by `GET /api/v1/queue` (console/areas/assessment/reads.py: the `/coda` page is
a shell whose script reads that call), so ours is that call: the earlier figures' referrals are
closed, Q open referrals are written (urgencies, places and waiting times varied), and an operator's
session requests the queue R times in a row; the time is the client-observed latency on loopback
(the console sends no Server-Timing header), p95.

Baseline: the same response rendered in-process with the data already in memory: the
`QueueOut` the console built (read once with console.areas.assessment.reads.read_queue)
serialised as the console does (`console/lib/api.py`: pydantic's `model_dump_json`), R times,
p95.
"""

from __future__ import annotations

import time

import asyncpg
import httpx

from bench import stats
from bench.common import Figure, Run, insert_referrals, quiesce
from console.areas.assessment.reads import read_queue
from console.lib import auth
from console.lib.db import create_pool

WARMUP = 3


async def measure(run: Run) -> list[Figure]:
    q, r = run.sizes.queue_open, run.sizes.queue_requests
    conn = await asyncpg.connect(run.dsn)
    try:
        await quiesce(conn)
        await insert_referrals(
            conn, q, status="received", referrer_id=run.referrer_id, tag=f"q{run.tag}"
        )
    finally:
        await conn.close()
    console = run.consoles[0]
    operator = run.operators[0]
    ours: list[float] = []
    async with httpx.AsyncClient(
        base_url=console.url, cookies={auth.SESSION_COOKIE: operator.cookie}, timeout=30
    ) as client:
        for i in range(WARMUP + r):
            began = time.perf_counter()
            answer = await client.get("/api/v1/queue")
            elapsed = (time.perf_counter() - began) * 1000
            if i == 0:
                entries = len(answer.json()["entries"]) if answer.status_code == 200 else -1
                run.check(entries == q, f"queue: {entries} entries, expected {q}")
            if i >= WARMUP:
                ours.append(elapsed)
    pool = await create_pool(run.dsn, min_size=1, max_size=1)
    try:
        queue = await read_queue(pool)
    finally:
        await pool.close()
    base: list[float] = []
    for i in range(WARMUP + r):
        began = time.perf_counter()
        rendered = queue.model_dump_json().encode()
        if i >= WARMUP:
            base.append((time.perf_counter() - began) * 1000)
    run.check(len(rendered) > q, "queue baseline: nothing rendered")
    p_ours, p_base = stats.percentile(ours, 95), stats.percentile(base, 95)
    return [
        Figure(
            "queue_page_p95_ms",
            p_ours,
            p_base,
            "ms",
            "ratio <= 2",
            p_ours <= 2 * p_base,
            f"GET /api/v1/queue, {q} open referrals, {r} requests; ours client-observed on"
            " loopback",
        )
    ]
