"""Referrals (segnalazioni): what arrives from a referrer, its assessment and decision.

received -> in_assessment (claimed by one operator) -> activated (a case opens)
                                                    -> not_pertinent / redirected (reason)
                                                    -> merged into another referral
received / in_assessment / activated (no unit sent yet) -> withdrawn by its referrer (reason)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch import access
from dispatch.errors import DomainError, IllegalTransition, Refused
from dispatch.events import NewEvent, actor_of
from dispatch.states import move


class Trigger(enum.StrEnum):
    """The service's own trigger categories (the Region publishes counts by these)."""

    FAMILY_CONFLICT = "family_conflict"  # conflitto familiare e maltrattamento
    VIOLENCE = "violence"  # violenza e abuso, percorso Codice Rosa
    ABANDONMENT = "abandonment"
    LOSS_OF_SELF_SUFFICIENCY = "loss_of_self_sufficiency"
    POVERTY_HOMELESSNESS = "poverty_homelessness"
    DEPENDENCY = "dependency"
    MINORS_AT_RISK = "minors_at_risk"
    CALAMITY = "calamity"


TRIGGER_LABELS = {
    Trigger.FAMILY_CONFLICT: "Conflitto familiare e maltrattamento",
    Trigger.VIOLENCE: "Violenza e abuso (Codice Rosa)",
    Trigger.ABANDONMENT: "Abbandono",
    Trigger.LOSS_OF_SELF_SUFFICIENCY: "Perdita di autosufficienza",
    Trigger.POVERTY_HOMELESSNESS: "Povertà e senza dimora",
    Trigger.DEPENDENCY: "Dipendenze",
    Trigger.MINORS_AT_RISK: "Minori in grave rischio",
    Trigger.CALAMITY: "Calamità ed emergenza climatica",
}


class Urgency(enum.StrEnum):
    ROSSO = "rosso"
    GIALLO = "giallo"
    VERDE = "verde"


URGENCY_ORDER = tuple(Urgency)  # the one urgency order: most urgent first
URGENCIES = tuple(u.value for u in URGENCY_ORDER)


def urgency_rank(value: str | None) -> int:
    """Position in the urgency order (the most urgent is 0); no code, or an unknown one, last."""
    return URGENCIES.index(value) if value in URGENCIES else len(URGENCIES)


class ReferrerKind(enum.StrEnum):
    POLICE = "police"
    CARABINIERI = "carabinieri"
    MUNICIPAL_POLICE = "municipal_police"
    HOSPITAL = "hospital"  # ospedale / pronto soccorso
    SOCIAL_SERVICE = "social_service"  # servizio sociale territoriale
    PREFECTURE = "prefecture"
    MUNICIPALITY = "municipality"
    OTHER = "other"  # altro ente competente


class Status(enum.StrEnum):
    RECEIVED = "received"
    IN_ASSESSMENT = "in_assessment"
    ACTIVATED = "activated"
    NOT_PERTINENT = "not_pertinent"
    REDIRECTED = "redirected"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"  # by its referrer, with a reason (dispatch.intake.withdrawal_refusal)


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.IN_ASSESSMENT, Status.WITHDRAWN}),
    Status.IN_ASSESSMENT: frozenset(
        {Status.RECEIVED, Status.ACTIVATED, Status.NOT_PERTINENT, Status.REDIRECTED, Status.MERGED}
        | {Status.WITHDRAWN}
    ),
    Status.ACTIVATED: frozenset({Status.WITHDRAWN}),  # only before a unit is sent
}

OPEN = frozenset({Status.RECEIVED, Status.IN_ASSESSMENT})

# Refusals reach the room's pages as they are: each says, in Italian, where the referral stands
# and what cannot be done (the error's type, hence its API code, stays the same).
_WHERE = {
    Status.RECEIVED: "La segnalazione è in attesa, non in valutazione",
    Status.IN_ASSESSMENT: "La segnalazione è già in valutazione",
    Status.ACTIVATED: "La segnalazione è già stata attivata",
    Status.NOT_PERTINENT: "La segnalazione è già stata chiusa come non pertinente",
    Status.REDIRECTED: "La segnalazione è già stata reindirizzata",
    Status.MERGED: "La segnalazione è già stata unita a un'altra",
    Status.WITHDRAWN: "La segnalazione è stata ritirata dal segnalante",
}
_WHAT = {
    Status.IN_ASSESSMENT: "non si può prendere in carico",
    Status.RECEIVED: "non si può rimettere in coda",
    Status.ACTIVATED: "non si può più decidere",
    Status.NOT_PERTINENT: "non si può più decidere",
    Status.REDIRECTED: "non si può più decidere",
    Status.MERGED: "non si può più decidere",
    Status.WITHDRAWN: "non si può ritirare",
}


def refusal_text(current: Status, cannot: str) -> str:
    """A refusal in Italian: where the referral stands, then what cannot be done."""
    return f"{_WHERE[current]}: {cannot}."


class IllegalReferralMove(IllegalTransition):
    """A move the table forbids, said in Italian; still an IllegalTransition (409
    `illegal_transition`), with its entity, current and target."""

    def __init__(self, current: Status, target: Status) -> None:
        super().__init__("referral", current.value, target.value)
        self.args = (refusal_text(current, _WHAT[target]),)


def _move(current: Status, target: Status) -> Status:
    try:
        return move("referral", TRANSITIONS, current, target)
    except IllegalTransition:
        raise IllegalReferralMove(current, target) from None


@dataclass(frozen=True, slots=True)
class Claim:
    status: Status
    holder: int | None  # the operator (user id) assessing it


def claim(current: Claim, operator: int) -> Claim:
    """Take a received referral into assessment. A second claim is refused, even a repeat."""
    if current.status is Status.IN_ASSESSMENT:
        raise Refused("Segnalazione già in valutazione da un altro operatore.")
    return Claim(_move(current.status, Status.IN_ASSESSMENT), operator)


def release(current: Claim, operator: int) -> Claim:
    """Give a referral back to the queue (only its holder)."""
    _held_by(current, operator)
    return Claim(_move(current.status, Status.RECEIVED), None)


def reassign(current: Claim, operator: int) -> Claim:
    """A supervisor hands an open referral to another operator."""
    if current.status not in OPEN:
        raise Refused(refusal_text(current.status, "non si può riassegnare"))
    return Claim(Status.IN_ASSESSMENT, operator)


class Decision(enum.StrEnum):
    ACTIVATE = "activate"
    NOT_PERTINENT = "not_pertinent"
    REDIRECT = "redirect"
    MERGE = "merge"


DECISION_STATUS = {
    Decision.ACTIVATE: Status.ACTIVATED,
    Decision.NOT_PERTINENT: Status.NOT_PERTINENT,
    Decision.REDIRECT: Status.REDIRECTED,
    Decision.MERGE: Status.MERGED,
}


def decide(
    current: Claim,
    operator: int,
    decision: Decision,
    *,
    reason: str | None = None,
    merge_into: int | None = None,
) -> Status:
    """The assessment's outcome; only the holder decides; reasons where the rules want them."""
    _held_by(current, operator, "non si può più decidere")
    if decision in (Decision.NOT_PERTINENT, Decision.REDIRECT) and not (reason or "").strip():
        raise DomainError("Indicare il motivo della decisione.")
    if decision is Decision.MERGE and merge_into is None:
        raise DomainError("Indicare la segnalazione in cui unirla.")
    return _move(current.status, DECISION_STATUS[decision])


def _held_by(current: Claim, operator: int, cannot: str = "non si può rimettere in coda") -> None:
    """Only the holder acts on a referral in assessment; a closed one says why it is closed."""
    if current.status is Status.RECEIVED:
        raise Refused("La segnalazione non è in valutazione: prima va presa in carico.")
    if current.status is not Status.IN_ASSESSMENT:
        raise Refused(refusal_text(current.status, cannot))
    if current.holder != operator:
        raise Refused("Solo l'operatore che sta valutando la segnalazione può farlo.")


def queue_key(urgency: Urgency, received_epoch_s: float) -> tuple[int, float]:
    """The room's order: most urgent first, then longest waiting."""
    return (urgency_rank(urgency), received_epoch_s)


class Progress(enum.StrEnum):
    """What a referrer sees of its referral: the status, never the assessment or notes."""

    RECEIVED = "received"
    IN_ASSESSMENT = "in_assessment"
    ACTIVATED = "activated"
    UNIT_ON_SCENE = "unit_on_scene"
    HANDED_OVER = "handed_over"
    CLOSED = "closed"
    NOT_PERTINENT = "not_pertinent"
    WITHDRAWN = "withdrawn"


PROGRESS_LABELS = {
    Progress.RECEIVED: "Ricevuta",
    Progress.IN_ASSESSMENT: "In valutazione",
    Progress.ACTIVATED: "Presa in carico attivata",
    Progress.UNIT_ON_SCENE: "Unità sul posto",
    Progress.HANDED_OVER: "Passata al servizio territoriale",
    Progress.CLOSED: "Chiusa",
    Progress.NOT_PERTINENT: "Non pertinente",
    Progress.WITHDRAWN: "Ritirata",
}

_CASE_PROGRESS = {
    "open": Progress.ACTIVATED,
    "unit_dispatched": Progress.ACTIVATED,
    "on_scene": Progress.UNIT_ON_SCENE,
    "resources_in_place": Progress.UNIT_ON_SCENE,
    "handover_sent": Progress.UNIT_ON_SCENE,
    "handover_rejected": Progress.UNIT_ON_SCENE,
    "handover_accepted": Progress.HANDED_OVER,
    "closed": Progress.CLOSED,
}


# Case statuses that follow a unit's arrival only when a unit did arrive: resources can be put
# in place, and a case handed over, straight from the room.
_AFTER_ARRIVAL = frozenset({"resources_in_place", "handover_sent", "handover_rejected"})


def progress(status: Status, case_status: str | None, *, unit_arrived: bool) -> Progress:
    """A referral's progress from its status and, once activated, its case's status and whether
    a unit reached the person: the referrer is told only what happened.

    A merged referral shows the progress of the one it was merged into: the caller passes that
    referral's status, case status and arrival.
    """
    if status in (Status.NOT_PERTINENT, Status.REDIRECTED):
        return Progress.NOT_PERTINENT
    if status is Status.WITHDRAWN:
        return Progress.WITHDRAWN
    if status is Status.ACTIVATED:
        if case_status in _AFTER_ARRIVAL and not unit_arrived:
            return Progress.ACTIVATED
        return _CASE_PROGRESS.get(case_status or "open", Progress.ACTIVATED)
    if status is Status.IN_ASSESSMENT:
        return Progress.IN_ASSESSMENT
    return Progress.RECEIVED


# Events that move a referral's status, or its case's (then a referral's progress may change,
# and its referrer is told: `to_tell`).
_MOVES_REFERRAL = frozenset(
    {"referral.received", "referral.claimed", "referral.released", "referral.decided"}
    | {"referral.withdrawn"}
)
_MOVES_CASE = frozenset(
    {"case.status_changed", "case.handover_sent", "handover.accepted", "handover.rejected"}
    | {"case.closed"}
)
_MAY_MOVE_CASE = frozenset({"case.unit_dispatched", "case.unit_on_scene", "case.unit_released"})


def to_tell(events: Iterable[NewEvent]) -> list[tuple[str, int]]:
    """Whose referrer must be told its referral's progress after these events, in order and
    once each: ("referral", id) or ("case", id) (the edge finds the case's referral).

    Told: a referral received, claimed, released or decided, and the referrals that followed
    a merged one to its target (`repointed`); a referral handed by a supervisor to an operator
    while nobody held it (it goes into assessment); a case whose status moved (a resource in
    place, a handover sent, accepted or rejected, a closing; a unit sent, arrived or gone when
    the case's status moved with it). The referrals merged into any of them follow (the edge
    finds them: a merged referral shows its target's progress)."""
    found: dict[tuple[str, int], None] = {}
    for event in events:
        kind, _, key = event.subject.partition(":")
        payload = event.payload
        if event.type in _MOVES_REFERRAL or (
            event.type == "referral.reassigned" and payload.get("from") is None
        ):
            found[("referral", int(key))] = None
            found.update(dict.fromkeys(("referral", r) for r in payload.get("repointed", ())))
        elif event.type in _MOVES_CASE or (
            event.type in _MAY_MOVE_CASE and payload.get("previous") != payload.get("status")
        ):
            found[("case", int(key) if kind == "case" else int(payload["case_id"]))] = None
    return list(found)


# ---- the room: claim rules, queue order, assessment, merge candidates, events ----------------
# (kept below so that intake's additions above stay apart)


class RiskFactor(enum.StrEnum):
    """The risk factors an assessment may record (a fixed set: the room counts by them)."""

    VIOLENCE_ONGOING = "violence_ongoing"
    MINORS_INVOLVED = "minors_involved"
    HEALTH_RISK = "health_risk"
    SELF_HARM_RISK = "self_harm_risk"
    NO_SHELTER = "no_shelter"
    COLD_WEATHER = "cold_weather"
    HEAT_WAVE = "heat_wave"
    DISABILITY = "disability"
    ELDERLY_ALONE = "elderly_alone"
    LANGUAGE_BARRIER = "language_barrier"
    REPEATED_REFERRAL = "repeated_referral"


RISK_LABELS = {
    RiskFactor.VIOLENCE_ONGOING: "Violenza in corso o imminente",
    RiskFactor.MINORS_INVOLVED: "Minori coinvolti",
    RiskFactor.HEALTH_RISK: "Rischio per la salute",
    RiskFactor.SELF_HARM_RISK: "Rischio autolesivo",
    RiskFactor.NO_SHELTER: "Senza riparo per la notte",
    RiskFactor.COLD_WEATHER: "Freddo intenso",
    RiskFactor.HEAT_WAVE: "Ondata di calore",
    RiskFactor.DISABILITY: "Disabilità",
    RiskFactor.ELDERLY_ALONE: "Anziano solo",
    RiskFactor.LANGUAGE_BARRIER: "Barriera linguistica",
    RiskFactor.REPEATED_REFERRAL: "Segnalazione ripetuta",
}

URGENCY_LABELS = {Urgency.ROSSO: "Rosso", Urgency.GIALLO: "Giallo", Urgency.VERDE: "Verde"}

STATUS_LABELS = {
    Status.RECEIVED: "In attesa",
    Status.IN_ASSESSMENT: "In valutazione",
    Status.ACTIVATED: "Presa in carico attivata",
    Status.NOT_PERTINENT: "Non pertinente",
    Status.REDIRECTED: "Reindirizzata",
    Status.MERGED: "Unita a un'altra segnalazione",
    Status.WITHDRAWN: "Ritirata dal segnalante",
}

DECISION_LABELS = {
    Decision.ACTIVATE: "Attiva presa in carico",
    Decision.NOT_PERTINENT: "Non pertinente",
    Decision.REDIRECT: "Reindirizza",
    Decision.MERGE: "Unisci",
}

# A referral with neither an assessed urgency nor a proposal waits as giallo: the claim target
# (5 minutes) is the same for every urgency, so the default only orders it among the others,
# behind every rosso and ahead of every verde.
DEFAULT_QUEUE_URGENCY = Urgency.GIALLO


def queue_urgency(assessed: Urgency | None, proposed: Urgency | None) -> Urgency:
    """The urgency the queue orders by: the room's assessment, else the referrer's proposal."""
    return assessed or proposed or DEFAULT_QUEUE_URGENCY


def reassign_checked(current: Claim, operator: int) -> Claim:
    """`reassign`, refusing a hand-over to the operator who already holds the referral."""
    if current.status is Status.IN_ASSESSMENT and current.holder == operator:
        raise Refused("La segnalazione è già in valutazione da questo operatore.")
    return reassign(current, operator)


def decision_problems(
    decision: Decision,
    *,
    reason: str | None,
    urgency: Urgency | None,
    redirect_to: str | None,
    merge_into: int | None,
    referral_id: int,
) -> list[tuple[str, str]]:
    """What a decision lacks, as (field, message in Italian); empty when it is complete."""
    problems = []
    blank = not (reason or "").strip()
    if decision is Decision.ACTIVATE and urgency is None:
        problems.append(("assessment.urgency", "Per attivare serve il codice di urgenza."))
    if decision in (Decision.NOT_PERTINENT, Decision.REDIRECT) and blank:
        problems.append(("reason", "Indicare il motivo della decisione."))
    if decision is Decision.REDIRECT and not (redirect_to or "").strip():
        problems.append(("redirect_to", "Indicare a chi è reindirizzata."))
    if decision is Decision.MERGE:
        if merge_into is None:
            problems.append(("merge_into", "Indicare la segnalazione in cui unirla."))
        elif merge_into == referral_id:
            problems.append(("merge_into", "Una segnalazione non si unisce a sé stessa."))
    return problems


def check_merge_target(referral_id: int, target_id: int, target_status: Status | None) -> None:
    """A merge needs another referral that exists, was not merged itself and was not withdrawn
    (a referral merged into a withdrawn one would be followed by nobody)."""
    if target_status is None:
        raise DomainError("La segnalazione in cui unirla non esiste.")
    if target_id == referral_id:
        raise DomainError("Una segnalazione non si unisce a sé stessa.")
    if target_status is Status.MERGED:
        raise Refused(
            "La segnalazione scelta è stata a sua volta unita a un'altra: unisci a quest'ultima."
        )
    if target_status is Status.WITHDRAWN:
        raise Refused(
            "La segnalazione scelta è stata ritirata dal segnalante: non si può unire a essa."
        )


@dataclass(frozen=True, slots=True)
class ReferralRef:
    """What every room event of a referral names: the referral, its case number, its zone."""

    id: int
    case_number: str
    zone: str


def _room_event(
    type_: str, referral: ReferralRef, payload: dict[str, Any], by: access.Principal
) -> NewEvent:
    return NewEvent(
        type=type_,
        subject=f"referral:{referral.id}",
        audience=frozenset({access.ROOM}),
        payload={"id": referral.id, "case_number": referral.case_number, **payload},
        actor=actor_of(by),
        zone=referral.zone,
    )


def referral_claimed(referral: ReferralRef, by: access.Principal, at: datetime) -> NewEvent:
    """An operator took the referral into assessment."""
    payload = {"holder_id": by.user_id, "holder_name": by.name, "at": at.isoformat()}
    return _room_event("referral.claimed", referral, payload, by)


def referral_released(
    referral: ReferralRef,
    by: access.Principal,
    at: datetime,
    reason: str | None,
) -> NewEvent:
    """The holder gave the referral back to the queue."""
    payload = {
        "holder_id": None,
        "released_by": by.user_id,
        "released_by_name": by.name,
        "reason": reason,
        "at": at.isoformat(),
    }
    return _room_event("referral.released", referral, payload, by)


def referral_reassigned(
    referral: ReferralRef,
    by: access.Principal,
    at: datetime,
    *,
    from_: tuple[int | None, str | None],
    to: tuple[int, str],
    reason: str | None,
) -> NewEvent:
    """A supervisor handed the referral to another operator."""
    payload = {
        "from": from_[0],
        "from_name": from_[1],
        "to": to[0],
        "to_name": to[1],
        "holder_id": to[0],
        "holder_name": to[1],
        "by_name": by.name,
        "reason": reason,
        "at": at.isoformat(),
    }
    return _room_event("referral.reassigned", referral, payload, by)


def referral_decided(
    referral: ReferralRef,
    by: access.Principal,
    at: datetime,
    *,
    decision: Decision,
    reason: str | None,
    urgency: Urgency | None,
    case_id: int | None = None,
    merged_into: int | None = None,
    redirect_to: str | None = None,
    repointed: Sequence[int] = (),
) -> NewEvent:
    """The assessment's outcome (the full detail: the room only). `repointed`: on a merge, the
    referrals that had been merged into this one and now follow the target too."""
    payload = {
        "decision": decision.value,
        "status": DECISION_STATUS[decision].value,
        "reason": reason,
        "urgency": urgency.value if urgency else None,
        "case_id": case_id,
        "merged_into": merged_into,
        "repointed": list(repointed),
        "redirect_to": redirect_to,
        "by_name": by.name,
        "at": at.isoformat(),
    }
    return _room_event("referral.decided", referral, payload, by)


def case_opened(
    case_id: int,
    referral_id: int,
    case_number: str,
    by: access.Principal,
    at: datetime,
    *,
    zone: str,
    urgency: Urgency,
    needs: Sequence[str],
    skills: Sequence[str],
    language: str | None,
) -> NewEvent:
    """An activation opened a case (presa in carico), owned by the operator who decided."""
    return NewEvent(
        type="case.opened",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "referral_id": referral_id,
            "case_number": case_number,
            "urgency": urgency.value,
            "zone": zone,
            "needs": list(needs),
            "skills": list(skills),
            "language": language,
            "owner_id": by.user_id,
            "owner_name": by.name,
            "at": at.isoformat(),
        },
        actor=actor_of(by),
        zone=zone,
    )
