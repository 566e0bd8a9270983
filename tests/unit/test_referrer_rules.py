"""A referrer after sending: when it may add information, when it may withdraw, and what its
referral then shows (dispatch.intake, dispatch.referrals)."""

from __future__ import annotations

import pytest

from dispatch import clocks, intake, referrals, sla
from dispatch.errors import IllegalTransition
from dispatch.events import NewEvent
from dispatch.intake import Standing
from dispatch.referrals import Progress, Status


@pytest.mark.parametrize(
    "progress",
    sorted(set(Progress) - {Progress.CLOSED, Progress.NOT_PERTINENT, Progress.WITHDRAWN}),
)
def test_information_can_be_added_while_the_referral_is_not_over(progress):
    assert intake.addendum_refusal(progress) is None


@pytest.mark.parametrize(
    ("progress", "code"),
    [
        (Progress.CLOSED, "referral_closed"),
        (Progress.NOT_PERTINENT, "referral_closed"),
        (Progress.WITHDRAWN, "referral_withdrawn"),
    ],
)
def test_a_closed_not_pertinent_or_withdrawn_referral_takes_no_more_information(progress, code):
    refusal = intake.addendum_refusal(progress)
    assert refusal is not None and refusal.code == code
    assert "non si possono aggiungere" in refusal.message


@pytest.mark.parametrize("status", [Status.RECEIVED, Status.IN_ASSESSMENT])
def test_a_waiting_or_assessed_referral_may_be_withdrawn(status):
    assert intake.withdrawal_refusal(Standing(status)) is None
    assert intake.withdrawn_status(status) is Status.WITHDRAWN


def test_an_activated_referral_may_be_withdrawn_while_its_case_is_only_open():
    assert intake.withdrawal_refusal(Standing(Status.ACTIVATED, case_status="open")) is None
    assert intake.withdrawn_status(Status.ACTIVATED) is Status.WITHDRAWN


@pytest.mark.parametrize(
    ("standing", "code"),
    [
        (Standing(Status.ACTIVATED, "unit_dispatched", units_sent=True), "unit_dispatched"),
        # a unit went and was recalled: the case is open again, the answer stays no
        (Standing(Status.ACTIVATED, "open", units_sent=True), "unit_dispatched"),
        (Standing(Status.ACTIVATED, "handover_sent"), "case_in_progress"),
        (Standing(Status.ACTIVATED, "resources_in_place"), "case_in_progress"),
        (Standing(Status.ACTIVATED, "open", open_bookings=1), "resources_booked"),
        (Standing(Status.MERGED), "referral_merged"),
        (Standing(Status.RECEIVED, followers=1), "referral_followed"),
        (Standing(Status.NOT_PERTINENT), "referral_closed"),
        (Standing(Status.REDIRECTED), "referral_closed"),
        (Standing(Status.WITHDRAWN), "already_withdrawn"),
    ],
)
def test_a_withdrawal_is_refused_once_a_unit_is_sent_or_the_room_has_moved_on(standing, code):
    refusal = intake.withdrawal_refusal(standing)
    assert refusal is not None and refusal.code == code
    assert refusal.message  # the Italian sentence the page shows


@pytest.mark.parametrize("status", [Status.NOT_PERTINENT, Status.MERGED, Status.WITHDRAWN])
def test_no_state_machine_move_withdraws_a_referral_that_is_over(status):
    with pytest.raises(IllegalTransition):
        intake.withdrawn_status(status)


def test_a_withdrawn_referral_reads_ritirata_to_its_referrer():
    shown = referrals.progress(Status.WITHDRAWN, "closed", unit_arrived=False)
    assert shown is Progress.WITHDRAWN
    assert referrals.PROGRESS_LABELS[shown] == "Ritirata"


def test_a_withdrawal_tells_the_referrer_and_an_addendum_does_not():
    def event(type_: str) -> NewEvent:
        return NewEvent(type=type_, subject="referral:7", audience=frozenset(), payload={"id": 7})

    assert referrals.to_tell([event("referral.withdrawn")]) == [("referral", 7)]
    assert referrals.to_tell([event("referral.addendum_added")]) == []


def test_a_withdrawal_cancels_the_referrals_clocks_rather_than_meeting_them():
    moment = sla.moment_of(
        NewEvent(
            type="referral.withdrawn", subject="referral:7", audience=frozenset(), payload={"id": 7}
        )
    )
    assert moment is not None and moment.trigger is sla.Trigger.REFERRAL_WITHDRAWN
    for milestone in (clocks.Milestone.REFERRAL_CLAIMED, clocks.Milestone.ASSESSMENT_DECIDED):
        rules = clocks.DEFAULT_RULES[milestone]
        assert "referral_withdrawn" in rules.cancels_on
        assert "referral_withdrawn" not in rules.stops_on
        assert sla.rule_problems(milestone, rules) == []
