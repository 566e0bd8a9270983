"""Dispatch, recall and the unit tablet's actions against real PostgreSQL: rows, events, who
receives them, concurrency and idempotency."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from console.areas.basket import actions as basket_actions
from console.areas.cases import reads as cases_reads
from console.areas.tablet import actions as tablet_actions
from console.areas.tablet import reads as tablet_reads
from console.areas.tablet import schemas as tablet_schemas
from console.areas.units import actions as units_actions
from console.areas.units import reads as units_reads
from console.areas.units import schemas as units_schemas
from console.lib import errors, eventlog
from console.lib.db import Database
from dispatch import access, basket
from dispatch.errors import IllegalTransition, Refused
from dispatch.units import RankingPolicy
from tests import fleet_support, support

SHELTER_BED = basket.ResourceType.SHELTER_BED
NOW = datetime.now(UTC)
BRIEF_KEYS = {
    "assignment_id", "case_id", "case_number", "urgency", "place", "people", "description",
    "callback", "needs", "dispatched_at", "unit_id", "by", "reason",
}  # fmt: skip


@dataclass
class World:
    db: Database
    conn: asyncpg.Connection
    people: dict[str, support.Person]
    referrer_id: int
    unit1: int
    unit2: int
    operator: access.Principal
    crew1: access.Principal
    crew2: access.Principal

    async def case(self, **options: Any) -> tuple[int, int]:
        return await support.make_case(self.conn, referrer_id=self.referrer_id, **options)

    async def events(self, after: int = 0, **where: str) -> list[Any]:
        """The workflow's events (the clocks' own are tested in test_clocks.py)."""
        found = await eventlog.read_range(self.conn, after, await eventlog.head(self.conn))
        return [
            e
            for e in found
            if not e.type.startswith("clock.") and all(getattr(e, k) == v for k, v in where.items())
        ]

    async def status(self, body: dict[str, Any], key: str | None = None, crew: Any = None) -> Any:
        return await tablet_actions.report_status(
            self.db,
            crew or self.crew1,
            tablet_schemas.StatusIn.model_validate_json(json.dumps(body)),
            key or uuid.uuid4().hex,
        )

    async def row(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchrow(sql, *args)


@pytest.fixture
async def world(db: Database, people: dict[str, support.Person]) -> AsyncIterator[World]:
    """Two crews at Firenze and Prato bases, both available; an operator."""
    async with db.pool.acquire() as conn:
        referrer_id = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        unit1 = await fleet_support.unit_id_of(conn, people["unit"])
        unit2 = await fleet_support.unit_id_of(conn, people["unit2"])
        await fleet_support.place_unit(conn, unit1, languages=["ar", "fr"])
        await fleet_support.place_unit(conn, unit2, municipality="100005", zones=["pratese"])
        yield World(
            db=db,
            conn=conn,
            people=people,
            referrer_id=referrer_id,
            unit1=unit1,
            unit2=unit2,
            operator=fleet_support.operator(people["operator"]),
            crew1=fleet_support.unit(people["unit"], unit1),
            crew2=fleet_support.unit(people["unit2"], unit2),
        )


# ---- dispatch ------------------------------------------------------------------------------


async def test_a_dispatch_assigns_the_unit_moves_the_case_and_tells_each_only_its_part(world):
    referral_id, case_id = await world.case(needs=["shelter_bed"])
    head = await eventlog.head(world.conn)

    sent = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)

    assert (sent.case_status, sent.unit_status) == ("unit_dispatched", "assigned")
    unit = await world.row("SELECT status, current_case_id FROM units WHERE id = $1", world.unit1)
    assert (unit["status"], unit["current_case_id"]) == ("assigned", case_id)
    case = await world.row("SELECT status FROM cases WHERE id = $1", case_id)
    assert case["status"] == "unit_dispatched"
    assignment = await world.row(
        "SELECT case_id, unit_id, dispatched_by FROM assignments WHERE id = $1", sent.assignment_id
    )
    assert tuple(assignment) == (case_id, world.unit1, world.people["operator"].user_id)

    logged = {e.type: e for e in await world.events(head)}
    assert set(logged) == {
        "unit.assigned", "unit.status_changed", "case.unit_dispatched", "referral.progressed",
    }  # fmt: skip
    assigned = logged["unit.assigned"]
    assert assigned.audience == {access.unit_tag(world.unit1)}
    assert set(assigned.payload) == BRIEF_KEYS  # no assessment, no referrer, no history
    assert assigned.payload["place"]["municipality"] == "Firenze"
    assert assigned.payload["callback"] == {"name": "Referente test", "phone": "+39 055 000000"}
    assert assigned.payload["needs"] == ["shelter_bed"]
    assert assigned.payload["by"] == "Operator Test" and assigned.payload["reason"]
    assert logged["case.unit_dispatched"].audience == {access.ROOM}
    assert logged["case.unit_dispatched"].payload["status"] == "unit_dispatched"
    assert logged["case.unit_dispatched"].zone == "firenze"
    assert logged["unit.status_changed"].audience == {access.ROOM, access.unit_tag(world.unit1)}
    assert logged["unit.status_changed"].payload["status"] == "assigned"
    progressed = logged["referral.progressed"]
    assert progressed.audience == {access.referrer_tag(world.referrer_id)}
    assert progressed.payload["id"] == referral_id


async def test_of_concurrent_dispatches_of_one_unit_to_different_cases_exactly_one_wins(world):
    case_ids = [(await world.case())[1] for _ in range(6)]

    results = await asyncio.gather(
        *(units_actions.dispatch_unit(world.db, world.operator, c, world.unit1) for c in case_ids),
        return_exceptions=True,
    )

    won = [r for r in results if isinstance(r, units_schemas.Dispatched)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(won) == 1 and len(refused) == len(case_ids) - 1, results
    assert all("unità già impegnata" in str(r) for r in refused)
    active = await world.conn.fetch(
        "SELECT case_id FROM assignments WHERE unit_id = $1 AND done_at IS NULL", world.unit1
    )
    assert [r["case_id"] for r in active] == [won[0].case_id]
    statuses = await world.conn.fetch(
        "SELECT status, count(*) AS n FROM cases WHERE id = ANY($1) GROUP BY status", case_ids
    )
    assert {r["status"]: r["n"] for r in statuses} == {"unit_dispatched": 1, "open": 5}
    assert len(await world.events(type="unit.assigned")) == 1


async def test_a_second_unit_joins_a_dispatched_case_without_moving_it_again(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    second = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit2)

    assert second.case_status == "unit_dispatched"
    logged = await world.events(head)
    dispatched = [e for e in logged if e.type == "case.unit_dispatched"]
    assert [(e.payload["previous"], e.payload["status"]) for e in dispatched] == [
        ("unit_dispatched", "unit_dispatched")
    ]
    assert not [e for e in logged if e.type == "referral.progressed"]  # nothing changed for it


@pytest.mark.parametrize(
    ("status", "words"),
    [("off_duty", "fuori servizio"), ("en_route", "già impegnata"), ("returning", "impegnata")],
)
async def test_a_unit_that_is_not_available_is_refused_in_words(world, status, words):
    _, case_id = await world.case()
    await world.conn.execute("UPDATE units SET status = $2 WHERE id = $1", world.unit1, status)

    with pytest.raises(Refused, match=words):
        await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)

    assert await world.conn.fetchval("SELECT count(*) FROM assignments") == 0


async def test_a_case_past_its_field_work_takes_no_unit(world):
    _, case_id = await world.case(status="handover_sent")

    with pytest.raises(IllegalTransition):
        await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)

    unit = await world.row("SELECT status FROM units WHERE id = $1", world.unit1)
    assert unit["status"] == "available"


async def test_an_unknown_case_or_unit_is_answered_as_such(world):
    _, case_id = await world.case()
    with pytest.raises(errors.NotFound):
        await units_actions.dispatch_unit(world.db, world.operator, 999_999, world.unit1)
    with pytest.raises(errors.ValidationFailed) as raised:
        await units_actions.dispatch_unit(world.db, world.operator, case_id, 999_999)
    assert raised.value.problems[0].field == "unit_id"


# ---- recall --------------------------------------------------------------------------------


async def test_a_recall_frees_the_unit_and_reopens_a_case_left_without_units(world):
    _, case_id = await world.case()
    sent = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    recalled = await units_actions.recall_unit(
        world.db, world.operator, sent.assignment_id, reason="no"
    )

    assert (recalled.case_status, recalled.unit_status) == ("open", "available")
    unit = await world.row("SELECT status, current_case_id FROM units WHERE id = $1", world.unit1)
    assert (unit["status"], unit["current_case_id"]) == ("available", None)
    row = await world.row(
        "SELECT cancelled_at, done_at FROM assignments WHERE id = $1", sent.assignment_id
    )
    assert row["cancelled_at"] is not None and row["done_at"] is None
    logged = {e.type: e for e in await world.events(head)}
    assert logged["unit.recalled"].audience == {access.unit_tag(world.unit1)}
    assert logged["unit.recalled"].payload["reason"] == "no"
    assert logged["case.unit_released"].payload["how"] == "recalled"
    assert logged["case.unit_released"].payload["status"] == "open"
    assert "referral.progressed" in logged

    with pytest.raises(errors.Conflict):
        await units_actions.recall_unit(world.db, world.operator, sent.assignment_id)
    with pytest.raises(errors.NotFound):
        await units_actions.recall_unit(world.db, world.operator, 999_999)


async def test_recalling_one_of_two_units_leaves_the_case_with_the_other(world):
    _, case_id = await world.case()
    first = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit2)

    recalled = await units_actions.recall_unit(world.db, world.operator, first.assignment_id)

    assert recalled.case_status == "unit_dispatched"


# ---- the tablet: status, idempotency -------------------------------------------------------


async def test_the_same_status_key_twice_moves_the_unit_once(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    first = await world.status({"status": "acknowledged"}, key="k-1")
    again = await world.status({"status": "acknowledged"}, key="k-1")

    assert (first.status, first.replayed, again.replayed) == (200, False, True)
    assert again.body == first.body
    assert len(await world.events(head, type="unit.status_changed")) == 1


async def test_concurrent_resends_of_one_key_apply_once(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    answers = await asyncio.gather(
        *(world.status({"status": "acknowledged"}, "k") for _ in range(5))
    )

    assert [a.replayed for a in answers].count(False) == 1
    assert all(a.body == answers[0].body for a in answers)
    assert len(await world.events(head, type="unit.status_changed")) == 1


async def test_two_keys_in_a_row_are_both_applied_in_order(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    await world.status({"status": "acknowledged"}, key="k-1")
    await world.status({"status": "en_route"}, key="k-2")

    moves = [
        (e.payload["previous"], e.payload["status"])
        for e in await world.events(head, type="unit.status_changed")
    ]
    assert moves == [("assigned", "acknowledged"), ("acknowledged", "en_route")]
    row = await world.row(
        "SELECT acknowledged_at, en_route_at FROM assignments WHERE unit_id = $1", world.unit1
    )
    assert row["acknowledged_at"] <= row["en_route_at"]


async def test_a_key_reused_for_another_request_is_a_conflict(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await world.status({"status": "acknowledged"}, key="k-1")

    with pytest.raises(errors.Conflict):
        await world.status({"status": "en_route"}, key="k-1")


async def test_an_illegal_status_is_refused_and_leaves_its_key_free(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)

    with pytest.raises(IllegalTransition):
        await world.status({"status": "on_scene"}, key="k-1")  # not acknowledged, not en route

    assert await world.conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
    unit = await world.row("SELECT status FROM units WHERE id = $1", world.unit1)
    assert unit["status"] == "assigned"


async def test_on_scene_moves_the_case_records_the_tablets_time_and_tells_the_referrer(world):
    _, case_id = await world.case()
    sent = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    hour_ago = sent.dispatched_at - timedelta(hours=1)  # sent long ago, the tablet was offline
    await world.conn.execute("UPDATE units SET status_since = $1", hour_ago)
    await world.status(
        {"status": "acknowledged", "at": (hour_ago + timedelta(minutes=1)).isoformat()}
    )
    await world.status({"status": "en_route", "at": (hour_ago + timedelta(minutes=2)).isoformat()})
    head = await eventlog.head(world.conn)
    arrived = hour_ago + timedelta(minutes=20)
    await world.conn.execute("UPDATE units SET share_position = true WHERE id = $1", world.unit1)

    answer = await world.status(
        {"status": "on_scene", "at": arrived.isoformat(), "lat": 43.77, "lon": 11.25}
    )

    assert answer.body["unit"]["status"] == "on_scene"
    case = await world.row("SELECT status FROM cases WHERE id = $1", case_id)
    assert case["status"] == "on_scene"
    row = await world.row("SELECT on_scene_at FROM assignments WHERE id = $1", sent.assignment_id)
    assert row["on_scene_at"] == arrived
    unit = await world.row(
        "SELECT last_lat, last_lon, last_position_at FROM units WHERE id = $1", world.unit1
    )
    assert (unit["last_lat"], unit["last_lon"], unit["last_position_at"]) == (43.77, 11.25, arrived)
    logged = {e.type: e for e in await world.events(head)}
    assert logged["unit.status_changed"].payload["at"] == arrived.isoformat()
    assert logged["unit.status_changed"].payload["position_at"] == arrived.isoformat()
    assert "43.77" not in json.dumps([e.payload for e in logged.values()])  # no coordinates
    assert logged["case.unit_on_scene"].payload["status"] == "on_scene"
    assert logged["referral.progressed"].payload["status"] == "unit_on_scene"


async def test_a_status_time_from_the_future_is_taken_as_now(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    answer = await world.status({"status": "acknowledged", "at": "2999-01-01T00:00:00Z"})
    assert answer.body["unit"]["status_since"] < "2999"


async def test_returning_ends_the_assignment_and_the_case_stays_on_scene(world):
    _, case_id = await world.case()
    sent = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    for status in ("acknowledged", "en_route", "on_scene"):
        await world.status({"status": status})

    answer = await world.status({"status": "returning"})
    await world.status({"status": "available"})

    assert answer.body["assignment_ended"] is True
    row = await world.row("SELECT done_at FROM assignments WHERE id = $1", sent.assignment_id)
    assert row["done_at"] is not None
    unit = await world.row("SELECT status, current_case_id FROM units WHERE id = $1", world.unit1)
    assert (unit["status"], unit["current_case_id"]) == ("available", None)
    case = await world.row("SELECT status FROM cases WHERE id = $1", case_id)
    assert case["status"] == "on_scene"


async def test_a_unit_that_gives_back_an_assignment_before_arriving_reopens_the_case(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await world.status({"status": "acknowledged"})

    await world.status({"status": "available"})

    case = await world.row("SELECT status FROM cases WHERE id = $1", case_id)
    assert case["status"] == "open"


async def test_a_unit_may_name_only_its_own_current_assignment(world):
    _, case1 = await world.case()
    _, case2 = await world.case()
    mine = await units_actions.dispatch_unit(world.db, world.operator, case1, world.unit1)
    theirs = await units_actions.dispatch_unit(world.db, world.operator, case2, world.unit2)

    with pytest.raises(errors.NotFound):
        await world.status({"status": "acknowledged", "assignment_id": theirs.assignment_id})
    with pytest.raises(errors.NotFound):
        await tablet_actions.add_note(
            world.db,
            world.crew1,
            tablet_schemas.NoteIn(body="x", assignment_id=theirs.assignment_id),
            "k",
        )

    # An action queued offline for an assignment the room has since recalled is refused.
    await units_actions.recall_unit(world.db, world.operator, mine.assignment_id)
    again = await units_actions.dispatch_unit(world.db, world.operator, case2, world.unit1)
    with pytest.raises(errors.Conflict):
        await world.status({"status": "acknowledged", "assignment_id": mine.assignment_id})
    ok = await world.status({"status": "acknowledged", "assignment_id": again.assignment_id})
    assert ok.body["assignment_id"] == again.assignment_id
    # A note may still go to the ended one: the crew writes up on the way back.
    late = tablet_schemas.NoteIn(body="relazione", assignment_id=mine.assignment_id)
    answer = await tablet_actions.add_note(world.db, world.crew1, late, "n-late")
    assert answer.status == 201
    note_case = await world.conn.fetchval(
        "SELECT case_id FROM notes WHERE id = $1", answer.body["id"]
    )
    assert note_case == case1


# ---- check-in, notes, resource requests ----------------------------------------------------


async def test_a_check_in_is_taken_only_on_scene(world):
    _, case_id = await world.case()
    sent = await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    with pytest.raises(errors.Conflict):
        await tablet_actions.check_in(world.db, world.crew1, tablet_schemas.CheckInIn(), "c-0")
    for status in ("acknowledged", "en_route", "on_scene"):
        await world.status({"status": status})
    head = await eventlog.head(world.conn)

    answer = await tablet_actions.check_in(
        world.db, world.crew1, tablet_schemas.CheckInIn(note="tutto ok"), "c-1"
    )

    assert answer.body["assignment_id"] == sent.assignment_id
    row = await world.row(
        "SELECT last_check_in_at FROM assignments WHERE id = $1", sent.assignment_id
    )
    assert row["last_check_in_at"] is not None
    [event] = await world.events(head)
    assert (event.type, event.audience) == ("unit.checked_in", {access.ROOM})
    assert event.payload["note"] == "tutto ok"


async def test_a_note_from_the_tablet_reaches_the_room_and_the_units_on_the_case(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit2)
    head = await eventlog.head(world.conn)

    answer = await tablet_actions.add_note(
        world.db, world.crew1, tablet_schemas.NoteIn(body="<b>ok</b>"), "n-1"
    )

    assert answer.status == 201
    note = await world.row("SELECT case_id, author, author_name, body FROM notes")
    assert tuple(note) == (case_id, access.unit_tag(world.unit1), "UTES test", "<b>ok</b>")
    [event] = await world.events(head)
    assert event.type == "case.note_added"
    assert event.audience == {
        access.ROOM, access.unit_tag(world.unit1), access.unit_tag(world.unit2),
    }  # fmt: skip


async def test_a_resource_request_books_the_roomiest_active_resource_of_the_case_zone(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await fleet_support.add_resource(world.conn, name="Piccolo", capacity=2)
    roomy = await fleet_support.add_resource(world.conn, name="Grande", capacity=20)
    await fleet_support.add_resource(world.conn, name="Chiuso", capacity=99, active=False)
    await fleet_support.add_resource(world.conn, zone="pratese", name="Altra zona", capacity=99)
    head = await eventlog.head(world.conn)

    body = tablet_schemas.ResourceRequestIn(type=SHELTER_BED, quantity=2, note="madre e figlio")
    answer = await tablet_actions.request_resource(world.db, world.crew1, body, "r-1")

    assert answer.status == 201 and answer.body["resource_name"] == "Grande"
    booking = await world.row("SELECT resource_id, quantity, status, requested_by FROM bookings")
    assert tuple(booking) == (roomy, 2, "requested", access.unit_tag(world.unit1))
    [event] = await world.events(head)
    assert event.type == "booking.requested"
    assert event.audience == {access.ROOM, access.unit_tag(world.unit1)}

    with pytest.raises(errors.ValidationFailed) as raised:
        await tablet_actions.request_resource(
            world.db,
            world.crew1,
            tablet_schemas.ResourceRequestIn(type=basket.ResourceType.HOTEL_ROOM),
            "r-2",
        )
    assert raised.value.problems[0].field == "type"


# ---- who receives what ---------------------------------------------------------------------


async def test_a_unit_never_receives_events_of_another_units_case(world):
    await fleet_support.add_resource(world.conn)
    await fleet_support.add_resource(world.conn, zone="pratese")
    _, case1 = await world.case()
    _, case2 = await world.case(municipality="100005")  # Prato
    first = await units_actions.dispatch_unit(world.db, world.operator, case1, world.unit1)
    await units_actions.dispatch_unit(world.db, world.operator, case2, world.unit2)
    for crew in (world.crew1, world.crew2):
        for status in ("acknowledged", "en_route", "on_scene"):
            await world.status({"status": status}, crew=crew)
        await tablet_actions.check_in(world.db, crew, tablet_schemas.CheckInIn(), uuid.uuid4().hex)
        await tablet_actions.add_note(
            world.db, crew, tablet_schemas.NoteIn(body="nota"), uuid.uuid4().hex
        )
        body = tablet_schemas.ResourceRequestIn(type=SHELTER_BED)
        await tablet_actions.request_resource(world.db, crew, body, uuid.uuid4().hex)
    await units_actions.recall_unit(world.db, world.operator, first.assignment_id)

    for crew, own in ((world.crew1, case1), (world.crew2, case2)):
        seen = await eventlog.read_visible(world.conn, 0, access.read_tags(crew), 1000)
        assert {"unit.assigned", "unit.status_changed", "case.note_added"} <= {e.type for e in seen}
        assert {e.payload.get("case_id") for e in seen} == {own}, [e.type for e in seen]
        assert not {e.type for e in seen} & {"referral.progressed", "case.unit_dispatched"}


# ---- recommendation ------------------------------------------------------------------------


async def test_recommendations_rank_the_nearest_available_unit_first_and_explain(world):
    _, case_id = await world.case(language="ar")  # Firenze

    ranked = await units_reads.recommend(world.conn, case_id, RankingPolicy(), NOW)

    assert [u.unit_id for u in ranked.units] == [world.unit1, world.unit2]
    best, other = ranked.units
    assert best.eligible and best.eta_minutes is not None
    assert "copre la zona" in best.reasons and "parla arabo" in best.reasons
    assert "fuori dalla sua zona" in other.reasons and "non parla arabo" in other.reasons
    assert best.base_note == "sede demo (non verificata)"
    assert ranked.origin.source == "municipality" and ranked.language == "ar"

    await world.conn.execute("UPDATE units SET status = 'en_route' WHERE id = $1", world.unit1)
    ranked = await units_reads.recommend(world.conn, case_id, RankingPolicy(), NOW)
    assert [u.unit_id for u in ranked.units] == [world.unit2, world.unit1]
    assert ranked.units[1].reasons[0] == "non disponibile (in viaggio)"


async def test_recommendations_start_from_the_referrals_coordinates_and_read_the_policy(world):
    referral_id, case_id = await world.case()
    prato = await world.row("SELECT lat, lon FROM municipalities WHERE istat_code = '100005'")
    await world.conn.execute(
        "UPDATE referrals SET lat = $2, lon = $3 WHERE id = $1",
        referral_id,
        prato["lat"],
        prato["lon"],
    )

    slow = await units_reads.recommend(world.conn, case_id, RankingPolicy(speed_kmh=10), NOW)
    fast = await units_reads.recommend(world.conn, case_id, RankingPolicy(speed_kmh=100), NOW)

    assert slow.origin.source == "referral"
    assert slow.units[0].unit_id == world.unit2  # at Prato, though out of zone
    eta = {u.unit_id: u.eta_minutes for u in slow.units}
    assert eta[world.unit2] == 1  # at the door: never "~0 min"
    assert eta[world.unit1] > {u.unit_id: u.eta_minutes for u in fast.units}[world.unit1]


# ---- messages from the room --------------------------------------------------------------------


async def test_a_message_to_one_unit_reaches_that_unit_and_the_room_only(world):
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    head = await eventlog.head(world.conn)

    batch, rows = await units_actions.send_message(
        world.db, world.operator, "  Aspettate la figlia.  ", unit_id=world.unit1
    )

    [row] = rows
    assert (row["unit_id"], row["case_id"], row["body"]) == (
        world.unit1,
        case_id,
        "Aspettate la figlia.",
    )
    [sent] = [e for e in await world.events(head) if e.type == "unit.message_sent"]
    assert sent.audience == frozenset({access.ROOM, access.unit_tag(world.unit1)})
    assert sent.payload["batch"] == batch and sent.payload["case_id"] == case_id
    for crew, sees in ((world.crew1, True), (world.crew2, False)):
        seen = await eventlog.read_visible(world.conn, head, access.read_tags(crew), 100)
        assert ("unit.message_sent" in {e.type for e in seen}) is sees
    timeline = await cases_reads.timeline(world.conn, case_id, 0, access.read_tags(world.operator))
    assert any(
        t["what"] == "Messaggio della sala all'unità" and t["detail"] == "Aspettate la figlia."
        for t in timeline
    )


async def test_a_message_to_a_case_goes_to_every_unit_on_it_and_each_acknowledges_its_own(world):
    await fleet_support.place_unit(world.conn, world.unit2)  # both in Firenze
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit2)

    batch, rows = await units_actions.send_message(
        world.db, world.operator, "Entrate insieme.", case_id=case_id
    )
    assert sorted(r["unit_id"] for r in rows) == [world.unit1, world.unit2]
    assert {r["batch"] for r in rows} == {batch}
    mine = {r["unit_id"]: r["id"] for r in rows}
    with pytest.raises(errors.NotFound):  # not its own message
        await tablet_actions.acknowledge_message(
            world.db, world.crew2, mine[world.unit1], uuid.uuid4().hex
        )
    head = await eventlog.head(world.conn)

    first = await tablet_actions.acknowledge_message(
        world.db, world.crew1, mine[world.unit1], uuid.uuid4().hex
    )
    again = await tablet_actions.acknowledge_message(
        world.db, world.crew1, mine[world.unit1], uuid.uuid4().hex
    )

    assert first.body["acknowledged_at"] == again.body["acknowledged_at"]
    acks = [e for e in await world.events(head) if e.type == "unit.message_acknowledged"]
    assert len(acks) == 1 and acks[0].audience == frozenset(
        {access.ROOM, access.unit_tag(world.unit1)}
    )
    listed = {m.unit_id: m for m in await units_reads.messages_of_case(world.conn, case_id)}
    assert listed[world.unit1].acknowledged_at is not None
    assert listed[world.unit2].acknowledged_at is None
    view = await tablet_reads.view(world.conn, world.unit2)
    assert [m.body for m in view.messages if m.acknowledged_at is None] == ["Entrate insieme."]
    assert [t.id for t in view.team] == [world.unit1]


@pytest.mark.parametrize(
    ("text", "target", "field"),
    [("   ", {"unit_id": 1}, "body"), ("x" * 1001, {"unit_id": 1}, "body"),
     ("ciao", {}, "unit_id"), ("ciao", {"unit_id": 1, "case_id": 1}, "unit_id")],
)  # fmt: skip
async def test_a_message_nobody_can_read_is_refused_at_its_field(world, text, target, field):
    with pytest.raises(errors.ValidationFailed) as refused:
        await units_actions.send_message(world.db, world.operator, text, **target)
    assert [p.field for p in refused.value.problems] == [field]
    assert await world.conn.fetchval("SELECT count(*) FROM unit_messages") == 0


# ---- positions ---------------------------------------------------------------------------------


async def position(world: World, lat: float, lon: float, at: datetime | None = None) -> Any:
    body = tablet_schemas.PositionIn(lat=lat, lon=lon, accuracy_m=20, at=at)
    return await tablet_actions.report_position(world.db, world.crew2, body)


async def test_the_ranking_starts_from_a_fresh_position_and_falls_back_to_the_base(world):
    _, case_id = await world.case()  # Firenze; unit2's base is in Prato
    await tablet_actions.set_sharing(
        world.db, world.crew2, tablet_schemas.SharingIn(share_position=True)
    )
    firenze = await world.row("SELECT lat, lon FROM municipalities WHERE istat_code = '048017'")
    now = datetime.now(UTC)
    kept = await position(world, firenze["lat"], firenze["lon"], now - timedelta(minutes=4))
    assert kept.kept

    fresh = await units_reads.recommend(world.conn, case_id, RankingPolicy(), now)
    by_id = {u.unit_id: u for u in fresh.units}
    assert by_id[world.unit2].position_source == "position"
    assert by_id[world.unit2].position_label == "dalla posizione di 4 min fa"
    assert by_id[world.unit2].eta_minutes == 1
    assert by_id[world.unit1].position_label == "dalla sede"

    later = now + timedelta(minutes=40)  # older than the 30 minutes allowed
    stale = await units_reads.recommend(world.conn, case_id, RankingPolicy(), later)
    unit2 = {u.unit_id: u for u in stale.units}[world.unit2]
    assert unit2.position_source == "base" and unit2.eta_minutes > 10
    assert unit2.reasons[0].endswith("(dalla sede)")


async def test_a_unit_with_no_position_at_all_has_no_estimate(world):
    _, case_id = await world.case()
    await world.conn.execute(
        "UPDATE units SET base_lat = NULL, base_lon = NULL, base_municipality_code = NULL"
        " WHERE id = $1",
        world.unit2,
    )
    ranked = await units_reads.recommend(world.conn, case_id, RankingPolicy(), NOW)
    unit2 = {u.unit_id: u for u in ranked.units}[world.unit2]
    assert unit2.eta_minutes is None and unit2.position_label == "posizione sconosciuta"
    assert unit2.reasons[0].startswith("posizione sconosciuta")


async def test_without_consent_no_position_is_kept_and_turning_it_off_forgets_it(world):
    assert not (await position(world, 43.8, 11.2)).kept
    assert await world.conn.fetchval("SELECT count(*) FROM unit_positions") == 0

    on = tablet_schemas.SharingIn(share_position=True)
    await tablet_actions.set_sharing(world.db, world.crew2, on)
    assert (await position(world, 43.8, 11.2)).kept
    assert await world.conn.fetchval("SELECT count(*) FROM unit_positions") == 1

    off = tablet_schemas.SharingIn(share_position=False)
    state = await tablet_actions.set_sharing(world.db, world.crew2, off)
    assert state.share_position is False and state.last_position_at is None
    row = await world.row("SELECT last_lat, last_position_at FROM units WHERE id = $1", world.unit2)
    assert tuple(row) == (None, None)
    assert await world.conn.fetchval("SELECT count(*) FROM unit_positions") == 0


async def test_the_history_is_pruned_but_the_last_position_stays(world):
    await tablet_actions.set_sharing(
        world.db, world.crew2, tablet_schemas.SharingIn(share_position=True)
    )
    now = datetime.now(UTC)
    for minutes, lat in ((60 * 30, 43.70), (60 * 25, 43.71), (5, 43.72)):
        await position(world, lat, 11.2, now - timedelta(minutes=minutes))

    pruned = await units_actions.prune_positions(world.db, timedelta(hours=24), now)

    assert pruned == 2
    assert [r["lat"] for r in await world.conn.fetch("SELECT lat FROM unit_positions")] == [43.72]
    assert (
        await world.conn.fetchval("SELECT last_lat FROM units WHERE id = $1", world.unit2) == 43.72
    )


# ---- the case's resources on the tablet ---------------------------------------------------------


async def test_a_confirmed_request_reaches_the_unit_live_with_the_resources_address(world):
    resource_id = await fleet_support.add_resource(world.conn)
    await world.conn.execute(
        "UPDATE resources SET address = 'Via dei Pepi 12, Firenze', phone = '055 000 000',"
        " contact_hours = 'h24' WHERE id = $1",
        resource_id,
    )
    _, case_id = await world.case()
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit1)
    body = tablet_schemas.ResourceRequestIn(type=SHELTER_BED)
    asked = await tablet_actions.request_resource(world.db, world.crew1, body, uuid.uuid4().hex)
    head = await eventlog.head(world.conn)

    for target in (basket.Status.HELD, basket.Status.CONFIRMED):
        await basket_actions.step(
            world.db, asked.body["id"], target, actor="user:1", ttl=timedelta(minutes=30)
        )

    seen = await eventlog.read_visible(world.conn, head, access.read_tags(world.crew1), 100)
    assert ["booking.held", "booking.confirmed"] == [
        e.type for e in seen if e.type.startswith("booking.")
    ]
    other = await eventlog.read_visible(world.conn, head, access.read_tags(world.crew2), 100)
    assert not [e for e in other if e.type.startswith("booking.")]
    view = await tablet_reads.view(world.conn, world.unit1)
    assert [r.status for r in view.requests] == ["confirmed"]
    [place] = view.resources
    assert (place.address, place.phone, place.contact_hours) == (
        "Via dei Pepi 12, Firenze",
        "055 000 000",
        "h24",
    )
