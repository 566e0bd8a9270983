"""The referral's state machine, claim rules, decisions and queue order."""

from datetime import UTC, datetime
from itertools import product

import pytest

from dispatch import access, referrals
from dispatch.errors import DomainError, IllegalTransition, Refused
from dispatch.events import NewEvent
from dispatch.referrals import Claim, Decision, Status, Urgency
from dispatch.states import move

NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)
ME, OTHER = 7, 8
ALLOWED = {
    (Status.RECEIVED, Status.IN_ASSESSMENT),
    (Status.IN_ASSESSMENT, Status.RECEIVED),
    (Status.IN_ASSESSMENT, Status.ACTIVATED),
    (Status.IN_ASSESSMENT, Status.NOT_PERTINENT),
    (Status.IN_ASSESSMENT, Status.REDIRECTED),
    (Status.IN_ASSESSMENT, Status.MERGED),
    # the referrer withdraws it, until a unit is sent (dispatch.intake.withdrawal_refusal)
    (Status.RECEIVED, Status.WITHDRAWN),
    (Status.IN_ASSESSMENT, Status.WITHDRAWN),
    (Status.ACTIVATED, Status.WITHDRAWN),
}


@pytest.mark.parametrize(("current", "target"), list(product(Status, Status)))
def test_every_move_of_the_table_passes_and_every_other_raises(current, target):
    if (current, target) in ALLOWED:
        assert move("referral", referrals.TRANSITIONS, current, target) is target
    else:
        with pytest.raises(IllegalTransition) as raised:
            move("referral", referrals.TRANSITIONS, current, target)
        assert (raised.value.current, raised.value.target) == (current.value, target.value)


def test_decided_referrals_are_final():
    closed = set(Status) - referrals.OPEN - {Status.ACTIVATED}
    assert all(not referrals.TRANSITIONS.get(s) for s in closed)
    # an activated referral only moves when its referrer withdraws it
    assert referrals.TRANSITIONS[Status.ACTIVATED] == {Status.WITHDRAWN}


# ---- claim, release, reassign ----------------------------------------------------------------


def test_a_received_referral_is_claimed_by_its_first_operator():
    assert referrals.claim(Claim(Status.RECEIVED, None), ME) == Claim(Status.IN_ASSESSMENT, ME)


@pytest.mark.parametrize("who", [ME, OTHER])
def test_second_claim_of_a_referral_is_refused_even_by_its_holder(who):
    with pytest.raises(Refused):
        referrals.claim(Claim(Status.IN_ASSESSMENT, ME), who)


@pytest.mark.parametrize("status", sorted(set(Status) - referrals.OPEN))
def test_a_decided_referral_cannot_be_claimed(status):
    with pytest.raises(IllegalTransition):
        referrals.claim(Claim(status, ME), OTHER)


def test_the_holder_releases_a_referral_back_to_the_queue():
    assert referrals.release(Claim(Status.IN_ASSESSMENT, ME), ME) == Claim(Status.RECEIVED, None)


@pytest.mark.parametrize(
    "current", [Claim(Status.IN_ASSESSMENT, OTHER), Claim(Status.RECEIVED, None)]
)
def test_only_the_holder_releases(current):
    with pytest.raises(Refused):
        referrals.release(current, ME)


@pytest.mark.parametrize("current", [Claim(Status.RECEIVED, None), Claim(Status.IN_ASSESSMENT, ME)])
def test_a_supervisor_reassigns_an_open_referral(current):
    assert referrals.reassign_checked(current, OTHER) == Claim(Status.IN_ASSESSMENT, OTHER)


def test_reassigning_to_the_holder_is_refused():
    with pytest.raises(Refused):
        referrals.reassign_checked(Claim(Status.IN_ASSESSMENT, ME), ME)


@pytest.mark.parametrize("status", sorted(set(Status) - referrals.OPEN))
def test_a_decided_referral_cannot_be_reassigned(status):
    with pytest.raises(Refused):
        referrals.reassign_checked(Claim(status, ME), OTHER)


# ---- decisions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("decision", "status"),
    [
        (Decision.ACTIVATE, Status.ACTIVATED),
        (Decision.NOT_PERTINENT, Status.NOT_PERTINENT),
        (Decision.REDIRECT, Status.REDIRECTED),
        (Decision.MERGE, Status.MERGED),
    ],
)
def test_the_holder_decides(decision, status):
    held = Claim(Status.IN_ASSESSMENT, ME)
    assert referrals.decide(held, ME, decision, reason="motivo", merge_into=3) is status


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize(
    "current", [Claim(Status.RECEIVED, None), Claim(Status.IN_ASSESSMENT, OTHER)]
)
def test_nobody_but_the_holder_decides(decision, current):
    with pytest.raises(Refused):
        referrals.decide(current, ME, decision, reason="motivo", merge_into=3)


@pytest.mark.parametrize("decision", [Decision.NOT_PERTINENT, Decision.REDIRECT])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_not_pertinent_and_redirect_need_a_reason(decision, reason):
    with pytest.raises(DomainError):
        referrals.decide(Claim(Status.IN_ASSESSMENT, ME), ME, decision, reason=reason)


def problems(decision, **given):
    values = {"reason": None, "urgency": None, "redirect_to": None, "merge_into": None}
    return [f for f, _ in referrals.decision_problems(decision, referral_id=1, **values | given)]


@pytest.mark.parametrize(
    ("decision", "given", "missing"),
    [
        (Decision.ACTIVATE, {}, ["assessment.urgency"]),
        (Decision.ACTIVATE, {"urgency": Urgency.VERDE}, []),
        (Decision.NOT_PERTINENT, {}, ["reason"]),
        (Decision.NOT_PERTINENT, {"reason": "non è un'emergenza sociale"}, []),
        (Decision.REDIRECT, {}, ["reason", "redirect_to"]),
        (Decision.REDIRECT, {"reason": "competenza", "redirect_to": " "}, ["redirect_to"]),
        (Decision.REDIRECT, {"reason": "competenza", "redirect_to": "SST Prato"}, []),
        (Decision.MERGE, {}, ["merge_into"]),
        (Decision.MERGE, {"merge_into": 1}, ["merge_into"]),
        (Decision.MERGE, {"merge_into": 2}, []),
    ],
)
def test_what_each_decision_requires(decision, given, missing):
    assert problems(decision, **given) == missing


def test_a_merge_target_must_exist_be_another_and_neither_merged_nor_withdrawn():
    referrals.check_merge_target(1, 2, Status.ACTIVATED)
    with pytest.raises(DomainError):
        referrals.check_merge_target(1, 2, None)
    with pytest.raises(DomainError):
        referrals.check_merge_target(1, 1, Status.RECEIVED)
    with pytest.raises(Refused):
        referrals.check_merge_target(1, 2, Status.MERGED)
    with pytest.raises(Refused, match="ritirata"):
        referrals.check_merge_target(1, 2, Status.WITHDRAWN)


# ---- queue order --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessed", "proposed", "expected"),
    [
        (Urgency.VERDE, Urgency.ROSSO, Urgency.VERDE),
        (None, Urgency.ROSSO, Urgency.ROSSO),
        (None, None, Urgency.GIALLO),
    ],
)
def test_the_queue_orders_by_the_assessed_urgency_else_the_proposal_else_giallo(
    assessed, proposed, expected
):
    assert referrals.queue_urgency(assessed, proposed) is expected


def test_the_queue_puts_the_most_urgent_first_then_the_longest_waiting():
    waiting = [
        ("verde old", Urgency.VERDE, 100.0),
        ("giallo new", Urgency.GIALLO, 300.0),
        ("rosso new", Urgency.ROSSO, 500.0),
        ("giallo old", Urgency.GIALLO, 200.0),
        ("rosso old", Urgency.ROSSO, 400.0),
    ]
    ordered = sorted(waiting, key=lambda w: referrals.queue_key(w[1], w[2]))
    assert [w[0] for w in ordered] == [
        "rosso old",
        "rosso new",
        "giallo old",
        "giallo new",
        "verde old",
    ]


# ---- events -------------------------------------------------------------------------------

OPERATOR = access.Principal(role=access.Role.OPERATOR, name="Mario Rossi", user_id=ME)


def test_room_events_go_to_the_room_only_with_who_and_when():
    ref = referrals.ReferralRef(5, "SEUS-2026-000005", "pistoiese")
    claimed = referrals.referral_claimed(ref, OPERATOR, NOW)
    assert claimed.type == "referral.claimed"
    assert claimed.audience == frozenset({access.ROOM})
    assert (claimed.zone, claimed.subject, claimed.actor) == ("pistoiese", "referral:5", "user:7")
    assert claimed.payload == {
        "id": 5,
        "case_number": "SEUS-2026-000005",  # every room event of a referral names it
        "holder_id": ME,
        "holder_name": "Mario Rossi",
        "at": NOW.isoformat(),
    }
    opened = referrals.case_opened(
        9,
        5,
        "SEUS-2026-000005",
        OPERATOR,
        NOW,
        zone="pistoiese",
        urgency=Urgency.ROSSO,
        needs=["meals"],
        skills=[],
        language=None,
    )
    assert opened.audience == frozenset({access.ROOM})
    assert opened.payload["case_id"] == 9 and opened.payload["urgency"] == "rosso"


# -- whose referrer is told its progress ---------------------------------------------------------


def event(type_: str, subject: str, **payload: object) -> NewEvent:
    return NewEvent(type=type_, subject=subject, audience=frozenset({"room"}), payload=payload)


@pytest.mark.parametrize(
    ("events", "told"),
    [
        ([event("referral.received", "referral:1")], [("referral", 1)]),
        ([event("referral.claimed", "referral:1")], [("referral", 1)]),
        ([event("referral.released", "referral:1")], [("referral", 1)]),
        # handed to an operator while nobody held it: it goes into assessment
        ([event("referral.reassigned", "referral:1", **{"from": None})], [("referral", 1)]),
        # handed from one operator to another: still in assessment, nothing to tell
        ([event("referral.reassigned", "referral:1", **{"from": 7})], []),
        (  # a decision and the case it opened: told once
            [
                event("referral.decided", "referral:1", case_id=5, repointed=[]),
                event("case.opened", "case:5"),
            ],
            [("referral", 1)],
        ),
        (  # a merge: the referrals that followed the merged one are told too, after it
            [event("referral.decided", "referral:1", merged_into=2, repointed=[3, 4])],
            [("referral", 1), ("referral", 3), ("referral", 4)],
        ),
        ([event("case.unit_dispatched", "case:5", previous="open", status="unit_dispatched")],
         [("case", 5)]),
        # a second unit on a case already waiting for one: the case did not move
        ([event("case.unit_dispatched", "case:5", previous="unit_dispatched",
                status="unit_dispatched")], []),
        ([event("case.unit_on_scene", "case:5", previous="unit_dispatched", status="on_scene")],
         [("case", 5)]),
        ([event("case.status_changed", "case:5", previous="on_scene",
                status="resources_in_place")], [("case", 5)]),
        ([event("case.handover_sent", "case:5"), event("handover.sent", "handover:9", case_id=5)],
         [("case", 5)]),
        ([event("handover.rejected", "handover:9", case_id=5)], [("case", 5)]),
        ([event("handover.accepted", "handover:9", case_id=5)], [("case", 5)]),
        ([event("case.closed", "case:5")], [("case", 5)]),
        # what does not move a referral or its case: notes, urgency, bookings, units' own
        (
            [
                event("case.note_added", "case:5"),
                event("case.urgency_changed", "case:5", previous="giallo", status="rosso"),
                event("booking.held", "case:5", previous="requested", status="held"),
                event("case.reassigned", "case:5"),
                event("unit.status_changed", "unit:3", previous="available", status="assigned"),
                event("referral.progressed", "referral:1"),
            ],
            [],
        ),
    ],
)  # fmt: skip
def test_a_referrer_is_told_when_its_referral_or_its_case_moved_and_only_then(events, told):
    assert referrals.to_tell(events) == told


@pytest.mark.parametrize(
    ("case_status", "arrived", "told"),
    [
        ("open", False, "activated"),
        ("unit_dispatched", False, "activated"),
        ("on_scene", True, "unit_on_scene"),
        ("resources_in_place", True, "unit_on_scene"),
        ("resources_in_place", False, "activated"),  # a bed booked by the room, nobody went
        ("handover_sent", True, "unit_on_scene"),
        ("handover_sent", False, "activated"),  # handed over straight from the room
        ("handover_rejected", False, "activated"),
        ("handover_accepted", False, "handed_over"),
        ("closed", False, "closed"),
    ],
)
def test_a_referrer_reads_only_what_happened_to_its_activated_referral(case_status, arrived, told):
    found = referrals.progress(Status.ACTIVATED, case_status, unit_arrived=arrived)
    assert found.value == told
