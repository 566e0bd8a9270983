"""Referrals (segnalazioni): what arrives from a referrer, its assessment and decision.

received -> in_assessment (claimed by one operator) -> activated (a case opens)
                                                    -> not_pertinent / redirected (reason)
                                                    -> merged into another referral
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dispatch.errors import DomainError, Refused
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


URGENCY_RANK = {Urgency.ROSSO: 0, Urgency.GIALLO: 1, Urgency.VERDE: 2}


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


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.IN_ASSESSMENT}),
    Status.IN_ASSESSMENT: frozenset(
        {Status.RECEIVED, Status.ACTIVATED, Status.NOT_PERTINENT, Status.REDIRECTED, Status.MERGED}
    ),
}

OPEN = frozenset({Status.RECEIVED, Status.IN_ASSESSMENT})


@dataclass(frozen=True, slots=True)
class Claim:
    status: Status
    holder: int | None  # the operator (user id) assessing it


def claim(current: Claim, operator: int) -> Claim:
    """Take a received referral into assessment. A second claim is refused, even a repeat."""
    if current.status is Status.IN_ASSESSMENT:
        raise Refused(f"already in assessment by user {current.holder}")
    return Claim(move("referral", TRANSITIONS, current.status, Status.IN_ASSESSMENT), operator)


def release(current: Claim, operator: int) -> Claim:
    """Give a referral back to the queue (only its holder)."""
    _held_by(current, operator)
    return Claim(move("referral", TRANSITIONS, current.status, Status.RECEIVED), None)


def reassign(current: Claim, operator: int) -> Claim:
    """A supervisor hands an open referral to another operator."""
    if current.status not in OPEN:
        raise Refused(f"a referral {current.status.value} cannot be reassigned")
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
    _held_by(current, operator)
    if decision in (Decision.NOT_PERTINENT, Decision.REDIRECT) and not (reason or "").strip():
        raise DomainError(f"a {decision.value} decision needs a reason")
    if decision is Decision.MERGE and merge_into is None:
        raise DomainError("a merge needs the referral to merge into")
    return move("referral", TRANSITIONS, current.status, DECISION_STATUS[decision])


def _held_by(current: Claim, operator: int) -> None:
    if current.status is not Status.IN_ASSESSMENT or current.holder != operator:
        raise Refused("only the operator assessing the referral may do this")


def queue_key(urgency: Urgency, received_epoch_s: float) -> tuple[int, float]:
    """The room's order: most urgent first, then longest waiting."""
    return (URGENCY_RANK[urgency], received_epoch_s)


class Progress(enum.StrEnum):
    """What a referrer sees of its referral: the status, never the assessment or notes."""

    RECEIVED = "received"
    IN_ASSESSMENT = "in_assessment"
    ACTIVATED = "activated"
    UNIT_ON_SCENE = "unit_on_scene"
    HANDED_OVER = "handed_over"
    CLOSED = "closed"
    NOT_PERTINENT = "not_pertinent"


PROGRESS_LABELS = {
    Progress.RECEIVED: "Ricevuta",
    Progress.IN_ASSESSMENT: "In valutazione",
    Progress.ACTIVATED: "Presa in carico attivata",
    Progress.UNIT_ON_SCENE: "Unità sul posto",
    Progress.HANDED_OVER: "Passata al servizio territoriale",
    Progress.CLOSED: "Chiusa",
    Progress.NOT_PERTINENT: "Non pertinente",
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


def progress(status: Status, case_status: str | None) -> Progress:
    """A referral's progress from its status and, once activated, its case's status.

    A merged referral shows the progress of the one it was merged into: the caller passes that
    referral's status and case status.
    """
    if status in (Status.NOT_PERTINENT, Status.REDIRECTED):
        return Progress.NOT_PERTINENT
    if status is Status.ACTIVATED:
        return _CASE_PROGRESS.get(case_status or "open", Progress.ACTIVATED)
    if status is Status.IN_ASSESSMENT:
        return Progress.IN_ASSESSMENT
    return Progress.RECEIVED
