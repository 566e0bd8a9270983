"""Case actions and the handover against real PostgreSQL: rows, events and who receives them."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from console.areas.cases import actions as cases_actions
from console.areas.cases import reads as cases_reads
from console.areas.cases import schemas as cases_schemas
from console.areas.handover import actions as handover_actions
from console.areas.handover import reads as handover_reads
from console.lib import errors
from console.lib.db import Database
from dispatch import access
from dispatch.errors import DomainError, IllegalTransition
from dispatch.handover import Status
from tests import support

PISTOIA = "047014"  # zone pistoiese
FIRENZE = "048017"  # zone firenze


@pytest.fixture
def room(people: dict[str, support.Person]) -> access.Principal:
    return access.Principal(
        access.Role.OPERATOR, "Operator Test", user_id=people["operator"].user_id
    )


@pytest.fixture
def firenze(people: dict[str, support.Person]) -> access.Principal:
    return access.Principal(
        access.Role.TERRITORIAL_SERVICE,
        "Territorial Test",
        user_id=people["territorial"].user_id,
        zone_id="firenze",
    )


@pytest.fixture
async def pistoiese(db: Database) -> access.Principal:
    user_id = await db.pool.fetchval(
        "INSERT INTO users (username, display_name, role, zone_id)"
        " VALUES ('sst-pistoia', 'SST Pistoia', 'territorial_service', 'pistoiese') RETURNING id"
    )
    return access.Principal(
        access.Role.TERRITORIAL_SERVICE, "SST Pistoia", user_id=user_id, zone_id="pistoiese"
    )


@pytest.fixture
async def referrer_id(db: Database, people: dict[str, support.Person]) -> int:
    found: int = await db.pool.fetchval(
        "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
    )
    return found


async def new_case(
    db: Database, referrer_id: int, *, residence: str | None = None, **options: Any
) -> tuple[int, int]:
    async with db.pool.acquire() as conn:
        referral_id, case_id = await support.make_case(conn, referrer_id=referrer_id, **options)
        if residence:
            await conn.execute(
                "UPDATE referrals SET residence_municipality_code = $2 WHERE id = $1",
                referral_id,
                residence,
            )
    return referral_id, case_id


async def unit_arrived(db: Database, case_id: int) -> None:
    """A unit reached the person and left (test data: the assignment only)."""
    unit = await db.pool.fetchval(
        "INSERT INTO units (name) VALUES ('UTES ' || gen_random_uuid()) RETURNING id"
    )
    await db.pool.execute(
        "INSERT INTO assignments (case_id, unit_id, dispatched_at, on_scene_at, done_at)"
        " VALUES ($1, $2, now(), now(), now())",
        case_id,
        unit,
    )


async def events_since(db: Database, after: int) -> list[asyncpg.Record]:
    return await db.pool.fetch(
        "SELECT seq, type, subject, audience, payload, actor FROM events WHERE seq > $1"
        " ORDER BY seq",
        after,
    )


async def head(db: Database) -> int:
    value: int = await db.pool.fetchval("SELECT seq FROM event_head")
    return value


def by_type(rows: list[asyncpg.Record]) -> dict[str, asyncpg.Record]:
    return {r["type"]: r for r in rows}


# -- routing ----------------------------------------------------------------------------------


async def test_a_handover_goes_to_the_zone_of_residence_not_where_the_person_was_found(
    db: Database, room: access.Principal, referrer_id: int
):
    _, case_id = await new_case(
        db, referrer_id, residence=PISTOIA, municipality=FIRENZE, status="on_scene"
    )
    before = await head(db)

    sent = await handover_actions.send(db, room, case_id)

    assert sent.zone_id == "pistoiese"
    assert sent.status == "sent"
    events = by_type(await events_since(db, before))
    assert set(events["handover.sent"]["audience"]) == {"territorial:pistoiese"}
    assert events["handover.sent"]["payload"]["dossier"]["case_number"] == sent.case_number
    assert set(events["case.handover_sent"]["audience"]) == {"room"}
    assert events["case.handover_sent"]["payload"]["to_zone"] == "pistoiese"
    assert events["case.handover_sent"]["actor"] == f"user:{room.user_id}"
    status = await db.pool.fetchval("SELECT status FROM cases WHERE id = $1", case_id)
    assert status == "handover_sent"


async def test_without_a_residence_the_handover_goes_to_where_the_person_was_found(
    db: Database, room: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id, municipality=PISTOIA, status="on_scene")
    sent = await handover_actions.send(db, room, case_id)
    assert sent.zone_id == "pistoiese"


async def test_sending_a_handover_tells_the_referrer_its_status_only(
    db: Database, room: access.Principal, referrer_id: int
):
    referral_id, case_id = await new_case(db, referrer_id, status="resources_in_place")
    before = await head(db)
    await handover_actions.send(db, room, case_id)
    progressed = by_type(await events_since(db, before))["referral.progressed"]
    assert set(progressed["audience"]) == {f"referrer:{referrer_id}"}
    assert progressed["payload"]["id"] == referral_id
    assert set(progressed["payload"]) == {"id", "case_number", "status", "reason"}


@pytest.mark.parametrize("status", ["handover_sent", "handover_accepted", "closed"])
async def test_a_case_that_cannot_be_handed_over_is_refused_and_nothing_is_written(
    db: Database, room: access.Principal, referrer_id: int, status: str
):
    _, case_id = await new_case(db, referrer_id, status=status)
    before = await head(db)
    with pytest.raises(IllegalTransition):
        await handover_actions.send(db, room, case_id)
    assert await head(db) == before
    assert await db.pool.fetchval("SELECT count(*) FROM handovers") == 0


async def test_a_handover_of_a_missing_case_is_not_found(db: Database, room: access.Principal):
    with pytest.raises(errors.NotFound):
        await handover_actions.send(db, room, 999999)


# -- the dossier ------------------------------------------------------------------------------


async def test_the_dossier_is_curated_from_the_file_and_the_timeline(
    db: Database, room: access.Principal, referrer_id: int
):
    referral_id, case_id = await new_case(
        db,
        referrer_id,
        residence=PISTOIA,
        municipality=PISTOIA,
        status="on_scene",
        needs=["shelter_bed", "meals", "clothing"],
    )
    async with db.pool.acquire() as conn:
        await conn.execute(
            "UPDATE referrals SET assessment = $2::jsonb WHERE id = $1",
            referral_id,
            {"risk_factors": ["no_shelter", "elderly_alone"], "notes": "valutazione interna",
             "people": {"count": 2, "minors": 0}},
        )  # fmt: skip
        resources = {
            kind: await conn.fetchval(
                "INSERT INTO resources (zone_id, type, name, provider, capacity)"
                " VALUES ('pistoiese', $1, $2, 'Caritas', 10) RETURNING id",
                kind,
                name,
            )
            for kind, name in (
                ("shelter_bed", "Casa Accoglienza"),
                ("meals", "Mensa"),
                ("clothing", "Guardaroba"),
                ("pharmacy", "Farmacia comunale"),
            )
        }
        for kind, status, by in (
            ("shelter_bed", "confirmed", "user:1"),
            ("meals", "released", "user:1"),
            ("clothing", "held", "user:1"),
            ("pharmacy", "requested", "unit:1"),  # a unit's request, not answered
        ):
            await conn.execute(
                "INSERT INTO bookings (case_id, resource_id, quantity, status, requested_by,"
                " note, created_at, updated_at) VALUES ($1, $2, 1, $3, $4, 'nota interna',"
                " now(), now())",
                case_id,
                resources[kind],
                status,
                by,
            )
    await cases_actions.add_note(db, room, case_id, "Nota riservata della sala")
    marked = await cases_actions.add_note(db, room, case_id, "La figlia è reperibile in serata")
    await cases_actions.mark_note(db, room, case_id, marked.id, True)
    async with db.action() as tx:  # as the fleet's dispatch would record it
        tx.emit(
            support_event(
                "case.unit_dispatched",
                f"case:{case_id}",
                {"case_id": case_id, "unit_name": "UTES 7"},
            )
        )

    sent = await handover_actions.send(db, room, case_id)

    dossier = sent.dossier
    assert dossier["booked"] == [
        {
            "type": "shelter_bed",
            "type_label": "Posto letto in struttura",
            "name": "Casa Accoglienza",
            "provider": "Caritas",
            "status": "confirmed",
            "quantity": 1,
        }
    ]  # fmt: skip  (the held clothes are not active)
    assert dossier["open_needs"] == [
        "Pasti",
        "Vestiario: Guardaroba (Caritas), bloccata, non ancora confermata",
        "Farmacia: Farmacia comunale (Caritas), richiesta senza risposta",
    ]
    assert dossier["risks"] == ["Senza riparo per la notte", "Anziano solo"]
    assert dossier["who"] == {
        "count": 2, "minors": 0, "age_band": "over_65", "language": "it", "residence": "Pistoia"
    }  # fmt: skip
    assert [n["text"] for n in dossier["notes"]] == ["La figlia è reperibile in serata"]
    assert dossier["notes"][0]["author"] == "Operator Test"
    assert len(dossier["done"]) == 1 and dossier["done"][0].endswith("Unità inviata: UTES 7")
    assert dossier["place"]["municipality"] == "Pistoia"
    assert dossier["what_happened"] == "Persona anziana sola, senza assistenza."
    text = repr(dossier)
    for secret in ("Nota riservata", "valutazione interna", "nota interna", "Referente test"):
        assert secret not in text


async def test_marking_a_note_for_the_handover_is_recorded_and_can_be_undone(
    db: Database, room: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id, status="on_scene")
    _, other_case = await new_case(db, referrer_id, status="on_scene")
    note = await cases_actions.add_note(db, room, case_id, "Da passare al servizio")
    before = await head(db)

    marked = await cases_actions.mark_note(db, room, case_id, note.id, True)

    assert marked.for_handover is True
    event = by_type(await events_since(db, before))["case.note_marked"]
    assert (event["subject"], event["audience"]) == (f"case:{case_id}", ["room"])
    assert event["payload"]["note_id"] == note.id
    with pytest.raises(errors.Conflict):  # already marked: said, not ignored
        await cases_actions.mark_note(db, room, case_id, note.id, True)
    with pytest.raises(errors.NotFound):  # through another case
        await cases_actions.mark_note(db, room, other_case, note.id, False)
    await cases_actions.mark_note(db, room, case_id, note.id, False)
    async with db.pool.acquire() as conn:
        [stored] = await cases_reads.load_notes(conn, case_id)
        entries = await cases_reads.timeline(
            conn, case_id, await conn.fetchval("SELECT referral_id FROM cases WHERE id = $1",
                                               case_id), access.read_tags(room)
        )  # fmt: skip
    assert stored["for_handover"] is False
    assert [e["what"] for e in entries][-2:] == [
        "Nota segnata per il passaggio",
        "Nota tolta dal passaggio",
    ]
    assert entries[-1]["detail"] == "Da passare al servizio"


def support_event(event_type: str, subject: str, payload: dict[str, Any]):
    from dispatch.events import NewEvent

    return NewEvent(
        type=event_type,
        subject=subject,
        audience=frozenset({access.ROOM}),
        payload=payload,
        actor="system",
    )


# -- decisions --------------------------------------------------------------------------------


async def test_acceptance_by_the_zone_closes_the_services_part_and_the_referrer_follows(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    referral_id, case_id = await new_case(db, referrer_id, status="on_scene")
    sent = await handover_actions.send(db, room, case_id)
    before = await head(db)

    accepted = await handover_actions.decide(db, firenze, sent.id, Status.ACCEPTED)

    assert accepted.status == "accepted"
    assert accepted.decided_by is not None and accepted.decided_by.id == firenze.user_id
    row = await db.pool.fetchrow("SELECT status, flagged FROM cases WHERE id = $1", case_id)
    assert (row["status"], row["flagged"]) == ("handover_accepted", False)
    events = by_type(await events_since(db, before))
    assert set(events["handover.accepted"]["audience"]) == {"room", "territorial:firenze"}
    assert events["handover.accepted"]["actor"] == f"user:{firenze.user_id}"
    assert events["handover.accepted"]["payload"]["case_id"] == case_id
    assert events["referral.progressed"]["payload"]["status"] == "handed_over"
    assert events["referral.progressed"]["payload"]["id"] == referral_id


async def test_rejection_flags_the_case_back_to_the_room_with_the_reason(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id, status="on_scene")
    await unit_arrived(db, case_id)
    sent = await handover_actions.send(db, room, case_id)
    before = await head(db)

    rejected = await handover_actions.decide(
        db, firenze, sent.id, Status.REJECTED, "  Non residente "
    )

    assert (rejected.status, rejected.reason) == ("rejected", "Non residente")
    events = by_type(await events_since(db, before))
    decided = events["handover.rejected"]
    assert set(decided["audience"]) == {"room", "territorial:firenze"}
    assert decided["payload"]["reason"] == "Non residente"
    assert decided["payload"]["flagged"] is True
    assert events["referral.progressed"]["payload"]["status"] == "unit_on_scene"
    async with db.pool.acquire() as conn:
        listed = await cases_reads.room_cases(conn, include_closed=False)
    assert listed[0].id == case_id
    assert (listed[0].flagged, listed[0].flag_reason) == (True, "Non residente")
    assert listed[0].status == "handover_rejected"


async def test_a_referrer_is_told_only_what_happened_when_no_unit_went(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    """Handed over straight from the room: nobody was on scene, and the referrer never reads so."""
    _, case_id = await new_case(db, referrer_id, status="open")
    before = await head(db)
    sent = await handover_actions.send(db, room, case_id)
    told = by_type(await events_since(db, before))["referral.progressed"]
    assert told["payload"]["status"] == "activated"

    before = await head(db)
    await handover_actions.decide(db, firenze, sent.id, Status.REJECTED, "Non residente")
    told = by_type(await events_since(db, before))["referral.progressed"]
    assert told["payload"]["status"] == "activated"

    sent = await handover_actions.send(db, room, case_id)
    before = await head(db)
    await handover_actions.decide(db, firenze, sent.id, Status.ACCEPTED)
    told = by_type(await events_since(db, before))["referral.progressed"]
    assert told["payload"]["status"] == "handed_over"


async def test_a_rejected_case_can_be_sent_again_and_is_no_longer_flagged(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id, status="on_scene")
    first = await handover_actions.send(db, room, case_id)
    await handover_actions.decide(db, firenze, first.id, Status.REJECTED, "Manca la residenza")
    second = await handover_actions.send(db, room, case_id)
    assert second.id != first.id
    assert any("Manca la residenza" in line for line in second.dossier["done"])
    assert await db.pool.fetchval("SELECT flagged FROM cases WHERE id = $1", case_id) is False


@pytest.mark.parametrize("reason", [None, "   "])
async def test_a_rejection_without_a_reason_is_refused(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int, reason
):
    _, case_id = await new_case(db, referrer_id, status="on_scene")
    sent = await handover_actions.send(db, room, case_id)
    with pytest.raises(DomainError):
        await handover_actions.decide(db, firenze, sent.id, Status.REJECTED, reason)
    assert await db.pool.fetchval("SELECT status FROM handovers") == "sent"


async def test_a_decided_handover_cannot_be_decided_again(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id, status="on_scene")
    sent = await handover_actions.send(db, room, case_id)
    await handover_actions.decide(db, firenze, sent.id, Status.ACCEPTED)
    with pytest.raises(IllegalTransition):
        await handover_actions.decide(db, firenze, sent.id, Status.REJECTED, "ci ho ripensato")


async def test_a_service_sees_and_decides_only_its_own_zones_handovers(
    db: Database,
    room: access.Principal,
    firenze: access.Principal,
    pistoiese: access.Principal,
    referrer_id: int,
):
    _, to_firenze = await new_case(db, referrer_id, status="on_scene")
    _, to_pistoia = await new_case(db, referrer_id, status="on_scene", municipality=PISTOIA)
    for_firenze = await handover_actions.send(db, room, to_firenze)
    for_pistoia = await handover_actions.send(db, room, to_pistoia)

    async with db.pool.acquire() as conn:
        seen_by_firenze = await handover_reads.zone_handovers(conn, firenze)
        seen_by_pistoia = await handover_reads.zone_handovers(conn, pistoiese)
        peek = await handover_reads.zone_handovers(conn, firenze, handover_id=for_pistoia.id)
    assert [h["id"] for h in seen_by_firenze] == [for_firenze.id]
    assert [h["id"] for h in seen_by_pistoia] == [for_pistoia.id]
    assert peek == []
    with pytest.raises(errors.NotFound):
        await handover_actions.decide(db, firenze, for_pistoia.id, Status.ACCEPTED)
    with pytest.raises(errors.NotFound):
        await handover_actions.decide(db, pistoiese, for_firenze.id, Status.REJECTED, "no")

    rows = await db.pool.fetch("SELECT type, audience, payload FROM events")
    firenze_tags = access.read_tags(firenze)
    visible = [r for r in rows if access.can_see(firenze_tags, frozenset(r["audience"]))]
    assert {r["payload"]["case_id"] for r in visible} == {to_firenze}
    assert [r["type"] for r in visible] == ["handover.sent"]


# -- notes, closing, timeline -----------------------------------------------------------------


async def test_a_note_is_stored_and_recorded_for_the_room(
    db: Database, room: access.Principal, referrer_id: int
):
    _, case_id = await new_case(db, referrer_id)
    note = await cases_actions.add_note(db, room, case_id, "<b>Richiamare</b> alle 18")
    stored = await db.pool.fetchrow("SELECT body, author, author_name FROM notes")
    assert dict(stored) == {
        "body": "<b>Richiamare</b> alle 18",
        "author": f"user:{room.user_id}",
        "author_name": "Operator Test",
    }
    event = await db.pool.fetchrow("SELECT * FROM events WHERE seq = $1", note.seq)
    assert (event["type"], event["subject"], event["audience"]) == (
        "case.note_added",
        f"case:{case_id}",
        ["room"],
    )


async def test_a_closed_case_takes_no_notes(db: Database, room: access.Principal, referrer_id):
    _, case_id = await new_case(db, referrer_id, status="closed")
    with pytest.raises(errors.Conflict):
        await cases_actions.add_note(db, room, case_id, "tardi")


async def test_closing_follows_the_table_and_tells_the_referrer(
    db: Database, room: access.Principal, referrer_id: int
):
    _, open_case = await new_case(db, referrer_id, status="handover_accepted")
    _, busy_case = await new_case(db, referrer_id, status="on_scene")
    before = await head(db)

    closed = await cases_actions.close_case(db, room, open_case, "Concluso")
    with pytest.raises(IllegalTransition):
        await cases_actions.close_case(db, room, busy_case, "Troppo presto")

    assert closed.status == "closed"
    events = by_type(await events_since(db, before))
    assert events["case.closed"]["payload"]["reason"] == "Concluso"
    assert events["case.closed"]["payload"]["previous"] == "handover_accepted"
    assert events["referral.progressed"]["payload"]["status"] == "closed"
    assert await db.pool.fetchval("SELECT status FROM cases WHERE id = $1", busy_case) == "on_scene"


async def test_the_timeline_is_the_cases_events_in_words_for_the_room(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    referral_id, case_id = await new_case(db, referrer_id, status="on_scene")
    _, other_case = await new_case(db, referrer_id, status="on_scene")
    await cases_actions.add_note(db, room, case_id, "Prima nota")
    await cases_actions.add_note(db, room, other_case, "Nota di un altro caso")
    async with db.action() as tx:
        tx.emit(support_event("booking.held", "booking:77", {"case_id": case_id}))
    sent = await handover_actions.send(db, room, case_id)
    await handover_actions.decide(db, firenze, sent.id, Status.REJECTED, "Non residente")

    async with db.pool.acquire() as conn:
        entries = await cases_reads.timeline(conn, case_id, referral_id, access.read_tags(room))
        later = await cases_reads.timeline(
            conn, case_id, referral_id, access.read_tags(room), after=entries[1]["seq"]
        )

    assert [e["type"] for e in entries] == [
        "case.note_added",
        "booking.held",
        "case.handover_sent",
        "handover.rejected",
    ]  # not the other case's note, not the service's dossier, not the referrer's status
    note, _, _, rejected = entries
    assert (note["who"], note["what"], note["detail"]) == ("Operator Test", "Nota", "Prima nota")
    assert (rejected["who"], rejected["why"]) == ("Territorial Test", "Non residente")
    assert [e["type"] for e in later] == ["case.handover_sent", "handover.rejected"]


async def test_the_case_file_gathers_referral_assessment_units_bookings_notes_and_handovers(
    db: Database, room: access.Principal, referrer_id: int
):
    referral_id, case_id = await new_case(
        db, referrer_id, status="on_scene", residence=PISTOIA, needs=["shelter_bed"]
    )
    async with db.pool.acquire() as conn:
        await conn.execute(
            'UPDATE referrals SET assessment = \'{"urgency": "giallo"}\'::jsonb WHERE id = $1',
            referral_id,
        )
        unit_id = await conn.fetchval("SELECT id FROM units WHERE name = 'UTES test'")
        await conn.execute(
            "INSERT INTO assignments (case_id, unit_id, dispatched_by, dispatched_at, on_scene_at)"
            " VALUES ($1, $2, $3, now(), now())",
            case_id,
            unit_id,
            room.user_id,
        )
        resource = await conn.fetchval(
            "INSERT INTO resources (zone_id, type, name, provider, capacity)"
            " VALUES ('firenze', 'shelter_bed', 'Casa Accoglienza', 'Caritas', 10) RETURNING id"
        )
        await conn.execute(
            "INSERT INTO bookings (case_id, resource_id, quantity, status, requested_by,"
            " created_at, updated_at) VALUES ($1, $2, 1, 'held', 'user:1', now(), now())",
            case_id,
            resource,
        )
    await cases_actions.add_note(db, room, case_id, "Nota")

    async with db.pool.acquire() as conn:
        file = await cases_reads.load_case(conn, case_id)
        missing = await cases_reads.load_case(conn, 999999)

    assert missing is None
    assert file is not None
    detail = cases_schemas.CaseDetail(**file, as_of=0)  # the API's schema accepts it
    assert detail.status_label == "Unità sul posto"
    assert detail.competent_zone == {"id": "pistoiese", "name": "Pistoiese", "source": "residence"}
    assert detail.assessment == {"urgency": "giallo"}
    referral = detail.referral
    assert referral["referrer"]["name"] == "PS test"
    assert referral["residence_municipality"]["zone_id"] == "pistoiese"
    assert referral["callback"]["name"] == "Referente test"
    assert "assessment" not in referral
    assert [a["unit_name"] for a in detail.assignments] == ["UTES test"]
    assert detail.assignments[0]["active"] is True
    assert detail.assignments[0]["dispatched_by"]["name"] == "Operator Test"
    assert [(b["resource_name"], b["type_label"], b["active"]) for b in detail.bookings] == [
        ("Casa Accoglienza", "Posto letto in struttura", True)
    ]
    assert [n["body"] for n in detail.notes] == ["Nota"]
    assert detail.handovers == []
    assert "handover_sent" in detail.allowed


# -- after a rejection: correct the competence, reply, send again -------------------------------


async def rejected_by_firenze(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
) -> tuple[int, int, int]:
    """A case found in Firenze, residence unknown, sent to Firenze and rejected there."""
    referral_id, case_id = await new_case(db, referrer_id, status="on_scene")
    sent = await handover_actions.send(db, room, case_id)
    await handover_actions.decide(db, firenze, sent.id, Status.REJECTED, "Zona sbagliata")
    return referral_id, case_id, sent.id


async def test_correcting_the_residence_with_a_reason_is_kept_with_who_when_and_on_the_timeline(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    referral_id, case_id, _ = await rejected_by_firenze(db, room, firenze, referrer_id)
    before = await head(db)

    corrected = await handover_actions.correct_competence(
        db, room, case_id, residence_municipality="Pistoia", zone=None,
        reason="Il servizio di Firenze segnala che risiede a Pistoia",
    )  # fmt: skip

    assert corrected.competent_zone == {
        "id": "pistoiese",
        "name": "Pistoiese",
        "source": "residence",
    }
    assert corrected.residence_municipality == {
        "code": PISTOIA, "name": "Pistoia", "zone_id": "pistoiese"
    }  # fmt: skip
    [event] = await events_since(db, before)
    assert event["type"] == "case.competence_corrected"
    assert (event["subject"], event["audience"]) == (f"case:{case_id}", ["room"])
    assert event["actor"] == f"user:{room.user_id}"
    assert event["payload"]["zone_before"] == "firenze"
    assert event["payload"]["zone_after"] == "pistoiese"
    stored = await db.pool.fetchrow("SELECT * FROM competence_corrections")
    assert (stored["field"], stored["previous"], stored["value"]) == ("residence", None, PISTOIA)
    assert (stored["by_user"], stored["by_name"]) == (room.user_id, "Operator Test")
    assert stored["reason"] == "Il servizio di Firenze segnala che risiede a Pistoia"
    assert stored["at"] is not None
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # the audit is not rewritten
        await db.pool.execute("UPDATE competence_corrections SET reason = 'altro'")
    async with db.pool.acquire() as conn:
        file = await cases_reads.load_case(conn, case_id)
        entries = await cases_reads.timeline(conn, case_id, referral_id, access.read_tags(room))
    assert file is not None and file["competent_zone"]["id"] == "pistoiese"
    assert file["referral"]["residence_municipality"]["name"] == "Pistoia"
    last = entries[-1]
    assert last["type"] == "case.competence_corrected"
    assert (last["who"], last["why"]) == (
        "Operator Test", "Il servizio di Firenze segnala che risiede a Pistoia"
    )  # fmt: skip
    assert last["detail"] == "Residenza: non nota → Pistoia; zona competente Pistoiese"


async def test_the_zone_itself_can_be_corrected_and_a_residence_correction_decides_again(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id, _ = await rejected_by_firenze(db, room, firenze, referrer_id)
    by_zone = await handover_actions.correct_competence(
        db, room, case_id, residence_municipality=None, zone="pratese", reason="Seguita a Prato"
    )
    assert by_zone.competent_zone == {"id": "pratese", "name": "Pratese", "source": "corrected"}
    by_residence = await handover_actions.correct_competence(
        db, room, case_id, residence_municipality=PISTOIA, zone=None, reason="Residenza accertata"
    )
    assert by_residence.competent_zone["id"] == "pistoiese"
    rows = await db.pool.fetch(
        "SELECT field, previous, value, zone_before, zone_after FROM competence_corrections"
        " ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        ("zone", "firenze", "pratese", "firenze", "pratese"),
        ("residence", None, PISTOIA, "pratese", "pistoiese"),
    ]


async def test_a_correction_needs_one_known_place_and_a_state_that_allows_it(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id, _ = await rejected_by_firenze(db, room, firenze, referrer_id)
    before = await head(db)
    for residence, zone, field in (
        ("Atlantide", None, "residence_municipality"),
        (None, "nowhere", "zone"),
        (PISTOIA, "pistoiese", "zone"),
        (None, None, "residence_municipality"),
    ):
        with pytest.raises(errors.ValidationFailed) as refused:
            await handover_actions.correct_competence(
                db, room, case_id, residence_municipality=residence, zone=zone, reason="x"
            )
        assert field in [p.field for p in refused.value.problems]
    with pytest.raises(errors.Conflict):  # nothing changes: the zone already is Firenze
        await handover_actions.correct_competence(
            db, room, case_id, residence_municipality=None, zone="firenze", reason="x"
        )
    with pytest.raises(errors.NotFound):
        await handover_actions.correct_competence(
            db, room, 999999, residence_municipality=None, zone="pratese", reason="x"
        )
    await handover_actions.send(db, room, case_id)  # waiting for a decision: no correction
    before = await head(db)
    with pytest.raises(errors.Conflict):
        await handover_actions.correct_competence(
            db, room, case_id, residence_municipality=None, zone="pratese", reason="x"
        )
    assert await head(db) == before
    assert await db.pool.fetchval("SELECT count(*) FROM competence_corrections") == 0


async def test_after_a_correction_the_handover_goes_to_the_new_zone_only(
    db: Database,
    room: access.Principal,
    firenze: access.Principal,
    pistoiese: access.Principal,
    referrer_id: int,
):
    _, case_id, first = await rejected_by_firenze(db, room, firenze, referrer_id)
    await handover_actions.correct_competence(
        db, room, case_id, residence_municipality=PISTOIA, zone=None, reason="Vive a Pistoia"
    )
    before = await head(db)

    again = await handover_actions.send(db, room, case_id)

    assert again.zone_id == "pistoiese"
    offered = by_type(await events_since(db, before))["handover.sent"]
    assert set(offered["audience"]) == {"territorial:pistoiese"}
    async with db.pool.acquire() as conn:
        waiting_in_firenze = await handover_reads.zone_handovers(conn, firenze, status="sent")
        waiting_in_pistoia = await handover_reads.zone_handovers(conn, pistoiese, status="sent")
        firenze_all = await handover_reads.zone_handovers(conn, firenze)
    assert waiting_in_firenze == []
    assert [h["id"] for h in waiting_in_pistoia] == [again.id]
    assert [h["id"] for h in firenze_all] == [first]  # its own rejected one, not the new one
    with pytest.raises(errors.NotFound):
        await handover_actions.decide(db, firenze, again.id, Status.ACCEPTED)
    accepted = await handover_actions.decide(db, pistoiese, again.id, Status.ACCEPTED)
    assert accepted.status == "accepted"
    status = await db.pool.fetchval("SELECT status FROM cases WHERE id = $1", case_id)
    assert status == "handover_accepted"


async def test_the_rooms_reply_to_a_rejection_is_read_by_that_service_and_the_next_one(
    db: Database,
    room: access.Principal,
    firenze: access.Principal,
    pistoiese: access.Principal,
    referrer_id: int,
):
    referral_id, case_id, first = await rejected_by_firenze(db, room, firenze, referrer_id)
    before = await head(db)

    replied = await handover_actions.reply(
        db, room, first, "Grazie: corretta la residenza, inviato alla zona pistoiese."
    )

    assert replied.reply == "Grazie: corretta la residenza, inviato alla zona pistoiese."
    assert replied.replied_by is not None and replied.replied_by.name == "Operator Test"
    [event] = await events_since(db, before)
    assert event["type"] == "handover.replied"
    assert set(event["audience"]) == {"room", "territorial:firenze"}
    async with db.pool.acquire() as conn:
        [seen_by_firenze] = await handover_reads.zone_handovers(conn, firenze)
    assert seen_by_firenze["reply"] == replied.reply
    with pytest.raises(errors.Conflict):  # once
        await handover_actions.reply(db, room, first, "Di nuovo")

    await handover_actions.correct_competence(
        db, room, case_id, residence_municipality=PISTOIA, zone=None, reason="Vive a Pistoia"
    )
    again = await handover_actions.send(db, room, case_id)
    with pytest.raises(errors.Conflict):  # only a rejection is answered
        await handover_actions.reply(db, room, again.id, "Non ancora respinto")
    async with db.pool.acquire() as conn:
        [seen_by_pistoia] = await handover_reads.zone_handovers(conn, pistoiese)
        entries = await cases_reads.timeline(conn, case_id, referral_id, access.read_tags(room))
    previous = seen_by_pistoia["previous"]
    assert (previous["zone_name"], previous["reason"], previous["reply"]) == (
        "Firenze", "Zona sbagliata", replied.reply
    )  # fmt: skip
    replies = [e for e in entries if e["type"] == "handover.replied"]
    assert [(r["what"], r["detail"]) for r in replies] == [
        ("Risposta della sala al rifiuto del passaggio", replied.reply)
    ]


async def test_a_reply_after_sending_again_reaches_the_new_zone_too(
    db: Database, room: access.Principal, firenze: access.Principal, referrer_id: int
):
    _, case_id, first = await rejected_by_firenze(db, room, firenze, referrer_id)
    await handover_actions.correct_competence(
        db, room, case_id, residence_municipality=None, zone="pistoiese", reason="Vive a Pistoia"
    )
    await handover_actions.send(db, room, case_id)
    before = await head(db)
    await handover_actions.reply(db, room, first, "Inviato a Pistoia")
    [event] = await events_since(db, before)
    assert set(event["audience"]) == {"room", "territorial:firenze", "territorial:pistoiese"}


@pytest.mark.parametrize(
    ("model", "body", "field"),
    [
        ("CompetenceIn", {"zone": "pistoiese", "reason": "   "}, "reason"),
        ("CompetenceIn", {"zone": "pistoiese"}, "reason"),
        ("HandoverReplyIn", {"message": " \n "}, "message"),
        ("HandoverReplyIn", {"message": "x" * 2001}, "message"),
    ],
)
def test_a_blank_or_overlong_reason_or_reply_is_refused_on_its_field(
    model: str, body: dict[str, Any], field: str
):
    from pydantic import ValidationError

    from console.areas.handover import schemas

    with pytest.raises(ValidationError) as refused:
        getattr(schemas, model).model_validate(body)
    assert [e["loc"][0] for e in refused.value.errors()] == [field]
