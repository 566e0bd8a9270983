"""Which workflow moments start, stop and re-target which clock (dispatch.sla)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import access, clocks, sla
from dispatch.clocks import Milestone, Rules, State
from dispatch.events import NewEvent
from dispatch.sla import Kind, Moment, Tracked, Trigger

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
POLICIES = clocks.default_policies()


def event(type_: str, **payload: object) -> NewEvent:
    return NewEvent(type=type_, subject="x", audience=frozenset({access.ROOM}), payload=payload)


@pytest.mark.parametrize(
    ("event_", "trigger", "keys"),
    [
        (event("referral.received", id=7), Trigger.REFERRAL_RECEIVED, {Kind.REFERRAL: (7,)}),
        (event("referral.claimed", id=7), Trigger.REFERRAL_CLAIMED, {Kind.REFERRAL: (7,)}),
        (
            event("case.opened", case_id=3, referral_id=7),
            Trigger.CASE_OPENED,
            {Kind.CASE: (3,), Kind.ASSIGNMENT: (), Kind.REFERRAL: (7,)},
        ),
        (
            event("case.unit_dispatched", case_id=3, assignment_id=9),
            Trigger.UNIT_DISPATCHED,
            {Kind.CASE: (3,), Kind.ASSIGNMENT: (9,)},
        ),
        (
            event("unit.checked_in", case_id=3, assignment_id=9),
            Trigger.UNIT_CHECKED_IN,
            {Kind.CASE: (3,), Kind.ASSIGNMENT: (9,)},
        ),
        (
            event("case.urgency_changed", case_id=3, assignment_ids=[9, 10]),
            Trigger.URGENCY_CHANGED,
            {Kind.CASE: (3,), Kind.ASSIGNMENT: (9, 10)},
        ),
        (event("handover.rejected", case_id=3), Trigger.HANDOVER_REJECTED, {Kind.CASE: (3,),
                                                                           Kind.ASSIGNMENT: ()}),
    ],
)  # fmt: skip
def test_an_event_names_its_moment_and_subjects(event_, trigger, keys):
    moment = sla.moment_of(event_)
    assert moment is not None and moment.trigger is trigger and dict(moment.keys) == keys


def test_events_no_clock_cares_about_are_no_moment():
    assert sla.moment_of(event("room.message_posted", id=1)) is None
    assert sla.moment_of(event("referral.progressed", id=1)) is None


def test_a_boolean_is_not_an_id():
    assert sla.moment_of(event("referral.claimed", id=True)).keys == {Kind.REFERRAL: ()}


def test_every_default_policy_is_valid():
    assert {m: sla.rule_problems(m, p.rules) for m, p in POLICIES.items()} == {
        m: [] for m in Milestone
    }


def test_a_policy_naming_an_unknown_moment_or_a_wrong_start_is_refused():
    rules = Rules(starts_on=frozenset({"case_opened", "teleported"}), stops_on=frozenset())
    problems = sla.rule_problems(Milestone.UNIT_ON_SCENE, rules)
    assert ("starts_on", "momenti sconosciuti: teleported") in problems
    assert "stops_on" in [name for name, _ in problems]
    wrong_kind = sla.rule_problems(
        Milestone.UNIT_ON_SCENE, replace(rules, starts_on=frozenset({"case_opened"}),
                                         stops_on=frozenset({"unit_on_scene"})))  # fmt: skip
    assert wrong_kind == [("starts_on", "'case_opened' non riguarda un invio: non può avviarlo")]


def run(moments, open_clocks=(), urgency=None, now=T0):
    return sla.plan(moments, POLICIES, list(open_clocks), urgency or {}, now)


def moment(trigger: Trigger, **keys: tuple[int, ...]) -> Moment:
    return Moment(trigger, {Kind(k): v for k, v in keys.items()})


def test_a_referral_received_starts_the_claim_and_the_assessment_clocks():
    changes = run([moment(Trigger.REFERRAL_RECEIVED, referral=(7,))], urgency={
        (Kind.REFERRAL, 7): "rosso"})  # fmt: skip
    assert [(c.action, c.tracked.milestone, c.tracked.key, c.tracked.urgency) for c in changes] == [
        ("started", Milestone.REFERRAL_CLAIMED, 7, "rosso"),
        ("started", Milestone.ASSESSMENT_DECIDED, 7, "rosso"),
    ]
    decide = changes[1].tracked
    assert clocks.deadline(decide.clock, decide.calendar) == T0 + 15 * MIN


def test_a_referral_with_no_urgency_yet_counts_as_giallo():
    (_claim, decide) = run([moment(Trigger.REFERRAL_RECEIVED, referral=(7,))])
    assert decide.tracked.urgency == "giallo"
    assert decide.tracked.clock.budget == 30 * MIN


def opened(milestone: Milestone, key: int, urgency: str = "giallo", at=T0) -> Tracked:
    policy = POLICIES[milestone]
    return Tracked(
        id=100 + key,
        kind=sla.MILESTONE_KIND[milestone],
        key=key,
        urgency=urgency,
        calendar=policy.calendar,
        clock=clocks.start(policy, urgency, at),
    )


def test_a_claim_meets_the_claim_clock_and_leaves_the_assessment_running():
    claim, decide = opened(Milestone.REFERRAL_CLAIMED, 7), opened(Milestone.ASSESSMENT_DECIDED, 7)
    changes = run([moment(Trigger.REFERRAL_CLAIMED, referral=(7,))], [claim, decide],
                  now=T0 + 2 * MIN)  # fmt: skip
    assert [(c.action, c.tracked.id) for c in changes] == [("met", claim.id)]
    assert changes[0].tracked.clock.counted == 2 * MIN


def test_a_released_referral_waits_for_a_claim_again():
    changes = run([moment(Trigger.REFERRAL_RELEASED, referral=(7,))])
    assert [(c.action, c.tracked.milestone) for c in changes] == [
        ("started", Milestone.REFERRAL_CLAIMED)
    ]


def test_a_check_in_meets_the_running_clock_and_starts_the_next():
    running = opened(Milestone.UNIT_CHECK_IN, 9, at=T0)
    changes = run([moment(Trigger.UNIT_CHECKED_IN, case=(3,), assignment=(9,))], [running],
                  now=T0 + 20 * MIN)  # fmt: skip
    assert [(c.action, c.tracked.id) for c in changes] == [("met", running.id), ("started", None)]
    nxt = changes[1].tracked
    assert clocks.deadline(nxt.clock, nxt.calendar) == T0 + 50 * MIN


def test_a_late_check_in_meets_the_breached_clock_and_keeps_the_breach_on_record():
    running = opened(Milestone.UNIT_CHECK_IN, 9, at=T0)
    breached = replace(
        running, clock=clocks.fire(running.clock, running.calendar, T0 + 31 * MIN)[0]
    )
    changes = run([moment(Trigger.UNIT_CHECKED_IN, assignment=(9,))], [breached], now=T0 + 40 * MIN)
    met = changes[0].tracked.clock
    assert (met.state, met.breached_at) == (State.MET, T0 + 30 * MIN)


def test_a_unit_recalled_before_arriving_cancels_its_on_scene_clock():
    clock = opened(Milestone.UNIT_ON_SCENE, 9)
    changes = run([moment(Trigger.UNIT_RELEASED, case=(3,), assignment=(9,))], [clock])
    assert [(c.action, c.tracked.clock.state) for c in changes] == [("cancelled", State.CANCELLED)]


def test_a_start_while_a_clock_of_the_same_milestone_is_open_keeps_the_open_one():
    clock = opened(Milestone.HANDOVER_SENT, 3)
    assert run([moment(Trigger.HANDOVER_REJECTED, case=(3,))], [clock]) == []


def test_an_urgency_change_retargets_open_clocks_and_keeps_the_time_counted():
    on_scene = opened(Milestone.UNIT_ON_SCENE, 9, "verde")  # 24 h
    changes = run([moment(Trigger.URGENCY_CHANGED, case=(3,), assignment=(9,))], [on_scene],
                  urgency={(Kind.ASSIGNMENT, 9): "rosso"}, now=T0 + 10 * MIN)  # fmt: skip
    (change,) = changes
    assert (change.action, change.tracked.urgency) == ("retargeted", "rosso")
    assert clocks.deadline(change.tracked.clock, change.tracked.calendar) == T0 + 60 * MIN


def test_an_urgency_change_to_the_same_code_changes_nothing():
    on_scene = opened(Milestone.UNIT_ON_SCENE, 9, "rosso")
    urgency = {(Kind.ASSIGNMENT, 9): "rosso"}
    assert run([moment(Trigger.URGENCY_CHANGED, assignment=(9,))], [on_scene], urgency) == []


def test_configured_pauses_and_resumes_keep_the_counted_time():
    rules = replace(POLICIES[Milestone.HANDOVER_SENT].rules,
                    pauses_on=frozenset({"unit_dispatched"}),
                    resumes_on=frozenset({"unit_released"}))  # fmt: skip
    policies = {Milestone.HANDOVER_SENT: replace(POLICIES[Milestone.HANDOVER_SENT], rules=rules)}
    clock = opened(Milestone.HANDOVER_SENT, 3)
    (paused,) = sla.plan([moment(Trigger.UNIT_DISPATCHED, case=(3,), assignment=(9,))], policies,
                         [clock], {}, T0 + 60 * MIN)  # fmt: skip
    assert paused.action == "paused" and paused.tracked.clock.counted == 60 * MIN
    (resumed,) = sla.plan([moment(Trigger.UNIT_RELEASED, case=(3,), assignment=(9,))], policies,
                          [paused.tracked], {}, T0 + 180 * MIN)  # fmt: skip
    assert resumed.action == "resumed"
    deadline = clocks.deadline(resumed.tracked.clock, resumed.tracked.calendar)
    assert deadline == T0 + 180 * MIN + 23 * 60 * MIN  # 24 h target, one hour already counted


def test_moments_in_one_action_apply_in_order():
    changes = run([
        moment(Trigger.CASE_OPENED, case=(3,), referral=(7,)),
        moment(Trigger.HANDOVER_SENT, case=(3,)),
    ])  # fmt: skip
    assert [(c.action, c.tracked.milestone) for c in changes] == [
        ("started", Milestone.HANDOVER_SENT),
        ("met", Milestone.HANDOVER_SENT),
        ("started", Milestone.HANDOVER_ACCEPTED),
    ]


def test_the_view_gives_screens_the_deadline_to_count_down_to():
    view = sla.view(opened(Milestone.REFERRAL_CLAIMED, 7))
    assert view["deadline"] == (T0 + 5 * MIN).isoformat()
    assert view["next_due"] == (T0 + 150 * timedelta(seconds=1)).isoformat()
    assert (view["label"], view["state"], view["budget_seconds"]) == (
        "Presa visione",
        "running",
        300,
    )
