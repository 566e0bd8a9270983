"""The handover (dispatch/handover.py): routing, the curated dossier, decisions, its events."""

from datetime import UTC, datetime
from typing import Any

import pytest

from dispatch import access, handover
from dispatch.errors import DomainError, IllegalTransition
from dispatch.handover import Status

OPERATOR = access.Principal(access.Role.OPERATOR, "Maria Rossi", user_id=4)
SERVICE = access.Principal(
    access.Role.TERRITORIAL_SERVICE, "SST Firenze", user_id=9, zone_id="firenze"
)


@pytest.mark.parametrize(
    ("residence", "found", "competent"),
    [
        ("pistoiese", "firenze", "pistoiese"),  # lives elsewhere: their home zone
        ("firenze", "firenze", "firenze"),
        (None, "firenze", "firenze"),  # residence unknown: where they were found
        ("", "versilia", "versilia"),
    ],
)
def test_the_competent_zone_is_the_residence_else_where_the_person_was_found(
    residence: str | None, found: str, competent: str
) -> None:
    assert handover.competent_zone(residence, found) == competent


# -- the dossier ------------------------------------------------------------------------------

PEOPLE = {
    "count": 2,
    "minors": 1,
    "age_band": "adult",
    "sex": "f",
    "language": "ar",
    "needs_mediator": True,
    "names": "Fatima e figlio",  # not a curated field: stays in the file
    "health_notes": "interno",
}
BOOKINGS: list[dict[str, Any]] = [
    {"type": "shelter_bed", "name": "Casa Accoglienza", "provider": "Caritas", "status": "held",
     "quantity": 2, "id": 1, "note": "interno"},
    {"type": "meals", "name": "Mensa", "provider": "Misericordia", "status": "confirmed",
     "quantity": 2},
    {"type": "interpreter", "name": "Mediatrice", "provider": "Coop", "status": "in_use",
     "quantity": 1},
    {"type": "clothing", "name": "Guardaroba", "provider": "Croce Rossa", "status": "released",
     "quantity": 1},
    {"type": "transport", "name": "Navetta", "provider": "Comune", "status": "cancelled",
     "quantity": 1},
    {"type": "hotel_room", "name": "Hotel", "provider": "Hotel", "status": "expired",
     "quantity": 1},
    {"type": "pharmacy", "name": "Farmacia", "provider": "ASL", "status": "requested",
     "quantity": 1},
]  # fmt: skip


def make_dossier(**overrides: Any) -> handover.Dossier:
    options: dict[str, Any] = {
        "case_number": "SEUS-2026-000042",
        "people": PEOPLE,
        "what_happened": "Madre e figlio allontanati da casa.",
        "trigger": "Violenza e abuso (Codice Rosa)",
        "urgency": "rosso",
        "place": {"municipality": "Firenze", "zone": "Firenze", "address": "Via Roma 1",
                  "lat": 43.77, "lon": 11.25},
        "timeline": ["15/01/2026 14:05 Unità inviata: UTES 3"],
        "bookings": BOOKINGS,
        "needs": ["shelter_bed", "meals", "clothing", "pharmacy", "psychological_first_aid"],
    }  # fmt: skip
    return handover.dossier(**(options | overrides))


def test_the_dossier_keeps_only_the_curated_fields_about_the_people_and_the_place() -> None:
    dossier = make_dossier().as_dict()
    assert dossier["who"] == {
        "count": 2, "minors": 1, "age_band": "adult", "sex": "f", "language": "ar",
        "needs_mediator": True,
    }  # fmt: skip
    assert dossier["place"] == {
        "municipality": "Firenze",
        "zone": "Firenze",
        "address": "Via Roma 1",
    }
    assert set(dossier) == {
        "case_number", "who", "what_happened", "trigger", "urgency", "place", "risks", "notes",
        "done", "booked", "open_needs",
    }  # fmt: skip


def test_the_person_is_described_as_known_with_what_the_assessment_corrected() -> None:
    people = {"count": 1, "minors": 0, "age_band": "unknown", "sex": "unknown", "language": None}
    assessment = {"people": {"count": 3, "minors": 2}, "language": "tigrino"}
    who = make_dossier(people=people, assessment=assessment, residence="Pistoia").who
    assert who == {"count": 3, "minors": 2, "language": "tigrino", "residence": "Pistoia"}
    assert make_dossier(people=people).who == {"count": 1, "minors": 0}  # nothing unknown


def test_the_dossier_names_the_risk_factors_of_the_assessment_in_words() -> None:
    assessment = {"risk_factors": ["no_shelter", "minors_involved", "something_new"]}
    risks = make_dossier(assessment=assessment).risks
    assert risks == ["Senza riparo per la notte", "Minori coinvolti", "something_new"]
    assert (
        make_dossier().risks == [] and make_dossier(assessment={"risk_factors": None}).risks == []
    )


def test_only_the_notes_marked_for_the_handover_go_in_the_dossier() -> None:
    at = datetime(2026, 1, 15, 13, 5, tzinfo=UTC)
    notes = [
        {"body": "Nota interna della sala", "author_name": "Maria Rossi", "at": at,
         "for_handover": False},
        {"body": "La figlia è reperibile al 333 000000", "author_name": "Maria Rossi", "at": at,
         "for_handover": True},
    ]  # fmt: skip
    dossier = make_dossier(notes=notes).as_dict()
    assert dossier["notes"] == [
        {"at": "15/01/2026 14:05", "author": "Maria Rossi",
         "text": "La figlia è reperibile al 333 000000"}
    ]  # fmt: skip
    assert "Nota interna" not in repr(dossier)


def test_the_dossier_lists_as_active_only_confirmed_and_in_use_resources() -> None:
    booked = make_dossier().as_dict()["booked"]
    assert [b["type"] for b in booked] == ["meals", "interpreter"]  # not the held bed
    assert booked[0] == {
        "type": "meals", "name": "Mensa", "provider": "Misericordia", "status": "confirmed",
        "quantity": 2,
    }  # fmt: skip


def test_open_needs_are_uncovered_needs_then_every_request_and_hold_not_confirmed() -> None:
    # the bed is only held and the pharmacy only requested: both still open, said as such;
    # clothing was released: open again
    assert make_dossier().open_needs == [
        "Vestiario",
        "Primo soccorso psicologico",
        "Posto letto in struttura: Casa Accoglienza (Caritas), bloccata, non ancora confermata",
        "Farmacia: Farmacia (ASL), richiesta senza risposta",
    ]
    assert make_dossier(bookings=[]).open_needs == [
        "Posto letto in struttura", "Pasti", "Vestiario", "Farmacia", "Primo soccorso psicologico",
    ]  # fmt: skip


def test_a_pending_request_is_an_open_need_even_when_the_assessment_asked_for_nothing() -> None:
    unit_request = {"type": "meals", "type_label": "Pasti", "name": "Mensa Caritas",
                    "provider": "Caritas", "status": "requested", "quantity": 1}  # fmt: skip
    dossier = make_dossier(needs=[], bookings=[unit_request])
    assert dossier.open_needs == ["Pasti: Mensa Caritas (Caritas), richiesta senza risposta"]
    assert dossier.booked == []
    assert make_dossier(needs=[], bookings=[]).open_needs == []


def test_the_dossier_carries_what_was_done_in_order_and_nothing_else_of_the_file() -> None:
    lines = ["15/01/2026 14:05 Unità inviata: UTES 3", "15/01/2026 14:40 Unità sul posto"]
    dossier = make_dossier(timeline=lines).as_dict()
    assert dossier["done"] == lines
    text = repr(dossier)
    assert "interno" not in text and "names" not in text and "lat" not in text


# -- decisions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "outcome"), [(c, o) for c in Status for o in Status])
def test_only_a_sent_handover_can_be_accepted_or_rejected(current: Status, outcome: Status) -> None:
    if current is Status.SENT and outcome is not Status.SENT:
        assert handover.decide(current, outcome) is outcome
    else:
        with pytest.raises(IllegalTransition):
            handover.decide(current, outcome)


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_a_rejection_needs_a_reason(reason: str | None) -> None:
    with pytest.raises(DomainError):
        handover.reject_reason(reason)


def test_a_rejection_reason_is_kept_trimmed() -> None:
    assert handover.reject_reason("  Non residente ") == "Non residente"


def test_every_handover_status_has_an_italian_label() -> None:
    assert set(handover.STATUS_LABELS) == set(Status)


# -- events -----------------------------------------------------------------------------------


def test_the_dossier_goes_only_to_the_competent_zones_service() -> None:
    event = handover.sent(5, 42, "pistoiese", make_dossier(), OPERATOR)
    assert event.type == "handover.sent"
    assert event.audience == frozenset({access.territorial_tag("pistoiese")})
    assert event.payload["case_id"] == 42
    assert event.payload["dossier"] == make_dossier().as_dict()
    assert event.actor == "user:4"
    firenze = access.read_tags(SERVICE)
    assert not access.can_see(firenze, event.audience)


def test_the_room_learns_of_the_handover_without_the_zone_seeing_the_case_event() -> None:
    event = handover.case_handover_sent(
        5, 42, "SEUS-1", "firenze", "pistoiese", "Pistoiese", OPERATOR
    )
    assert event.type == "case.handover_sent"
    assert event.subject == "case:42"
    assert event.audience == frozenset({access.ROOM})
    assert event.payload["to_zone"] == "pistoiese"


@pytest.mark.parametrize(
    ("outcome", "reason", "case_status", "flagged"),
    [
        (Status.ACCEPTED, None, "handover_accepted", False),
        (Status.REJECTED, "Non di nostra competenza", "handover_rejected", True),
    ],
)
def test_a_decision_reaches_the_room_and_the_zone_with_who_and_why(
    outcome: Status, reason: str | None, case_status: str, flagged: bool
) -> None:
    event = handover.decided(5, 42, "SEUS-1", "firenze", outcome, SERVICE, reason)
    assert event.type == f"handover.{outcome.value}"
    assert event.audience == frozenset({access.ROOM, access.territorial_tag("firenze")})
    assert event.actor == "user:9"
    assert event.payload["reason"] == reason
    assert event.payload["case_status"] == case_status
    assert event.payload["flagged"] is flagged
    assert event.payload["case_id"] == 42


def test_sent_is_not_a_decision() -> None:
    with pytest.raises(DomainError):
        handover.decided(5, 42, "SEUS-1", "firenze", Status.SENT, SERVICE)


# -- correcting the competence, replying ----------------------------------------------------------

FOUND_IN_FIRENZE = handover.Competence("firenze")
LIVES_IN_PRATO = handover.Competence("firenze", "100005", "pratese")


@pytest.mark.parametrize(
    ("competence", "zone", "source"),
    [
        (FOUND_IN_FIRENZE, "firenze", "found"),
        (LIVES_IN_PRATO, "pratese", "residence"),
        (
            handover.Competence("firenze", "100005", "pratese", "pistoiese"),
            "pistoiese",
            "corrected",
        ),
    ],
)
def test_the_competent_zone_is_the_corrected_one_else_residence_else_where_found(
    competence: handover.Competence, zone: str, source: str
) -> None:
    assert (competence.zone, competence.source) == (zone, source)


def test_correcting_the_residence_moves_the_handover_to_its_zone() -> None:
    after = handover.correct(FOUND_IN_FIRENZE, handover.Field.RESIDENCE, "047014", "pistoiese")
    assert after == handover.Competence("firenze", "047014", "pistoiese", None)
    assert after is not None and after.zone == "pistoiese"


def test_a_zone_correction_overrides_the_residence_until_the_residence_is_corrected_again() -> None:
    by_zone = handover.correct(LIVES_IN_PRATO, handover.Field.ZONE, "pistoiese", "pistoiese")
    assert by_zone is not None and by_zone.zone == "pistoiese"
    again = handover.correct(by_zone, handover.Field.RESIDENCE, "100005", "pratese")
    assert again == LIVES_IN_PRATO  # the same residence, said again, decides again


@pytest.mark.parametrize(
    ("field", "value", "value_zone"),
    [(handover.Field.RESIDENCE, "100005", "pratese"), (handover.Field.ZONE, "pratese", "pratese")],
)
def test_a_correction_that_changes_nothing_is_none(
    field: handover.Field, value: str, value_zone: str
) -> None:
    assert handover.correct(LIVES_IN_PRATO, field, value, value_zone) is None


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        ("open", True), ("on_scene", True), ("resources_in_place", True),
        ("handover_rejected", True), ("handover_sent", False), ("handover_accepted", False),
        ("closed", False),
    ],
)  # fmt: skip
def test_the_competence_is_corrected_only_while_no_handover_waits_or_was_accepted(
    status: str, allowed: bool
) -> None:
    refusal = handover.correction_refusal(status)
    assert (refusal is None) is allowed
    if refusal:
        assert refusal.startswith("La competenza non si corregge")


@pytest.mark.parametrize(
    ("status", "replied", "allowed"),
    [(Status.REJECTED, False, True), (Status.REJECTED, True, False),
     (Status.SENT, False, False), (Status.ACCEPTED, False, False)],
)  # fmt: skip
def test_the_room_replies_once_and_only_to_a_rejection(
    status: Status, replied: bool, allowed: bool
) -> None:
    assert (handover.reply_refusal(status, replied) is None) is allowed


def test_a_correction_is_told_to_the_room_with_who_what_and_why() -> None:
    after = handover.correct(FOUND_IN_FIRENZE, handover.Field.RESIDENCE, "047014", "pistoiese")
    assert after is not None
    event = handover.competence_corrected(
        42, "SEUS-1", "firenze", handover.Field.RESIDENCE, None,
        {"code": "047014", "name": "Pistoia"}, FOUND_IN_FIRENZE, after, "Pistoiese",
        "Vive a Pistoia", OPERATOR,
    )  # fmt: skip
    assert (event.type, event.subject, event.actor) == (
        "case.competence_corrected", "case:42", "user:4"
    )  # fmt: skip
    assert event.audience == frozenset({access.ROOM})
    payload = event.payload
    assert (payload["zone_before"], payload["zone_after"]) == ("firenze", "pistoiese")
    assert payload["reason"] == "Vive a Pistoia"
    assert payload["body"] == "Residenza: non nota → Pistoia; zona competente Pistoiese"


def test_a_reply_reaches_the_rejecting_service_and_the_later_ones_only() -> None:
    event = handover.replied(5, 42, "SEUS-1", "firenze", "Corretta", OPERATOR, ["pistoiese"])
    assert event.type == "handover.replied"
    assert event.audience == frozenset(
        {access.ROOM, access.territorial_tag("firenze"), access.territorial_tag("pistoiese")}
    )
    assert event.payload["body"] == "Corretta" and event.payload["case_id"] == 42


@pytest.mark.parametrize(
    ("marked", "kind"), [(True, "case.note_marked"), (False, "case.note_unmarked")]
)
def test_marking_a_note_is_the_rooms_only(marked: bool, kind: str) -> None:
    event = handover.note_marked(42, "SEUS-1", "firenze", 7, "Testo", marked, OPERATOR)
    assert (event.type, event.audience) == (kind, frozenset({access.ROOM}))
    assert event.payload["for_handover"] is marked and event.payload["note_id"] == 7
