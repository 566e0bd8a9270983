"""Possible duplicates: what ties two referrals together, how much, and the reasons shown."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch import similarity
from dispatch.referrals import Status
from dispatch.similarity import Sighting

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
STATION = (43.7765, 11.2480)  # Firenze, Santa Maria Novella
FIRENZE = {"municipality_code": "048017", "municipality_name": "Firenze"}
PRATO = {"municipality_code": "100005", "municipality_name": "Prato"}


def sighting(id_: int = 2, **changes: object) -> Sighting:
    base: dict[str, object] = {
        "id": id_,
        "status": Status.RECEIVED,
        "received_at": NOW - timedelta(hours=30),
        **PRATO,
    }
    return Sighting(**(base | changes))  # type: ignore[arg-type]


SUBJECT = sighting(
    1,
    received_at=NOW,
    **FIRENZE,
    address="Piazza della Stazione 4",
    point=STATION,
    description="Uomo anziano confuso trovato solo davanti alla stazione, dice di chiamarsi Bruno",
    phone="+39 055 123 4567",
    age_band="over_65",
    sex="m",
    language="ro",
)


@pytest.mark.parametrize(
    ("other", "reasons"),
    [
        (
            sighting(**FIRENZE, phone="0551234567"),
            ["stesso numero da richiamare", "stesso comune (Firenze)"],
        ),
        (
            sighting(description="Bruno, anziano confusa in stazione, trovato da solo"),
            ["descrizione simile: Bruno, stazione, anziano"],
        ),
        (sighting(**FIRENZE, address="P.zza della Stazione, 4"), ["stesso indirizzo"]),
        (sighting(**FIRENZE, address="Piazza della Stazione 12"), ["stessa via"]),
        (sighting(point=(43.7792, 11.2480)), ["a 300 m"]),
        (sighting(point=(43.7767, 11.2480)), ["a meno di 50 m"]),
        (sighting(**FIRENZE, point=(43.7891, 11.2480)), ["a 1,4 km", "stesso comune (Firenze)"]),
        (sighting(**FIRENZE), ["stesso comune (Firenze)"]),
        (
            sighting(**FIRENZE, received_at=NOW - timedelta(minutes=12)),
            ["stesso comune (Firenze)", "ricevuta 12 min prima"],
        ),
        (
            sighting(**FIRENZE, received_at=NOW + timedelta(hours=1, minutes=5)),
            ["stesso comune (Firenze)", "ricevuta 1 h 05 min dopo"],
        ),
        (
            sighting(**FIRENZE, age_band="over_65", sex="m", language="ro"),
            [
                "stessa fascia d'età (Oltre 65 anni)",
                "stesso sesso",
                "stessa lingua (rumeno)",
                "stesso comune (Firenze)",
            ],
        ),
    ],
)
def test_each_match_is_told_as_a_short_italian_phrase(other, reasons):
    found = similarity.compare(SUBJECT, other)
    assert found is not None
    assert list(found.reasons) == reasons
    assert found.differences == ()


@pytest.mark.parametrize(
    "other",
    [
        sighting(),  # another town, nothing in common
        sighting(age_band="over_65", sex="m", language="ro"),  # the person alone is no anchor
        sighting(received_at=NOW - timedelta(minutes=2)),  # nor the time alone
        sighting(point=(43.80, 11.2480)),  # 2.6 km away
        sighting(address="Piazza della Stazione 4"),  # the same words in another town
        sighting(description="Donna con due bambini in auto nel parcheggio"),
        sighting(phone="0551234567"),  # the same caller (a ward's desk) is no anchor
        sighting(**FIRENZE, phone="12345", sex="f"),  # too short to tell
        sighting(**FIRENZE, sex="f", age_band="minor"),  # the same town, another person
    ],
)
def test_nothing_ties_them_or_the_person_contradicts_it_and_it_is_not_suggested(other):
    assert similarity.compare(SUBJECT, other) is None


def test_differences_lower_the_score_and_are_shown_apart():
    same = sighting(**FIRENZE, address="Piazza della Stazione 4")
    other = sighting(**FIRENZE, address="Piazza della Stazione 4", sex="f", language="ar")
    alike, unlike = similarity.compare(SUBJECT, same), similarity.compare(SUBJECT, other)
    assert alike is not None and unlike is not None
    assert unlike.score < alike.score
    assert unlike.reasons == ("stesso indirizzo",)
    assert unlike.differences == ("sesso diverso", "lingua diversa (arabo)")
    aged = similarity.compare(
        SUBJECT, sighting(**FIRENZE, sex="m", age_band="18_29", phone="0551234567")
    )
    assert aged is not None and aged.differences == ("fascia d'età diversa (18-29 anni)",)


def test_candidates_come_likeliest_first_and_at_most_ten():
    others = [
        sighting(10, **FIRENZE),  # same town only
        sighting(11, **FIRENZE, address="Piazza della Stazione 4", sex="m", age_band="over_65"),
        sighting(12, **FIRENZE, phone="055 1234567"),  # same town, same caller
        sighting(13, **FIRENZE, received_at=NOW - timedelta(minutes=5)),  # same town, just now
        *(sighting(100 + i, **FIRENZE) for i in range(20)),
    ]
    found = similarity.candidates(SUBJECT, others, NOW)
    assert [c.id for c in found[:4]] == [11, 13, 12, 119]
    assert len(found) == similarity.LIMIT


def test_among_equals_the_closest_in_time_comes_first():
    early = sighting(2, **FIRENZE, received_at=NOW - timedelta(hours=40))
    late = sighting(3, **FIRENZE, received_at=NOW - timedelta(hours=20))
    assert [c.id for c in similarity.candidates(SUBJECT, [early, late], NOW)] == [3, 2]


@pytest.mark.parametrize(
    "other",
    [
        sighting(1, **FIRENZE),  # itself
        sighting(2, **FIRENZE, status=Status.MERGED),  # merge into its target instead
        sighting(3, **FIRENZE, received_at=NOW - timedelta(hours=72, seconds=1)),
        sighting(4, **FIRENZE, status=Status.WITHDRAWN),  # nobody would follow it
    ],
)
def test_itself_merged_withdrawn_or_older_than_72_hours_is_never_suggested(other):
    assert similarity.candidates(SUBJECT, [other], NOW) == []


@pytest.mark.parametrize(
    ("metres", "words"),
    [(0, "a meno di 50 m"), (49, "a meno di 50 m"), (310, "a 300 m"), (980, "a 1000 m")],
)
def test_distances_read_in_round_metres_under_a_kilometre(metres, words):
    assert similarity.distance_words(metres) == words


@pytest.mark.parametrize(
    ("other", "words"),
    [
        (NOW - timedelta(seconds=20), "ricevuta meno di 1 min prima"),
        (NOW - timedelta(minutes=12), "ricevuta 12 min prima"),
        (NOW + timedelta(hours=2, minutes=30), "ricevuta 2 h 30 min dopo"),
        (NOW - timedelta(hours=5, minutes=10), "ricevuta 5 h prima"),
        (NOW - timedelta(hours=50), "ricevuta 2 g 2 h prima"),
    ],
)
def test_the_time_between_them_is_said_from_the_referral_being_assessed(other, words):
    assert similarity.time_words(NOW, other) == words


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Via Roma 12", "via roma, 12", True),
        ("V. Roma 12", "Via Roma n. 12", True),
        ("Piazza Città 1", "p.za citta 1", True),
        ("C.so Italia 3", "Corso Italia 3", True),
        ("Via Roma 12", "Via Roma 14", False),
    ],
)
def test_addresses_compare_without_case_accents_punctuation_or_abbreviations(a, b, same):
    assert (similarity.address_key(a)[0] == similarity.address_key(b)[0]) is same


def test_description_words_match_across_inflection_and_accents():
    share, words = similarity.shared_words("Bambini soli in città", "bambino solo in citta")
    assert share == 1.0
    assert words == ["Bambini", "città", "soli"]


def test_a_name_leads_the_shared_words_and_a_capital_starting_a_sentence_is_no_name():
    share, words = similarity.shared_words(
        "Uomo anziano alla stazione. Dice di chiamarsi Mario.",
        "Uomo anziano confuso in stazione, forse Mario",
    )
    assert words == ["Mario", "stazione", "anziano", "Uomo"]
    assert share == 4 / 8  # and dice, chiamarsi, confuso, forse in one text only


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+39 055 123456", "055123456"),
        ("0039 333 1234567", "3331234567"),
        ("333-123.4567", "3331234567"),
    ],
)
def test_phone_numbers_compare_without_the_italian_prefix(raw, digits):
    assert similarity.phone_digits(raw) == digits
