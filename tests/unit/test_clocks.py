"""SLA clocks: deadlines, warnings at 50 % and 80 %, late firing, pause, resume, urgency change."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import clocks
from dispatch.calendars import ROME, Calendar, Kind
from dispatch.clocks import Milestone, Policy, State, Target
from dispatch.errors import IllegalTransition

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
POLICIES = clocks.default_policies()
ALWAYS = Calendar()
CLAIM = POLICIES[Milestone.REFERRAL_CLAIMED]
DECIDE = POLICIES[Milestone.ASSESSMENT_DECIDED]


def test_the_defaults_are_the_design_targets():
    assert CLAIM.target_for("rosso").duration == 5 * MIN
    assert [DECIDE.target_for(u).duration for u in ("rosso", "giallo", "verde")] == [
        15 * MIN, 30 * MIN, 120 * MIN]  # fmt: skip
    on_scene = POLICIES[Milestone.UNIT_ON_SCENE]
    assert on_scene.target_for("verde").duration == timedelta(hours=24)
    accepted = POLICIES[Milestone.HANDOVER_ACCEPTED]
    assert accepted.calendar.kind is Kind.WORKING_DAYS
    assert accepted.target_for("giallo").working_days == 1
    assert POLICIES[Milestone.UNIT_CHECK_IN].target_for("verde").duration == 30 * MIN
    assert all(p.warnings == (0.5, 0.8) for p in POLICIES.values())


def test_a_five_minute_clock_warns_at_half_and_four_fifths_then_breaches():
    clock = clocks.start(CLAIM, "giallo", T0)
    assert clocks.deadline(clock, ALWAYS) == T0 + 5 * MIN
    due = clocks.next_due(clock, ALWAYS)
    assert (due.kind, due.at, due.fraction) == ("warning", T0 + 150 * timedelta(seconds=1), 0.5)
    clock, fired = clocks.fire(clock, ALWAYS, T0 + 4 * MIN)
    assert [(d.kind, d.at) for d in fired] == [
        ("warning", T0 + timedelta(seconds=150)), ("warning", T0 + 4 * MIN)]  # fmt: skip
    clock, fired = clocks.fire(clock, ALWAYS, T0 + 5 * MIN)
    assert [(d.kind, d.at) for d in fired] == [("breach", T0 + 5 * MIN)]
    assert clock.state is State.BREACHED and clock.breached_at == T0 + 5 * MIN


def test_what_came_due_during_a_restart_fires_once_with_its_real_due_times():
    clock = clocks.start(CLAIM, "rosso", T0)
    clock, fired = clocks.fire(clock, ALWAYS, T0 + 60 * MIN)  # the process was down for an hour
    assert [d.at for d in fired] == [T0 + timedelta(seconds=150), T0 + 4 * MIN, T0 + 5 * MIN]
    assert clocks.fire(clock, ALWAYS, T0 + 61 * MIN)[1] == []  # never twice


def test_nothing_fires_before_it_is_due():
    clock = clocks.start(CLAIM, "rosso", T0)
    assert clocks.fire(clock, ALWAYS, T0 + 2 * MIN) == (clock, [])


def test_a_paused_clock_does_not_count_and_resumes_where_it_was():
    clock = clocks.start(CLAIM, "rosso", T0)
    clock = clocks.pause(clock, ALWAYS, T0 + 2 * MIN)
    assert clock.counted == 2 * MIN and clocks.next_due(clock, ALWAYS) is None
    assert clocks.fire(clock, ALWAYS, T0 + 30 * MIN)[1] == []
    clock = clocks.resume(clock, T0 + 12 * MIN)
    assert clocks.deadline(clock, ALWAYS) == T0 + 15 * MIN  # 3 minutes were left


def test_a_change_of_urgency_keeps_the_time_already_counted():
    clock = clocks.start(DECIDE, "giallo", T0)  # 30 minutes
    clock = clocks.retarget(clock, DECIDE, "rosso", T0 + 10 * MIN)  # now 15, 10 gone
    assert clocks.deadline(clock, ALWAYS) == T0 + 15 * MIN
    clock = clocks.retarget(clock, DECIDE, "verde", T0 + 12 * MIN)  # now 2 h, 12 min gone
    assert clocks.deadline(clock, ALWAYS) == T0 + 120 * MIN


def test_raising_the_urgency_past_the_new_target_makes_the_breach_due_at_once():
    clock = clocks.start(DECIDE, "verde", T0)  # 2 h
    clock, fired = clocks.fire(clock, ALWAYS, T0 + 20 * MIN)
    assert fired == []
    clock = clocks.retarget(clock, DECIDE, "rosso", T0 + 20 * MIN)  # 15 min: already over
    clock, fired = clocks.fire(clock, ALWAYS, T0 + 20 * MIN)
    assert [d.kind for d in fired] == ["warning", "warning", "breach"]
    assert all(d.at == T0 + 20 * MIN for d in fired)


def test_stopping_in_time_is_met_and_a_late_stop_keeps_the_breach_on_record():
    clock = clocks.stop(clocks.start(CLAIM, "rosso", T0), ALWAYS, T0 + 3 * MIN)
    assert clock.state is State.MET and clock.counted == 3 * MIN and clock.breached_at is None
    late, _ = clocks.fire(clocks.start(CLAIM, "rosso", T0), ALWAYS, T0 + 6 * MIN)
    late = clocks.stop(late, ALWAYS, T0 + 7 * MIN)
    assert late.state is State.MET and late.breached_at == T0 + 5 * MIN


@pytest.mark.parametrize(
    ("state", "action"),
    [(State.MET, "resume"), (State.CANCELLED, "pause"), (State.RUNNING, "resume"),
     (State.MET, "stop"), (State.CANCELLED, "cancel")],
)  # fmt: skip
def test_illegal_moves_of_a_clock_are_refused(state, action):
    clock = replace(clocks.start(CLAIM, "rosso", T0), state=state)
    with pytest.raises(IllegalTransition):
        if action == "resume":
            clocks.resume(clock, T0)
        else:
            getattr(clocks, action)(clock, ALWAYS, T0)


def test_handover_acceptance_is_due_at_the_end_of_the_next_working_day():
    policy = POLICIES[Milestone.HANDOVER_ACCEPTED]
    friday = datetime(2026, 4, 3, 15, 0, tzinfo=ROME)  # Easter weekend and Pasquetta follow
    clock = clocks.start(policy, "giallo", friday)
    assert clocks.deadline(clock, policy.calendar) == datetime(2026, 4, 7, 17, 0, tzinfo=ROME)
    assert clock.budget == timedelta(hours=10)  # Friday 15-17 and Tuesday 9-17
    half = clocks.next_due(clock, policy.calendar)
    assert half.at == datetime(2026, 4, 7, 12, 0, tzinfo=ROME)


def test_a_working_day_clock_paused_over_a_weekend_loses_nothing():
    policy = Policy(Milestone.HANDOVER_ACCEPTED, {"giallo": Target(timedelta(hours=4))},
                    calendar=Calendar(kind=Kind.WORKING_DAYS))  # fmt: skip
    clock = clocks.start(policy, "giallo", datetime(2026, 11, 20, 15, 0, tzinfo=ROME))
    clock = clocks.pause(clock, policy.calendar, datetime(2026, 11, 20, 16, 0, tzinfo=ROME))
    clock = clocks.resume(clock, datetime(2026, 11, 23, 9, 0, tzinfo=ROME))
    assert clocks.deadline(clock, policy.calendar) == datetime(2026, 11, 23, 12, 0, tzinfo=ROME)
