"""intake_per_s and intake_lost: referrals accepted per second from concurrent referrers.

Ours: `clients` concurrent tasks (one HTTP connection each, alternating the two instances)
send the API's own example referral, each with its own description and Idempotency-Key,
through `POST /api/v1/referrals`; an answer other than 201 (or no answer) is sent again with
the same key, up to 5 times. Rate = referrals / wall time from the first send to the last 201.
Lost = referrals sent minus the rows found afterwards (a duplicate is reported too).

Baseline (the database's ceiling): plain asyncpg, as many connections as clients, each
inserting one row per transaction into a table of the same kind (key, body, time).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import asyncpg
import httpx

from bench.common import Figure, Run, referral_body

RETRIES = 5


async def _ours(run: Run) -> tuple[float, int]:
    count, width = run.sizes.intake_count, run.sizes.intake_clients
    prefix = f"bench intake {run.tag} "
    numbers = iter(range(count))
    refused: list[str] = []

    async def client(index: int) -> None:
        console = run.consoles[index % len(run.consoles)]
        async with httpx.AsyncClient(base_url=console.url, timeout=30) as http:
            for i in numbers:
                key = uuid.uuid4().hex
                body = referral_body(f"{prefix}{i}")
                for attempt in range(RETRIES):
                    try:
                        answer = await http.post(
                            "/api/v1/referrals",
                            json=body,
                            headers={
                                "Authorization": f"Bearer {run.referrer_key}",
                                "Idempotency-Key": key,
                            },
                        )
                        if answer.status_code == 201:
                            break
                        refused.append(f"{answer.status_code} {answer.text[:120]}")
                    except httpx.HTTPError as exc:
                        refused.append(repr(exc))
                    await asyncio.sleep(0.1 * (attempt + 1))

    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(width)))
    elapsed = time.perf_counter() - began
    conn = await asyncpg.connect(run.dsn)
    try:
        found, distinct = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT description) FROM referrals WHERE description LIKE $1",
            prefix + "%",
        )
    finally:
        await conn.close()
    run.check(found == distinct, f"intake: {found - distinct} duplicate referrals")
    run.check(not refused, f"intake: {len(refused)} refused or failed sends, e.g. {refused[:3]}")
    return count / elapsed, count - distinct


async def _baseline(run: Run) -> tuple[float, int]:
    count, width = run.sizes.intake_count, run.sizes.intake_clients
    setup = await asyncpg.connect(run.dsn)
    await setup.execute(
        "CREATE TABLE IF NOT EXISTS bench_raw_referrals (id bigserial PRIMARY KEY,"
        " idempotency_key text NOT NULL UNIQUE, body jsonb NOT NULL,"
        " received_at timestamptz NOT NULL)"
    )
    await setup.execute("TRUNCATE bench_raw_referrals")
    conns = [await asyncpg.connect(run.dsn) for _ in range(width)]
    numbers = iter(range(count))

    async def client(conn: asyncpg.Connection) -> None:
        for i in numbers:
            body = json.dumps(referral_body(f"raw {run.tag} {i}"))
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO bench_raw_referrals (idempotency_key, body, received_at)"
                    " VALUES ($1, $2::text::jsonb, now())",
                    uuid.uuid4().hex,
                    body,
                )

    try:
        began = time.perf_counter()
        await asyncio.gather(*(client(c) for c in conns))
        elapsed = time.perf_counter() - began
        rows = await setup.fetchval("SELECT count(*) FROM bench_raw_referrals")
    finally:
        for conn in conns:
            await conn.close()
        await setup.close()
    return count / elapsed, count - rows


async def measure(run: Run) -> list[Figure]:
    ours, lost = await _ours(run)
    base, base_lost = await _baseline(run)
    note = f"{run.sizes.intake_count} referrals, {run.sizes.intake_clients} clients, 2 instances"
    return [
        Figure(
            "intake_per_s", ours, base, "referrals/s", "ratio >= 0.25", ours >= 0.25 * base, note
        ),
        Figure("intake_lost", lost, base_lost, "referrals", "ours = 0", lost == 0, note),
    ]
