"""The handover (dispatch/handover.py): routing, the curated dossier, decisions, its events."""

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
        "case_number", "who", "what_happened", "trigger", "urgency", "place", "done", "booked",
        "open_needs",
    }  # fmt: skip


def test_the_dossier_lists_only_active_bookings_without_internal_fields() -> None:
    booked = make_dossier().as_dict()["booked"]
    assert [b["type"] for b in booked] == ["shelter_bed", "meals", "interpreter"]
    assert booked[0] == {
        "type": "shelter_bed", "name": "Casa Accoglienza", "provider": "Caritas",
        "status": "held", "quantity": 2,
    }  # fmt: skip


def test_open_needs_are_the_needs_minus_what_is_actively_booked() -> None:
    # clothing was released and pharmacy only requested: still open
    assert make_dossier().open_needs == ["clothing", "pharmacy", "psychological_first_aid"]
    assert make_dossier(bookings=[]).open_needs == [
        "shelter_bed", "meals", "clothing", "pharmacy", "psychological_first_aid",
    ]  # fmt: skip


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
