"""Bookings against real PostgreSQL: capacity under concurrency, expiry, events, the case's move."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from console.areas.basket import actions as basket_actions
from console.areas.basket.actions import Expired, Full
from console.areas.basket.schemas import BookingOut
from console.lib import errors
from console.lib.db import Database
from dispatch import access
from dispatch.basket import Status
from dispatch.errors import IllegalTransition
from tests import support

TTL = timedelta(minutes=30)
T0 = datetime(2026, 2, 1, 21, 0, tzinfo=UTC)
ACTOR = "user:1"


async def referrer(db: Database) -> int:
    referrer_id: int = await db.pool.fetchval(
        "INSERT INTO referrers (name, kind) VALUES ('PS prova', 'hospital') RETURNING id"
    )
    return referrer_id


async def new_case(db: Database, referrer_id: int, **options: Any) -> tuple[int, int]:
    async with db.pool.acquire() as conn:
        return await support.make_case(conn, referrer_id=referrer_id, **options)


async def new_resource(
    db: Database, capacity: int, zone: str = "firenze", active: bool = True
) -> int:
    resource_id: int = await db.pool.fetchval(
        "INSERT INTO resources (zone_id, type, name, provider, capacity, active)"
        " VALUES ($1, 'shelter_bed', 'Posti letto prova', 'Caritas (test)', $2, $3) RETURNING id",
        zone,
        capacity,
        active,
    )
    return resource_id


async def book(
    db: Database, case_id: int, resource_id: int, quantity: int = 1, now: datetime = T0
) -> BookingOut | Full:
    return await basket_actions.book(
        db, case_id, resource_id, quantity, "", actor=ACTOR, ttl=TTL, now=now
    )


async def step(
    db: Database, booking_id: int, target: Status, now: datetime = T0
) -> BookingOut | Full | Expired:
    return await basket_actions.step(db, booking_id, target, actor=ACTOR, ttl=TTL, now=now)


async def logged(db: Database, prefix: str = "") -> list[dict[str, Any]]:
    rows = await db.pool.fetch(
        "SELECT seq, type, subject, audience, payload FROM events WHERE type LIKE $1 ORDER BY seq",
        prefix + "%",
    )
    return [dict(r) for r in rows]


async def test_fifty_concurrent_bookings_against_a_capacity_of_ten_hold_exactly_ten(db):
    referrer_id = await referrer(db)
    case_ids = [(await new_case(db, referrer_id))[1] for _ in range(5)]
    resource_id = await new_resource(db, capacity=10)

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(book(db, case_ids[i % 5], resource_id) for i in range(50))), 60
    )

    held = [o for o in outcomes if isinstance(o, BookingOut)]
    refused = [o for o in outcomes if isinstance(o, Full)]
    assert len(held) == 10 and len(refused) == 40
    assert all(o.available == 0 for o in refused)
    counted = await db.pool.fetchval(
        "SELECT sum(quantity) FROM bookings WHERE resource_id = $1 AND status = 'held'",
        resource_id,
    )
    assert counted == 10
    assert await db.pool.fetchval("SELECT count(*) FROM bookings") == 10
    events = await logged(db, "booking.")
    assert [e["payload"]["available"] for e in events] == list(range(9, -1, -1))
    availability = await logged(db, "resource.availability_changed")
    assert [e["payload"]["available"] for e in availability] == list(range(9, -1, -1))


async def test_a_booking_larger_than_what_is_left_is_refused_with_what_is_available(db):
    _, case_id = await new_case(db, await referrer(db))
    resource_id = await new_resource(db, capacity=5)
    assert isinstance(await book(db, case_id, resource_id, quantity=2), BookingOut)
    assert await book(db, case_id, resource_id, quantity=4) == Full(3)
    assert len(await logged(db, "booking.")) == 1  # a refusal changes nothing and logs nothing


async def test_a_booking_lives_held_confirmed_in_use_released_with_an_event_at_each_step(db):
    referral_id, case_id = await new_case(db, await referrer(db), status="on_scene")
    resource_id = await new_resource(db, capacity=3)
    held = await book(db, case_id, resource_id)
    assert isinstance(held, BookingOut)
    assert held.status is Status.HELD and held.held_until == T0 + TTL and held.available == 2

    for target in (Status.CONFIRMED, Status.IN_USE, Status.RELEASED):
        moved = await step(db, held.id, target, now=T0 + timedelta(minutes=5))
        assert isinstance(moved, BookingOut) and moved.status is target

    kinds = [e["type"] for e in await logged(db, "booking.")]
    assert kinds == ["booking.held", "booking.confirmed", "booking.started", "booking.released"]
    for event in await logged(db, "booking."):
        assert event["audience"] == [access.ROOM]
        assert event["subject"] == f"case:{case_id}"
        assert event["payload"]["case_id"] == case_id
        assert event["payload"]["resource_id"] == resource_id
    availability = [e["payload"]["available"] for e in await logged(db, "resource.avail")]
    assert availability == [2, 3]  # taken when held, given back when released

    # the first resource in place moved the case on, and its referrer was told
    assert await db.pool.fetchval("SELECT status FROM cases WHERE id = $1", case_id) == (
        "resources_in_place"
    )
    [moved] = await logged(db, "case.status_changed")
    assert moved["payload"]["previous"] == "on_scene"
    assert moved["payload"]["status"] == "resources_in_place"
    assert moved["audience"] == [access.ROOM]
    [told] = await logged(db, "referral.progressed")
    assert told["payload"]["id"] == referral_id
    assert all(
        not a.startswith("referrer:") for e in await logged(db, "booking.") for a in e["audience"]
    )


async def test_only_the_first_resource_in_place_moves_the_case_and_only_from_open_or_on_scene(db):
    referrer_id = await referrer(db)
    _, dispatched = await new_case(db, referrer_id, status="unit_dispatched")
    _, open_case = await new_case(db, referrer_id, status="open")
    resource_id = await new_resource(db, capacity=5)
    first = await book(db, dispatched, resource_id)
    await step(db, first.id, Status.CONFIRMED)
    assert await db.pool.fetchval("SELECT status FROM cases WHERE id = $1", dispatched) == (
        "unit_dispatched"
    )
    a, b = await book(db, open_case, resource_id), await book(db, open_case, resource_id)
    await step(db, a.id, Status.CONFIRMED)
    await step(db, b.id, Status.CONFIRMED)
    await step(db, a.id, Status.IN_USE)
    assert len(await logged(db, "case.status_changed")) == 1


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ((), Status.RELEASED),
        ((), Status.IN_USE),
        ((Status.CONFIRMED, Status.IN_USE), Status.CANCELLED),
        ((Status.CANCELLED,), Status.CONFIRMED),
        ((Status.CONFIRMED,), Status.HELD),
    ],
)
async def test_an_illegal_booking_move_is_refused_and_changes_nothing(db, path, target):
    _, case_id = await new_case(db, await referrer(db))
    resource_id = await new_resource(db, capacity=2)
    booking = await book(db, case_id, resource_id)
    for status in path:
        await step(db, booking.id, status)
    before = await logged(db)
    with pytest.raises(IllegalTransition):
        await step(db, booking.id, target)
    assert await logged(db) == before


async def test_confirming_a_hold_past_its_time_expires_it_and_gives_the_capacity_back(db):
    _, case_id = await new_case(db, await referrer(db))
    resource_id = await new_resource(db, capacity=1)
    booking = await book(db, case_id, resource_id)
    outcome = await step(db, booking.id, Status.CONFIRMED, now=T0 + TTL)
    assert isinstance(outcome, Expired) and outcome.booking.status is Status.EXPIRED
    assert outcome.booking.available == 1
    assert [e["type"] for e in await logged(db, "booking.")] == ["booking.held", "booking.expired"]


async def test_a_new_booking_does_not_count_holds_whose_time_has_passed(db):
    _, case_id = await new_case(db, await referrer(db))
    resource_id = await new_resource(db, capacity=1)
    first = await book(db, case_id, resource_id)
    assert await book(db, case_id, resource_id, now=T0 + timedelta(minutes=10)) == Full(0)
    second = await book(db, case_id, resource_id, now=T0 + TTL)
    assert isinstance(second, BookingOut) and second.available == 0
    assert (await basket_actions.read_booking(db.pool, first.id)).status is Status.EXPIRED
    expired = await logged(db, "booking.expired")
    assert [e["payload"]["id"] for e in expired] == [first.id]


async def test_two_concurrent_expiry_jobs_expire_each_hold_once(db):
    referrer_id = await referrer(db)
    _, case_id = await new_case(db, referrer_id)
    resources = [await new_resource(db, capacity=10) for _ in range(3)]
    ids = []
    for i in range(24):
        ids.append((await book(db, case_id, resources[i % 3])).id)
    confirmed = await step(db, ids[0], Status.CONFIRMED)  # not a hold any more: stays
    assert isinstance(confirmed, BookingOut)

    later = T0 + TTL + timedelta(seconds=1)
    counts = await asyncio.wait_for(
        asyncio.gather(*(basket_actions.expire_holds(db, now=later) for _ in range(2))), 30
    )
    assert sum(counts) == 23
    expired = await logged(db, "booking.expired")
    assert sorted(e["payload"]["id"] for e in expired) == sorted(ids[1:])
    assert await basket_actions.expire_holds(db, now=later + timedelta(minutes=1)) == 0
    left = {
        r["resource_id"]: r["available"]
        for r in [e["payload"] for e in await logged(db, "resource.availability_changed")][-3:]
    }
    assert left == {resources[0]: 9, resources[1]: 10, resources[2]: 10}


async def test_a_requested_booking_is_held_under_the_same_capacity_rule(db):
    _, case_id = await new_case(db, await referrer(db))
    resource_id = await new_resource(db, capacity=1)
    async with db.action(T0) as tx:
        asked = await basket_actions.record_request(
            tx, case_id, resource_id, 1, "coperte", actor="unit:1", unit_id=1
        )
    assert asked.status is Status.REQUESTED and asked.available == 1
    [requested] = await logged(db, "booking.requested")
    assert set(requested["audience"]) == {"room", "unit:1"}  # the asking unit hears of it
    taken = await book(db, case_id, resource_id)
    assert await step(db, asked.id, Status.HELD) == Full(0)
    await step(db, taken.id, Status.CANCELLED)
    held = await step(db, asked.id, Status.HELD, now=T0 + timedelta(minutes=1))
    assert isinstance(held, BookingOut) and held.held_until == T0 + timedelta(minutes=1) + TTL
    kinds = [e["type"] for e in await logged(db, "booking.")]
    assert kinds == ["booking.requested", "booking.held", "booking.cancelled", "booking.held"]


async def test_a_resource_of_another_zone_may_be_booked(db):
    _, case_id = await new_case(db, await referrer(db))  # Firenze
    resource_id = await new_resource(db, capacity=2, zone="pistoiese")
    booked = await book(db, case_id, resource_id)
    assert isinstance(booked, BookingOut) and booked.resource_zone == "pistoiese"
    [event] = await logged(db, "booking.held")
    assert event["payload"]["resource_id"] == resource_id


async def test_closed_cases_inactive_and_unknown_resources_are_refused(db):
    referrer_id = await referrer(db)
    _, closed = await new_case(db, referrer_id, status="closed")
    _, case_id = await new_case(db, referrer_id)
    resource_id = await new_resource(db, capacity=2)
    with pytest.raises(errors.Conflict):
        await book(db, closed, resource_id)
    with pytest.raises(errors.Conflict) as inactive:
        await book(db, case_id, await new_resource(db, capacity=2, active=False))
    assert inactive.value.code == "resource_inactive"
    with pytest.raises(errors.ValidationFailed):
        await book(db, case_id, 999_999)
    with pytest.raises(errors.NotFound):
        await book(db, 999_999, resource_id)
    assert await logged(db) == []
