"""The search's rules: the words of a query, case numbers, the full-text query, scopes and
outcomes."""

from __future__ import annotations

from datetime import date

import pytest

from dispatch import access
from dispatch import search as core
from dispatch.search import CaseNumber, Outcome, ScopeKind, State


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Città di Prato", ("citta", "di", "prato")),
        ("  via   Roma, 12 ", ("via", "roma", "12")),
        ("dimessa DIMESSA dimessa", ("dimessa",)),
        ("l'ospedale", ("ospedale",)),  # one letter: noise
        ("perché è così", ("perche", "cosi")),
        ("a & b | !c (d):*", ()),  # tsquery operators never pass
        (
            "uno due tre quattro cinque sei sette otto nove",
            tuple("uno due tre quattro cinque sei sette otto".split()),
        ),
        ("", ()),
    ],
)
def test_the_words_of_a_query_are_folded_once_each(text: str, words: tuple[str, ...]):
    assert core.words(text) == words


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("SEUS-2026-000007", CaseNumber(7, 2026)),
        ("seus 2026 7", CaseNumber(7, 2026)),
        ("2026-000123", CaseNumber(123, 2026)),
        ("000007", CaseNumber(7)),
        ("42", CaseNumber(42)),
        ("0", None),
        ("via Roma 12", None),
        ("1234567", None),
    ],
)
def test_a_case_number_is_read_whole_or_by_its_last_digits(text: str, number: CaseNumber | None):
    assert core.case_number(text) == number


def test_a_case_number_without_a_year_matches_any_year_by_its_end():
    assert CaseNumber(7).suffix() == "-000007"
    assert CaseNumber(7, 2026).suffix() == "2026-000007"


def test_the_full_text_query_wants_every_word_by_itself_or_a_neighbour():
    assert core.full_text_query([["ospedle", "ospedale", "ospedali"], ["prato"]]) == (
        "(ospedle | ospedale | ospedali) & (prato)"
    )
    assert core.full_text_query([["x:*", "ok"], []]) == "(ok)"
    assert core.full_text_query([]) == ""


def test_numbers_and_short_words_are_never_widened():
    assert not core.widened("12")
    assert not core.widened("di")
    assert core.widened("roma")


@pytest.mark.parametrize(
    ("principal", "kind"),
    [
        (access.Principal(access.Role.OPERATOR, "o"), ScopeKind.ROOM),
        (access.Principal(access.Role.SUPERVISOR, "s"), ScopeKind.ROOM),
        (access.Principal(access.Role.ADMIN, "a"), ScopeKind.ROOM),
        (access.Principal(access.Role.REFERRER, "r", referrer_id=3), ScopeKind.REFERRER),
        (access.Principal(access.Role.TERRITORIAL_SERVICE, "t", zone_id="pratese"), ScopeKind.ZONE),
        (access.Principal(access.Role.UNIT, "u", unit_id=5), ScopeKind.UNIT),
        (access.Principal(access.Role.REFERRER, "r"), None),
        (access.Principal(access.Role.TERRITORIAL_SERVICE, "t"), None),
        (access.Principal(access.Role.UNIT, "u"), None),
    ],
)
def test_each_caller_searches_in_its_own_share(principal: access.Principal, kind: ScopeKind | None):
    found = core.scope(principal)
    assert (found.kind if found else None) == kind
    assert bool(found and found.details) == (kind is ScopeKind.ROOM)


@pytest.mark.parametrize(
    ("referral", "case", "handed_over", "outcome"),
    [
        ("received", None, False, Outcome.IN_PROGRESS),
        ("in_assessment", None, False, Outcome.IN_PROGRESS),
        ("activated", "on_scene", False, Outcome.IN_PROGRESS),
        ("activated", "handover_accepted", True, Outcome.IN_PROGRESS),
        ("activated", "closed", True, Outcome.HANDED_OVER),
        ("activated", "closed", False, Outcome.CLOSED),
        ("not_pertinent", None, False, Outcome.NOT_PERTINENT),
        ("redirected", None, False, Outcome.REDIRECTED),
        ("merged", None, False, Outcome.MERGED),
        ("withdrawn", None, False, Outcome.WITHDRAWN),
    ],
)
def test_the_outcome_and_its_filter_agree(
    referral: str, case: str | None, handed_over: bool, outcome: Outcome
):
    assert core.outcome(referral, case, handed_over) is outcome

    def holds(condition: core.Condition) -> bool:
        parts = [
            condition.referral_statuses is None or referral in condition.referral_statuses,
            condition.case_closed is None or (case == "closed") == condition.case_closed,
            condition.handed_over is None or handed_over == condition.handed_over,
        ]
        return all(parts) != condition.negate

    for other in Outcome:
        assert holds(core.condition(other)) == (other is outcome), other
    assert holds(core.condition(State.OPEN)) == (outcome is Outcome.IN_PROGRESS)
    assert holds(core.condition(State.CONCLUDED)) == (outcome is not Outcome.IN_PROGRESS)


def test_a_period_is_checked_in_italian_by_field():
    assert core.period_problems(date(2026, 1, 2), date(2026, 1, 1)) == [
        ("to", "La data finale viene prima di quella iniziale.")
    ]
    assert core.period_problems(date(2026, 1, 1), None) == []
    assert core.period_problems(date(2000, 1, 1), date(2026, 1, 1))[0][0] == "to"
