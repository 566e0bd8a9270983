"""The supervisor's room against real PostgreSQL: its snapshot, escalations, shift notes and
case reassignment, each action with its rows and its events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from console.areas.clocks import actions as clocks_actions
from console.areas.clocks import store as clocks_store
from console.areas.intake import actions as intake_actions
from console.areas.intake.schemas import EXAMPLE, ReferralIn
from console.areas.supervision import actions as supervision_actions
from console.areas.supervision import reads as supervision_reads
from console.areas.supervision import schemas as supervision_schemas
from console.lib import errors, eventlog
from console.lib.db import Database
from dispatch import access
from dispatch.calendars import Calendar
from dispatch.sessions import SessionPolicy
from tests import support

POLICY = SessionPolicy(idle=timedelta(minutes=60), absolute=timedelta(hours=12))


def principal(person: support.Person, role: access.Role) -> access.Principal:
    return access.Principal(
        role=role, name=f"{person.username.title()} Test", user_id=person.user_id
    )


@pytest.fixture
def boss(people: dict[str, support.Person]) -> access.Principal:
    return principal(people["supervisor"], access.Role.SUPERVISOR)


@pytest.fixture
async def incoming(db: Database) -> access.Principal:
    """A second supervisor: the one who takes the next shift."""
    user_id = await db.pool.fetchval(
        "INSERT INTO users (username, display_name, role) VALUES ('night', 'Notte Test',"
        " 'supervisor') RETURNING id"
    )
    return access.Principal(role=access.Role.SUPERVISOR, name="Notte Test", user_id=user_id)


async def referrer_id(db: Database) -> int:
    value: int = await db.pool.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
    return value


async def events_after(db: Database, seq: int, prefix: str = "") -> list[dict[str, Any]]:
    rows = await db.pool.fetch(
        "SELECT seq, type, subject, zone, audience, payload, actor FROM events WHERE seq > $1"
        " AND type LIKE $2 || '%' AND type NOT LIKE 'clock.%' ORDER BY seq",
        seq,
        prefix,
    )
    return [dict(r) for r in rows]


async def breached_escalation(db: Database) -> int:
    """A referral nobody claimed in time: its claim clock breaches and escalates, as in life."""
    await db.pool.execute(
        "UPDATE sla_targets SET seconds = 1, working_days = NULL"
        " WHERE milestone = 'referral_claimed'"
    )
    row = await db.pool.fetchrow("SELECT id, name FROM referrers WHERE name = 'PS test'")
    who = access.Principal(role=access.Role.REFERRER, name=row["name"], referrer_id=row["id"])
    body = ReferralIn.model_validate_json(json.dumps(EXAMPLE), strict=True)
    await intake_actions.submit(db, who, body, "key-1")
    await clocks_actions.fire_due(db, now=datetime.now(UTC) + timedelta(seconds=5))
    escalation_id: int = await db.pool.fetchval("SELECT id FROM escalations")
    return escalation_id


# ---- escalations ----------------------------------------------------------------------------


async def test_an_escalation_is_acknowledged_once_and_the_second_supervisor_learns_by_whom(
    db, boss, incoming
):
    escalation_id = await breached_escalation(db)
    before = await supervision_reads.read_supervision(db.pool, POLICY)
    assert [e.id for e in before.escalations] == [escalation_id]
    assert before.escalations[0].label == "Presa visione"

    start = await eventlog.head(db.pool)
    done = await supervision_actions.acknowledge_escalation(
        db, boss, escalation_id, "Chiamata la sala."
    )
    assert (done.acknowledged_by, done.acknowledged_by_name, done.note) == (
        boss.user_id,
        "Supervisor Test",
        "Chiamata la sala.",
    )
    (event,) = await events_after(db, start)
    assert event["type"] == "escalation.acknowledged"
    assert event["audience"] == [access.SUPERVISORS]
    assert event["subject"] == f"escalation:{escalation_id}"
    assert event["payload"]["escalation_id"] == escalation_id
    assert event["payload"]["by_name"] == "Supervisor Test"
    assert event["payload"]["note"] == "Chiamata la sala."
    assert event["seq"] == done.seq

    with pytest.raises(supervision_actions.AlreadyAcknowledged) as refused:
        await supervision_actions.acknowledge_escalation(db, incoming, escalation_id)
    assert refused.value.status == 409
    assert "Supervisor Test" in refused.value.detail
    assert refused.value.body()["acknowledged"]["by"] == boss.user_id
    assert await events_after(db, done.seq) == []
    row = await db.pool.fetchrow("SELECT acknowledged_by, note FROM escalations")
    assert (row["acknowledged_by"], row["note"]) == (boss.user_id, "Chiamata la sala.")

    after = await supervision_reads.read_supervision(db.pool, POLICY)
    assert after.escalations == []


async def test_an_unknown_escalation_is_not_found(db, boss):
    with pytest.raises(errors.NotFound):
        await supervision_actions.acknowledge_escalation(db, boss, 424242)


def test_an_acknowledgement_note_is_plain_text_of_at_most_2000_characters():
    parse = supervision_schemas.AcknowledgeIn.model_validate_json
    assert parse("{}").note is None
    assert parse(json.dumps({"note": "x" * 2000})).note == "x" * 2000
    for bad in ({"note": "x" * 2001}, {"note": "bell\x07"}, {"note": 3}, {"other": "x"}):
        with pytest.raises(pydantic.ValidationError):
            parse(json.dumps(bad), strict=True)


# ---- shift notes ----------------------------------------------------------------------------


async def test_a_shift_note_is_acknowledged_only_by_someone_else_and_only_once(db, boss, incoming):
    start = await eventlog.head(db.pool)
    note = await supervision_actions.write_shift_note(
        db, boss, "Caso SEUS-2026-000001:\n\trichiamare."
    )
    (written,) = await events_after(db, start)
    assert written["type"] == "shift_note.written" and written["audience"] == [access.SUPERVISORS]
    assert written["payload"]["body"] == "Caso SEUS-2026-000001:\n\trichiamare."
    assert written["payload"]["author_name"] == "Supervisor Test"

    with pytest.raises(errors.Conflict) as own:
        await supervision_actions.acknowledge_shift_note(db, boss, note.id)
    assert "chi prende il turno" in own.value.detail

    read = await supervision_actions.acknowledge_shift_note(db, incoming, note.id)
    assert (read.acknowledged_by, read.acknowledged_by_name) == (incoming.user_id, "Notte Test")
    (acknowledged,) = await events_after(db, note.seq)
    assert acknowledged["type"] == "shift_note.acknowledged"
    assert acknowledged["audience"] == [access.SUPERVISORS]
    assert acknowledged["payload"]["by_name"] == "Notte Test"

    with pytest.raises(supervision_actions.AlreadyAcknowledged) as twice:
        await supervision_actions.acknowledge_shift_note(db, incoming, note.id)
    assert "Notte Test" in twice.value.detail
    with pytest.raises(errors.NotFound):
        await supervision_actions.acknowledge_shift_note(db, incoming, 424242)

    (shown,) = (await supervision_reads.read_supervision(db.pool, POLICY)).shift_notes
    assert (shown.author_name, shown.acknowledged_by_name) == ("Supervisor Test", "Notte Test")


def test_a_shift_note_is_one_to_8000_characters_without_control_characters():
    parse = supervision_schemas.ShiftNoteIn.model_validate_json
    assert parse(json.dumps({"body": "riga 1\n\triga 2"})).body == "riga 1\n\triga 2"
    assert len(parse(json.dumps({"body": "x" * 8000})).body) == 8000
    for bad in ({"body": ""}, {"body": "   "}, {"body": "x" * 8001}, {"body": "a\x00b"}, {}):
        with pytest.raises(pydantic.ValidationError):
            parse(json.dumps(bad), strict=True)


# ---- reassigning a case ---------------------------------------------------------------------


async def test_a_case_is_reassigned_to_an_active_operator_and_the_room_learns_it(db, people, boss):
    async with db.pool.acquire() as conn:
        _, case_id = await support.make_case(conn, referrer_id=await referrer_id(db))
    number = await db.pool.fetchval("SELECT case_number FROM cases WHERE id = $1", case_id)
    operator, operator2 = people["operator"], people["operator2"]

    start = await eventlog.head(db.pool)
    done = await supervision_actions.reassign_case(
        db, boss, case_id, operator.user_id, "fine turno"
    )
    assert (done.owner_id, done.owner_name, done.case_number) == (
        operator.user_id,
        "Operator Test",
        number,
    )
    done = await supervision_actions.reassign_case(db, boss, case_id, operator2.user_id)
    first, second = await events_after(db, start)
    assert first["type"] == second["type"] == "case.reassigned"
    assert first["audience"] == [access.ROOM] and first["subject"] == f"case:{case_id}"
    assert first["zone"] == "firenze" and first["actor"] == f"user:{boss.user_id}"
    assert first["payload"] == {
        "case_id": case_id,
        "case_number": number,
        "from": None,
        "from_name": None,
        "to": operator.user_id,
        "to_name": "Operator Test",
        "by_name": "Supervisor Test",
        "reason": "fine turno",
        "at": first["payload"]["at"],
    }
    assert (second["payload"]["from"], second["payload"]["from_name"]) == (
        operator.user_id,
        "Operator Test",
    )
    assert second["payload"]["to_name"] == "Operator2 Test" and second["payload"]["reason"] is None
    owner = await db.pool.fetchval("SELECT owner_id FROM cases WHERE id = $1", case_id)
    assert owner == operator2.user_id

    with pytest.raises(errors.Conflict):  # already theirs
        await supervision_actions.reassign_case(db, boss, case_id, operator2.user_id)


async def test_a_case_goes_only_to_an_active_operator_or_supervisor_and_never_when_closed(
    db, people, boss
):
    async with db.pool.acquire() as conn:
        _, case_id = await support.make_case(conn, referrer_id=await referrer_id(db))
        _, closed_id = await support.make_case(
            conn, referrer_id=await referrer_id(db), status="closed"
        )
    gone = await db.pool.fetchval(
        "INSERT INTO users (username, display_name, role, active)"
        " VALUES ('gone', 'Ex Operatore', 'operator', false) RETURNING id"
    )
    start = await eventlog.head(db.pool)
    for to in (people["referrer"].user_id, people["unit"].user_id, gone, 999_999):
        with pytest.raises(errors.ValidationFailed) as refused:
            await supervision_actions.reassign_case(db, boss, case_id, to)
        assert [p.field for p in refused.value.problems] == ["operator_id"]
    with pytest.raises(errors.Conflict) as closed:
        await supervision_actions.reassign_case(db, boss, closed_id, people["operator"].user_id)
    assert "chiuso" in closed.value.detail
    with pytest.raises(errors.NotFound):
        await supervision_actions.reassign_case(db, boss, 999_999, people["operator"].user_id)
    assert await events_after(db, start) == []
    assert await db.pool.fetchval("SELECT owner_id FROM cases WHERE id = $1", case_id) is None


# ---- the snapshot ---------------------------------------------------------------------------


async def add_clock(db: Database, **fields: Any) -> int:
    """A clock row as clockwork would store it (test data)."""
    now = fields.pop("now")
    row = {
        "milestone": "referral_claimed",
        "kind": "referral",
        "referral_id": None,
        "case_id": None,
        "urgency": "giallo",
        "state": "running",
        "budget": timedelta(minutes=15),
        "counted": timedelta(0),
        "running_since": now - timedelta(minutes=10),
        "warned": 0,
        "breached_at": None,
        **fields,
    }
    subject = row["referral_id"] if row["kind"] == "referral" else row["case_id"]
    table = "referrals" if row["kind"] == "referral" else "cases"
    number, zone = await db.pool.fetchrow(
        f"SELECT case_number, zone_id FROM {table} WHERE id = $1", subject
    )
    clock_id: int = await db.pool.fetchval(
        "INSERT INTO clocks (milestone, kind, subject_id, referral_id, case_id, case_number,"
        " zone_id, urgency, state, budget, counted, running_since, warnings, warned, breached_at,"
        " calendar, started_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, '{0.5,0.8}', $13, $14, $15, $16, $16) RETURNING id",
        row["milestone"],
        row["kind"],
        subject,
        row["referral_id"],
        row["case_id"],
        number,
        zone,
        row["urgency"],
        row["state"],
        row["budget"],
        row["counted"],
        row["running_since"],
        row["warned"],
        row["breached_at"],
        clocks_store.calendar_to_json(Calendar()),
        now - timedelta(minutes=10),
    )
    return clock_id


async def add_escalation(db: Database, clock_id: int, due_at: datetime, **extra: Any) -> int:
    escalation_id: int = await db.pool.fetchval(
        "INSERT INTO escalations (clock_id, milestone, referral_id, case_id, case_number, zone_id,"
        " urgency, due_at, raised_at, acknowledged_at, acknowledged_by) SELECT id, milestone,"
        " referral_id, case_id, case_number, zone_id, urgency, $2, $2, $3, $4 FROM clocks"
        " WHERE id = $1 RETURNING id",
        clock_id,
        due_at,
        extra.get("acknowledged_at"),
        extra.get("acknowledged_by"),
    )
    return escalation_id


async def add_session(
    db: Database, user_id: int, created: datetime, seen: datetime, revoked: datetime | None = None
) -> None:
    await db.pool.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at, revoked_at)"
        " VALUES (gen_random_uuid()::text::bytea, $1, 'x', $2, $3, $4)",
        user_id,
        created,
        seen,
        revoked,
    )


async def test_the_snapshot_counts_queues_and_shows_only_clocks_at_risk_and_who_is_on_shift(
    db, people, boss
):
    now = datetime.now(UTC)
    ago = lambda minutes: now - timedelta(minutes=minutes)  # noqa: E731
    rid = await referrer_id(db)

    async def referral(received: datetime, **options: Any) -> int:
        async with db.pool.acquire() as conn:
            new = await support.make_referral(conn, referrer_id=rid, **options)
        await db.pool.execute("UPDATE referrals SET received_at = $2 WHERE id = $1", new, received)
        return new

    async def case(updated: datetime, **options: Any) -> int:
        async with db.pool.acquire() as conn:
            _, new = await support.make_case(conn, referrer_id=rid, **options)
        await db.pool.execute("UPDATE cases SET updated_at = $2 WHERE id = $1", new, updated)
        return new

    old_giallo = await referral(ago(40), urgency="giallo")
    new_giallo = await referral(ago(3), urgency="giallo")
    rosso = await referral(ago(12), urgency="rosso")
    await referral(ago(7), urgency=None)
    assessed = await referral(ago(25), urgency="giallo", status="in_assessment")
    await db.pool.execute(  # the assessment's code wins over the proposal
        "UPDATE referrals SET urgency = 'verde', holder_id = $2 WHERE id = $1",
        assessed,
        people["operator"].user_id,
    )
    await referral(ago(90), status="not_pertinent")  # decided: in no queue

    open_rosso = await case(ago(30), urgency="rosso")
    await case(ago(5), urgency="rosso")
    on_scene = await case(ago(20), urgency="giallo", status="on_scene")
    await case(ago(100), urgency="verde", status="closed")

    # clocks: two breached and one warned are at risk; a quiet, a paused and a met one are not
    breached = await add_clock(
        db, now=now, referral_id=rosso, urgency="rosso", state="breached", breached_at=ago(7)
    )
    warned = await add_clock(
        db, now=now, referral_id=old_giallo, milestone="assessment_decided", warned=1
    )
    await add_clock(db, now=now, referral_id=new_giallo)
    await add_clock(
        db, now=now, kind="case", case_id=on_scene, milestone="handover_sent", state="paused",
        running_since=None, warned=1,
    )  # fmt: skip
    met = await add_clock(
        db, now=now, kind="case", case_id=open_rosso, milestone="handover_sent", state="met",
        running_since=None, breached_at=ago(50),
    )  # fmt: skip
    late_case = await add_clock(
        db, now=now, kind="case", case_id=open_rosso, milestone="handover_accepted",
        urgency="rosso", state="breached", breached_at=ago(1),
    )  # fmt: skip

    claimed_late = await add_clock(
        db, now=now, referral_id=assessed, state="met", running_since=None, breached_at=ago(60)
    )  # a giallo that breached an hour ago: its escalation waits after the rossi
    first = await add_escalation(db, breached, ago(7))
    second = await add_escalation(db, late_case, ago(1))
    third = await add_escalation(db, claimed_late, ago(60))
    await add_escalation(db, met, ago(50), acknowledged_at=ago(45), acknowledged_by=boss.user_id)

    # units: one on a case in Firenze, one without a zone
    unit_id = await db.pool.fetchval(
        "UPDATE units SET zones = '{firenze,empolese-valdelsa}', status = 'on_scene',"
        " status_since = $2, current_case_id = $3 WHERE name = $1 RETURNING id",
        "UTES test",
        ago(15),
        on_scene,
    )

    # sessions: who is live now, and who is not any more
    operator, operator2 = people["operator"].user_id, people["operator2"].user_id
    await add_session(db, operator, ago(120), ago(1))
    await add_session(db, operator, ago(30), ago(2))  # a second screen: still one person
    await add_session(db, boss.user_id, ago(60), ago(0))
    await add_session(db, operator2, ago(200), ago(61))  # idle too long
    await add_session(db, operator2, ago(30), ago(1), revoked=ago(5))  # logged out
    await add_session(db, operator2, ago(13 * 60), ago(1))  # over the absolute lifetime
    await add_session(db, people["admin"].user_id, ago(10), ago(1))  # not room staff
    await add_session(db, people["unit"].user_id, ago(10), ago(1))

    for n in range(22):
        await db.pool.execute(
            "INSERT INTO shift_notes (body, author_id, written_at) VALUES ($1, $2, $3)",
            f"consegna {n}",
            boss.user_id,
            ago(100 - n),
        )

    head = await eventlog.head(db.pool)
    seen = await supervision_reads.read_supervision(db.pool, POLICY, now)
    assert seen.as_of == head and seen.now == now

    assert [(q.state, q.urgency, q.count, q.oldest_received_at) for q in seen.referral_queues] == [
        ("received", "rosso", 1, ago(12)),
        ("received", "giallo", 2, ago(40)),
        ("received", "none", 1, ago(7)),
        ("in_assessment", "verde", 1, ago(25)),
    ]
    assert [(q.status, q.urgency, q.count, q.oldest_updated_at) for q in seen.case_queues] == [
        ("open", "rosso", 2, ago(30)),
        ("on_scene", "giallo", 1, ago(20)),
    ]
    assert seen.case_queues[1].status_label == "Unità sul posto"

    assert [c.clock_id for c in seen.clocks] == [breached, late_case, warned]
    assert [(c.state, c.warned) for c in seen.clocks] == [
        ("breached", 0),
        ("breached", 0),
        ("running", 1),
    ]
    assert seen.clocks[2].deadline == ago(10) + timedelta(minutes=15)

    # the most urgent first, then the oldest
    assert [(e.id, e.case_id, e.referral_id, e.urgency) for e in seen.escalations] == [
        (first, None, rosso, "rosso"),
        (second, open_rosso, None, "rosso"),
        (third, None, assessed, "giallo"),
    ]
    assert [e.label for e in seen.escalations] == [
        "Presa visione",
        "Risposta del servizio territoriale",
        "Presa visione",
    ]

    (firenze, nowhere) = seen.zones
    assert (firenze.zone_id, firenze.zone_name) == ("firenze", "Firenze")
    (unit,) = firenze.units
    assert (unit.id, unit.status, unit.status_label, unit.status_since) == (
        unit_id,
        "on_scene",
        "Sul posto",
        ago(15),
    )
    number = await db.pool.fetchval("SELECT case_number FROM cases WHERE id = $1", on_scene)
    assert (unit.current_case_id, unit.current_case_number) == (on_scene, number)
    assert nowhere.zone_id is None and [u.name for u in nowhere.units] == ["UTES 2"]

    assert [(p.user_id, p.role, p.since, p.sessions) for p in seen.on_shift] == [
        (boss.user_id, "supervisor", ago(60), 1),
        (operator, "operator", ago(120), 2),
    ]
    assert seen.on_shift[1].role_label == "Operatore di centrale"

    assert [n.body for n in seen.shift_notes] == [f"consegna {n}" for n in range(21, 1, -1)]

    work = {(w.kind, w.id): w for w in seen.work}
    assert work[("referral", assessed)].holder_name == "Operator Test"
    assert work[("referral", assessed)].urgency == "verde"
    assert ("case", on_scene) in work and len(seen.work) == 5 + 3
