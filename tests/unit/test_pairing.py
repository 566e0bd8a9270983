"""Pairing codes and crews: the pure rules (dispatch/pairing.py, dispatch/crew.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dispatch import crew, pairing

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


def test_a_code_uses_only_the_unambiguous_alphabet_and_every_letter_equally():
    assert pairing.code_from(bytes(range(8))) == "ABCDEFGH"
    assert pairing.code_from(bytes([31, 32, 63, 255, 0, 1, 2, 3])) == "9A99ABCD"
    every = "".join(pairing.code_from(bytes([b] * 8))[0] for b in range(256))
    assert {every.count(c) for c in pairing.ALPHABET} == {8}
    assert not set("IO01") & set(pairing.ALPHABET)
    with pytest.raises(ValueError):
        pairing.code_from(b"short")


@pytest.mark.parametrize(
    ("typed", "stored", "ok"),
    [
        ("ABCD-EFGH", "ABCDEFGH", True),
        (" abcd efgh ", "ABCDEFGH", True),
        ("abcdefg", "ABCDEFG", False),
        ("ABCD-EFG0", "ABCDEFG0", False),  # 0 is not in the alphabet
        ("", "", False),
    ],
)
def test_what_a_person_types_is_read_as_the_stored_code(typed, stored, ok):
    assert pairing.normalised(typed) == stored
    assert pairing.well_formed(stored) is ok


def test_a_code_is_shown_in_two_groups():
    assert pairing.grouped("ABCDEFGH") == "ABCD-EFGH"


@pytest.mark.parametrize(
    ("expires_in", "used", "refusal"),
    [
        (timedelta(minutes=5), False, None),
        (timedelta(0), False, pairing.Refusal.EXPIRED),
        (timedelta(minutes=-1), False, pairing.Refusal.EXPIRED),
        (timedelta(minutes=5), True, pairing.Refusal.USED),
        (timedelta(minutes=-5), True, pairing.Refusal.USED),  # used says more than expired
    ],
)
def test_a_code_is_good_once_and_before_it_expires(expires_in, used, refusal):
    used_at = NOW - timedelta(minutes=1) if used else None
    assert pairing.judge(NOW, NOW + expires_in, used_at) is refusal


def test_every_refusal_has_its_italian_message_and_audit_phrase():
    for refusal in pairing.Refusal:
        assert pairing.REFUSAL_MESSAGES[refusal].startswith("Codice di abbinamento")
        said = pairing.phrase("device.pairing_refused", {"reason": refusal.value, "unit_id": None})
        assert said.startswith("Abbinamento rifiutato")


@pytest.mark.parametrize(
    ("phone", "wrong"),
    [
        ("", False),
        ("+39 333 000 0001", False),
        ("0573 123456", False),
        ("333-000-0001", True),
        ("+39 abc", True),
        ("12345", True),  # too few digits
        ("+39 3330000001234567", True),  # too many
        ("++39 333 0000001", True),
    ],
)
def test_a_phone_is_digits_and_spaces_with_a_leading_plus(phone, wrong):
    assert (crew.phone_problem(crew.normalised_phone(phone)) is not None) is wrong


def test_a_crew_mixes_users_and_volunteers_and_each_problem_names_its_field():
    accounts = {7: "Anna Neri"}
    found, problems = crew.crew_problems(
        [(7, None), (None, "  Luca   Bruni "), (8, None), (None, ""), (7, None), (7, "x")],
        accounts,
    )
    assert found == [crew.Member("Anna Neri", 7), crew.Member("Luca Bruni")]
    assert problems == [
        ("crew.2.user_id", "Utente inesistente o non attivo."),
        ("crew.3.name", "Scrivi il nome o scegli un utente."),
        ("crew.4.user_id", "Persona già nell'equipaggio."),
        ("crew.5", "Scegli un utente oppure scrivi un nome, non entrambi."),
    ]
    _, too_many = crew.crew_problems([(None, f"P{i}") for i in range(9)], {})
    assert too_many == [("crew", "Al massimo 8 persone per equipaggio.")]
