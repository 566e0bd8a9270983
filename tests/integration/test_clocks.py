"""SLA clocks against real PostgreSQL: kept in step with actions, fired once, never lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from console.app import database
from console.areas.assessment import actions as assessment_actions
from console.areas.assessment import schemas as assessment_schemas
from console.areas.cases import actions as cases_actions
from console.areas.clocks import actions as clocks_actions
from console.areas.clocks import store as clocks_store
from console.areas.intake import actions as intake_actions
from console.areas.intake.schemas import EXAMPLE, ReferralIn
from console.lib.db import Database, create_pool
from dispatch import access, clocks
from dispatch.clocks import Milestone, Target
from dispatch.events import NewEvent
from tests import support

pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def seeded(people: dict[str, support.Person]) -> None:
    """The referrer 'PS test' and the people."""


def referral(**changes: Any) -> ReferralIn:
    return ReferralIn.model_validate_json(json.dumps({**EXAMPLE, **changes}), strict=True)


async def referrer(db: Database) -> access.Principal:
    row = await db.pool.fetchrow("SELECT id, name FROM referrers WHERE name = 'PS test'")
    return access.Principal(role=access.Role.REFERRER, name=row["name"], referrer_id=row["id"])


def operator(person: support.Person) -> access.Principal:
    return access.Principal(role=access.Role.OPERATOR, name="Op Test", user_id=person.user_id)


async def submit(db: Database, key: str, **changes: Any) -> int:
    done = await intake_actions.submit(db, await referrer(db), referral(**changes), key)
    referral_id: int = done.response["id"]
    return referral_id


async def short_claim_policy(db: Database, seconds: float) -> None:
    """The claim clock's target cut to a few seconds (an admin's edit of the policy table)."""
    policy = clocks.default_policies()[Milestone.REFERRAL_CLAIMED]
    short = Target(duration=timedelta(seconds=seconds))
    edited = clocks.Policy(
        policy.milestone, {u: short for u in ("rosso", "giallo", "verde")}, rules=policy.rules
    )
    async with db.pool.acquire() as conn:
        await clocks_store.save(conn, edited, by=None, at=datetime.now(UTC))


async def clock_events(db: Database, *types: str) -> list[dict[str, Any]]:
    rows = await db.pool.fetch(
        "SELECT seq, type, audience, payload, at FROM events WHERE type = ANY($1) ORDER BY seq",
        list(types),
    )
    return [dict(r) for r in rows]


async def eventually(check: Any, timeout: float = 15) -> Any:
    """Poll until `check()` returns something true (bounded: a test never hangs)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


class Instance:
    """What one app instance runs for clocks: a pool, APScheduler, the runner."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.runner = clocks_actions.Runner(db, self.scheduler, resync_seconds=1)

    def start(self) -> None:
        self.runner.start()
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


@pytest.fixture
async def instances(database_url: str) -> AsyncIterator[list[Instance]]:
    started: list[Instance] = []
    pools = [await create_pool(database_url, min_size=1, max_size=5) for _ in range(2)]
    started = [Instance(database(pool)) for pool in pools]
    try:
        yield started
    finally:
        for instance in started:
            instance.stop()
        for pool in pools:
            await pool.close()


async def test_a_received_referral_starts_its_claim_and_assessment_clocks_with_its_events(db):
    rid = await submit(db, "k1", urgency="rosso")
    rows = await db.pool.fetch(
        "SELECT milestone, state, urgency, deadline, started_at FROM clocks WHERE referral_id = $1"
        " ORDER BY milestone",
        rid,
    )
    assert [(r["milestone"], r["state"], r["urgency"]) for r in rows] == [
        ("assessment_decided", "running", "rosso"),
        ("referral_claimed", "running", "rosso"),
    ]
    decide, claim = rows
    assert decide["deadline"] - decide["started_at"] == timedelta(minutes=15)
    assert claim["deadline"] - claim["started_at"] == timedelta(minutes=5)
    started = await clock_events(db, "clock.started")
    assert {e["payload"]["milestone"] for e in started} == {
        "referral_claimed",
        "assessment_decided",
    }
    assert all(e["audience"] == [access.ROOM] for e in started)
    assert {e["payload"]["deadline"] for e in started} == {r["deadline"].isoformat() for r in rows}


async def test_a_claim_meets_the_claim_clock_and_a_decision_the_assessment_clock(db, people):
    rid = await submit(db, "k1")
    op = operator(people["operator"])
    await assessment_actions.claim(db, op, rid)
    states = dict(
        await db.pool.fetch("SELECT milestone, state FROM clocks WHERE referral_id = $1", rid)
    )
    assert states == {"referral_claimed": "met", "assessment_decided": "running"}
    body = assessment_schemas.DecisionIn.model_validate_json(
        json.dumps({"decision": "not_pertinent", "reason": "Doppione.", "assessment": {}})
    )
    await assessment_actions.decide(db, op, rid, body)
    rows = await db.pool.fetch("SELECT state, ended_at FROM clocks WHERE referral_id = $1", rid)
    assert [r["state"] for r in rows] == ["met", "met"]
    assert all(r["ended_at"] is not None for r in rows)


async def test_an_unclaimed_referral_warns_twice_then_breaches_and_escalates(db, instances, people):
    await short_claim_policy(db, 2)
    rid = await submit(db, "k1")
    instances[0].start()

    async def breached() -> list[dict[str, Any]]:
        return await clock_events(db, "clock.breached")

    assert await eventually(breached)
    fired = await clock_events(db, "clock.warned", "clock.breached", "escalation.raised")
    claim = await db.pool.fetchrow(
        "SELECT id, started_at, state, breached_at FROM clocks"
        " WHERE referral_id = $1 AND milestone = 'referral_claimed'",
        rid,
    )
    start = claim["started_at"]
    assert [(e["type"], e["payload"].get("fraction")) for e in fired] == [
        ("clock.warned", 0.5), ("clock.warned", 0.8), ("clock.breached", 1.0),
        ("escalation.raised", None)]  # fmt: skip
    due = [datetime.fromisoformat(e["payload"]["due_at"]) for e in fired]
    assert due[:3] == [start + timedelta(seconds=1), start + timedelta(seconds=1.6),
                       start + timedelta(seconds=2)]  # fmt: skip
    assert all(e["at"] >= d for e, d in zip(fired, due, strict=False))  # never early
    assert (claim["state"], claim["breached_at"]) == ("breached", start + timedelta(seconds=2))
    escalation = await db.pool.fetchrow(
        "SELECT * FROM escalations WHERE clock_id = $1", claim["id"]
    )
    assert escalation["referral_id"] == rid and escalation["acknowledged_at"] is None
    assert fired[-1]["audience"] == [access.SUPERVISORS]
    # A late claim meets the clock; the breach stays on record.
    await assessment_actions.claim(db, operator(people["operator"]), rid)
    state = await db.pool.fetchval("SELECT state FROM clocks WHERE id = $1", claim["id"])
    assert state == "met"
    assert await db.pool.fetchval("SELECT breached_at FROM clocks WHERE id = $1", claim["id"])


async def test_two_instances_fire_each_warning_and_breach_exactly_once(db, instances):
    await short_claim_policy(db, 1)
    ids = [await submit(db, f"k{i}", reference=f"R-{i}") for i in range(40)]
    for instance in instances:
        instance.start()

    async def all_breached() -> bool:
        count: int = await db.pool.fetchval(
            "SELECT count(*) FROM clocks"
            " WHERE milestone = 'referral_claimed' AND state = 'breached'"
        )
        return count == len(ids)

    assert await eventually(all_breached)
    await asyncio.sleep(1.5)  # both instances look again: nothing fires a second time
    fired = await clock_events(db, "clock.warned", "clock.breached", "escalation.raised")
    per_clock: dict[tuple[int, str], int] = {}
    for e in fired:
        key = (e["payload"]["clock_id"], e["type"] + str(e["payload"].get("fraction")))
        per_clock[key] = per_clock.get(key, 0) + 1
    assert len(per_clock) == len(ids) * 4
    assert set(per_clock.values()) == {1}
    assert await db.pool.fetchval("SELECT count(*) FROM escalations") == len(ids)


async def test_what_came_due_while_no_instance_ran_fires_once_at_start_up_with_its_real_time(
    db, instances
):
    await short_claim_policy(db, 1)
    rid = await submit(db, "k1")
    due = await db.pool.fetchval(
        "SELECT deadline FROM clocks WHERE referral_id = $1 AND milestone = 'referral_claimed'", rid
    )
    await asyncio.sleep(1.5)  # the console is down when the clock comes due
    assert await clock_events(db, "clock.breached") == []
    instances[0].start()  # start-up

    async def breached() -> list[dict[str, Any]]:
        return await clock_events(db, "clock.breached")

    (breach,) = await eventually(breached)
    assert breach["payload"]["due_at"] == due.isoformat()  # its real time, not the start-up's
    assert breach["at"] > due
    await asyncio.sleep(1.5)
    assert len(await clock_events(db, "clock.breached")) == 1


async def test_a_change_of_urgency_keeps_the_time_counted_and_takes_the_new_target(db, people):
    async with db.pool.acquire() as conn:
        referrer_id = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        _, case_id = await support.make_case(conn, referrer_id=referrer_id, urgency="verde")
    op = operator(people["operator"])
    t0 = datetime.now(UTC) - timedelta(minutes=40)
    async with db.action(t0) as tx:  # the case opened 40 minutes ago: its handover clock runs
        tx.emit(opened(case_id))
    state = await cases_actions.change_urgency(db, op, case_id, "rosso", "Minori con sé.")
    assert state.status == "open"
    row = await db.pool.fetchrow(
        "SELECT urgency, budget, deadline, started_at FROM clocks WHERE case_id = $1"
        " AND milestone = 'handover_sent'",
        case_id,
    )
    assert (row["urgency"], row["budget"]) == ("rosso", timedelta(hours=24))
    assert row["deadline"] == t0 + timedelta(hours=24)
    (event,) = await clock_events(db, "clock.retargeted")
    assert event["payload"]["urgency"] == "rosso" and event["payload"]["case_id"] == case_id


def opened(case_id: int) -> NewEvent:
    return NewEvent(
        type="case.opened",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={"case_id": case_id},
    )


async def test_a_policy_written_by_hand_reaches_the_next_clock_even_inside_one_transaction(
    db, people
):
    """The policies are built again only when their version changes: a target changed with
    SQL (not through the admin's page) starts the next clock with the new target, and so does a
    second change in the same transaction."""

    async def claim_target(referral_id: int) -> Any:
        return await db.pool.fetchval(
            "SELECT budget FROM clocks WHERE referral_id = $1 AND milestone = $2",
            referral_id,
            Milestone.REFERRAL_CLAIMED.value,
        )

    before = await claim_target(await submit(db, "policy-1"))
    await db.pool.execute(
        "UPDATE sla_targets SET seconds = 77, working_days = NULL WHERE milestone = $1",
        Milestone.REFERRAL_CLAIMED.value,
    )
    assert before != timedelta(seconds=77)
    assert await claim_target(await submit(db, "policy-2")) == timedelta(seconds=77)
    async with db.pool.acquire() as conn, conn.transaction():
        version = await conn.fetchval(f"SELECT {clocks_store.VERSION}")
        assert (await clocks_store.current(conn, version))[Milestone.REFERRAL_CLAIMED].targets[
            "giallo"
        ].duration == timedelta(seconds=77)
        await conn.execute(
            "UPDATE sla_targets SET seconds = 78 WHERE milestone = $1",
            Milestone.REFERRAL_CLAIMED.value,
        )
        changed = await conn.fetchval(f"SELECT {clocks_store.VERSION}")
        assert changed != version
        assert (await clocks_store.current(conn, changed))[Milestone.REFERRAL_CLAIMED].targets[
            "giallo"
        ].duration == timedelta(seconds=78)
