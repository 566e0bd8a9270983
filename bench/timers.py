"""timer_lateness_p99_ms: M open clocks with deadlines spread over a span.

Ours: with both instances running, M clocks are written straight into PostgreSQL as
`console/areas/clocks/actions.py` writes them (`_save`: a running `referral_claimed` clock of
a closed referral, 24x7 calendar, its `deadline` and `due_at` computed): clock i has budget
lead + span * i / M from now and one warning at 80 % (so each clock fires exactly one
warning and one breach). Then one `clock.started` event naming the first due instant is
written to the log and published on Redis, as an instance that started a clock would: each
instance's clock runner wakes at that instant (as it does for any clock anywhere), fires what
is due with `clockwork.fire_due` and sleeps until the next due instant. Lateness of each
`clock.warned` and `clock.breached` event = its `events.at` (the firing transaction's time,
`tx.now`) minus the `due_at` in its payload; p99 over all 2M events.

Baseline: one asyncio task per due instant (the same 2M instants), each sleeping until it, in a
separate process run in the same window as ours (the same machine load for both); lateness =
wake-up time minus due time.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as aioredis

from bench import servers, stats
from bench.common import Figure, Run, insert_referrals, quiesce
from console.lib import db, eventlog
from dispatch import access
from dispatch.events import NewEvent

WARNING = 0.8
CALENDAR = {"kind": "24x7", "opens": "09:00", "closes": "17:00", "extra_holidays": []}


async def _create(run: Run, conn: asyncpg.Connection) -> tuple[datetime, list[float]]:
    m, span, lead = run.sizes.timer_clocks, run.sizes.timer_span, run.sizes.timer_lead
    ids = await insert_referrals(
        conn, m, status="not_pertinent", referrer_id=run.referrer_id, tag=f"t{run.tag}"
    )
    start = datetime.now(UTC)
    budgets = [lead + span * i / m for i in range(m)]
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO clocks (milestone, kind, subject_id, referral_id, case_number, zone_id,"
            " urgency, state, budget, counted, running_since, warnings, warned, calendar,"
            " started_at, deadline, due_at, updated_at)"
            " SELECT 'referral_claimed', 'referral', r.id, r.id, r.case_number, r.zone_id,"
            " 'giallo', 'running', make_interval(secs => b.budget), interval '0', $1::timestamptz,"
            " ARRAY[$4::float8], 0, $3::text::jsonb, $1::timestamptz,"
            " $1::timestamptz + make_interval(secs => b.budget),"
            " $1::timestamptz + make_interval(secs => b.budget * $4::float8),"
            " $1::timestamptz FROM unnest($2::bigint[], $5::float8[]) AS b(id, budget)"
            " JOIN referrals r ON r.id = b.id",
            start,
            ids,
            json.dumps(CALENDAR),
            WARNING,
            budgets,
        )
        first_due = start + timedelta(seconds=budgets[0] * WARNING)
        await db.init_connection(conn)  # jsonb as the console's pool encodes it
        announced = await eventlog.append(
            conn,
            [
                NewEvent(
                    type="clock.started",
                    subject="bench:timers",
                    audience=frozenset({access.SUPERVISORS}),
                    payload={"next_due": first_due.isoformat(), "clocks": m},
                    actor="system",
                )
            ],
            start,
        )
    redis = aioredis.from_url(run.redis_url)
    try:
        await redis.publish(f"{run.prefix}:events", eventlog.to_bus(announced))
    finally:
        await redis.aclose()
    base = start.timestamp()
    due = [base + b * WARNING for b in budgets] + [base + b for b in budgets]
    return start, due


async def measure(run: Run) -> list[Figure]:
    m = run.sizes.timer_clocks
    conn = await asyncpg.connect(run.dsn)
    try:
        await quiesce(conn)
        first_event = await conn.fetchval("SELECT seq FROM event_head")
        start, due = await _create(run, conn)
        schedule = run.stack.workdir / "timers-schedule.json"
        schedule.write_text(json.dumps({"due": due}))
        sleepers = run.stack.popen(
            "sleepers",
            [servers.PYTHON, "-m", "bench.baselines.sleepers", str(schedule)],
            pipes=True,
        )
        deadline = time.monotonic() + run.sizes.timer_lead + run.sizes.timer_span + 60
        fired = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            fired = await conn.fetchval(
                "SELECT count(*) FROM events WHERE seq > $1 AND type = 'clock.breached'",
                first_event,
            )
            if fired >= m and start + timedelta(
                seconds=run.sizes.timer_lead + run.sizes.timer_span
            ) < datetime.now(UTC):
                break
        await asyncio.sleep(0.5)  # anything fired twice would show now
        rows = await conn.fetch(
            "SELECT type, (payload->>'clock_id')::bigint AS clock, at,"
            " (payload->>'due_at')::timestamptz AS due FROM events"
            " WHERE seq > $1 AND type IN ('clock.warned', 'clock.breached')",
            first_event,
        )
    finally:
        await conn.close()
    out, _ = await asyncio.to_thread(sleepers.communicate)
    baseline = json.loads(out)
    per_clock: dict[int, list[int]] = {}
    for row in rows:
        counts = per_clock.setdefault(row["clock"], [0, 0])
        counts[0 if row["type"] == "clock.warned" else 1] += 1
    exact = sum(1 for c in per_clock.values() if c == [1, 1])
    run.check(
        len(per_clock) == m and exact == m,
        f"timers: {exact} of {m} clocks fired exactly one warning and one breach"
        f" ({len(rows)} events for {len(per_clock)} clocks)",
    )
    run.check(baseline["count"] == len(due), "timers baseline: not every sleeper woke")
    ours = [(r["at"] - r["due"]).total_seconds() * 1000 for r in rows]
    p_ours = stats.percentile(ours, 99) if ours else float("nan")
    p_base = stats.percentile(baseline["lateness_ms"], 99)
    return [
        Figure(
            "timer_lateness_p99_ms",
            p_ours,
            p_base,
            "ms",
            "ours < 1000 ms",
            p_ours < 1000,
            f"{m} clocks, deadlines over {run.sizes.timer_span:g} s, 2 instances;"
            f" p50 ours {stats.percentile(ours, 50) if ours else float('nan'):.1f} ms,"
            f" max {max(ours) if ours else float('nan'):.0f} ms",
        )
    ]
