"""The demo's year of history as planned: the published shape, plausible timings, units one case
at a time, nothing after now, the same plan for the same start."""

from __future__ import annotations

import csv
import itertools
import random
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dispatch import demo_year
from dispatch.calendars import ROME
from dispatch.demo_year import Step
from dispatch.referrals import ReferrerKind, Trigger

DATA = Path(__file__).resolve().parents[2] / "console" / "data"
NOW = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
PENDING = ("firenze", "pistoiese", "pratese", "pisana", "livornese")


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


PLACES = [
    demo_year.Place(r["istat_code"], r["zona_id"], int(r["population_2022"]))
    for r in _rows("toscana_comuni.csv")
    if r["zona_id"] in demo_year.ACTIVE_ZONES
]
UNITS = {z: [f"UTES {z} 1"] for z in demo_year.ACTIVE_ZONES} | {
    "firenze": ["UTES firenze 1", "UTES firenze 2"]
}


def _rng() -> random.Random:
    return random.Random(demo_year.SEED)


@pytest.fixture(scope="module")
def year() -> list[demo_year.Story]:
    return demo_year.plan(NOW, 365, PLACES, UNITS, operators=6, rng=_rng(), pending_in=PENDING)


def _after(story: demo_year.Story, step: Step, since: Step) -> timedelta | None:
    moments = dict((s, at) for at, s in reversed(story.steps))  # the first of each step
    if step in moments and since in moments:
        return moments[step] - moments[since]
    return None


def test_the_active_zones_are_18_of_the_28_published(year):
    zones = {r["zona_id"] for r in _rows("toscana_zone_distretto.csv")}
    assert len(zones) == 28
    assert len(set(demo_year.ACTIVE_ZONES)) == 18 and set(demo_year.ACTIVE_ZONES) <= zones
    assert {s.place.zone for s in year} == set(demo_year.ACTIVE_ZONES)


def test_a_year_has_about_the_published_two_thousand_referrals_hospitals_first(year):
    figures = {(r["metric"], r["period"]): r["value"] for r in _rows("seus_activity_figures.csv")}
    assert figures[("interventions_total", "2024")] == ">2000"
    assert 1950 <= len(year) <= 2050
    kinds = Counter(s.referrer_kind for s in year)
    assert kinds.most_common(1)[0][0] == "hospital"
    hospitals_2024 = int(figures[("source_hospital_emergency_dept", "2024")])
    assert abs(kinds["hospital"] / len(year) - hospitals_2024 / 2000) < 0.04
    police = kinds["police"] + kinds["carabinieri"] + kinds["municipal_police"]
    assert police > kinds["social_service"] > kinds["prefecture"]  # as in 2021: 353 > 319
    triggers = Counter(s.trigger for s in year)
    assert triggers.most_common(1)[0][0] == "family_conflict"
    assert triggers["poverty_homelessness"] > triggers["minors_at_risk"] > triggers["calamity"]


def test_more_referrals_in_winter_than_in_summer_and_by_day_than_at_night(year):
    months = Counter(s.received_at.astimezone(ROME).month for s in year)
    assert months[1] > months[7] * 1.2
    hours = Counter(s.received_at.astimezone(ROME).hour for s in year)
    night = sum(hours[h] for h in range(2, 6))
    afternoon = sum(hours[h] for h in range(15, 19))
    assert 0 < night < afternoon / 2


def test_every_story_is_in_order_before_now_and_the_last_hours_are_left_to_the_room(year):
    for story in year:
        moments = [at for at, _ in story.steps]
        assert story.steps[0] == (story.received_at, Step.SUBMIT)
        assert moments == sorted(moments) and moments[-1] < NOW
        assert NOW - timedelta(days=365) <= story.received_at < NOW - demo_year.QUIET
    assert [s.number for s in year] == list(range(1, len(year) + 1))
    assert [s.received_at for s in year] == sorted(s.received_at for s in year)


def test_the_timings_are_minutes_for_the_room_hours_for_units_days_for_handovers(year):
    def median(step: Step, since: Step) -> float:
        found = [d for s in year if (d := _after(s, step, since)) is not None]
        return statistics.median(d.total_seconds() for d in found)

    assert 60 <= median(Step.CLAIM, Step.SUBMIT) <= 180
    assert 8 * 60 <= median(Step.DECIDE, Step.SUBMIT) <= 30 * 60
    assert 15 * 60 <= median(Step.ON_SCENE, Step.DISPATCH) <= 60 * 60
    assert 6 * 3600 <= median(Step.HANDOVER_ACCEPTED, Step.HANDOVER_SENT) <= 48 * 3600
    claims = [_after(s, Step.CLAIM, Step.SUBMIT) for s in year]
    late = sum(1 for d in claims if d is not None and d > timedelta(minutes=5))
    assert 0.02 * len(year) < late < 0.2 * len(year), "some claims breach their 5 minutes"
    outcomes = Counter(s.outcome for s in year)
    assert outcomes["activate"] > outcomes["not_pertinent"] > 0 and outcomes["redirect"] > 0
    assert sum(1 for s in year for _, step in s.steps if step is Step.HANDOVER_REJECTED)


def test_a_unit_takes_one_case_at_a_time_and_is_back_before_the_room_starts(year):
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    for story in year:
        moments = {step: at for at, step in story.steps}
        if Step.DISPATCH in moments:
            assert story.unit in UNITS[story.place.zone]
            busy.setdefault(story.unit, []).append(
                (moments[Step.DISPATCH], moments[Step.AVAILABLE])
            )
            assert moments[Step.AVAILABLE] <= NOW - demo_year.FREE_BEFORE
            on_scene = [at for at, step in story.steps if step is Step.CHECK_IN]
            assert all(moments[Step.ON_SCENE] < at < moments[Step.RETURNING] for at in on_scene)
    assert busy
    for spans in busy.values():
        spans.sort()
        assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def test_each_named_zone_has_a_handover_waiting_at_now(year):
    waiting = Counter(s.place.zone for s in year if s.pending_handover)
    assert set(PENDING) <= set(waiting)
    for story in year:
        if story.pending_handover:
            assert story.outcome == "activate"
            assert NOW - story.steps[-1][0] < timedelta(days=5)


def test_the_same_start_gives_the_same_history_and_a_short_one_is_short(year):
    again = demo_year.plan(NOW, 365, PLACES, UNITS, operators=6, rng=_rng(), pending_in=PENDING)
    assert again == year
    week = demo_year.plan(NOW, 7, PLACES, UNITS, operators=6, rng=_rng(), pending_in=PENDING)
    assert 20 <= len(week) <= 60
    assert {s.place.zone for s in week if s.pending_handover} >= set(PENDING)
    assert demo_year.plan(NOW, 0, PLACES, UNITS, operators=6, rng=_rng()) == []
    with pytest.raises(ValueError):
        demo_year.plan(NOW.replace(tzinfo=None), 7, PLACES, UNITS, operators=6, rng=_rng())


def test_services_answer_in_office_hours_on_working_days():
    rng = random.Random(1)
    tuesday = datetime(2026, 12, 1, 10, 0, tzinfo=ROME)
    assert demo_year.working_time(tuesday, rng) == tuesday
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=ROME)
    monday = demo_year.working_time(saturday, rng).astimezone(ROME)
    assert monday.date().isoformat() == "2026-12-07" and 9 <= monday.hour < 13
    christmas_eve = datetime(2026, 12, 24, 18, 0, tzinfo=ROME)
    after = demo_year.working_time(christmas_eve, rng).astimezone(ROME)
    assert after.date().isoformat() == "2026-12-28"  # 25, 26 holidays, 27 a Sunday


def test_shifts_rotate_three_a_day():
    day = datetime(2026, 3, 10, 8, 0, tzinfo=ROME)
    shifts = {demo_year.shift_operator(day + timedelta(hours=h), 6) for h in (0, 7, 14)}
    assert len(shifts) == 3
    late = demo_year.shift_operator(datetime(2026, 3, 11, 2, 0, tzinfo=ROME), 6)
    assert late == demo_year.shift_operator(datetime(2026, 3, 10, 22, 0, tzinfo=ROME), 6)


def test_the_plan_speaks_the_workflows_words():
    assert set(demo_year.TRIGGER_WEIGHTS) == {t.value for t in Trigger}
    assert set(demo_year.URGENCY_BY_TRIGGER) == {t.value for t in Trigger}
    assert set(demo_year.REFERRER_SHARES) == {k.value for k in ReferrerKind}
    assert abs(sum(demo_year.REFERRER_SHARES.values()) - 1) < 1e-9
    assert abs(sum(demo_year.OUTCOMES.values()) - 1) < 1e-9
