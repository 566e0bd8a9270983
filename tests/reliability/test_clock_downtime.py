"""Fault: every instance is down (kill -9) when an SLA clock comes due.

Nothing ticks while nobody runs; at start-up each instance fires what fell due during the
downtime (docs/clocks.md). Two instances starting at once race for it: the warning and the
breach must each be on the log exactly once, with their real due times, and the breach must
raise exactly one escalation.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from tests import support
from tests.reliability.helpers import kill, referral_body

TARGET = 6  # seconds to claim a referral: a warning at 3 s, the breach at 6 s
RESYNC = 5  # seconds: each instance's clock resync period (clockwork.Runner)


async def shorten_claim_target(console: support.Console, admin: support.Person) -> None:
    """What an admin does on Tempi di servizio: one warning at half time, a short target."""
    async with support.logged_in(console, admin) as (client, csrf):
        saved = await client.put(
            "/api/v1/sla/policies/referral_claimed",
            json={
                "calendar": "24x7",
                "warnings": [0.5],
                "targets": {u: {"seconds": TARGET} for u in ("rosso", "giallo", "verde")},
                "starts_on": ["referral_received", "referral_released"],
                "stops_on": ["referral_claimed", "referral_reassigned"],
                "cancels_on": ["referral_decided"],
            },
            headers={"X-CSRF-Token": csrf},
        )
    assert saved.status_code == 200, saved.text


async def test_a_breach_due_while_both_instances_were_down_fires_exactly_once_after_start_up(
    people, database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
):
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SEUS_REDIS_PREFIX": redis_prefix}
    started: list[support.Console] = []

    def start(name: str) -> support.Console:
        console = support.Console.start(env, data_dir=tmp_path / name)
        started.append(console)
        return console

    conn = await asyncpg.connect(database_url)
    try:
        first = await asyncio.gather(*(asyncio.to_thread(start, n) for n in ("a1", "b1")))
        await shorten_claim_target(first[0], people["admin"])
        async with httpx.AsyncClient(base_url=first[1].url, timeout=10) as referrer:
            answer = await referrer.post(
                "/api/v1/referrals",
                json=referral_body("orologio"),
                headers={"Authorization": f"Bearer {people['referrer'].secret}",
                         "Idempotency-Key": "orologio"},
            )  # fmt: skip
        assert answer.status_code == 201, answer.text
        for console in first:
            kill(console)
        referral = answer.json()
        received = datetime.fromisoformat(referral["received_at"])
        clock = await conn.fetchrow(
            "SELECT id, deadline, state FROM clocks WHERE milestone = 'referral_claimed'"
            " AND referral_id = $1",
            referral["id"],
        )
        assert clock["state"] == "running"
        assert clock["deadline"] == received + timedelta(seconds=TARGET)

        async def fired(kind: str) -> list[asyncpg.Record]:
            return await conn.fetch(
                "SELECT seq, at, payload->>'due_at' AS due_at FROM events"
                " WHERE type = $1 AND subject = $2 ORDER BY seq",
                kind,
                f"clock:{clock['id']}",
            )

        assert await fired("clock.warned") == [], "killed before the warning was due"

        # Both down past the breach; then both start at once.
        await asyncio.sleep(max(0.0, clock["deadline"].timestamp() - time.time()) + 0.5)
        restarted_at = datetime.now(received.tzinfo)
        await asyncio.gather(*(asyncio.to_thread(start, n) for n in ("a2", "b2")))
        both_ready = time.monotonic()

        breaches: list[asyncpg.Record] = []

        async def look() -> None:
            breaches[:] = await fired("clock.breached")

        async def breached() -> None:
            while not breaches:
                await look()
                await asyncio.sleep(0.1)

        await asyncio.wait_for(breached(), 15)
        # Let each instance run its start-up firing and at least one resync.
        await asyncio.sleep(max(0.0, both_ready + RESYNC + 0.5 - time.monotonic()))

        warnings = await fired("clock.warned")
        await look()
        escalations = await conn.fetch(
            "SELECT due_at FROM escalations WHERE clock_id = $1", clock["id"]
        )
        raised = await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'escalation.raised'"
            " AND (payload->>'clock_id')::bigint = $1",
            clock["id"],
        )
        state = await conn.fetchval("SELECT state FROM clocks WHERE id = $1", clock["id"])
    finally:
        await conn.close()
        for console in started:
            console.stop()

    assert len(warnings) == 1, warnings
    assert len(breaches) == 1, breaches
    [warning], [breach] = warnings, breaches
    # Their real due times, not the time they were noticed; fired after the start-up.
    assert datetime.fromisoformat(warning["due_at"]) == received + timedelta(seconds=TARGET / 2)
    assert datetime.fromisoformat(breach["due_at"]) == clock["deadline"]
    assert warning["seq"] < breach["seq"]
    assert breach["at"] >= restarted_at > clock["deadline"]
    assert [e["due_at"] for e in escalations] == [clock["deadline"]]
    assert raised == 1
    assert state == "breached"
