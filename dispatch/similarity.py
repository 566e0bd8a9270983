"""Possible duplicates (possibili doppioni): how alike two referrals are, and why.

A referral is compared with the others of the last 72 hours on the person (the words of the
description, age band, sex, language, the phone to call back), the place (the same address or
street, the distance between two points, the same municipality) and the time (how close the
two were received). Each match adds to a score and gives a short reason in Italian; a known
contradiction (another sex, another age band, another language) lowers the score and is shown
as a difference. Nothing merges by itself: the operator picks a candidate.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.intake import AGE_BAND_LABELS, AgeBand, language_label
from dispatch.referrals import Status

WINDOW = timedelta(hours=72)
LIMIT = 10
NEAR_M = 2000.0  # two points farther apart say nothing about the place
SIMILAR_TEXT = 0.3  # share of significant words two descriptions have in common
CLOSE_IN_TIME = timedelta(hours=12)  # received farther apart: no reason about the time
SHOWN_WORDS = 3

# What a match adds (a contradiction subtracts). A candidate needs MIN_SCORE and an anchor:
# words of the description or the place; the person's traits, the caller and the time only
# add to an anchor.
PHONE = 1.0
TEXT = 1.0  # plus TEXT_SHARE x the share of words in common
TEXT_SHARE = 3.0
SAME_ADDRESS = 3.0
SAME_STREET = 1.5
NEAR = 2.0  # at 0 m, down to 0 at NEAR_M
SAME_MUNICIPALITY = 1.0
AGE_BAND = 1.0
SEX = 0.5
LANGUAGE = 1.5  # a language other than Italian, the same for both
OTHER_AGE_BAND = -1.5
OTHER_SEX = -2.0
OTHER_LANGUAGE = -1.0
TIME = ((timedelta(minutes=30), 1.5), (timedelta(hours=2), 1.0), (CLOSE_IN_TIME, 0.5))
MIN_SCORE = 1.0

_STOPWORDS = frozenset(
    "alla alle allo anche come con dalla dalle degli della delle dello dove essere hanno "
    "loro nella nelle nello perché perche presso quale quando quella quelle quello questa "
    "queste questo sono stata stato sulla sulle suoi senza verso molto dopo circa".split()
)
_ABBREVIATIONS = {
    "p": "piazza",
    "pza": "piazza",
    "pzza": "piazza",
    "piaz": "piazza",
    "v": "via",
    "vle": "viale",
    "cso": "corso",
    "lgo": "largo",
    "loc": "localita",
    "fraz": "frazione",
    "snc": "",
    "n": "",
    "civ": "",
}
_UNKNOWN = frozenset({"", "unknown"})


@dataclass(frozen=True, slots=True)
class Sighting:
    """What the comparison reads of a referral."""

    id: int
    status: Status
    received_at: datetime
    municipality_code: str
    municipality_name: str
    address: str = ""
    point: tuple[float, float] | None = None  # its own point; None if unknown or the town's
    description: str = ""
    phone: str = ""
    age_band: str = AgeBand.UNKNOWN.value
    sex: str = "unknown"
    language: str | None = None  # ISO 639-1 code


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    score: float  # higher is likelier the same situation
    reasons: tuple[str, ...]  # why it may be the same, in Italian
    differences: tuple[str, ...] = ()  # what speaks against it, in Italian


def phone_digits(phone: str) -> str:
    """A phone number's digits without the Italian prefix: '+39 055 1234' -> '0551234'."""
    digits = "".join(c for c in phone if c.isdigit())
    if digits.startswith("0039"):
        return digits[4:]
    if digits.startswith("39") and len(digits) >= 11:
        return digits[2:]
    return digits


def _plain(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: 'Città,' -> 'citta '."""
    lower = text.lower()
    if lower.isascii():  # most words: nothing to take off
        return lower if lower.isalnum() else "".join(c if c.isalnum() else " " for c in lower)
    decomposed = unicodedata.normalize("NFKD", lower)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c if c.isalnum() else " " for c in bare)


def _stem(word: str) -> str:
    """A crude Italian stem: the final vowel goes ('bambini', 'bambino' -> 'bambin')."""
    return word[:-1] if len(word) >= 4 and word[-1] in "aeiou" else word


_TOKEN = re.compile(r"[^\W_]+|[.!?]")


@functools.lru_cache(maxsize=4096)  # the subject's, once per list; the others' across lists
def _words(text: str) -> dict[str, tuple[str, bool]]:
    """The significant words of a text by stem: each with its first form in the text, and
    whether it reads as a name somewhere (capitalised, not at the start of a sentence)."""
    found: dict[str, tuple[str, bool]] = {}
    sentence_start = True
    for match in _TOKEN.finditer(text):
        word = match.group()
        if word in ".!?":
            sentence_start = True
            continue
        name = word[:1].isupper() and not sentence_start
        sentence_start = False
        plain = _plain(word).strip()
        if len(plain) >= 4 and plain not in _STOPWORDS and not plain.isdigit():
            stem = _stem(plain)
            form, named = found.get(stem, (word, False))
            found[stem] = (form, named or name)
    return found


def shared_words(a: str, b: str) -> tuple[float, list[str]]:
    """Jaccard similarity of two texts' significant words (0 to 1), and the words shared."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return 0.0, []
    common = wa.keys() & wb.keys()

    # Names first (in either text), then the longest: the words that tell most.
    def telling(stem: str) -> tuple[bool, int, str]:
        form = wa[stem][0]
        return (not (wa[stem][1] or wb[stem][1]), -len(form), form)

    shown = [wa[stem][0] for stem in sorted(common, key=telling)]
    return len(common) / len(wa.keys() | wb.keys()), shown


@functools.lru_cache(maxsize=4096)
def address_key(address: str) -> tuple[str, str]:
    """An address as compared: (the whole address, the street without numbers)."""
    # 'P.zza', 'C.so', 'V.le' are one word; 'n. 12', 'n12' and '12' one number
    tokens = [_ABBREVIATIONS.get(t, t) for t in _plain(address.replace(".", "")).split()]
    tokens = [t[1:] if t[:1] == "n" and t[1:].isdigit() else t for t in tokens if t]
    street = [t for t in tokens if not any(c.isdigit() for c in t)]
    return " ".join(tokens), " ".join(street)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lon) points."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000.0 * math.asin(math.sqrt(h))


def distance_words(metres: float) -> str:
    """'a meno di 50 m', 'a 300 m', 'a 1,4 km'."""
    if metres < 50:
        return "a meno di 50 m"
    if metres < 1000:
        return f"a {int(round(metres / 50) * 50)} m"
    return f"a {metres / 1000:.1f} km".replace(".", ",")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "meno di 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {rest:02d} min" if rest and hours < 3 else f"{hours} h"
    return f"{hours // 24} g {hours % 24} h" if hours % 24 else f"{hours // 24} g"


def time_words(subject: datetime, other: datetime) -> str:
    """When the other referral came, seen from the subject: 'ricevuta 12 min prima'."""
    if other <= subject:
        return f"ricevuta {_span(subject - other)} prima"
    return f"ricevuta {_span(other - subject)} dopo"


def _age_label(band: str) -> str:
    return next((label for key, label in AGE_BAND_LABELS.items() if key == band), band)


def compare(subject: Sighting, other: Sighting) -> Candidate | None:
    """How alike `other` is to `subject`; None when nothing ties them together."""
    score, reasons, differences, anchored = 0.0, [], [], False

    # the person: who calls back, what happened, who it is
    own_phone = phone_digits(subject.phone)
    if len(own_phone) >= 6 and phone_digits(other.phone) == own_phone:
        score += PHONE  # a ward's or a station's desk: the same caller, not the same person
        reasons.append("stesso numero da richiamare")
    share, words = shared_words(subject.description, other.description)
    if share >= SIMILAR_TEXT:
        score, anchored = score + TEXT + TEXT_SHARE * share, True
        reasons.append("descrizione simile: " + ", ".join(words[:SHOWN_WORDS]))
    if subject.age_band not in _UNKNOWN and other.age_band not in _UNKNOWN:
        if subject.age_band == other.age_band:
            score += AGE_BAND
            reasons.append(f"stessa fascia d'età ({_age_label(subject.age_band)})")
        else:
            score += OTHER_AGE_BAND
            differences.append(f"fascia d'età diversa ({_age_label(other.age_band)})")
    if subject.sex not in _UNKNOWN and other.sex not in _UNKNOWN:
        if subject.sex == other.sex:
            score += SEX
            reasons.append("stesso sesso")
        else:
            score += OTHER_SEX
            differences.append("sesso diverso")
    if subject.language and other.language:
        if subject.language != other.language:
            score += OTHER_LANGUAGE
            differences.append(f"lingua diversa ({language_label(other.language)})")
        elif subject.language != "it":
            score += LANGUAGE
            reasons.append(f"stessa lingua ({language_label(subject.language)})")

    # the place
    same_town = subject.municipality_code == other.municipality_code
    whole, street = address_key(subject.address)
    other_whole, other_street = address_key(other.address)
    address, near = 0.0, 0.0  # the same spot said twice counts once: the stronger
    if same_town and whole and whole == other_whole:
        address = SAME_ADDRESS
        reasons.append("stesso indirizzo")
    elif same_town and street and street == other_street:
        address = SAME_STREET
        reasons.append("stessa via")
    if subject.point is not None and other.point is not None:
        metres = distance_m(subject.point, other.point)
        if metres <= NEAR_M:
            near = NEAR * (1 - metres / NEAR_M)
            reasons.append(distance_words(metres))
    placed = address > 0
    if placed or near > 0:
        score, anchored = score + max(address, near), True
    if same_town:
        score, anchored = score + SAME_MUNICIPALITY, True
        if not placed:
            reasons.append(f"stesso comune ({other.municipality_name})")

    # the time
    apart = abs(subject.received_at - other.received_at)
    bonus = next((points for limit, points in TIME if apart <= limit), 0.0)
    if bonus:
        score += bonus
        reasons.append(time_words(subject.received_at, other.received_at))

    if not anchored or score < MIN_SCORE:
        return None
    return Candidate(other.id, round(score, 3), tuple(reasons), tuple(differences))


def candidates(
    subject: Sighting, others: Iterable[Sighting], now: datetime, limit: int = LIMIT
) -> list[Candidate]:
    """Referrals of the last 72 h that may be the same situation, likeliest first, with why.

    Merged referrals are left out (merge into their target instead), and so is the subject.
    """
    found: list[tuple[Candidate, timedelta]] = []
    for other in others:
        if other.id == subject.id or other.status in (Status.MERGED, Status.WITHDRAWN):
            continue
        if other.received_at < now - WINDOW:
            continue
        candidate = compare(subject, other)
        if candidate is not None:
            found.append((candidate, abs(subject.received_at - other.received_at)))
    found.sort(key=lambda pair: (-pair[0].score, pair[1], -pair[0].id))
    return [candidate for candidate, _ in found[:limit]]
