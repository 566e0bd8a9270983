"""The room's actions against real PostgreSQL: each with its rows, its events and who gets them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.app import database
from console.areas.assessment import actions as assessment_actions
from console.areas.assessment import reads as assessment_reads
from console.areas.assessment import schemas as assessment_schemas
from console.areas.intake import actions as intake_actions
from console.areas.intake.schemas import AddendumIn
from console.lib import errors, eventlog
from console.lib.db import Database, create_pool
from dispatch import access
from dispatch.errors import DomainError, IllegalTransition, Refused
from tests import support

pytestmark = pytest.mark.asyncio


def principal(person: support.Person, role: access.Role = access.Role.OPERATOR) -> access.Principal:
    return access.Principal(
        role=role, name=f"{person.username.title()} Test", user_id=person.user_id
    )


@pytest.fixture(autouse=True)
def seeded(people: dict[str, support.Person]) -> None:
    """Every test here needs the referrer 'PS test' and the people."""


@pytest.fixture
def op(people: dict[str, support.Person]) -> access.Principal:
    return principal(people["operator"])


@pytest.fixture
def op2(people: dict[str, support.Person]) -> access.Principal:
    return principal(people["operator2"])


async def referrer_id(db: Database) -> int:
    value: int = await db.pool.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
    return value


async def new_referral(db: Database, **options: Any) -> int:
    async with db.pool.acquire() as conn:
        return await support.make_referral(conn, referrer_id=await referrer_id(db), **options)


async def events_after(db: Database, seq: int) -> list[dict[str, Any]]:
    rows = await db.pool.fetch(
        "SELECT seq, type, subject, zone, audience, payload, actor FROM events WHERE seq > $1"
        " AND type NOT LIKE 'clock.%' ORDER BY seq",
        seq,
    )
    return [dict(r) for r in rows]


def decision(kind: str, **rest: Any) -> assessment_schemas.DecisionIn:
    """Parsed as the API parses a request body."""
    return assessment_schemas.DecisionIn.model_validate_json(json.dumps({"decision": kind, **rest}))


def parsed(body: dict[str, Any]) -> assessment_schemas.DecisionIn:
    return assessment_schemas.DecisionIn.model_validate_json(json.dumps(body))


ACTIVATE = {
    "trigger": "poverty_homelessness",
    "urgency": "rosso",
    "risk_factors": ["no_shelter", "cold_weather"],
    "people": {"count": 2, "minors": 1},
    "needs": ["shelter_bed", "meals"],
    "skills": ["minors"],
    "language": "rumeno",
    "notes": "Madre e figlio in auto, -3 °C previsti.",
}


# ---- claim --------------------------------------------------------------------------------


@pytest.fixture
async def wide_db(database_url: str) -> AsyncIterator[Database]:
    """Enough connections for 30 claims to reach PostgreSQL at the same moment."""
    pool = await create_pool(database_url, min_size=32, max_size=32)
    try:
        yield database(pool)
    finally:
        await pool.close()


async def test_thirty_simultaneous_claims_have_exactly_one_winner(wide_db, people):
    db = wide_db
    rid = await new_referral(db)
    operators = []
    for i in range(30):
        user_id = await db.pool.fetchval(
            "INSERT INTO users (username, display_name, role) VALUES ($1, $2, 'operator')"
            " RETURNING id",
            f"op{i}",
            f"Operatore {i}",
        )
        operators.append(access.Principal(access.Role.OPERATOR, f"Operatore {i}", user_id))
    start = await eventlog.head(db.pool)
    gate = asyncio.Event()

    async def attempt(who: access.Principal) -> Any:
        await gate.wait()
        return await assessment_actions.claim(db, who, rid)

    tasks = [asyncio.create_task(attempt(who)) for who in operators]
    await asyncio.sleep(0.05)
    gate.set()
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 30)

    won = [r for r in results if isinstance(r, assessment_schemas.ReferralState)]
    refused = [r for r in results if isinstance(r, assessment_actions.HeldElsewhere)]
    assert len(won) == 1 and len(refused) == 29, results
    winner = won[0]
    assert {r.holder["id"] for r in refused} == {winner.holder_id}
    assert {r.holder["name"] for r in refused} == {winner.holder_name}
    assert all(r.status == 409 and r.body()["error"] == "refused" for r in refused)
    row = await db.pool.fetchrow("SELECT status, holder_id FROM referrals WHERE id = $1", rid)
    assert (row["status"], row["holder_id"]) == ("in_assessment", winner.holder_id)
    claimed = [e for e in await events_after(db, start) if e["type"] == "referral.claimed"]
    assert len(claimed) == 1 and claimed[0]["payload"]["holder_id"] == winner.holder_id


async def test_a_claim_is_told_to_the_room_and_the_referrer_sees_only_its_status(db, op):
    rid = await new_referral(db)
    start = await eventlog.head(db.pool)
    state = await assessment_actions.claim(db, op, rid)
    assert (state.status, state.holder_id, state.holder_name) == (
        "in_assessment",
        op.user_id,
        op.name,
    )
    claimed, progressed = await events_after(db, start)
    assert claimed["type"] == "referral.claimed"
    assert claimed["audience"] == [access.ROOM] and claimed["zone"] == "firenze"
    assert claimed["payload"]["holder_name"] == op.name and claimed["actor"] == f"user:{op.user_id}"
    assert progressed["type"] == "referral.progressed"
    assert progressed["audience"] == [access.referrer_tag(await referrer_id(db))]
    assert progressed["payload"]["status"] == "in_assessment"
    assert set(progressed["payload"]) == {"id", "case_number", "status", "reason"}


async def test_an_unknown_referral_is_not_found(db, op):
    with pytest.raises(errors.NotFound):
        await assessment_actions.claim(db, op, 999_999)


async def test_a_decided_referral_cannot_be_claimed(db, op):
    rid = await new_referral(db, status="not_pertinent")
    with pytest.raises(IllegalTransition):
        await assessment_actions.claim(db, op, rid)


# ---- release and reassign -----------------------------------------------------------------


async def test_only_the_holder_releases_and_the_referral_goes_back_to_the_queue(db, op, op2):
    rid = await new_referral(db)
    await assessment_actions.claim(db, op, rid)
    with pytest.raises(Refused):
        await assessment_actions.release(db, op2, rid)
    start = await eventlog.head(db.pool)
    state = await assessment_actions.release(db, op, rid, "fine turno")
    assert (state.status, state.holder_id) == ("received", None)
    released, progressed = await events_after(db, start)
    assert released["type"] == "referral.released" and released["payload"]["reason"] == "fine turno"
    assert progressed["payload"]["status"] == "received"
    row = await db.pool.fetchrow("SELECT holder_id, claimed_at FROM referrals WHERE id = $1", rid)
    assert row["holder_id"] is None and row["claimed_at"] is None


async def test_a_supervisor_reassigns_and_the_room_learns_from_whom_to_whom(db, people, op, op2):
    boss = principal(people["supervisor"], access.Role.SUPERVISOR)
    rid = await new_referral(db)
    await assessment_actions.claim(db, op, rid)
    start = await eventlog.head(db.pool)
    state = await assessment_actions.reassign(db, boss, rid, op2.user_id, "esperienza Codice Rosa")
    assert (state.holder_id, state.holder_name) == (op2.user_id, "Operator2 Test")
    (moved,) = await events_after(db, start)  # same status: the referrer hears nothing new
    assert moved["type"] == "referral.reassigned" and moved["audience"] == [access.ROOM]
    assert (moved["payload"]["from"], moved["payload"]["to"]) == (op.user_id, op2.user_id)
    assert moved["actor"] == f"user:{boss.user_id}"
    with pytest.raises(Refused):
        await assessment_actions.reassign(db, boss, rid, op2.user_id)
    with pytest.raises(errors.ValidationFailed):
        await assessment_actions.reassign(db, boss, rid, people["referrer"].user_id)


async def test_reassigning_a_waiting_referral_puts_it_in_assessment(db, people, op2):
    boss = principal(people["supervisor"], access.Role.SUPERVISOR)
    rid = await new_referral(db)
    start = await eventlog.head(db.pool)
    await assessment_actions.reassign(db, boss, rid, op2.user_id)
    types = [e["type"] for e in await events_after(db, start)]
    assert types == ["referral.reassigned", "referral.progressed"]


# ---- decisions ----------------------------------------------------------------------------


async def test_activation_opens_the_case_in_the_same_transaction(db, op):
    rid = await new_referral(db, municipality="047014")  # Pistoia
    await assessment_actions.claim(db, op, rid)
    start = await eventlog.head(db.pool)
    out = await assessment_actions.decide(db, op, rid, decision("activate", assessment=ACTIVATE))
    assert out.status == "activated" and out.case_id is not None
    case = await db.pool.fetchrow("SELECT * FROM cases WHERE id = $1", out.case_id)
    referral = await db.pool.fetchrow("SELECT * FROM referrals WHERE id = $1", rid)
    assert case["referral_id"] == rid and case["case_number"] == referral["case_number"]
    assert (case["status"], case["zone_id"], case["urgency"]) == ("open", "pistoiese", "rosso")
    assert case["owner_id"] == op.user_id
    assert (case["needs"], case["skills"], case["language"]) == (
        ["shelter_bed", "meals"],
        ["minors"],
        "rumeno",
    )
    assert (referral["status"], referral["urgency"], referral["holder_id"]) == (
        "activated",
        "rosso",
        op.user_id,
    )
    assert referral["assessment"]["risk_factors"] == ["no_shelter", "cold_weather"]
    assert referral["assessment"]["decided_by"] == op.user_id
    decided, opened, progressed = await events_after(db, start)
    assert decided["type"] == "referral.decided" and decided["zone"] == "pistoiese"
    assert decided["payload"]["case_id"] == out.case_id
    assert decided["payload"]["urgency"] == "rosso"
    assert opened["type"] == "case.opened" and opened["audience"] == [access.ROOM]
    assert opened["payload"]["needs"] == ["shelter_bed", "meals"]
    assert opened["payload"]["case_number"] == referral["case_number"]
    assert progressed["type"] == "referral.progressed"
    assert progressed["payload"]["status"] == "activated"
    assert "rumeno" not in str(progressed["payload"])  # never the assessment


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({"decision": "activate"}, ["assessment.urgency"]),
        ({"decision": "not_pertinent", "reason": "  "}, ["reason"]),
        ({"decision": "redirect", "reason": "competenza"}, ["redirect_to"]),
        ({"decision": "merge"}, ["merge_into"]),
    ],
)
async def test_an_incomplete_decision_is_refused_by_field_and_changes_nothing(
    db, op, body, missing
):
    rid = await new_referral(db)
    await assessment_actions.claim(db, op, rid)
    start = await eventlog.head(db.pool)
    with pytest.raises(errors.ValidationFailed) as raised:
        await assessment_actions.decide(db, op, rid, parsed(body))
    assert [p.field for p in raised.value.problems] == missing
    assert await eventlog.head(db.pool) == start


async def test_only_the_holder_decides(db, op, op2):
    rid = await new_referral(db)
    with pytest.raises(Refused):
        await assessment_actions.decide(db, op, rid, decision("not_pertinent", reason="x"))
    await assessment_actions.claim(db, op, rid)
    with pytest.raises(Refused):
        await assessment_actions.decide(db, op2, rid, decision("not_pertinent", reason="x"))


@pytest.mark.parametrize(
    ("body", "status", "progress"),
    [
        (
            {"decision": "not_pertinent", "reason": "Non emergenza"},
            "not_pertinent",
            "not_pertinent",
        ),
        (
            {"decision": "redirect", "reason": "Non emergenza", "redirect_to": "SST Prato"},
            "redirected",
            "not_pertinent",
        ),
    ],
)
async def test_not_pertinent_and_redirect_keep_their_reason_and_tell_the_referrer(
    db, op, body, status, progress
):
    rid = await new_referral(db)
    await assessment_actions.claim(db, op, rid)
    start = await eventlog.head(db.pool)
    await assessment_actions.decide(db, op, rid, parsed(body))
    row = await db.pool.fetchrow("SELECT * FROM referrals WHERE id = $1", rid)
    assert (row["status"], row["decision_reason"]) == (status, "Non emergenza")
    assert row["assessment"]["redirect_to"] == body.get("redirect_to")
    decided, progressed = await events_after(db, start)
    assert decided["payload"]["reason"] == "Non emergenza"
    assert decided["payload"]["redirect_to"] == body.get("redirect_to")
    assert progressed["payload"] == {
        "id": rid,
        "case_number": row["case_number"],
        "status": progress,
        "reason": "Non emergenza",
    }
    assert await db.pool.fetchval("SELECT count(*) FROM cases") == 0


async def test_a_merged_referral_follows_its_target_and_merges_never_chain(db, op):
    first, second, third = [await new_referral(db) for _ in range(3)]
    await assessment_actions.claim(db, op, first)
    await assessment_actions.decide(db, op, first, decision("merge", merge_into=second))
    await assessment_actions.claim(db, op, second)
    start = await eventlog.head(db.pool)
    await assessment_actions.decide(db, op, second, decision("merge", merge_into=third))
    rows = await db.pool.fetch(
        "SELECT id, status, merged_into FROM referrals WHERE id = ANY($1) ORDER BY id",
        [first, second, third],
    )
    assert [(r["status"], r["merged_into"]) for r in rows] == [
        ("merged", third),
        ("merged", third),
        ("received", None),
    ]
    decided, *progressed = await events_after(db, start)
    assert decided["payload"]["merged_into"] == third
    assert sorted(e["payload"]["id"] for e in progressed) == [first, second]
    assert {e["payload"]["status"] for e in progressed} == {"received"}  # the target's


async def test_a_merged_referrals_referrer_is_told_when_its_target_moves(db, op):
    merged, target = await new_referral(db), await new_referral(db)
    await assessment_actions.claim(db, op, merged)
    await assessment_actions.decide(db, op, merged, decision("merge", merge_into=target))
    start = await eventlog.head(db.pool)
    await assessment_actions.claim(db, op, target)
    claimed, *progressed = await events_after(db, start)
    assert claimed["type"] == "referral.claimed"
    assert [(e["payload"]["id"], e["payload"]["status"]) for e in progressed] == [
        (target, "in_assessment"),
        (merged, "in_assessment"),  # the target's progress, told to the merged one's referrer
    ]
    assert all(len(e["audience"]) == 1 for e in progressed)


async def test_a_merge_needs_an_existing_unmerged_target(db, op):
    rid, gone = await new_referral(db), await new_referral(db, status="merged")
    await assessment_actions.claim(db, op, rid)
    with pytest.raises(DomainError) as missing:
        await assessment_actions.decide(db, op, rid, decision("merge", merge_into=999_999))
    assert str(missing.value) == "La segnalazione in cui unirla non esiste."
    with pytest.raises(Refused) as merged:
        await assessment_actions.decide(db, op, rid, decision("merge", merge_into=gone))
    assert str(merged.value) == (  # the page shows it as it is: in Italian
        "La segnalazione scelta è stata a sua volta unita a un'altra: unisci a quest'ultima."
    )


async def test_two_opposite_merges_at_once_do_not_deadlock(db, op, op2):
    a, b = await new_referral(db), await new_referral(db)
    await assessment_actions.claim(db, op, a)
    await assessment_actions.claim(db, op2, b)
    results = await asyncio.wait_for(
        asyncio.gather(
            assessment_actions.decide(db, op, a, decision("merge", merge_into=b)),
            assessment_actions.decide(db, op2, b, decision("merge", merge_into=a)),
            return_exceptions=True,
        ),
        10,
    )
    assert sorted(type(r).__name__ for r in results) == ["DecisionOut", "Refused"]


# ---- reads --------------------------------------------------------------------------------


async def test_the_queue_shows_open_referrals_in_order_with_their_holder(db, op):
    verde = await new_referral(db, urgency="verde")
    none = await new_referral(db, urgency=None, people={"count": 3, "minors": 2})
    rosso = await new_referral(db, urgency="rosso")
    await new_referral(db, status="activated")
    await assessment_actions.claim(db, op, none)
    read = await assessment_reads.read_queue(db.pool)
    assert [e.id for e in read.entries] == [rosso, none, verde]
    held = read.entries[1]
    assert (held.urgency, held.urgency_source) == ("giallo", "default")
    assert (held.holder_name, held.people_count, held.minors) == (op.name, 3, 2)
    assert held.municipality_name == "Firenze" and held.trigger_label == "Abbandono"
    assert read.as_of == await eventlog.head(db.pool)


async def place(db: Database, referral_id: int, **columns: Any) -> None:
    """Where, when and who a test referral is about (intake's columns, set directly)."""
    for column, value in columns.items():
        cast = "::text::jsonb" if column in ("people", "callback") else ""
        value = json.dumps(value) if cast else value
        await db.pool.execute(
            f"UPDATE referrals SET {column} = $2{cast} WHERE id = $1", referral_id, value
        )


async def test_possible_duplicates_come_back_ranked_with_their_reasons_and_differences(db):
    now = datetime.now(UTC)
    station = {"address": "Piazza della Stazione 4", "lat": 43.7765, "lon": 11.2480}
    old_man = {"count": 1, "minors": 0, "age_band": "over_65", "sex": "m", "language": "ro"}
    rid = await new_referral(db, description="Uomo anziano confuso davanti alla stazione")
    await place(db, rid, **station, people=old_man, received_at=now)

    same_address = await new_referral(db, description="Persona che chiede aiuto")
    await place(
        db,
        same_address,
        address="P.zza della Stazione, 4",
        people=old_man,
        received_at=now - timedelta(minutes=12),
    )
    near = await new_referral(db, description="Lite in strada")
    await place(
        db,
        near,
        address="Via Nazionale 10",
        lat=43.7792,
        lon=11.2480,
        people={"count": 1, "minors": 0},
        received_at=now - timedelta(hours=3),
    )
    # At the municipality's own point: that says the town, not the place.
    town = await new_referral(db, description="Sfratto eseguito")
    lat, lon = await db.pool.fetchrow(
        "SELECT lat, lon FROM municipalities WHERE istat_code = '048017'"
    )
    await place(
        db,
        town,
        lat=lat,
        lon=lon,
        people={"count": 1, "minors": 0},
        received_at=now - timedelta(hours=30),
    )
    another_person = await new_referral(db, description="Ragazza sola")
    await place(
        db,
        another_person,
        **station,
        people={"count": 1, "minors": 1, "age_band": "minor", "sex": "f", "language": "ar"},
        received_at=now - timedelta(hours=30),
    )
    merged = await new_referral(db, status="merged")
    await place(db, merged, **station, people=old_man)
    elsewhere = await new_referral(db, municipality="047014", description="Niente in comune")
    await place(db, elsewhere, received_at=now - timedelta(hours=30))

    await db.pool.execute(  # each its own caller
        "UPDATE referrals SET callback = jsonb_set(callback, '{phone}', to_jsonb('33300' || id))"
    )
    found = await assessment_reads.merge_candidates(db.pool, rid, now)

    assert [(c.id, c.reasons) for c in found.candidates] == [
        (
            same_address,
            [
                "stessa fascia d'età (Oltre 65 anni)",
                "stesso sesso",
                "stessa lingua (rumeno)",
                "stesso indirizzo",
                "ricevuta 12 min prima",
            ],
        ),
        (near, ["a 300 m", "stesso comune (Firenze)", "ricevuta 3 h prima"]),
        (town, ["stesso comune (Firenze)"]),
    ]
    first = found.candidates[0]
    assert first.address == "P.zza della Stazione, 4" and first.differences == []
    assert first.score > found.candidates[1].score > found.candidates[2].score


async def test_words_of_the_description_tie_referrals_across_towns_and_the_caller_alone_does_not(
    db,
):
    rid = await new_referral(db, description="Uomo anziano solo trovato confuso alla stazione")
    similar = await new_referral(
        db, municipality="047014", description="Uomo anziano confuso trovato solo in stazione"
    )
    same_phone = await new_referral(db, municipality="047014", description="Niente")
    found = await assessment_reads.merge_candidates(db.pool, rid, datetime.now(UTC))
    by_id = {c.id: c.reasons for c in found.candidates}
    assert same_phone not in by_id  # the same desk phone (make_referral's), nothing else
    reasons = by_id[similar]
    assert reasons[0] == "stesso numero da richiamare"
    [words] = [r for r in reasons if r.startswith("descrizione simile: ")]
    assert "stazione" in words and "anziano" in words
    assert "stesso comune (Firenze)" not in reasons  # Prato's


# ---- what the referrer added, and a withdrawal ----------------------------------------------


async def referrer(db: Database) -> access.Principal:
    return access.Principal(access.Role.REFERRER, "PS test", referrer_id=await referrer_id(db))


async def add(db: Database, referral_id: int, text: str) -> None:
    body = AddendumIn.model_validate_json(json.dumps({"text": text}))
    await intake_actions.add_addendum(db, await referrer(db), referral_id, body, uuid.uuid4().hex)


async def test_the_referral_read_lists_what_its_referrers_added_oldest_first(db, op):
    rid, twin = await new_referral(db), await new_referral(db)
    _, before = await assessment_reads.read_referral(db.pool, rid)
    assert (await assessment_reads.read_referral(db.pool, rid))[0]["addenda"] == []

    await add(db, rid, "Ora è in sala d'attesa.")
    await add(db, twin, "<b>Ha con sé</b> un cane.")  # data: the page escapes it
    await assessment_actions.claim(db, op, twin)
    await assessment_actions.decide(db, op, twin, decision("merge", merge_into=rid))
    await add(db, rid, "È arrivata la figlia.")

    referral, as_of = await assessment_reads.read_referral(db.pool, rid)
    found = [(a.referral_id, a.text, a.author_name) for a in referral["addenda"]]
    assert found == [
        (rid, "Ora è in sala d'attesa.", "PS test"),
        (twin, "<b>Ha con sé</b> un cane.", "PS test"),  # merged into this one: shown here too
        (rid, "È arrivata la figlia.", "PS test"),
    ]
    # read with the referral: the log head covers the last addendum's event
    last = await db.pool.fetchval(
        "SELECT max(seq) FROM events WHERE type = 'referral.addendum_added'"
    )
    assert before < last <= as_of
    assert referral["withdrawn_at"] is None and referral["withdrawal_reason"] is None


async def test_a_withdrawn_referral_reads_when_and_why_and_refuses_the_room_in_italian(db, op):
    rid = await new_referral(db)
    await assessment_actions.claim(db, op, rid)
    await intake_actions.withdraw(db, await referrer(db), rid, "Accolta dai familiari.")

    referral, _ = await assessment_reads.read_referral(db.pool, rid)
    assert referral["status"] == "withdrawn"
    assert referral["withdrawal_reason"] == "Accolta dai familiari."
    assert referral["withdrawn_at"] is not None

    with pytest.raises(Refused) as decided:
        await assessment_actions.decide(db, op, rid, decision("activate", assessment=ACTIVATE))
    assert str(decided.value) == (
        "La segnalazione è stata ritirata dal segnalante: non si può più decidere."
    )
    with pytest.raises(Refused) as released:
        await assessment_actions.release(db, op, rid)
    assert str(released.value) == (
        "La segnalazione è stata ritirata dal segnalante: non si può rimettere in coda."
    )
    with pytest.raises(IllegalTransition) as claimed:
        await assessment_actions.claim(db, op, rid)
    assert str(claimed.value) == (
        "La segnalazione è stata ritirata dal segnalante: non si può prendere in carico."
    )
    assert (await db.pool.fetchval("SELECT status FROM referrals WHERE id = $1", rid)) == (
        "withdrawn"
    )
