"""Cases (prese in carico): from activation to the handover to the territorial service.

open -> unit_dispatched -> on_scene -> resources_in_place -> handover_sent
     -> handover_accepted (or handover_rejected with reason -> back to the room) -> closed
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dispatch import access, units
from dispatch.calendars import ROME
from dispatch.events import NewEvent, actor_of
from dispatch.states import move


class Status(enum.StrEnum):
    OPEN = "open"
    UNIT_DISPATCHED = "unit_dispatched"
    ON_SCENE = "on_scene"
    RESOURCES_IN_PLACE = "resources_in_place"
    HANDOVER_SENT = "handover_sent"
    HANDOVER_ACCEPTED = "handover_accepted"
    HANDOVER_REJECTED = "handover_rejected"
    CLOSED = "closed"


_S = Status
TRANSITIONS: dict[Status, frozenset[Status]] = {
    _S.OPEN: frozenset({_S.UNIT_DISPATCHED, _S.RESOURCES_IN_PLACE, _S.HANDOVER_SENT, _S.CLOSED}),
    _S.UNIT_DISPATCHED: frozenset({_S.ON_SCENE, _S.OPEN}),  # OPEN: the unit was recalled
    _S.ON_SCENE: frozenset({_S.RESOURCES_IN_PLACE, _S.HANDOVER_SENT, _S.UNIT_DISPATCHED}),
    _S.RESOURCES_IN_PLACE: frozenset({_S.HANDOVER_SENT, _S.UNIT_DISPATCHED}),
    _S.HANDOVER_SENT: frozenset({_S.HANDOVER_ACCEPTED, _S.HANDOVER_REJECTED}),
    _S.HANDOVER_REJECTED: frozenset({_S.HANDOVER_SENT, _S.UNIT_DISPATCHED, _S.CLOSED}),
    _S.HANDOVER_ACCEPTED: frozenset({_S.CLOSED}),
}

STATUS_LABELS = {
    _S.OPEN: "Aperto",
    _S.UNIT_DISPATCHED: "Unità inviata",
    _S.ON_SCENE: "Unità sul posto",
    _S.RESOURCES_IN_PLACE: "Risorse attivate",
    _S.HANDOVER_SENT: "Passaggio inviato",
    _S.HANDOVER_ACCEPTED: "Passaggio accettato",
    _S.HANDOVER_REJECTED: "Passaggio respinto",
    _S.CLOSED: "Chiuso",
}


def advance(current: Status, target: Status) -> Status:
    return move("case", TRANSITIONS, current, target)


def closed_refusal(status: str, doing: str) -> str | None:
    """A closed case is read-only: why `doing` is refused (in Italian), or None while the case
    is open to it."""
    return f"Il caso è chiuso: {doing}." if Status(status) is Status.CLOSED else None


def case_number(year: int, number: int) -> str:
    """The number people read on the phone: SEUS-2026-000123."""
    return f"SEUS-{year}-{number:06d}"


# -- the case's timeline ---------------------------------------------------------------------
#
# Convention (docs/cases.md): every event about a case has subject f"case:{id}" or
# f"referral:{referral_id}", or names the case in its payload as `case_id` (bookings, units,
# handovers). The timeline is the log filtered that way; these helpers turn an event into words.

EVENT_LABELS = {
    "referral.received": "Segnalazione ricevuta",
    "referral.claimed": "Presa in valutazione",
    "referral.released": "Rimessa in coda",
    "referral.reassigned": "Riassegnata",
    "referral.decided": "Decisione sulla segnalazione",
    "referral.addendum_added": "Informazioni aggiunte dal segnalante",
    "referral.withdrawn": "Segnalazione ritirata dal segnalante",
    "case.opened": "Presa in carico aperta",
    "case.status_changed": "Stato del caso",
    "case.note_added": "Nota",
    "case.closed": "Caso chiuso",
    "case.urgency_changed": "Codice di urgenza cambiato",
    "case.reassigned": "Caso riassegnato",
    "escalation.raised": "Escalation: tempo scaduto",
    "escalation.acknowledged": "Escalation confermata dal supervisore",
    "shift_note.written": "Consegna di turno registrata",
    "shift_note.acknowledged": "Consegna di turno letta",
    "clock.warned": "Tempo in scadenza",
    "clock.breached": "Tempo scaduto",
    "clock.retargeted": "Tempo ricalcolato per il nuovo codice",
    "case.unit_dispatched": "Unità inviata",
    "case.unit_on_scene": "Unità sul posto",
    "case.unit_released": "Intervento dell'unità concluso",
    "case.handover_sent": "Passaggio inviato al servizio territoriale",
    "handover.sent": "Passaggio inviato al servizio territoriale",
    "handover.accepted": "Passaggio accettato dal servizio territoriale",
    "handover.rejected": "Passaggio respinto dal servizio territoriale",
    "handover.replied": "Risposta della sala al rifiuto del passaggio",
    "case.competence_corrected": "Competenza corretta: passaggio alla zona",
    "case.note_marked": "Nota segnata per il passaggio",
    "case.note_unmarked": "Nota tolta dal passaggio",
    "unit.assigned": "Assegnazione all'unità",
    "unit.recalled": "Unità richiamata",
    "unit.status_changed": "Stato dell'unità",
    "unit.checked_in": "Check-in di sicurezza dell'unità",
    "unit.message_sent": "Messaggio della sala all'unità",
    "unit.message_acknowledged": "Messaggio letto dall'unità",
    "booking.requested": "Risorsa richiesta",
    "booking.held": "Risorsa bloccata (in attesa di conferma)",
    "booking.confirmed": "Prenotazione confermata",
    "booking.started": "Risorsa in uso",
    "booking.released": "Risorsa liberata",
    "booking.expired": "Prenotazione scaduta",
    "booking.cancelled": "Prenotazione annullata",
}

# What the service did, as the dossier tells it: not notes, not the assessment, not the claims.
DONE_TYPES = frozenset(
    {
        "case.opened",
        "case.unit_dispatched",
        "case.unit_on_scene",
        "case.unit_released",
        "booking.confirmed",
        "booking.started",
        "booking.released",
        "handover.rejected",
    }
)

DECISION_LABELS = {
    "activate": "presa in carico attivata",
    "not_pertinent": "non pertinente",
    "redirect": "reindirizzata",
    "merge": "unita a un'altra segnalazione",
}


# A case's clocks are told by their warnings, breaches and re-targets; starts and stops are
# bookkeeping, shown on the clocks themselves.
QUIET_CLOCK_EVENTS = frozenset(
    {"clock.started", "clock.met", "clock.cancelled", "clock.paused", "clock.resumed"}
)
# A unit's own status changes the case's events already tell (sent, on scene, done): only the
# steps between (acknowledged, en route) are the unit's to tell.
_UNIT_STEPS_TOLD = frozenset({"acknowledged", "en_route"})


def in_timeline(event_type: str, payload: Mapping[str, Any]) -> bool:
    """Whether a case's event is a line of its timeline: each step once, no bookkeeping."""
    if event_type in QUIET_CLOCK_EVENTS:
        return False
    if event_type == "unit.status_changed":
        return payload.get("status") in _UNIT_STEPS_TOLD
    return True


def timeline_reason(event_type: str, payload: Mapping[str, Any]) -> str | None:
    """Why it happened, when someone said why (a referral's channel is not a reason)."""
    reason = payload.get("reason")
    if event_type == "referral.received" or not isinstance(reason, str) or not reason:
        return None
    return reason


def event_label(event_type: str, payload: Mapping[str, Any]) -> str:
    """What happened, in Italian; an unknown type is shown as it is (never hidden)."""
    label = EVENT_LABELS.get(event_type, event_type)
    decision = payload.get("decision")
    if event_type == "referral.decided" and isinstance(decision, str):
        label = f"{label}: {DECISION_LABELS.get(decision, decision)}"
    if event_type == "case.unit_released" and payload.get("how") == "recalled":
        label = EVENT_LABELS["unit.recalled"]
    if event_type.startswith("clock.") and isinstance(payload.get("label"), str):
        label = f"{label}: {payload['label']}"
    if event_type == "case.reassigned" and isinstance(payload.get("to_name"), str):
        label = f"{label}: {payload.get('from_name') or 'nessuno'} → {payload['to_name']}"
    if event_type == "case.urgency_changed" and isinstance(payload.get("urgency"), str):
        label = f"{label}: {payload.get('previous')} → {payload['urgency']}"
    status = payload.get("status")
    if event_type.endswith("status_changed") and isinstance(status, str):
        label = f"{label}: {_status_label(event_type, status)}"
    return label


def event_detail(payload: Mapping[str, Any]) -> str | None:
    """The short object of an event: the unit, the resource, the note's text."""
    for key in ("body", "unit_name", "resource_name", "zone_name"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def done_line(event_type: str, payload: Mapping[str, Any], at: datetime) -> str | None:
    """One short Italian line for the dossier's "what was done", or None to leave it out."""
    if event_type not in DONE_TYPES:
        return None
    when = at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")
    line = f"{when} {event_label(event_type, payload)}"
    for key in ("unit_name", "resource_name"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            line += f": {value.strip()}"
            break
    reason = payload.get("reason")
    if event_type == "handover.rejected" and isinstance(reason, str) and reason.strip():
        line += f" (motivo: {reason.strip()})"
    return line


def _status_label(event_type: str, status: str) -> str:
    if event_type.startswith("case."):
        try:
            return STATUS_LABELS[Status(status)]
        except ValueError:
            return status
    try:
        return units.STATUS_LABELS[units.Status(status)]
    except ValueError:
        return status


# -- events -----------------------------------------------------------------------------------


def note_added(
    case_id: int,
    case_number: str,
    zone: str,
    note_id: int,
    body: str,
    author: access.Principal,
    at: datetime,
    *,
    author_name: str | None = None,
    unit_ids: Iterable[int] = (),
) -> NewEvent:
    """A note on the case, to the room and to `unit_ids` (the units on the case, when a unit
    writes it from its tablet); `author_name` when it is not the principal's (a unit's name)."""
    return NewEvent(
        type="case.note_added",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM, *(access.unit_tag(u) for u in unit_ids)}),
        payload={
            "id": note_id,
            "case_id": case_id,
            "case_number": case_number,
            "author": actor_of(author),
            "author_name": author.name if author_name is None else author_name,
            "body": body,
            "at": at.isoformat(),
        },
        actor=actor_of(author),
        zone=zone,
    )


def closed(
    case_id: int, case_number: str, zone: str, previous: Status, reason: str, by: access.Principal
) -> NewEvent:
    return NewEvent(
        type="case.closed",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "case_number": case_number,
            "previous": previous.value,
            "status": Status.CLOSED.value,
            "reason": reason,
        },
        actor=actor_of(by),
        zone=zone,
    )


def urgency_changed(
    case_id: int,
    case_number: str,
    zone: str,
    previous: str,
    urgency: str,
    reason: str,
    by: access.Principal,
    assignment_ids: Iterable[int],
) -> NewEvent:
    """The room re-coded the case: its open clocks (and its units') take the new targets."""
    return NewEvent(
        type="case.urgency_changed",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "case_number": case_number,
            "previous": previous,
            "urgency": urgency,
            "reason": reason,
            "assignment_ids": sorted(assignment_ids),
        },
        actor=actor_of(by),
        zone=zone,
    )
