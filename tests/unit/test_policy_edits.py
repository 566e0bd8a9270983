"""What an admin types for an SLA policy, read into the stored form, and what changed between
two versions, in Italian (dispatch.policy_edits)."""

import pytest

from dispatch import policy_edits
from dispatch.policy_edits import Refused


@pytest.mark.parametrize(
    ("typed", "fraction"),
    [
        ("0,5", 0.5),
        ("0.5", 0.5),
        (",8", 0.8),
        ("50%", 0.5),
        ("50 %", 0.5),
        (" 12,5 % ", 0.125),
        ("57%", 0.57),
        (0.8, 0.8),
    ],
)
def test_a_warning_is_read_as_a_decimal_with_a_comma_or_as_a_percentage(typed, fraction):
    assert policy_edits.fraction(typed) == fraction


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Indicare la soglia"),
        ("mezzo", "Non è un numero"),
        ("0,5,5", "Non è un numero"),
        ("-0,5", "Non è un numero"),
        ("٣%", "Non è un numero"),  # an Arabic-Indic digit: digits are 0-9 only
        ("1234567%", "Non è un numero"),
        ("1", "tra 0 e 1"),
        ("0", "tra 0 e 1"),
        ("100%", "tra 0 e 1"),
        ("150 %", "tra 0 e 1"),
        (1.5, "tra 0 e 1"),
        (True, "Scrivere un numero"),
    ],
)
def test_a_warning_outside_zero_and_one_or_not_a_number_is_refused_in_italian(typed, says):
    refused = policy_edits.fraction(typed)
    assert isinstance(refused, Refused)
    assert says in refused.message


@pytest.mark.parametrize(
    ("seconds", "parts", "said"),
    [
        (9000, (2, 30, 0), "2 h 30 min"),
        (300, (0, 5, 0), "5 min"),
        (86400, (24, 0, 0), "24 h"),
        (2, (0, 0, 2), "2 s"),
        (3725, (1, 2, 5), "1 h 2 min 5 s"),
    ],
)
def test_a_duration_target_is_shown_as_hours_and_minutes(seconds, parts, said):
    assert policy_edits.hours_minutes(seconds) == parts
    assert policy_edits.said_duration(seconds) == said


def test_warnings_are_shown_back_with_a_decimal_comma_and_as_percentages():
    assert policy_edits.said_fraction(0.5) == "0,5"
    assert policy_edits.said_fraction(0.25) == "0,25"
    assert policy_edits.said_percent(0.125) == "12,5 %"


def test_each_rule_and_moment_is_a_short_italian_sentence():
    assert (
        policy_edits.rule_sentence("starts_on", "referral_received")
        == "Il tempo parte quando la segnalazione è ricevuta"
    )
    assert policy_edits.rule_sentence("stops_on", "referral_claimed") == (
        "L'obiettivo è raggiunto quando la segnalazione è presa in valutazione"
    )


BEFORE = {
    "calendar": "24x7",
    "opens": "09:00",
    "closes": "17:00",
    "extra_holidays": [],
    "warnings": [0.5, 0.8],
    "targets": {u: {"seconds": 300, "working_days": None} for u in ("rosso", "giallo", "verde")},
    "starts_on": ["referral_received"],
    "stops_on": ["referral_claimed"],
    "cancels_on": [],
    "pauses_on": [],
    "resumes_on": [],
}


def test_what_changed_between_two_versions_is_said_line_by_line():
    after = {
        **BEFORE,
        "warnings": [0.25, 0.5],
        "targets": {**BEFORE["targets"], "rosso": {"seconds": 9000, "working_days": None}},
        "extra_holidays": ["2026-06-24"],
        "starts_on": ["referral_received", "referral_released"],
        "stops_on": [],
    }
    assert policy_edits.differences(BEFORE, after) == [
        "Obiettivo rosso: da 5 min a 2 h 30 min.",
        "Avvisi: da 50 % e 80 % a 25 % e 50 %.",
        "Festività locali: da nessuna a 24/06/2026.",
        "Aggiunto: «Il tempo parte quando la segnalazione è rimessa in coda».",
        "Tolto: «L'obiettivo è raggiunto quando la segnalazione è presa in valutazione».",
    ]


def test_a_calendar_and_working_days_change_is_said_and_no_change_says_so():
    after = {
        **BEFORE,
        "calendar": "working_days",
        "closes": "18:00",
        "targets": {**BEFORE["targets"], "verde": {"seconds": None, "working_days": 2}},
    }
    assert policy_edits.differences(BEFORE, after) == [
        "Obiettivo verde: da 5 min a fine del 2° giorno lavorativo successivo.",
        "Calendario: da 24 ore su 24 a giorni lavorativi.",
        "Orario di lavoro: da 09:00-17:00 a 09:00-18:00.",
    ]
    assert policy_edits.differences(BEFORE, BEFORE) == [
        "Nessuna differenza dalla versione precedente."
    ]
    assert policy_edits.differences(None, BEFORE) == [
        "Valori in vigore prima della prima modifica registrata."
    ]


def test_every_moment_has_a_sentence_and_a_milestone_offers_only_those_of_its_subject():
    from dispatch import sla
    from dispatch.clocks import Milestone

    assert set(sla.TRIGGER_SENTENCES) == set(sla.Trigger)
    claimed = {t.value for t in sla.triggers_for(Milestone.REFERRAL_CLAIMED)}
    assert "referral_received" in claimed and "case_opened" in claimed
    assert "unit_on_scene" not in claimed and "urgency_changed" not in claimed
    on_scene = {t.value for t in sla.triggers_for(Milestone.UNIT_ON_SCENE)}
    assert on_scene == {"unit_dispatched", "unit_on_scene", "unit_checked_in", "unit_released"}
