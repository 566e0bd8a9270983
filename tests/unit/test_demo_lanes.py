"""How the demo's history is split between the lanes that play it side by side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.demo.history import lanes_of
from dispatch import demo_year

START = datetime(2026, 1, 1, tzinfo=UTC)


def _plan(zones: dict[str, int]) -> list[demo_year.Story]:
    """`count` stories per zone, interleaved in time as a plan has them."""
    plan = []
    for n in range(max(zones.values())):
        for zone, count in zones.items():
            if n < count:
                plan.append(
                    demo_year.Story(
                        number=len(plan) + 1,
                        received_at=START + timedelta(hours=len(plan)),
                        referrer_kind="hospital",
                        trigger="violence",
                        urgency="giallo",
                        place=demo_year.Place(f"{zone}-1", zone, 1000),
                        people=1,
                        minors=0,
                        outcome="activate",
                        operator=0,
                    )
                )
    return plan


def test_every_story_is_in_one_lane_in_plan_order_and_the_lanes_carry_about_as_many():
    plan = _plan({"a": 40, "b": 30, "c": 25, "d": 20, "e": 5})
    units = {zone: [f"unit-{zone}"] for zone in "abcde"}
    lanes = lanes_of(plan, units, 2)
    assert len(lanes) == 2
    played = [s for _, stories in lanes for s in stories]
    assert sorted(s.number for s in played) == [s.number for s in plan]
    for zones, stories in lanes:
        assert [s.number for s in stories] == sorted(s.number for s in stories)
        assert {s.place.zone for s in stories} == set(zones)
    sizes = sorted(len(stories) for _, stories in lanes)
    assert sizes == [60, 60]


def test_zones_that_share_a_unit_are_played_by_the_same_lane():
    plan = _plan({"a": 10, "b": 10, "c": 10, "d": 10})
    units = {"a": ["u1"], "b": ["u2", "u1"], "c": ["u3"], "d": ["u3", "u4"]}
    lanes = lanes_of(plan, units, 2)
    assert sorted(tuple(zones) for zones, _ in lanes) == [("a", "b"), ("c", "d")]


def test_fewer_groups_than_lanes_leave_no_empty_lane():
    plan = _plan({"a": 3})
    assert lanes_of(plan, {"a": ["u1"]}, 2) == [(["a"], plan)]
