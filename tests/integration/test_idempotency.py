"""Intake against real PostgreSQL: one referral per Idempotency-Key, whatever the client resends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from console.areas.intake import actions as intake_actions
from console.areas.intake.schemas import EXAMPLE, ReferralIn
from console.lib import errors
from console.lib.db import Database
from dispatch import access


def referral(**changes: Any) -> ReferralIn:
    return ReferralIn.model_validate_json(json.dumps({**EXAMPLE, **changes}), strict=True)


async def referrer(db: Database, name: str = "PS test") -> access.Principal:
    row = await db.pool.fetchrow("SELECT id, name FROM referrers WHERE name = $1", name)
    return access.Principal(role=access.Role.REFERRER, name=row["name"], referrer_id=row["id"])


async def count(db: Database, sql: str, *args: Any) -> int:
    found: int = await db.pool.fetchval(sql, *args)
    return found


async def test_the_same_key_and_body_again_replays_the_first_answer_and_adds_nothing(db, people):
    caller = await referrer(db)
    first = await intake_actions.submit(db, caller, referral(), "key-1")
    again = await intake_actions.submit(db, caller, referral(), "key-1")
    assert not first.replayed and again.replayed
    assert again.response == first.response
    assert first.response["case_number"].startswith("SEUS-")
    assert first.response["status"] == "received"
    assert await count(db, "SELECT count(*) FROM referrals") == 1
    assert await count(db, "SELECT count(*) FROM events WHERE type = 'referral.received'") == 1


async def test_ten_concurrent_duplicates_with_one_key_make_exactly_one_referral(db, people):
    caller = await referrer(db)
    results = await asyncio.gather(
        *(intake_actions.submit(db, caller, referral(), "same-key") for _ in range(10))
    )
    assert sum(not r.replayed for r in results) == 1
    assert len({r.response["id"] for r in results}) == 1
    assert len({r.response["case_number"] for r in results}) == 1
    assert await count(db, "SELECT count(*) FROM referrals") == 1
    assert await count(db, "SELECT count(*) FROM events WHERE type = 'referral.received'") == 1
    assert await count(db, "SELECT count(*) FROM events WHERE type = 'referral.progressed'") == 1


async def test_the_same_key_with_another_body_is_a_conflict_and_changes_nothing(db, people):
    caller = await referrer(db)
    await intake_actions.submit(db, caller, referral(), "key-1")
    with pytest.raises(errors.Conflict):
        await intake_actions.submit(db, caller, referral(description="Un'altra storia."), "key-1")
    assert await count(db, "SELECT count(*) FROM referrals") == 1


async def test_a_key_belongs_to_its_referrer_and_another_referrer_may_use_the_same(db, people):
    first = await intake_actions.submit(db, await referrer(db), referral(), "shared-key")
    other = await intake_actions.submit(db, await referrer(db, "PM test"), referral(), "shared-key")
    assert not other.replayed and other.response["id"] != first.response["id"]


async def test_a_refused_referral_does_not_use_up_its_key(db, people):
    caller = await referrer(db)
    await intake_actions.submit(db, caller, referral(reference="PROT-1"), "key-1")
    with pytest.raises(errors.Conflict) as refused:
        await intake_actions.submit(db, caller, referral(reference="PROT-1"), "key-2")
    assert refused.value.code == "reference_taken"
    assert "PROT-1" in refused.value.detail
    retried = await intake_actions.submit(db, caller, referral(reference="PROT-2"), "key-2")
    assert not retried.replayed
    assert await count(db, "SELECT count(*) FROM referrals") == 2


async def test_one_reference_sent_at_once_under_different_keys_makes_one_referral(db, people):
    caller = await referrer(db)
    results = await asyncio.gather(
        *(
            intake_actions.submit(db, caller, referral(reference="PROT-9"), f"k{i}")
            for i in range(6)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, intake_actions.Submitted) for r in results) == 1
    assert all(r.code == "reference_taken" for r in results if isinstance(r, errors.Conflict))
    assert await count(db, "SELECT count(*) FROM referrals") == 1
    assert await count(db, "SELECT count(*) FROM idempotency_keys") == 1


async def test_intake_writes_the_referral_and_its_two_events_with_their_audiences(db, people):
    caller = await referrer(db)
    done = await intake_actions.submit(db, caller, referral(reference="PROT-3"), "key-1")
    row = await db.pool.fetchrow("SELECT * FROM referrals WHERE id = $1", done.response["id"])
    assert row["case_number"] == done.response["case_number"]
    assert row["case_number"].endswith(f"{row['id']:06d}")
    assert (row["municipality_code"], row["zone_id"]) == ("047014", "pistoiese")
    assert row["people"]["language"] == "ar" and row["people"]["needs_mediator"] is True
    assert row["referrer_reference"] == "PROT-3" and row["entered_by"] is None
    logged = await db.pool.fetch(
        "SELECT type, audience, zone, payload, actor FROM events WHERE subject = $1 ORDER BY seq",
        f"referral:{row['id']}",
    )
    assert [e["type"] for e in logged] == ["referral.received", "referral.progressed"]
    received, progressed = logged
    assert received["audience"] == [access.ROOM] and received["zone"] == "pistoiese"
    assert received["payload"]["municipality"] == "Pistoia"
    assert received["payload"]["referrer"]["name"] == "PS test"
    assert received["actor"] == f"referrer:{caller.referrer_id}"
    assert progressed["audience"] == [access.referrer_tag(caller.referrer_id)]
    assert progressed["payload"]["status"] == "received"
    assert "description" not in progressed["payload"]


async def test_an_operator_enters_a_phone_referral_for_a_named_referrer(db, people):
    other = await referrer(db, "PM test")
    operator = access.Principal(
        role=access.Role.OPERATOR, name="Operator Test", user_id=people["operator"].user_id
    )
    with pytest.raises(errors.ValidationFailed) as missing:
        await intake_actions.submit(db, operator, referral(), "k")
    assert [p.field for p in missing.value.problems] == ["referrer_id"]
    with pytest.raises(errors.ValidationFailed):
        await intake_actions.submit(db, operator, referral(referrer_id=999999), "k")
    done = await intake_actions.submit(db, operator, referral(referrer_id=other.referrer_id), "k")
    row = await db.pool.fetchrow("SELECT * FROM referrals WHERE id = $1", done.response["id"])
    assert (row["referrer_id"], row["entered_by"]) == (other.referrer_id, operator.user_id)
    payload = await db.pool.fetchval(
        "SELECT payload FROM events WHERE type = 'referral.received' AND subject = $1",
        f"referral:{row['id']}",
    )
    assert payload["channel"] == "phone" and payload["entered_by"] == "Operator Test"
    with pytest.raises(errors.ValidationFailed) as refused:
        await intake_actions.submit(db, other, referral(referrer_id=other.referrer_id), "k2")
    assert refused.value.problems[0].field == "referrer_id"


async def test_idempotency_keys_older_than_a_week_are_purged_and_recent_ones_kept(db):
    from datetime import UTC, datetime, timedelta

    from console.lib import scheduler

    now = datetime.now(UTC)
    for key, age in (("old", timedelta(days=8)), ("recent", timedelta(days=6))):
        await db.pool.execute(
            "INSERT INTO idempotency_keys (scope, key, request_hash, status, response, created_at)"
            " VALUES ('referrer:1', $1, '\\x00', 201, '{}'::jsonb, $2)",
            key,
            now - age,
        )
    assert await scheduler.purge_idempotency_keys(db, now) == 1
    left = await db.pool.fetch("SELECT key FROM idempotency_keys WHERE scope = 'referrer:1'")
    assert [r["key"] for r in left] == ["recent"]
