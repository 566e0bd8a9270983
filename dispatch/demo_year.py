"""A year of synthetic history for `--demo`: who referred what, where and when, and when each
step of its handling happened. Pure: the clock ("now") and the random generator (seeded by the
caller: the same seed gives the same history) are passed in; the demo seeder
(console/demo/history.py) plays the steps through the real actions.

The shape follows the service's published figures (console/data/seus_activity_figures.csv):
about 2,000 interventions a year (2024: "over 2000"), hospitals the largest referrer (804 in
2024; 475 of 1,315 in 2021), then police forces (353 in 2021) and territorial social services
(319); triggers in the proportions of 2021; 18 of the 28 zones active (June 2025). Which 18
zones, the seasons, the hours of the day and every timing are the demo's own invention.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Protocol, TypeVar

from dispatch.calendars import ROME, italian_holidays

PER_YEAR = 2000  # referrals a year ("oltre 2000 interventi" in 2024)
SEED = 2026  # the demo's history is the same at every first start (times move with "now")
QUIET = timedelta(hours=8)  # the last hours belong to the living room (console/demo/room.py)
FREE_BEFORE = timedelta(hours=2)  # every unit of the history is back this long before now

# The 18 active zones of the demo (the published count; which ones is the demo's choice).
ACTIVE_ZONES: tuple[str, ...] = (
    "firenze",
    "fiorentina-nord-ovest",
    "fiorentina-sud-est",
    "mugello",
    "empolese-valdarno-inferiore",
    "pistoiese",
    "valdinievole",
    "pratese",
    "piana-di-lucca",
    "pisana",
    "alta-val-di-cecina-valdera",
    "livornese",
    "bassa-val-di-cecina-val-di-cornia",
    "apuane",
    "aretina",
    "valdarno",
    "senese",
    "amiata-grossetana-colline-metallifere-grossetana",
)

# Referrer kinds: hospitals 804 of ~2,000 (2024); police forces 353, territorial social services
# 319 of 1,315 (2021); the rest split among the other kinds.
REFERRER_SHARES: dict[str, float] = {
    "hospital": 0.40,
    "police": 0.10,
    "carabinieri": 0.08,
    "municipal_police": 0.09,
    "social_service": 0.22,
    "prefecture": 0.02,
    "municipality": 0.05,
    "other": 0.04,
}

# Triggers, 2021: family conflict 396, poverty and housing 313, non-self-sufficiency, disability
# and abandonment 270, Codice Rosa 248, minors 65, calamities 17 (dependency: not published).
TRIGGER_WEIGHTS: dict[str, float] = {
    "family_conflict": 396,
    "poverty_homelessness": 313,
    "loss_of_self_sufficiency": 200,
    "abandonment": 70,
    "violence": 248,
    "minors_at_risk": 65,
    "calamity": 17,
    "dependency": 10,
}

# Share of rosso and verde by trigger (the rest giallo).
URGENCY_BY_TRIGGER: dict[str, tuple[float, float]] = {
    "violence": (0.45, 0.05),
    "minors_at_risk": (0.40, 0.05),
    "calamity": (0.35, 0.10),
    "family_conflict": (0.20, 0.15),
    "abandonment": (0.15, 0.25),
    "loss_of_self_sufficiency": (0.10, 0.30),
    "poverty_homelessness": (0.08, 0.35),
    "dependency": (0.10, 0.30),
}

# Relative arrivals by hour of the day (Rome): fewer at night, never none (hospitals discharge
# and police find people at any hour), most in the afternoon and evening.
HOUR_WEIGHTS: tuple[float, ...] = (
    0.6, 0.5, 0.4, 0.35, 0.3, 0.3, 0.4, 0.6, 0.9, 1.2, 1.4, 1.5,
    1.5, 1.4, 1.4, 1.5, 1.6, 1.6, 1.5, 1.4, 1.3, 1.1, 0.9, 0.75,
)  # fmt: skip
WINTER_SWING = 0.2  # arrivals are 20% above the mean in mid-January, 20% below in mid-July

OUTCOMES: dict[str, float] = {"activate": 0.78, "not_pertinent": 0.13, "redirect": 0.09}
REJECTED = 0.05  # handovers the territorial service sends back (the room sends them again)


class Step(enum.StrEnum):
    """What happens to a referral, in order; the seeder maps each to a real action."""

    SUBMIT = "submit"  # the referrer sends it
    CLAIM = "claim"  # an operator takes it
    DECIDE = "decide"  # activate, not pertinent or redirect
    DISPATCH = "dispatch"  # a unit is sent
    ACKNOWLEDGED = "acknowledged"  # the crew, from the tablet
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CHECK_IN = "check_in"
    RETURNING = "returning"  # ends the assignment
    AVAILABLE = "available"
    HANDOVER_SENT = "handover_sent"  # by the room
    HANDOVER_REJECTED = "handover_rejected"  # by the zone's territorial service
    HANDOVER_ACCEPTED = "handover_accepted"
    CLOSE = "close"  # by the room, after the acceptance


@dataclass(frozen=True, slots=True)
class Place:
    municipality: str  # ISTAT code
    zone: str
    population: int


@dataclass(frozen=True, slots=True)
class Story:
    """One referral of the history: what it is, and the moments of its steps (all before now)."""

    number: int
    received_at: datetime
    referrer_kind: str
    trigger: str
    urgency: str
    place: Place
    people: int
    minors: int
    outcome: str
    operator: int  # index of the operator on shift (the seeder's list of operators)
    unit: str | None = None
    steps: tuple[tuple[datetime, Step], ...] = field(default=())

    @property
    def reference(self) -> str:
        return f"STORIA-{self.number:05d}"

    @property
    def pending_handover(self) -> bool:
        """Sent to the territorial service, no answer yet."""
        return bool(self.steps) and self.steps[-1][1] is Step.HANDOVER_SENT


class Randomness(Protocol):
    """What the plan draws from: `random.Random(seed)` at the edge, so the core has none."""

    def random(self) -> float: ...

    def uniform(self, a: float, b: float) -> float: ...

    def gauss(self, mu: float = 0.0, sigma: float = 1.0) -> float: ...


T = TypeVar("T")


def _weighted(rng: Randomness, options: Sequence[T], weights: Sequence[float]) -> T:
    roll, seen = rng.random() * sum(weights), 0.0
    for option, weight in zip(options, weights, strict=True):
        seen += weight
        if roll < seen:
            return option
    return options[-1]


def _pick(rng: Randomness, weights: Mapping[str, float]) -> str:
    return _weighted(rng, list(weights), list(weights.values()))


def _between(rng: Randomness, low: int, high: int) -> int:
    """A whole number from low to high, both included."""
    return min(high, low + int(rng.random() * (high - low + 1)))


def _minutes(rng: Randomness, median: float, sigma: float, low: float, high: float) -> timedelta:
    """A log-normal duration around `median` minutes, kept within [low, high]."""
    value = median * math.exp(rng.gauss(0.0, sigma))
    return timedelta(minutes=min(high, max(low, value)))


def season(at: datetime) -> float:
    """How busy the season is, 1.0 on average: cold weather brings more people without a roof."""
    day = at.astimezone(ROME).timetuple().tm_yday
    return 1.0 + WINTER_SWING * math.cos(2 * math.pi * (day - 15) / 365.25)


def arrivals(rng: Randomness, start: datetime, end: datetime, per_year: float) -> list[datetime]:
    """Arrival instants in [start, end): as many as `per_year` gives for the span, more in
    winter and by day, fewer at night (drawn by rejection against the busiest hour)."""
    span = (end - start).total_seconds()
    count = round(per_year * span / (365.25 * 86400))
    top = max(HOUR_WEIGHTS) * (1 + WINTER_SWING)
    found: list[datetime] = []
    while len(found) < count:
        at = start + timedelta(seconds=rng.uniform(0, span))
        if rng.uniform(0, top) < HOUR_WEIGHTS[at.astimezone(ROME).hour] * season(at):
            found.append(at.replace(microsecond=0))
    return sorted(found)


def shift_operator(at: datetime, operators: int) -> int:
    """The operator on shift: three shifts a day (7-14, 14-21, 21-7 in Rome), in rotation."""
    local = at.astimezone(ROME)
    shift = 0 if 7 <= local.hour < 14 else 1 if 14 <= local.hour < 21 else 2
    day = local.toordinal() - (1 if local.hour < 7 else 0)
    return (day * 3 + shift) % operators


def working_time(at: datetime, rng: Randomness) -> datetime:
    """`at`, or the next working day's morning when `at` falls outside office hours
    (Monday to Friday, 9 to 17 in Rome, national holidays excepted): when services answer."""
    local = at.astimezone(ROME)
    day, start = local.date(), time(9)

    def working(d: datetime) -> bool:
        return d.weekday() < 5 and d.date() not in italian_holidays(d.year)

    if working(local) and time(9) <= local.time() < time(17):
        return at
    if local.time() >= time(9):
        day += timedelta(days=1)
    while True:
        moment = datetime.combine(day, start, tzinfo=ROME)
        if working(moment):
            return (moment + timedelta(minutes=rng.uniform(0, 240))).astimezone(at.tzinfo)
        day += timedelta(days=1)


class _Units:
    """Which unit is busy when: a unit takes one case at a time, from dispatch to available."""

    def __init__(self, by_zone: Mapping[str, Sequence[str]]) -> None:
        self.by_zone = by_zone
        self.busy: dict[str, list[tuple[datetime, datetime]]] = {}

    def free_at(self, unit: str, start: datetime, length: timedelta) -> datetime:
        """The first moment from `start` when `unit` is free for `length`."""
        at = start
        for begin, end in sorted(self.busy.get(unit, [])):
            if at < end and begin < at + length:
                at = end + timedelta(minutes=2)
        return at

    def book(
        self, zone: str, wanted: datetime, length: timedelta, before: datetime
    ) -> tuple[str, datetime] | None:
        """The zone's unit free soonest, and when it can leave; None when no unit of the zone
        would be back by `before`."""
        options = [(self.free_at(u, wanted, length), u) for u in self.by_zone.get(zone, ())]
        if not options or min(options)[0] + length > before:
            return None
        at, unit = min(options)
        self.busy.setdefault(unit, []).append((at, at + length))
        return unit, at


def _handling(rng: Randomness, story: Story, units: _Units, now: datetime, pending: bool) -> Story:
    """The steps of one referral, cut at `now` (what has not happened yet is left out)."""
    steps: list[tuple[datetime, Step]] = [(story.received_at, Step.SUBMIT)]
    fast = {"rosso": 0.6, "giallo": 1.0, "verde": 1.6}[story.urgency]
    at = story.received_at + _minutes(rng, 1.8, 0.7, 0.3, 25)
    steps.append((at, Step.CLAIM))
    at += _minutes(rng, 11 * fast, 0.55, 2, 150)
    steps.append((at, Step.DECIDE))
    unit = None
    if story.outcome == "activate":
        wait = _minutes(rng, 3, 0.5, 1, 15)
        if story.urgency == "verde" and rng.random() < 0.4:
            wait += _minutes(rng, 90, 0.6, 20, 300)  # sent when a unit is free of urgent work
        ack, set_off = _minutes(rng, 1.5, 0.4, 0.5, 5), _minutes(rng, 2.5, 0.4, 0.5, 8)
        travel = _minutes(rng, 24 * min(fast, 1.0) + 6, 0.45, 8, 110)
        on_scene = _minutes(rng, 70, 0.4, 25, 240)
        back = _minutes(rng, 25, 0.35, 8, 70)
        length = ack + set_off + travel + on_scene + back
        booked = units.book(story.place.zone, at + wait, length, before=now - FREE_BEFORE)
        if booked is not None:
            unit, at = booked
            steps.append((at, Step.DISPATCH))
            at += ack
            steps.append((at, Step.ACKNOWLEDGED))
            at += set_off
            steps.append((at, Step.EN_ROUTE))
            at += travel
            steps.append((at, Step.ON_SCENE))
            leave = at + on_scene
            while (at := at + _minutes(rng, 24, 0.15, 12, 45)) < leave:
                steps.append((at, Step.CHECK_IN))
            steps.append((leave, Step.RETURNING))
            at = leave + back
            steps.append((at, Step.AVAILABLE))
        else:
            at += wait
        at += _minutes(rng, 90, 0.5, 20, 180) if pending else _minutes(rng, 300, 0.8, 20, 2400)
        steps.append((at, Step.HANDOVER_SENT))
        if not pending:
            if rng.random() < REJECTED:
                at = working_time(at + _minutes(rng, 8 * 60, 0.6, 60, 30 * 60), rng)
                steps.append((at, Step.HANDOVER_REJECTED))
                at += _minutes(rng, 4 * 60, 0.5, 30, 20 * 60)
                steps.append((at, Step.HANDOVER_SENT))
            at = working_time(at + _minutes(rng, 14 * 60, 0.7, 30, 60 * 60), rng)
            steps.append((at, Step.HANDOVER_ACCEPTED))
            at += _minutes(rng, 40, 0.6, 5, 600)
            steps.append((at, Step.CLOSE))
    kept = tuple(s for s in steps if s[0] < now)
    return replace(story, unit=unit, steps=kept)


def _people(rng: Randomness, trigger: str) -> tuple[int, int]:
    if trigger in ("family_conflict", "violence", "poverty_homelessness") and rng.random() < 0.35:
        minors = _between(rng, 1, 3)
        return minors + _between(rng, 1, 2), minors
    if trigger == "minors_at_risk":
        minors = 1 if rng.random() < 0.7 else 2
        return minors, minors
    return 1, 0


def plan(
    now: datetime,
    days: int,
    places: Sequence[Place],
    units: Mapping[str, Sequence[str]],
    operators: int,
    rng: Randomness,
    pending_in: Sequence[str] = (),
    per_year: float = PER_YEAR,
) -> list[Story]:
    """The history of the `days` before `now` (the last QUIET hours left to the living room),
    in order of arrival. `places`: the municipalities of the active zones, with population;
    `units`: each zone's unit names; `operators`: how many take shifts; `pending_in`: zones
    whose territorial service has a handover waiting at `now` (one more story each); `rng`:
    seeded by the caller (SEED for the demo)."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    zone_weight: dict[str, float] = {}
    for p in places:
        zone_weight[p.zone] = zone_weight.get(p.zone, 0) + p.population
    by_zone: dict[str, list[Place]] = {}
    for p in places:
        by_zone.setdefault(p.zone, []).append(p)
    end = now - QUIET
    moments = arrivals(rng, now - timedelta(days=days), end, per_year) if days > 0 else []
    # One more story for each zone that must have a handover waiting: received a day before.
    extra = {end - timedelta(hours=12 + 5 * i): zone for i, zone in enumerate(pending_in)}
    busy = _Units(units)
    stories = []
    for number, received in enumerate(sorted([*moments, *extra]), start=1):
        zone = extra.get(received) or _pick(rng, zone_weight)
        towns = by_zone[zone]
        place = _weighted(rng, towns, [t.population for t in towns])
        trigger = _pick(rng, TRIGGER_WEIGHTS)
        red, green = URGENCY_BY_TRIGGER[trigger]
        roll = rng.random()
        urgency = "rosso" if roll < red else "verde" if roll > 1 - green else "giallo"
        people, minors = _people(rng, trigger)
        story = Story(
            number=number,
            received_at=received,
            referrer_kind=_pick(rng, REFERRER_SHARES),
            trigger=trigger,
            urgency=urgency,
            place=place,
            people=people,
            minors=minors,
            outcome="activate" if received in extra else _pick(rng, OUTCOMES),
            operator=shift_operator(received, operators),
        )
        stories.append(_handling(rng, story, busy, now, pending=received in extra))
    return stories
