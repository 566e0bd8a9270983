"""Cases (dispatch/cases.py): every move of the table, the timeline's words, the case's events."""

from datetime import UTC, datetime

import pytest

from dispatch import access, cases
from dispatch.cases import Status
from dispatch.errors import IllegalTransition

OPERATOR = access.Principal(access.Role.OPERATOR, "Maria Rossi", user_id=4)

ALLOWED = [
    (current, target) for current, targets in cases.TRANSITIONS.items() for target in targets
]
FORBIDDEN = [
    (current, target)
    for current in Status
    for target in Status
    if target not in cases.TRANSITIONS.get(current, frozenset())
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_an_allowed_move_gives_the_new_status(current: Status, target: Status) -> None:
    assert cases.advance(current, target) is target


@pytest.mark.parametrize(("current", "target"), FORBIDDEN)
def test_every_other_move_is_an_illegal_transition(current: Status, target: Status) -> None:
    with pytest.raises(IllegalTransition) as raised:
        cases.advance(current, target)
    assert (raised.value.entity, raised.value.current, raised.value.target) == (
        "case",
        current.value,
        target.value,
    )


def test_the_table_covers_every_pair_exactly_once() -> None:
    assert len(ALLOWED) + len(FORBIDDEN) == len(Status) ** 2


def test_a_closed_case_goes_nowhere_and_staying_put_is_not_a_move() -> None:
    assert Status.CLOSED not in cases.TRANSITIONS
    for status in Status:
        with pytest.raises(IllegalTransition):
            cases.advance(status, status)


@pytest.mark.parametrize(
    "path",
    [
        ["open", "unit_dispatched", "on_scene", "resources_in_place", "handover_sent",
         "handover_accepted", "closed"],
        ["open", "handover_sent", "handover_rejected", "handover_sent", "handover_accepted"],
        ["open", "unit_dispatched", "open", "closed"],
        ["open", "handover_sent", "handover_rejected", "unit_dispatched", "on_scene"],
    ],
)  # fmt: skip
def test_the_flows_of_the_design_are_possible(path: list[str]) -> None:
    status = Status(path[0])
    for target in path[1:]:
        status = cases.advance(status, Status(target))
    assert status.value == path[-1]


def test_every_status_has_an_italian_label() -> None:
    assert set(cases.STATUS_LABELS) == set(Status)


# -- timeline words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "payload", "label"),
    [
        ("case.note_added", {"body": "x"}, "Nota"),
        ("handover.rejected", {"reason": "r"}, "Passaggio respinto dal servizio territoriale"),
        (
            "referral.decided",
            {"decision": "activate"},
            "Decisione sulla segnalazione: presa in carico attivata",
        ),
        ("case.status_changed", {"status": "on_scene"}, "Stato del caso: Unità sul posto"),
        (
            "referral.decided",
            {"decision": "redirect"},
            "Decisione sulla segnalazione: reindirizzata",
        ),
        ("case.unit_released", {"how": "recalled"}, "Unità richiamata"),
        ("case.unit_released", {"how": "completed"}, "Intervento dell'unità concluso"),
        ("unit.status_changed", {"status": "en_route"}, "Stato dell'unità: In viaggio"),
        ("unit.status_changed", {"status": "flying"}, "Stato dell'unità: flying"),
        ("something.new", {}, "something.new"),
    ],
)
def test_an_event_is_told_in_italian_and_an_unknown_one_is_shown_as_it_is(
    event_type: str, payload: dict[str, str], label: str
) -> None:
    assert cases.event_label(event_type, payload) == label


def test_the_detail_of_an_event_is_its_text_or_its_object() -> None:
    assert cases.event_detail({"body": "Richiamare alle 18"}) == "Richiamare alle 18"
    assert cases.event_detail({"unit_name": "UTES 3", "case_id": 1}) == "UTES 3"
    assert cases.event_detail({"case_id": 1}) is None


AT = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)  # 14:05 in Rome (winter)


def test_a_done_line_is_short_italian_in_rome_time() -> None:
    assert (
        cases.done_line("case.unit_dispatched", {"unit_name": "UTES 3"}, AT)
        == "15/01/2026 14:05 Unità inviata: UTES 3"
    )
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)  # 00:30 next day in Rome (summer)
    assert cases.done_line("booking.confirmed", {"resource_name": "Dormitorio"}, summer) == (
        "02/07/2026 00:30 Prenotazione confermata: Dormitorio"
    )


@pytest.mark.parametrize(
    "event_type",
    [
        "case.note_added",
        "referral.claimed",
        "referral.decided",
        "referral.received",
        "x.y",
        "unit.status_changed",
        "booking.requested",
        "booking.held",
    ],
)
def test_notes_claims_and_the_assessment_are_not_what_was_done(event_type: str) -> None:
    assert cases.done_line(event_type, {"body": "interno", "reason": "interno"}, AT) is None


def test_a_rejected_handover_is_done_with_its_reason() -> None:
    line = cases.done_line("handover.rejected", {"reason": "Non residente"}, AT)
    assert (
        line
        == "15/01/2026 14:05 Passaggio respinto dal servizio territoriale (motivo: Non residente)"
    )


# -- events -----------------------------------------------------------------------------------


def test_a_note_is_an_event_of_the_case_for_the_room_only() -> None:
    event = cases.note_added(7, "SEUS-2026-000007", "firenze", 3, "Testo", OPERATOR, AT)
    assert event.type == "case.note_added"
    assert event.subject == "case:7"
    assert event.audience == frozenset({access.ROOM})
    assert event.actor == "user:4"
    assert event.zone == "firenze"
    assert event.payload == {
        "id": 3,
        "case_id": 7,
        "case_number": "SEUS-2026-000007",
        "author": "user:4",
        "author_name": "Maria Rossi",
        "body": "Testo",
        "at": AT.isoformat(),
    }


def test_closing_records_who_from_where_and_why() -> None:
    event = cases.closed(
        7, "SEUS-2026-000007", "firenze", Status.HANDOVER_ACCEPTED, "Fatto", OPERATOR
    )
    assert event.type == "case.closed"
    assert event.audience == frozenset({access.ROOM})
    assert event.actor == "user:4"
    assert event.payload["previous"] == "handover_accepted"
    assert event.payload["status"] == "closed"
    assert event.payload["reason"] == "Fatto"
    assert event.payload["case_id"] == 7


@pytest.mark.parametrize(
    ("event_type", "payload", "shown"),
    [
        ("case.unit_dispatched", {"status": "unit_dispatched"}, True),
        ("unit.status_changed", {"status": "assigned"}, False),  # told by case.unit_dispatched
        ("unit.status_changed", {"status": "acknowledged"}, True),
        ("unit.status_changed", {"status": "en_route"}, True),
        ("unit.status_changed", {"status": "on_scene"}, False),  # told by case.unit_on_scene
        ("unit.status_changed", {"status": "available"}, False),  # told by case.unit_released
        ("clock.started", {}, False),
        ("clock.breached", {}, True),
        ("case.note_added", {}, True),
    ],
)
def test_the_timeline_tells_each_step_once_and_no_bookkeeping(event_type, payload, shown):
    assert cases.in_timeline(event_type, payload) is shown


def test_the_timeline_says_why_only_when_someone_gave_a_reason():
    assert cases.timeline_reason("referral.received", {"reason": "ricevuta dal sistema"}) is None
    assert cases.timeline_reason("case.closed", {"reason": "Concluso"}) == "Concluso"
    assert cases.timeline_reason("case.closed", {"reason": ""}) is None
