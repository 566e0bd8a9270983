"""SLA rules: which moments of the workflow start, pause, resume, stop and cancel which clock.

Every action's events pass through `moment_of`; `plan` turns those moments, the policies and
the clocks already open into clock changes. The edge applies the changes in the action's own
transaction, so a clock can never disagree with the workflow it measures.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from dispatch import access, clocks, referrals
from dispatch.calendars import Calendar
from dispatch.clocks import Clock, Milestone, Policy, State
from dispatch.events import NewEvent, actor_of


class Trigger(enum.StrEnum):
    """Moments of the workflow a policy can name."""

    REFERRAL_RECEIVED = "referral_received"
    REFERRAL_CLAIMED = "referral_claimed"
    REFERRAL_RELEASED = "referral_released"
    REFERRAL_REASSIGNED = "referral_reassigned"
    REFERRAL_DECIDED = "referral_decided"
    REFERRAL_WITHDRAWN = "referral_withdrawn"  # by its referrer
    CASE_OPENED = "case_opened"
    UNIT_DISPATCHED = "unit_dispatched"
    UNIT_ON_SCENE = "unit_on_scene"
    UNIT_CHECKED_IN = "unit_checked_in"
    UNIT_RELEASED = "unit_released"
    HANDOVER_SENT = "handover_sent"
    HANDOVER_ACCEPTED = "handover_accepted"
    HANDOVER_REJECTED = "handover_rejected"
    CASE_CLOSED = "case_closed"
    URGENCY_CHANGED = "urgency_changed"  # re-targets every open clock of the subject


class Kind(enum.StrEnum):
    """What a clock measures: a referral, a case, or one unit's assignment."""

    REFERRAL = "referral"
    CASE = "case"
    ASSIGNMENT = "assignment"


MILESTONE_KIND: dict[Milestone, Kind] = {
    Milestone.REFERRAL_CLAIMED: Kind.REFERRAL,
    Milestone.ASSESSMENT_DECIDED: Kind.REFERRAL,
    Milestone.UNIT_ON_SCENE: Kind.ASSIGNMENT,
    Milestone.HANDOVER_SENT: Kind.CASE,
    Milestone.HANDOVER_ACCEPTED: Kind.CASE,
    Milestone.UNIT_CHECK_IN: Kind.ASSIGNMENT,
}

MILESTONE_LABELS: dict[Milestone, str] = {
    Milestone.REFERRAL_CLAIMED: "Presa visione",
    Milestone.ASSESSMENT_DECIDED: "Valutazione",
    Milestone.UNIT_ON_SCENE: "Unità sul posto",
    Milestone.HANDOVER_SENT: "Invio passaggio in carico",
    Milestone.HANDOVER_ACCEPTED: "Risposta del servizio territoriale",
    Milestone.UNIT_CHECK_IN: "Check-in di sicurezza",
}

TRIGGER_LABELS: dict[Trigger, str] = {
    Trigger.REFERRAL_RECEIVED: "segnalazione ricevuta",
    Trigger.REFERRAL_CLAIMED: "presa in valutazione",
    Trigger.REFERRAL_RELEASED: "rimessa in coda",
    Trigger.REFERRAL_REASSIGNED: "riassegnata",
    Trigger.REFERRAL_DECIDED: "valutazione decisa",
    Trigger.REFERRAL_WITHDRAWN: "ritirata dal segnalante",
    Trigger.CASE_OPENED: "caso aperto",
    Trigger.UNIT_DISPATCHED: "unità inviata",
    Trigger.UNIT_ON_SCENE: "unità sul posto",
    Trigger.UNIT_CHECKED_IN: "check-in dell'unità",
    Trigger.UNIT_RELEASED: "unità libera dal caso",
    Trigger.HANDOVER_SENT: "passaggio inviato",
    Trigger.HANDOVER_ACCEPTED: "passaggio accettato",
    Trigger.HANDOVER_REJECTED: "passaggio respinto",
    Trigger.CASE_CLOSED: "caso chiuso",
    Trigger.URGENCY_CHANGED: "codice di urgenza cambiato",
}

# The same moments as the end of a sentence: "Il tempo parte quando la segnalazione è ricevuta".
TRIGGER_SENTENCES: dict[Trigger, str] = {
    Trigger.REFERRAL_RECEIVED: "la segnalazione è ricevuta",
    Trigger.REFERRAL_CLAIMED: "la segnalazione è presa in valutazione",
    Trigger.REFERRAL_RELEASED: "la segnalazione è rimessa in coda",
    Trigger.REFERRAL_REASSIGNED: "la segnalazione è riassegnata a un altro operatore",
    Trigger.REFERRAL_DECIDED: "la valutazione è decisa",
    Trigger.REFERRAL_WITHDRAWN: "il segnalante ritira la segnalazione",
    Trigger.CASE_OPENED: "il caso è aperto",
    Trigger.UNIT_DISPATCHED: "un'unità è inviata",
    Trigger.UNIT_ON_SCENE: "l'unità arriva sul posto",
    Trigger.UNIT_CHECKED_IN: "l'unità fa il check-in",
    Trigger.UNIT_RELEASED: "l'unità è liberata dal caso",
    Trigger.HANDOVER_SENT: "il passaggio in carico è inviato",
    Trigger.HANDOVER_ACCEPTED: "il servizio territoriale accetta il passaggio",
    Trigger.HANDOVER_REJECTED: "il servizio territoriale respinge il passaggio",
    Trigger.CASE_CLOSED: "il caso è chiuso",
    Trigger.URGENCY_CHANGED: "il codice di urgenza cambia",
}

URGENCIES = referrals.URGENCIES
DEFAULT_URGENCY = "giallo"  # a referral nobody has coded yet (the referrer proposed none)


@dataclass(frozen=True, slots=True)
class Moment:
    trigger: Trigger
    keys: Mapping[Kind, tuple[int, ...]]  # the referral, case, assignments it is about


def _ids(*values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values if isinstance(v, int) and not isinstance(v, bool))


_CASE_EVENTS = {
    "case.opened": Trigger.CASE_OPENED,
    "case.unit_dispatched": Trigger.UNIT_DISPATCHED,
    "case.unit_on_scene": Trigger.UNIT_ON_SCENE,
    "unit.checked_in": Trigger.UNIT_CHECKED_IN,
    "case.unit_released": Trigger.UNIT_RELEASED,
    "case.handover_sent": Trigger.HANDOVER_SENT,
    "handover.accepted": Trigger.HANDOVER_ACCEPTED,
    "handover.rejected": Trigger.HANDOVER_REJECTED,
    "case.closed": Trigger.CASE_CLOSED,
    "case.urgency_changed": Trigger.URGENCY_CHANGED,
}
_REFERRAL_EVENTS = {
    "referral.received": Trigger.REFERRAL_RECEIVED,
    "referral.claimed": Trigger.REFERRAL_CLAIMED,
    "referral.released": Trigger.REFERRAL_RELEASED,
    "referral.reassigned": Trigger.REFERRAL_REASSIGNED,
    "referral.decided": Trigger.REFERRAL_DECIDED,
    "referral.withdrawn": Trigger.REFERRAL_WITHDRAWN,
}


def moment_of(event: NewEvent) -> Moment | None:
    """The workflow moment an event records, if a clock may care."""
    p = event.payload
    if (trigger := _REFERRAL_EVENTS.get(event.type)) is not None:
        return Moment(trigger, {Kind.REFERRAL: _ids(p.get("id"))})
    if (trigger := _CASE_EVENTS.get(event.type)) is not None:
        assignments = _ids(p.get("assignment_id"), *p.get("assignment_ids", ()))
        keys = {Kind.CASE: _ids(p.get("case_id")), Kind.ASSIGNMENT: assignments}
        if trigger is Trigger.CASE_OPENED:
            keys[Kind.REFERRAL] = _ids(p.get("referral_id"))
        return Moment(trigger, keys)
    return None


# ---- policies -------------------------------------------------------------------------------


KIND_LABELS = {Kind.REFERRAL: "una segnalazione", Kind.CASE: "un caso", Kind.ASSIGNMENT: "un invio"}

# Which subjects each moment names (a start needs the milestone's own kind).
TRIGGER_KINDS: dict[Trigger, frozenset[Kind]] = {
    **{t: frozenset({Kind.REFERRAL}) for t in _REFERRAL_EVENTS.values()},
    **{t: frozenset({Kind.CASE}) for t in _CASE_EVENTS.values()},
    Trigger.CASE_OPENED: frozenset({Kind.CASE, Kind.REFERRAL}),
    Trigger.UNIT_DISPATCHED: frozenset({Kind.CASE, Kind.ASSIGNMENT}),
    Trigger.UNIT_ON_SCENE: frozenset({Kind.CASE, Kind.ASSIGNMENT}),
    Trigger.UNIT_CHECKED_IN: frozenset({Kind.CASE, Kind.ASSIGNMENT}),
    Trigger.UNIT_RELEASED: frozenset({Kind.CASE, Kind.ASSIGNMENT}),
    Trigger.URGENCY_CHANGED: frozenset({Kind.CASE, Kind.ASSIGNMENT}),
}


def triggers_for(milestone: Milestone) -> list[Trigger]:
    """The moments a rule of this milestone can act on: those that name its kind of subject
    (an urgency change re-targets every clock by itself and is no rule)."""
    kind = MILESTONE_KIND[milestone]
    return [t for t in Trigger if t is not Trigger.URGENCY_CHANGED and kind in TRIGGER_KINDS[t]]


def rule_problems(milestone: Milestone, rules: clocks.Rules) -> list[tuple[str, str]]:
    """What is wrong with a policy's rules, by field: unknown moments, a clock never started."""
    known = {t.value for t in Trigger} - {Trigger.URGENCY_CHANGED.value}
    problems = []
    for name in ("starts_on", "pauses_on", "resumes_on", "stops_on", "cancels_on"):
        unknown = sorted(set(getattr(rules, name)) - known)
        if unknown:
            problems.append((name, f"momenti sconosciuti: {', '.join(unknown)}"))
    if not rules.starts_on:
        problems.append(("starts_on", "serve almeno un momento che avvia l'orologio"))
    if not (rules.stops_on or rules.cancels_on):
        problems.append(("stops_on", "serve almeno un momento che ferma l'orologio"))
    kind = MILESTONE_KIND[milestone]
    for trigger in sorted(rules.starts_on & known):
        if kind not in TRIGGER_KINDS[Trigger(trigger)]:
            problems.append(
                ("starts_on", f"'{trigger}' non riguarda {KIND_LABELS[kind]}: non può avviarlo")
            )
    return problems


# ---- planning -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tracked:
    """A clock as stored: its identity, what it measures, its urgency and calendar."""

    id: int | None  # None until the edge inserts it
    kind: Kind
    key: int
    urgency: str
    calendar: Calendar
    clock: Clock

    @property
    def milestone(self) -> Milestone:
        return self.clock.milestone


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # started | paused | resumed | met | cancelled | retargeted
    tracked: Tracked  # after the change
    trigger: Trigger


def _can(clock: Clock, target: State) -> bool:
    return target in clocks.TRANSITIONS.get(clock.state, frozenset())


@dataclass
class _Planner:
    policies: Mapping[Milestone, Policy]
    urgency_of: Mapping[tuple[Kind, int], str]
    at: datetime  # the action's time
    open: dict[tuple[Milestone, int], Tracked]
    changes: list[Change] = field(default_factory=list)

    def _set(self, action: str, tracked: Tracked, trigger: Trigger) -> None:
        key = (tracked.milestone, tracked.key)
        if tracked.clock.state in (State.MET, State.CANCELLED):
            self.open.pop(key, None)
        else:
            self.open[key] = tracked
        self.changes.append(Change(action, tracked, trigger))

    def apply(self, moment: Moment) -> None:
        for milestone, policy in self.policies.items():
            kind = MILESTONE_KIND[milestone]
            for key in moment.keys.get(kind, ()):
                self._apply_one(moment.trigger, policy, kind, key)

    def _apply_one(self, trigger: Trigger, policy: Policy, kind: Kind, key: int) -> None:
        rules, now = policy.rules, self.at
        current = self.open.get((policy.milestone, key))
        if current is not None:
            clock, calendar = current.clock, current.calendar
            if trigger is Trigger.URGENCY_CHANGED:
                urgency = self.urgency_of.get((kind, key), current.urgency)
                if urgency != current.urgency:
                    new = clocks.retarget(clock, policy, urgency, now)
                    self._set("retargeted", replace(current, urgency=urgency, clock=new), trigger)
            elif trigger in rules.cancels_on and _can(clock, State.CANCELLED):
                new = clocks.cancel(clock, calendar, now)
                self._set("cancelled", replace(current, clock=new), trigger)
            elif trigger in rules.stops_on and _can(clock, State.MET):
                self._set("met", replace(current, clock=clocks.stop(clock, calendar, now)), trigger)
            elif trigger in rules.pauses_on and _can(clock, State.PAUSED):
                new = clocks.pause(clock, calendar, now)
                self._set("paused", replace(current, clock=new), trigger)
            elif trigger in rules.resumes_on and _can(clock, State.RUNNING):
                self._set("resumed", replace(current, clock=clocks.resume(clock, now)), trigger)
        if trigger in rules.starts_on and (policy.milestone, key) not in self.open:
            urgency = self.urgency_of.get((kind, key)) or DEFAULT_URGENCY
            started = Tracked(None, kind, key, urgency, policy.calendar, clocks.start(
                policy, urgency, now))  # fmt: skip
            self._set("started", started, trigger)


def plan(
    moments: Iterable[Moment],
    policies: Mapping[Milestone, Policy],
    open_clocks: Sequence[Tracked],
    urgency_of: Mapping[tuple[Kind, int], str],
    now: datetime,
) -> list[Change]:
    """The clock changes these moments make, in order.

    For each moment and each milestone whose kind it names: an urgency change re-targets the
    open clock; otherwise the open clock is cancelled, stopped, paused or resumed (the first
    rule that names the moment and that its state allows); then, if the moment starts the
    milestone and no clock of it is open for that subject, a new clock starts. A check-in
    that both stops and starts the check-in clock therefore meets one and starts the next.
    """
    planner = _Planner(policies, urgency_of, now, {(t.milestone, t.key): t for t in open_clocks})
    for moment in moments:
        planner.apply(moment)
    return planner.changes


def keys_of(moments: Iterable[Moment]) -> dict[Kind, set[int]]:
    """Every subject the moments name, by kind: what the edge loads before planning."""
    found: dict[Kind, set[int]] = {kind: set() for kind in Kind}
    for moment in moments:
        for kind, ids in moment.keys.items():
            found[kind].update(ids)
    return found


# ---- what screens see -------------------------------------------------------------------------


def view(tracked: Tracked) -> dict[str, Any]:
    """A clock as screens need it: countdowns are computed in the browser from `deadline`."""
    clock, calendar = tracked.clock, tracked.calendar
    deadline = clocks.deadline(clock, calendar)
    due = clocks.next_due(clock, calendar)
    return {
        "clock_id": tracked.id,
        "milestone": clock.milestone.value,
        "label": MILESTONE_LABELS[clock.milestone],
        "kind": tracked.kind.value,
        "key": tracked.key,
        "urgency": tracked.urgency,
        "state": clock.state.value,
        "budget_seconds": int(clock.budget.total_seconds()),
        "deadline": deadline.isoformat() if deadline else None,
        "next_due": due.at.isoformat() if due else None,
        "warned": clock.warned,
        "breached_at": clock.breached_at.isoformat() if clock.breached_at else None,
    }


def clock_event(
    action: str,
    tracked: Tracked,
    context: Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    unit_id: int | None = None,
) -> NewEvent:
    """A clock's change for the room (and the unit whose assignment it measures)."""
    audience = {access.ROOM}
    if unit_id is not None:
        audience.add(access.unit_tag(unit_id))
    return NewEvent(
        type=f"clock.{action}",
        subject=f"clock:{tracked.id}",
        audience=frozenset(audience),
        payload={**view(tracked), **context, **(extra or {})},
        actor="system",
        zone=context.get("zone_id"),
    )


def late_by(due_at: datetime, now: datetime) -> timedelta:
    return max(timedelta(0), now - due_at)


def policy_changed(milestone: str, policy: Mapping[str, Any], by: access.Principal) -> NewEvent:
    """An administrator replaced a milestone's policy (`policy`: as the API shows it)."""
    return NewEvent(
        type="sla.policy_changed",
        subject=f"sla_policy:{milestone}",
        audience=frozenset({access.AUDIT, access.SUPERVISORS}),
        payload=dict(policy),
        actor=actor_of(by),
    )
