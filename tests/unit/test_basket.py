"""The basket's rules: the booking table, holds against capacity, expiry, the case's move."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import access, basket, cases
from dispatch.basket import Status
from dispatch.errors import IllegalTransition

NOW = datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
TTL = timedelta(minutes=30)

ALLOWED = {
    (Status.REQUESTED, Status.HELD),
    (Status.REQUESTED, Status.CANCELLED),
    (Status.HELD, Status.CONFIRMED),
    (Status.HELD, Status.EXPIRED),
    (Status.HELD, Status.CANCELLED),
    (Status.CONFIRMED, Status.IN_USE),
    (Status.CONFIRMED, Status.CANCELLED),
    (Status.IN_USE, Status.RELEASED),
}
PAIRS = list(itertools.product(Status, Status))


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_an_allowed_booking_move_returns_the_new_status(current, target):
    assert basket.advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in ALLOWED])
def test_every_other_booking_move_is_an_illegal_transition(current, target):
    with pytest.raises(IllegalTransition) as raised:
        basket.advance(current, target)
    assert raised.value.entity == "booking"
    assert (raised.value.current, raised.value.target) == (current.value, target.value)


@pytest.mark.parametrize("final", [Status.RELEASED, Status.EXPIRED, Status.CANCELLED])
def test_a_final_booking_goes_nowhere(final):
    assert final in basket.FINAL
    assert final not in basket.TRANSITIONS
    assert not basket.counts(final)


@pytest.mark.parametrize(
    ("capacity", "taken", "quantity", "left"),
    [(10, 0, 1, 9), (10, 9, 1, 0), (10, 0, 10, 0), (1, 0, 1, 0), (20, 5, 15, 0)],
)
def test_a_hold_that_fits_expires_after_the_ttl_and_says_what_is_left(
    capacity, taken, quantity, left
):
    held = basket.hold(Status.REQUESTED, capacity, taken, quantity, NOW, TTL)
    assert held == basket.Held(expires_at=NOW + TTL, available_after=left)


@pytest.mark.parametrize(
    ("capacity", "taken", "quantity", "available"),
    [(10, 10, 1, 0), (10, 9, 2, 1), (0, 0, 1, 0), (5, 7, 1, 0), (3, 0, 4, 3)],
)
def test_a_hold_beyond_capacity_is_full_with_what_is_available(
    capacity, taken, quantity, available
):
    assert basket.hold(Status.REQUESTED, capacity, taken, quantity, NOW, TTL) == basket.Full(
        available
    )


@pytest.mark.parametrize("current", [s for s in Status if s is not Status.REQUESTED])
def test_only_a_requested_booking_can_be_held(current):
    with pytest.raises(IllegalTransition):
        basket.hold(current, 10, 0, 1, NOW, TTL)


def test_a_hold_expires_exactly_at_its_time_and_not_before():
    until = NOW + TTL
    assert not basket.expired(Status.HELD, until, until - timedelta(microseconds=1))
    assert basket.expired(Status.HELD, until, until)
    assert basket.expired(Status.HELD, until, until + timedelta(hours=1))


@pytest.mark.parametrize("status", [s for s in Status if s is not Status.HELD])
def test_only_a_held_booking_expires(status):
    assert not basket.expired(status, NOW - timedelta(days=1), NOW)


def test_a_hold_without_a_deadline_never_expires():
    assert not basket.expired(Status.HELD, None, NOW)


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_availability_changes_exactly_when_a_move_enters_or_leaves_the_count(current, target):
    counted = {Status.HELD, Status.CONFIRMED, Status.IN_USE}
    expected = (current in counted) != (target in counted)
    assert basket.changes_availability(current, target) is expected


@pytest.mark.parametrize(
    ("capacity", "taken", "fits"), [(10, 10, True), (10, 3, True), (9, 10, False), (0, 0, True)]
)
def test_capacity_may_not_go_below_what_is_counted(capacity, taken, fits):
    assert basket.capacity_fits(capacity, taken) is fits


def test_availability_is_never_negative():
    assert basket.available(5, 8) == 0
    assert basket.available(5, 2) == 3


@pytest.mark.parametrize("status", list(cases.Status))
def test_a_case_takes_bookings_until_closed_or_handed_over(status):
    closed = {cases.Status.CLOSED, cases.Status.HANDOVER_ACCEPTED}
    assert basket.bookable(status) is (status not in closed)


@pytest.mark.parametrize(
    ("target", "case_status", "others", "expected"),
    [
        (Status.CONFIRMED, cases.Status.OPEN, False, cases.Status.RESOURCES_IN_PLACE),
        (Status.CONFIRMED, cases.Status.ON_SCENE, False, cases.Status.RESOURCES_IN_PLACE),
        (Status.IN_USE, cases.Status.ON_SCENE, False, cases.Status.RESOURCES_IN_PLACE),
        (Status.CONFIRMED, cases.Status.ON_SCENE, True, None),  # not the first
        (Status.CONFIRMED, cases.Status.UNIT_DISPATCHED, False, None),
        (Status.CONFIRMED, cases.Status.RESOURCES_IN_PLACE, False, None),
        (Status.CONFIRMED, cases.Status.HANDOVER_SENT, False, None),
        (Status.HELD, cases.Status.ON_SCENE, False, None),
        (Status.RELEASED, cases.Status.ON_SCENE, False, None),
    ],
)
def test_the_first_resource_in_place_moves_an_open_or_on_scene_case(
    target, case_status, others, expected
):
    assert basket.case_after(target, case_status, others) == expected


def test_every_booking_status_has_an_event_type_and_a_label():
    assert set(basket.EVENT_TYPES) == set(Status) == set(basket.STATUS_LABELS)
    assert basket.EVENT_TYPES[Status.IN_USE] == "booking.started"
    assert len(set(basket.EVENT_TYPES.values())) == len(Status)


def _facts(status: Status) -> basket.BookingFacts:
    return basket.BookingFacts(
        id=7,
        case_id=3,
        case_number="SEUS-2026-000003",
        resource_id=11,
        resource_name="Posti letto",
        resource_type="shelter_bed",
        zone="pistoiese",
        quantity=2,
        status=status,
        held_until=NOW + TTL,
    )


def test_a_booking_event_is_for_the_room_on_the_case_with_what_is_left():
    event = basket.booking_event(
        _facts(Status.HELD), previous=Status.REQUESTED, available=4, actor="user:1"
    )
    assert event.type == "booking.held"
    assert event.subject == "case:3"
    assert event.audience == frozenset({access.ROOM})
    assert event.zone == "pistoiese"
    assert event.payload["available"] == 4
    assert event.payload["held_until"] == (NOW + TTL).isoformat()
    assert event.payload["previous"] == "requested"
    assert {"case_id", "resource_id", "resource_name", "resource_type", "quantity", "status"} <= (
        event.payload.keys()
    )


def test_availability_and_resource_events_reach_only_the_room():
    changed = basket.availability_changed(11, "pistoiese", 10, 3, "system")
    assert changed.type == "resource.availability_changed"
    assert changed.payload == {
        "resource_id": 11,
        "zone": "pistoiese",
        "capacity": 10,
        "available": 3,
    }
    edited = basket.resource_changed(
        {"id": 11, "zone_id": "pistoiese"}, {"capacity": (10, 12)}, created=False, actor="user:9"
    )
    assert edited.payload["changes"] == {"capacity": [10, 12]}
    for event in (changed, edited):
        assert event.audience == frozenset({access.ROOM})
        assert not access.can_see(
            frozenset({access.unit_tag(1), access.referrer_tag(1)}), event.audience
        )
