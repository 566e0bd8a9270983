"""Field units (unità operative): their status, and which one to send.

available -> assigned -> acknowledged -> en_route -> on_scene -> returning -> available;
off_duty in and out of available.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.errors import Refused
from dispatch.states import move


class Status(enum.StrEnum):
    OFF_DUTY = "off_duty"
    AVAILABLE = "available"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RETURNING = "returning"


_S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.OFF_DUTY: frozenset({_S.AVAILABLE}),
    _S.AVAILABLE: frozenset({_S.ASSIGNED, _S.OFF_DUTY}),
    _S.ASSIGNED: frozenset({_S.ACKNOWLEDGED, _S.AVAILABLE}),
    _S.ACKNOWLEDGED: frozenset({_S.EN_ROUTE, _S.AVAILABLE}),
    _S.EN_ROUTE: frozenset({_S.ON_SCENE, _S.AVAILABLE}),
    _S.ON_SCENE: frozenset({_S.RETURNING, _S.AVAILABLE}),
    _S.RETURNING: frozenset({_S.AVAILABLE, _S.OFF_DUTY}),
}

BUSY = frozenset({_S.ASSIGNED, _S.ACKNOWLEDGED, _S.EN_ROUTE, _S.ON_SCENE})

STATUS_LABELS = {
    _S.OFF_DUTY: "Fuori servizio",
    _S.AVAILABLE: "Disponibile",
    _S.ASSIGNED: "Assegnata",
    _S.ACKNOWLEDGED: "Presa visione",
    _S.EN_ROUTE: "In viaggio",
    _S.ON_SCENE: "Sul posto",
    _S.RETURNING: "In rientro",
}


class Skill(enum.StrEnum):
    CULTURAL_MEDIATION = "cultural_mediation"
    MINORS = "minors"
    PSYCHOLOGICAL_FIRST_AID = "psychological_first_aid"
    DISABILITY = "disability"
    CODICE_ROSA = "codice_rosa"


SKILL_LABELS = {
    Skill.CULTURAL_MEDIATION: "mediazione culturale",
    Skill.MINORS: "minori",
    Skill.PSYCHOLOGICAL_FIRST_AID: "primo soccorso psicologico",
    Skill.DISABILITY: "disabilità",
    Skill.CODICE_ROSA: "Codice Rosa",
}


def advance(current: Status, target: Status) -> Status:
    return move("unit", TRANSITIONS, current, target)


@dataclass(frozen=True, slots=True)
class Candidate:
    id: int
    name: str
    status: Status
    lat: float  # where it is taken to be: see `position`
    lon: float
    zones: frozenset[str]
    skills: frozenset[str]
    languages: frozenset[str] = frozenset()
    load: int = 0  # cases it still follows
    where: str = ""  # where the estimate starts from, in words (`fix_phrase`)


@dataclass(frozen=True, slots=True)
class RankingPolicy:
    road_factor: float = 1.3  # road distance / straight-line distance
    speed_kmh: float = 50.0
    out_of_zone_minutes: float = 20.0  # a unit from another zone costs this much more
    missing_skill_minutes: float = 30.0
    load_minutes: float = 15.0  # per case the unit still follows
    position_max_age: timedelta = timedelta(minutes=30)  # an older reported position is not used


@dataclass(frozen=True, slots=True)
class Recommendation:
    unit_id: int
    name: str
    eligible: bool
    eta_minutes: int
    score: float  # lower is better
    reasons: tuple[str, ...]  # in Italian, shown to the operator


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


Point = tuple[float | None, float | None]


def position(last: Point, base: Point, base_municipality: Point = (None, None)) -> Point:
    """Where a unit is taken to be for an arrival estimate: its last known position, else its
    base, else the centre of its base's municipality; a pair is taken whole or not at all.
    (None, None) when none is known."""
    for lat, lon in (last, base, base_municipality):
        if lat is not None and lon is not None:
            return lat, lon
    return None, None


class Source(enum.StrEnum):
    """What a unit's place for an estimate comes from."""

    POSITION = "position"  # the last position the tablet sent, fresh enough
    BASE = "base"
    TOWN = "town"  # the centre of the base's municipality
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Fix:
    """Where a unit is taken to be, from what, and how old a reported position is."""

    lat: float | None
    lon: float | None
    source: Source
    age_seconds: int | None = None

    @property
    def known(self) -> bool:
        return self.lat is not None and self.lon is not None


CLOCK_SKEW = timedelta(minutes=2)  # a tablet's clock a little ahead is not "in the future"


def locate(
    last: Point,
    last_at: datetime | None,
    base: Point,
    town: Point = (None, None),
    *,
    now: datetime,
    max_age: timedelta,
) -> Fix:
    """The unit's place for an estimate: its last reported position while it is at most
    `max_age` old, else its base, else its base municipality's centre; a position with no time,
    or from the future beyond a little clock skew, is not used."""
    if last[0] is not None and last[1] is not None and last_at is not None:
        age = now - last_at
        if -CLOCK_SKEW <= age <= max_age:
            return Fix(last[0], last[1], Source.POSITION, max(0, int(age.total_seconds())))
    if base[0] is not None and base[1] is not None:
        return Fix(base[0], base[1], Source.BASE)
    if town[0] is not None and town[1] is not None:
        return Fix(town[0], town[1], Source.TOWN)
    return Fix(None, None, Source.UNKNOWN)


def age_words(seconds: int) -> str:
    """An age in Italian: "meno di un minuto", "7 min", "2 h 05 min"."""
    minutes = seconds // 60
    if minutes < 1:
        return "meno di un minuto"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def fix_phrase(fix: Fix) -> str:
    """Where an estimate starts from, in the operator's words."""
    if fix.source is Source.POSITION:
        return f"dalla posizione di {age_words(fix.age_seconds or 0)} fa"
    if fix.source is Source.BASE:
        return "dalla sede"
    if fix.source is Source.TOWN:
        return "dal centro del comune della sede"
    return UNKNOWN_PLACE


UNKNOWN_PLACE = "posizione sconosciuta"


def travel_minutes(
    lat1: float, lon1: float, lat2: float, lon2: float, policy: RankingPolicy
) -> float:
    """The estimated drive: straight-line distance times the road factor, at average speed."""
    return distance_km(lat1, lon1, lat2, lon2) * policy.road_factor / policy.speed_kmh * 60


def estimate(lat1: float, lon1: float, lat2: float, lon2: float, policy: RankingPolicy) -> int:
    """The arrival estimate shown, in whole minutes: never "~0 min" (a unit at the door still
    takes a minute), the same in the ranking and in the dispatch."""
    return max(1, round(travel_minutes(lat1, lon1, lat2, lon2, policy)))


def rank(
    lat: float,
    lon: float,
    zone: str,
    needed_skills: frozenset[str],
    language: str | None,
    units: Iterable[Candidate],
    policy: RankingPolicy = RankingPolicy(),
) -> list[Recommendation]:
    """Eligible units first, best first; every unit with its reasons in words."""
    ranked = []
    for unit in units:
        km = distance_km(unit.lat, unit.lon, lat, lon) * policy.road_factor
        eta = travel_minutes(unit.lat, unit.lon, lat, lon, policy)
        score = eta
        minutes = estimate(unit.lat, unit.lon, lat, lon, policy)
        distance = f"a circa {km:.0f} km su strada, arrivo in ~{minutes} min"
        reasons = [f"{distance} ({unit.where})" if unit.where else distance]
        eligible = unit.status is Status.AVAILABLE
        if not eligible:
            reasons.insert(0, f"non disponibile ({STATUS_LABELS[unit.status].lower()})")
        if zone in unit.zones:
            reasons.append("copre la zona")
        else:
            score += policy.out_of_zone_minutes
            reasons.append("fuori dalla sua zona")
        missing = sorted(needed_skills - unit.skills)
        present = sorted(needed_skills & unit.skills)
        if present:
            reasons.append("competenze: " + ", ".join(_skill(s) for s in present))
        if missing:
            score += policy.missing_skill_minutes * len(missing)
            reasons.append("manca: " + ", ".join(_skill(s) for s in missing))
        if language:
            if language in unit.languages:
                reasons.append(f"parla {language_label(language)}")
            else:
                score += policy.missing_skill_minutes / 2
                reasons.append(f"non parla {language_label(language)}")
        if unit.load:
            score += policy.load_minutes * unit.load
            reasons.append(f"segue già {unit.load} {'caso' if unit.load == 1 else 'casi'}")
        ranked.append(Recommendation(unit.id, unit.name, eligible, minutes, score, tuple(reasons)))
    ranked.sort(key=lambda r: (not r.eligible, r.score, r.unit_id))
    return ranked


def _skill(skill: str) -> str:
    try:
        return SKILL_LABELS[Skill(skill)]
    except ValueError:
        return skill


# ---- languages, bases -------------------------------------------------------------------------

LANGUAGE_LABELS = {
    "it": "italiano",
    "en": "inglese",
    "fr": "francese",
    "es": "spagnolo",
    "de": "tedesco",
    "pt": "portoghese",
    "ro": "rumeno",
    "sq": "albanese",
    "ar": "arabo",
    "zh": "cinese",
    "uk": "ucraino",
    "ru": "russo",
    "pl": "polacco",
    "ur": "urdu",
    "bn": "bengalese",
    "pa": "punjabi",
    "hi": "hindi",
    "wo": "wolof",
    "tl": "tagalog",
    "fa": "persiano",
    "tr": "turco",
    "ti": "tigrino",
    "so": "somalo",
}
ITALIAN = frozenset({"it", "ita", "italiano", "italian"})
DEMO_BASE_NOTE = "sede demo (non verificata)"  # synthetic bases must say so wherever shown


def language_label(code: str) -> str:
    """The Italian name of a language code ("ar" -> "arabo"); unknown codes as given."""
    return LANGUAGE_LABELS.get(code.strip().lower(), code)


def needed_language(language: str | None) -> str | None:
    """The language a unit must speak for this person: none when it is Italian or unknown."""
    code = (language or "").strip().lower()
    return None if not code or code in ITALIAN else code


def base_note(synthetic: bool) -> str | None:
    return DEMO_BASE_NOTE if synthetic else None


# ---- what a unit may do, and what it does to its case -----------------------------------------

# The statuses a unit reports from its tablet (assigned comes only from a dispatch).
TABLET_TARGETS = frozenset(
    {_S.ACKNOWLEDGED, _S.EN_ROUTE, _S.ON_SCENE, _S.RETURNING, _S.AVAILABLE, _S.OFF_DUTY}
)
# Reaching one of these ends the unit's assignment: it no longer follows the case.
ENDS_ASSIGNMENT = frozenset({_S.RETURNING, _S.AVAILABLE, _S.OFF_DUTY})


def assign(current: Status) -> Status:
    """A dispatch: only an available unit can be sent (a busy one is refused, in words)."""
    if current is _S.OFF_DUTY:
        raise Refused("unità fuori servizio")
    if current is not _S.AVAILABLE:
        raise Refused(f"unità già impegnata ({STATUS_LABELS[current].lower()})")
    return advance(current, _S.ASSIGNED)


def report(current: Status, target: Status) -> Status:
    """A status reported by the unit itself; an illegal move raises IllegalTransition."""
    if target not in TABLET_TARGETS:
        raise Refused(f"a unit cannot report {target.value} itself")
    return advance(current, target)


def reported_at(client_at: datetime | None, now: datetime, not_before: datetime) -> datetime:
    """When a status really changed: the tablet's clock (it may have been offline), but never
    in the future nor before the previous status began."""
    if client_at is None:
        return now
    return max(not_before, min(client_at, now))
