"""Search and archive: what a query means, who finds what, and how a story ended.

The edge runs the query in PostgreSQL (full text with an Italian, accent-blind configuration,
and a lexicon of words with trigrams for typos); this module decides the words, the shape of
the full-text query, the scope each principal searches in and the outcome shown in the archive.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from dispatch import access

MAX_WORDS = 8  # words of a query used (the rest is ignored)
MIN_WORD = 2  # shorter words are noise ("a", "e")
MAX_RESULTS = 100
DEFAULT_RESULTS = 25
MAX_ALTERNATIVES = 3  # neighbours of a word with no exact match in the lexicon
MAX_PERIOD_DAYS = 3660  # an archive period of up to about ten years

_WORD = re.compile(r"[^\W_]+")
# SEUS-2026-000007, 2026-000007, 000007 or 7: a case number, whole or by its end.
_CASE_NUMBER = re.compile(r"(?:seus[-\s]?)?(?:(?P<year>\d{4})[-/\s])?(?P<serial>\d{1,6})")


def fold(text: str) -> str:
    """Lower-case without accents, as the database's `seus_unaccent(lower(...))` folds."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> tuple[str, ...]:
    """The query's words, folded, once each, in order; at most MAX_WORDS."""
    found: dict[str, None] = {}
    for word in _WORD.findall(fold(text)):
        if len(word) >= MIN_WORD or word.isdigit():
            found.setdefault(word, None)
    return tuple(found)[:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class CaseNumber:
    """A query that reads as a case number: its serial, and its year when given."""

    serial: int
    year: int | None = None

    def suffix(self) -> str:
        """How the case numbers it names end ("2026-000007" or "-000007")."""
        serial = f"{self.serial:06d}"
        return f"{self.year}-{serial}" if self.year is not None else f"-{serial}"


def case_number(text: str) -> CaseNumber | None:
    """The case number the whole query names, if it names one."""
    match = _CASE_NUMBER.fullmatch(fold(text).strip())
    if match is None or int(match["serial"]) == 0:
        return None
    year = match["year"]
    return CaseNumber(int(match["serial"]), int(year) if year else None)


def widened(word: str) -> bool:
    """Whether a word may be widened to its neighbours in the lexicon (numbers are exact)."""
    return not word.isdigit() and len(word) >= 3


def full_text_query(alternatives: Sequence[Sequence[str]]) -> str:
    """The text of a `to_tsquery`: every word must match, by itself or a neighbour.

    Each word is `[^\\W_]+` (see `words`) and so carries no tsquery operator.
    """
    groups = []
    for options in alternatives:
        unique = list(dict.fromkeys(o for o in options if o and _WORD.fullmatch(o)))
        if unique:
            groups.append("(" + " | ".join(unique) + ")")
    return " & ".join(groups)


class ScopeKind(enum.StrEnum):
    ROOM = "room"  # every referral and case, all of it
    REFERRER = "referrer"  # its own referrals, their status only
    ZONE = "zone"  # a territorial service: the cases handed over to its zone
    UNIT = "unit"  # a unit: the cases it was assigned


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    referrer_id: int | None = None
    zone_id: str | None = None
    unit_id: int | None = None

    @property
    def details(self) -> bool:
        """Whether results carry what was written (address, description, snippet)."""
        return self.kind is ScopeKind.ROOM


# Who may search: each finds only its own share (`scope`).
NEED = access.AnyOf(
    frozenset(
        {
            access.Permission.VIEW_REFERRALS,
            access.Permission.VIEW_OWN_REFERRALS,
            access.Permission.DECIDE_HANDOVER,
            access.Permission.UNIT_TABLET,
        }
    )
)


def scope(principal: access.Principal) -> Scope | None:
    """What this principal searches in; None when it may search nothing."""
    if access.can(principal, access.Permission.VIEW_REFERRALS):
        return Scope(ScopeKind.ROOM)
    if access.can(principal, access.Permission.VIEW_OWN_REFERRALS) and principal.referrer_id:
        return Scope(ScopeKind.REFERRER, referrer_id=principal.referrer_id)
    if access.can(principal, access.Permission.DECIDE_HANDOVER) and principal.zone_id:
        return Scope(ScopeKind.ZONE, zone_id=principal.zone_id)
    if access.can(principal, access.Permission.UNIT_TABLET) and principal.unit_id:
        return Scope(ScopeKind.UNIT, unit_id=principal.unit_id)
    return None


class State(enum.StrEnum):
    """The status filter: still being worked on, or concluded."""

    OPEN = "open"
    CONCLUDED = "concluded"


STATE_LABELS = {State.OPEN: "In corso", State.CONCLUDED: "Concluse"}


class Outcome(enum.StrEnum):
    """How a referral's story ended (or that it has not)."""

    IN_PROGRESS = "in_progress"
    HANDED_OVER = "handed_over"  # the case was closed after a handover was accepted
    CLOSED = "closed"  # the case was closed without a handover
    NOT_PERTINENT = "not_pertinent"
    REDIRECTED = "redirected"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


OUTCOME_LABELS = {
    Outcome.IN_PROGRESS: "In corso",
    Outcome.HANDED_OVER: "Chiuso dopo il passaggio al territorio",
    Outcome.CLOSED: "Chiuso senza passaggio",
    Outcome.NOT_PERTINENT: "Non pertinente",
    Outcome.REDIRECTED: "Reindirizzata",
    Outcome.MERGED: "Unita a un'altra segnalazione",
    Outcome.WITHDRAWN: "Ritirata dall'ente",
}

_ENDED = {
    "not_pertinent": Outcome.NOT_PERTINENT,
    "redirected": Outcome.REDIRECTED,
    "merged": Outcome.MERGED,
    "withdrawn": Outcome.WITHDRAWN,
}


def outcome(referral_status: str, case_status: str | None, handed_over: bool) -> Outcome:
    """The outcome of a referral from its status, its case's, and whether a handover of the
    case was accepted."""
    if referral_status in _ENDED:
        return _ENDED[referral_status]
    if case_status == "closed":
        return Outcome.HANDED_OVER if handed_over else Outcome.CLOSED
    return Outcome.IN_PROGRESS


@dataclass(frozen=True, slots=True)
class Condition:
    """An outcome or state filter as the database applies it: referral statuses among
    `referral_statuses` (None: any), the case closed or not (None: either), a handover
    accepted or not (None: either); `negate` selects everything else."""

    referral_statuses: tuple[str, ...] | None = None
    case_closed: bool | None = None
    handed_over: bool | None = None
    negate: bool = False


_STILL_OPEN = Condition(
    referral_statuses=("received", "in_assessment", "activated"), case_closed=False
)


def condition(asked: Outcome | State) -> Condition:
    """The rows whose `outcome` is the one asked, or whose state is."""
    if asked is State.OPEN or asked is Outcome.IN_PROGRESS:
        return _STILL_OPEN
    if asked is State.CONCLUDED:
        return Condition(_STILL_OPEN.referral_statuses, _STILL_OPEN.case_closed, negate=True)
    if asked in (Outcome.HANDED_OVER, Outcome.CLOSED):
        return Condition(("activated",), case_closed=True, handed_over=asked is Outcome.HANDED_OVER)
    ended = [status for status, outcome_ in _ENDED.items() if outcome_ is asked]
    return Condition(referral_statuses=tuple(ended))


def period_problems(first: date | None, last: date | None) -> list[tuple[str, str]]:
    """Field errors of a period filter, in Italian: (field, message)."""
    if first is not None and last is not None:
        if first > last:
            return [("to", "La data finale viene prima di quella iniziale.")]
        if (last - first).days > MAX_PERIOD_DAYS:
            return [("to", f"Il periodo può durare al massimo {MAX_PERIOD_DAYS} giorni.")]
    return []
