"""SLA clocks: targets per milestone and urgency, deadlines, warnings, pause, resume, stop.

A clock counts time on its calendar. Its state is data (stored in PostgreSQL by the edge):
what it counted before it last started running, since when it runs, its target, the
warnings already fired. Everything else (the deadline, what is due next) is computed here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dispatch.calendars import Calendar, Kind
from dispatch.referrals import URGENCIES
from dispatch.states import move


class Milestone(enum.StrEnum):
    REFERRAL_CLAIMED = "referral_claimed"  # presa visione
    ASSESSMENT_DECIDED = "assessment_decided"
    UNIT_ON_SCENE = "unit_on_scene"  # from dispatch
    HANDOVER_SENT = "handover_sent"  # from activation
    HANDOVER_ACCEPTED = "handover_accepted"  # by the territorial service
    UNIT_CHECK_IN = "unit_check_in"  # safety, while on scene


class State(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    MET = "met"
    BREACHED = "breached"
    CANCELLED = "cancelled"


_S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    _S.RUNNING: frozenset({_S.PAUSED, _S.MET, _S.BREACHED, _S.CANCELLED}),
    _S.PAUSED: frozenset({_S.RUNNING, _S.MET, _S.CANCELLED}),
    _S.BREACHED: frozenset({_S.MET, _S.CANCELLED}),  # late, then done: still a breach on record
}


@dataclass(frozen=True, slots=True)
class Target:
    """Either a duration counted on the calendar, or the end of the n-th next working day."""

    duration: timedelta | None = None
    working_days: int | None = None

    def budget(self, calendar: Calendar, start: datetime) -> timedelta:
        """The counted time this target allows for a clock starting at `start`."""
        if self.duration is not None:
            return self.duration
        assert self.working_days is not None
        return calendar.counted(start, calendar.end_of_working_day(start, self.working_days))


@dataclass(frozen=True, slots=True)
class Rules:
    """The workflow moments (`dispatch.sla.Trigger` values) that move a milestone's clock."""

    starts_on: frozenset[str] = frozenset()
    pauses_on: frozenset[str] = frozenset()
    resumes_on: frozenset[str] = frozenset()
    stops_on: frozenset[str] = frozenset()
    cancels_on: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Policy:
    milestone: Milestone
    targets: dict[str, Target]  # by urgency: "rosso", "giallo", "verde"
    calendar: Calendar = field(default_factory=Calendar)
    warnings: tuple[float, ...] = (0.5, 0.8)
    rules: Rules = field(default_factory=Rules)

    def target_for(self, urgency: str) -> Target:
        return self.targets[urgency]


@dataclass(frozen=True, slots=True)
class Clock:
    milestone: Milestone
    state: State
    budget: timedelta  # counted time allowed
    counted: timedelta  # counted before `running_since`
    running_since: datetime | None  # None when not running
    warnings: tuple[float, ...]
    warned: int = 0  # how many warnings already fired
    breached_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Due:
    kind: str  # "warning" | "breach"
    at: datetime  # when it came due: a late firing reports this real time
    fraction: float  # 0.5, 0.8 ... 1.0 for a breach


def start(policy: Policy, urgency: str, now: datetime) -> Clock:
    target = policy.target_for(urgency)
    return Clock(
        milestone=policy.milestone,
        state=State.RUNNING,
        budget=target.budget(policy.calendar, now),
        counted=timedelta(0),
        running_since=now,
        warnings=policy.warnings,
    )


def counted(clock: Clock, calendar: Calendar, now: datetime) -> timedelta:
    if clock.running_since is None:
        return clock.counted
    return clock.counted + calendar.counted(clock.running_since, now)


def deadline(clock: Clock, calendar: Calendar) -> datetime | None:
    """When the budget runs out, if the clock runs; None when paused or finished."""
    if clock.running_since is None or clock.state is not State.RUNNING:
        return None
    return calendar.add(clock.running_since, clock.budget - clock.counted)


def next_due(clock: Clock, calendar: Calendar) -> Due | None:
    """The next warning or the breach, with the instant it comes due."""
    if clock.state is not State.RUNNING or clock.running_since is None:
        return None
    fractions = [*clock.warnings[clock.warned :], 1.0]
    fraction = fractions[0]
    at = calendar.add(clock.running_since, clock.budget * fraction - clock.counted)
    return Due("breach" if fraction == 1.0 else "warning", at, fraction)


def fire(clock: Clock, calendar: Calendar, now: datetime) -> tuple[Clock, list[Due]]:
    """Everything that came due up to `now`, in order, each with its real due time."""
    fired: list[Due] = []
    while (due := next_due(clock, calendar)) is not None and due.at <= now:
        fired.append(due)
        if due.kind == "warning":
            clock = replace(clock, warned=clock.warned + 1)
        else:
            clock = replace(
                clock,
                state=move("clock", TRANSITIONS, clock.state, State.BREACHED),
                breached_at=due.at,
            )
    return clock, fired


def pause(clock: Clock, calendar: Calendar, now: datetime) -> Clock:
    state = move("clock", TRANSITIONS, clock.state, State.PAUSED)
    return replace(clock, state=state, counted=counted(clock, calendar, now), running_since=None)


def resume(clock: Clock, now: datetime) -> Clock:
    state = move("clock", TRANSITIONS, clock.state, State.RUNNING)
    return replace(clock, state=state, running_since=now)


def stop(clock: Clock, calendar: Calendar, now: datetime) -> Clock:
    """The milestone is reached: met (a clock already breached stays a breach on record)."""
    state = move("clock", TRANSITIONS, clock.state, State.MET)
    return replace(clock, state=state, counted=counted(clock, calendar, now), running_since=None)


def cancel(clock: Clock, calendar: Calendar, now: datetime) -> Clock:
    state = move("clock", TRANSITIONS, clock.state, State.CANCELLED)
    return replace(clock, state=state, counted=counted(clock, calendar, now), running_since=None)


def retarget(clock: Clock, policy: Policy, urgency: str, now: datetime) -> Clock:
    """The urgency changed: a new budget, the time already counted kept.

    A working-days target is re-evaluated from `now` (today all urgencies share it).

    Warnings already fired stay fired; warnings the new budget puts in the past fire at the next
    `fire`, with their (re-computed) due times.
    """
    budget = policy.target_for(urgency).budget(policy.calendar, now)
    if clock.state is State.RUNNING:
        clock = replace(clock, counted=counted(clock, policy.calendar, now), running_since=now)
    return replace(clock, budget=budget)


def _rules(starts: str, stops: str, cancels: str = "") -> Rules:
    return Rules(
        starts_on=frozenset(starts.split()),
        stops_on=frozenset(stops.split()),
        cancels_on=frozenset(cancels.split()),
    )


DEFAULT_RULES: dict[Milestone, Rules] = {
    Milestone.REFERRAL_CLAIMED: _rules(
        "referral_received referral_released",
        "referral_claimed referral_reassigned",
        "referral_decided referral_withdrawn",
    ),
    # A withdrawn referral needs no assessment any more: its clocks are cancelled, not met.
    Milestone.ASSESSMENT_DECIDED: _rules(
        "referral_received", "referral_decided", "referral_withdrawn"
    ),
    Milestone.UNIT_ON_SCENE: _rules("unit_dispatched", "unit_on_scene", "unit_released"),
    Milestone.HANDOVER_SENT: _rules(
        "case_opened handover_rejected", "handover_sent", "case_closed"
    ),
    # The territorial service's answer stops it, acceptance or rejection alike.
    Milestone.HANDOVER_ACCEPTED: _rules(
        "handover_sent", "handover_accepted handover_rejected", "case_closed"
    ),
    # Each check-in meets the running clock and starts the next one.
    Milestone.UNIT_CHECK_IN: _rules(
        "unit_on_scene unit_checked_in", "unit_checked_in", "unit_released"
    ),
}


def default_policies() -> dict[Milestone, Policy]:
    """DESIGN.md section 5's defaults, the seed of the editable policy table."""
    minutes, hours = timedelta(minutes=1), timedelta(hours=1)

    def same(target: Target) -> dict[str, Target]:
        return {u: target for u in URGENCIES}

    working = Calendar(kind=Kind.WORKING_DAYS)
    policies = {
        Milestone.REFERRAL_CLAIMED: Policy(Milestone.REFERRAL_CLAIMED, same(Target(5 * minutes))),
        Milestone.ASSESSMENT_DECIDED: Policy(
            Milestone.ASSESSMENT_DECIDED,
            {
                "rosso": Target(15 * minutes),
                "giallo": Target(30 * minutes),
                "verde": Target(2 * hours),
            },
        ),
        Milestone.UNIT_ON_SCENE: Policy(
            Milestone.UNIT_ON_SCENE,
            {
                "rosso": Target(60 * minutes),
                "giallo": Target(2 * hours),
                "verde": Target(24 * hours),
            },
        ),
        Milestone.HANDOVER_SENT: Policy(
            Milestone.HANDOVER_SENT,
            {
                "rosso": Target(24 * hours),
                "giallo": Target(24 * hours),
                "verde": Target(48 * hours),
            },
        ),
        Milestone.HANDOVER_ACCEPTED: Policy(
            Milestone.HANDOVER_ACCEPTED, same(Target(working_days=1)), calendar=working
        ),
        Milestone.UNIT_CHECK_IN: Policy(Milestone.UNIT_CHECK_IN, same(Target(30 * minutes))),
    }
    return {m: replace(p, rules=DEFAULT_RULES[m]) for m, p in policies.items()}
