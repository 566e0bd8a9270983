"""Intake's domain rules (dispatch/intake.py): pure, table-driven."""

from datetime import UTC, datetime

import pytest

from dispatch import access, intake
from dispatch.intake import AgeBand, Problem

TOWNS = intake.Municipalities.of(
    {
        "047014": "Pistoia",
        "048017": "Firenze",
        "053005": "Castell'Azzara",
        "051010": "Castel San Niccolò",
        "047011": "Montecatini-Terme",
    }
)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("047014", "047014"),
        (" 047014 ", "047014"),
        ("Pistoia", "047014"),
        ("PISTOIA", "047014"),
        ("  pistoia ", "047014"),
        ("castell’azzara", "053005"),  # a typographic apostrophe
        ("Castel  San  Niccolò", "051010"),
        ("montecatini-terme", "047011"),
        ("099999", None),  # well formed, not Tuscan
        ("47014", None),
        ("Pistoja", None),  # exact names only
        ("Castel San Niccolo", None),  # the accent is part of the name
        ("", None),
    ],
)
def test_a_municipality_is_found_by_its_istat_code_or_its_exact_name_in_any_case(text, code):
    assert TOWNS.find(text) == code


def test_an_unknown_municipality_is_named_in_the_problem_with_the_closest_names():
    problem = TOWNS.problem("Pistoja")
    assert problem is not None
    assert "'Pistoja'" in problem and "did you mean Pistoia?" in problem
    assert "ISTAT code '099999'" in (TOWNS.problem("099999") or "")
    assert TOWNS.problem("pistoia") is None


@pytest.mark.parametrize(
    ("lat", "lon", "fields"),
    [
        (None, None, []),
        (43.93, 10.91, []),
        (45.4642, 9.19, []),  # Milan: outside Tuscany is a warning (dispatch.places), not a refusal
        (0.0, 0.0, []),
        (-90.0, -180.0, []),  # the ranges' ends are points
        (90.0, 180.0, []),
        (95.0, 10.91, ["lat"]),
        (43.93, -181.0, ["lon"]),
        (-91.0, 181.0, ["lat", "lon"]),
        (float("nan"), 10.91, ["lat"]),
        (43.93, float("inf"), ["lon"]),
    ],
)
def test_coordinates_are_refused_only_when_they_are_no_point_on_earth(lat, lon, fields):
    found = intake.coordinate_problems(lat, lon)
    assert [p.field for p in found] == fields
    assert all(p.type == "value_error" and "must be a number from" in p.message for p in found)


@pytest.mark.parametrize(
    ("lat", "lon", "missing"), [(43.93, None, "lon"), (None, 10.91, "lat"), (95.0, None, "lon")]
)
def test_coordinates_come_both_or_neither(lat, lon, missing):
    assert intake.coordinate_problems(lat, lon) == [
        Problem(missing, "give both lat and lon, or neither", "missing")
    ]


@pytest.mark.parametrize(
    ("count", "minors", "age_band", "field"),
    [
        (1, 0, AgeBand.OVER_65, None),
        (3, 3, AgeBand.MINOR, None),
        (5, 2, AgeBand.UNKNOWN, None),
        (2, 3, AgeBand.UNKNOWN, "minors"),
        (1, 0, AgeBand.MINOR, "minors"),
    ],
)
def test_minors_are_among_the_people_counted(count, minors, age_band, field):
    found = intake.people_problems(count, minors, age_band)
    assert [p.field for p in found] == ([field] if field else [])


@pytest.mark.parametrize(
    ("phone", "ok"),
    [
        ("+39 0573 000000", True),
        ("0573000000", True),
        ("112", True),
        ("", False),
        ("+", False),
        ("12", False),
        ("0573-000000", False),
        ("tel. 0573", False),
        ("39+0573", False),
        ("1" * 41, False),
    ],
)
def test_a_callback_phone_has_digits_spaces_and_a_leading_plus(phone, ok):
    assert (intake.phone_problem(phone) is None) is ok


@pytest.mark.parametrize(
    ("text", "multiline", "refused"),
    [
        ("Via Roma 1", False, False),
        ("Über, già, ’apostrofo’, 中文, عربي", False, False),
        ("riga uno\nriga due\ttab", True, False),
        ("riga uno\r\nriga due", True, False),
        ("riga uno\nriga due", False, True),
        ("campanello\x07", True, True),
        ("nul\x00", True, True),
        ("escape \x1b[31m", True, True),
        ("del \x7f", True, True),
        ("c1 \x85", True, True),
    ],
)
def test_control_characters_are_refused_and_long_text_keeps_its_new_lines(text, multiline, refused):
    assert intake.has_control_characters(text, multiline=multiline) is refused


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ar", "ar"),
        ("AR", "ar"),
        ("arabo", "ar"),
        ("Arabic", "ar"),
        (" Tigrino ", "ti"),
        ("wolof", "wo"),
        ("xx", None),
        ("klingon", None),
        ("", None),
    ],
)
def test_a_language_is_an_iso_639_1_code_or_a_known_name(text, code):
    assert intake.language_code(text) == code


def test_every_named_language_has_a_real_iso_code():
    assert set(intake.LANGUAGES) <= intake.ISO_639_1
    assert intake.language_label("ar") == "arabo"
    assert intake.language_label("zu") == "zu"


def test_a_summary_is_one_line_and_short():
    assert intake.summary("  due\n\nrighe  ") == "due righe"
    long = intake.summary("parola " * 100)
    assert len(long) == intake.SUMMARY_MAX and long.endswith("…")


def test_a_received_referral_goes_to_the_room_only_with_what_its_queue_needs():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = intake.referral_received(
        intake.Received(
            referral_id=7,
            case_number="SEUS-2026-000007",
            trigger="abandonment",
            urgency_proposed="rosso",
            municipality_code="047014",
            municipality="Pistoia",
            zone_id="pistoiese",
            zone="Pistoiese",
            people_count=2,
            minors=1,
            needs_mediator=True,
            language="ar",
            summary="Madre e figlio per strada",
            referrer_id=3,
            referrer_name="PS test",
            referrer_kind="hospital",
            channel=intake.Channel.API,
            received_at=at,
        ),
        actor="referrer:3",
    )
    assert event.type == "referral.received"
    assert event.audience == frozenset({access.ROOM})
    assert event.zone == "pistoiese"
    assert event.subject == "referral:7"
    assert event.actor == "referrer:3"
    payload = event.payload
    assert payload["case_number"] == "SEUS-2026-000007"
    assert payload["urgency_proposed"] == "rosso"
    assert payload["people"] == {"count": 2, "minors": 1, "needs_mediator": True, "language": "ar"}
    assert payload["referrer"] == {"id": 3, "name": "PS test", "kind": "hospital"}
    assert payload["received_at"] == "2026-01-02T03:04:05+00:00"
    assert payload["channel"] == "api" and payload["reason"]
