"""The handover (passaggio della presa in carico) to the competent territorial service."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from dispatch import access, basket, referrals
from dispatch.calendars import ROME
from dispatch.errors import DomainError
from dispatch.events import NewEvent, actor_of
from dispatch.states import move


class Status(enum.StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


STATUS_LABELS = {
    Status.SENT: "In attesa di decisione",
    Status.ACCEPTED: "Accettato",
    Status.REJECTED: "Respinto",
}


def competent_zone(
    residence_zone: str | None, found_zone: str, corrected_zone: str | None = None
) -> str:
    """The zone the room corrected it to; else the residence municipality's zone when known;
    else where the person was found."""
    return corrected_zone or residence_zone or found_zone


# -- correcting the competence ----------------------------------------------------------------


class Field(enum.StrEnum):
    """What the room corrects: the person's residence, or the competent zone itself."""

    RESIDENCE = "residence"
    ZONE = "zone"


@dataclass(frozen=True, slots=True)
class Competence:
    """Where a handover goes, and what it follows from."""

    found_zone: str
    residence: str | None = None  # the residence municipality's ISTAT code
    residence_zone: str | None = None
    corrected_zone: str | None = None

    @property
    def zone(self) -> str:
        return competent_zone(self.residence_zone, self.found_zone, self.corrected_zone)

    @property
    def source(self) -> str:
        """Why this zone: "corrected", "residence" or "found"."""
        if self.corrected_zone:
            return "corrected"
        return "residence" if self.residence_zone else "found"


# A correction waits while a handover waits for its decision, and ends with the handover's part.
_NO_CORRECTION = {
    "handover_sent": "un passaggio attende la decisione del servizio",
    "handover_accepted": "il passaggio è già stato accettato",
    "closed": "il caso è chiuso",
}


def correction_refusal(case_status: str) -> str | None:
    """Why the competence cannot be corrected now (Italian), or None when it can."""
    reason = _NO_CORRECTION.get(case_status)
    return f"La competenza non si corregge: {reason}." if reason else None


def correct(current: Competence, field: Field, value: str, value_zone: str) -> Competence | None:
    """The competence after the correction, or None when it changes nothing.

    A new residence brings its zone and drops an earlier zone correction (the residence decides
    again); a zone correction overrides the residence until the next residence correction."""
    if field is Field.RESIDENCE:
        if value == current.residence and current.corrected_zone is None:
            return None
        return replace(current, residence=value, residence_zone=value_zone, corrected_zone=None)
    if value == current.zone:
        return None
    return replace(current, corrected_zone=value)


def reply_refusal(status: Status, replied: bool) -> str | None:
    """The room replies once to a rejection (Italian refusal, or None when it may)."""
    if status is not Status.REJECTED:
        return "Si risponde solo a un passaggio respinto."
    if replied:
        return "La risposta a questo rifiuto è già stata inviata."
    return None


def reject_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise DomainError("a rejected handover needs a reason")
    return text


@dataclass(frozen=True, slots=True)
class Dossier:
    """The curated extract the territorial service receives: not the whole file."""

    case_number: str
    who: Mapping[str, Any]  # people involved: count, minors, age band, language
    what_happened: str
    trigger: str
    urgency: str
    place: Mapping[str, Any]
    done: Sequence[str]  # what the service did, in order
    booked: Sequence[Mapping[str, Any]]  # resources in place: confirmed or in use
    open_needs: Sequence[str]  # in words: needs not covered, requests and holds not confirmed
    risks: Sequence[str] = ()  # the assessment's risk factors, in words
    notes: Sequence[Mapping[str, str]] = ()  # the notes the room marked for the handover

    def as_dict(self) -> dict[str, Any]:
        return {
            "case_number": self.case_number,
            "who": dict(self.who),
            "what_happened": self.what_happened,
            "trigger": self.trigger,
            "urgency": self.urgency,
            "place": dict(self.place),
            "risks": list(self.risks),
            "notes": [dict(n) for n in self.notes],
            "done": list(self.done),
            "booked": [dict(b) for b in self.booked],
            "open_needs": list(self.open_needs),
        }


# Who the person is, as far as the referral and the assessment know it.
_WHO_FIELDS = ("count", "minors", "age_band", "sex", "language", "needs_mediator", "residence")
_UNKNOWN = ("", "unknown", None)
_PLACE_FIELDS = ("municipality", "zone", "address")
_BOOKED_FIELDS = ("type", "type_label", "name", "provider", "status", "quantity")
ACTIVE = frozenset({"confirmed", "in_use"})  # what the person has: "Risorse attive"
PENDING = {  # asked for and not yet there: still an open need
    "requested": "richiesta senza risposta",
    "held": "bloccata, non ancora confermata",
}


def _when(at: datetime | str) -> str:
    if isinstance(at, str):
        return at
    return at.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


def _type_label(code: str) -> str:
    try:
        return basket.TYPE_LABELS[basket.ResourceType(code)]
    except ValueError:
        return code


def _risk_label(code: str) -> str:
    try:
        return referrals.RISK_LABELS[referrals.RiskFactor(code)]
    except ValueError:
        return code


def identity(
    people: Mapping[str, Any], assessment: Mapping[str, Any] | None, residence: str | None
) -> dict[str, Any]:
    """The person as known: the referral's people, what the assessment corrected (how many,
    the language), the residence; nothing unknown."""
    known: dict[str, Any] = dict(people)
    assessed = (assessment or {}).get("people") or {}
    for key in ("count", "minors"):
        if isinstance(assessed, Mapping) and assessed.get(key) is not None:
            known[key] = assessed[key]
    language = (assessment or {}).get("language")
    if isinstance(language, str) and language.strip():
        known["language"] = language.strip()
    known["residence"] = residence
    return {k: known[k] for k in _WHO_FIELDS if k in known and known[k] not in _UNKNOWN}


def open_needs(needs: Sequence[str], bookings: Sequence[Mapping[str, Any]]) -> list[str]:
    """What the person still needs, in words: each need no active booking covers (one waiting
    for an answer stands for its need), then each request and hold not confirmed."""
    covered = {b.get("type") for b in bookings if b.get("status") in ACTIVE}
    waiting = [b for b in bookings if b.get("status") in PENDING]
    asked = {b.get("type") for b in waiting}
    lines = [_type_label(n) for n in needs if n not in covered and n not in asked]
    for b in waiting:
        kind = b.get("type_label") or _type_label(str(b.get("type")))
        what = f"{kind}: {b.get('name')}" if b.get("name") else str(kind)
        if b.get("provider"):
            what += f" ({b['provider']})"
        lines.append(f"{what}, {PENDING[str(b.get('status'))]}")
    return lines


def dossier(
    *,
    case_number: str,
    people: Mapping[str, Any],
    what_happened: str,
    trigger: str,
    urgency: str,
    place: Mapping[str, Any],
    timeline: Sequence[str],
    bookings: Sequence[Mapping[str, Any]],
    needs: Sequence[str],
    assessment: Mapping[str, Any] | None = None,
    residence: str | None = None,
    notes: Sequence[Mapping[str, Any]] = (),
) -> Dossier:
    """Keep only what the territorial service needs to take the person in charge: who, what
    happened, the risks, the notes the room marked for it, what was done, the resources the
    person has (confirmed or in use) and what is still open (a pending request is open)."""
    risks = (assessment or {}).get("risk_factors") or []
    return Dossier(
        case_number=case_number,
        who=identity(people, assessment, residence),
        what_happened=what_happened,
        trigger=trigger,
        urgency=urgency,
        place={k: place[k] for k in _PLACE_FIELDS if k in place},
        done=list(timeline),
        booked=[
            {k: b[k] for k in _BOOKED_FIELDS if k in b}
            for b in bookings
            if b.get("status") in ACTIVE
        ],
        open_needs=open_needs(needs, bookings),
        risks=[_risk_label(str(r)) for r in risks],
        notes=[
            {"at": _when(n["at"]), "author": str(n.get("author_name", "")), "text": str(n["body"])}
            for n in notes
            if n.get("for_handover")
        ],
    )


# -- events -----------------------------------------------------------------------------------
#
# The dossier goes only to the competent zone's service (`handover.sent`); the room learns of the
# handover from `case.handover_sent`; the service's decision reaches both the room and the zone.


def sent(
    handover_id: int, case_id: int, zone: str, dossier: Dossier, by: access.Principal
) -> NewEvent:
    """The handover with its dossier, for the competent territorial service only."""
    return NewEvent(
        type="handover.sent",
        subject=f"handover:{handover_id}",
        audience=frozenset({access.territorial_tag(zone)}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": dossier.case_number,
            "zone": zone,
            "status": Status.SENT.value,
            "dossier": dossier.as_dict(),
        },
        actor=actor_of(by),
        zone=zone,
    )


def case_handover_sent(
    handover_id: int,
    case_id: int,
    case_number: str,
    case_zone: str,
    to_zone: str,
    to_zone_name: str,
    by: access.Principal,
) -> NewEvent:
    """The room's side of the same act: the case now waits for the territorial service."""
    return NewEvent(
        type="case.handover_sent",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": case_number,
            "status": "handover_sent",
            "to_zone": to_zone,
            "zone_name": to_zone_name,
        },
        actor=actor_of(by),
        zone=case_zone,
    )


def decided(
    handover_id: int,
    case_id: int,
    case_number: str,
    zone: str,
    outcome: Status,
    by: access.Principal,
    reason: str | None = None,
) -> NewEvent:
    """Accepted or rejected by the zone's service: the room and that zone are told."""
    if outcome is Status.SENT:
        raise DomainError("a decision is an acceptance or a rejection")
    rejected = outcome is Status.REJECTED
    return NewEvent(
        type=f"handover.{outcome.value}",
        subject=f"handover:{handover_id}",
        audience=frozenset({access.ROOM, access.territorial_tag(zone)}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": case_number,
            "zone": zone,
            "status": outcome.value,
            "case_status": "handover_rejected" if rejected else "handover_accepted",
            "flagged": rejected,
            "reason": reason,
        },
        actor=actor_of(by),
        zone=zone,
    )


def competence_corrected(
    case_id: int,
    case_number: str,
    case_zone: str,
    field: Field,
    previous: Mapping[str, Any] | None,
    value: Mapping[str, Any],
    before: Competence,
    after: Competence,
    zone_name: str,
    reason: str,
    by: access.Principal,
) -> NewEvent:
    """The room corrected the residence or the competent zone, with a reason: its timeline and
    the audit keep who, when, from what to what and why (`body`: the change in words)."""
    if field is Field.RESIDENCE:
        was = (previous or {}).get("name") or "non nota"
        body = f"Residenza: {was} → {value.get('name')}; zona competente {zone_name}"
    else:
        was = (previous or {}).get("name") or before.zone
        body = f"Zona competente: {was} → {zone_name}"
    return NewEvent(
        type="case.competence_corrected",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "case_number": case_number,
            "field": field.value,
            "previous": dict(previous) if previous else None,
            "value": dict(value),
            "zone_before": before.zone,
            "zone_after": after.zone,
            "zone_name": zone_name,
            "reason": reason,
            "body": body,
        },
        actor=actor_of(by),
        zone=case_zone,
    )


def replied(
    handover_id: int,
    case_id: int,
    case_number: str,
    zone: str,
    reply: str,
    by: access.Principal,
    later_zones: Iterable[str] = (),
) -> NewEvent:
    """The room answered a rejection: the room, the service that rejected it and the services
    the case was sent to after it read it."""
    zones = {zone, *later_zones}
    return NewEvent(
        type="handover.replied",
        subject=f"handover:{handover_id}",
        audience=frozenset({access.ROOM, *(access.territorial_tag(z) for z in zones)}),
        payload={
            "handover_id": handover_id,
            "case_id": case_id,
            "case_number": case_number,
            "zone": zone,
            "body": reply,
        },
        actor=actor_of(by),
        zone=zone,
    )


def note_marked(
    case_id: int,
    case_number: str,
    zone: str,
    note_id: int,
    body: str,
    for_handover: bool,
    by: access.Principal,
) -> NewEvent:
    """A note marked for the handover's dossier, or the mark taken off (the room's only)."""
    return NewEvent(
        type="case.note_marked" if for_handover else "case.note_unmarked",
        subject=f"case:{case_id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case_id,
            "case_number": case_number,
            "note_id": note_id,
            "for_handover": for_handover,
            "body": body,
        },
        actor=actor_of(by),
        zone=zone,
    )


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.SENT: frozenset({Status.ACCEPTED, Status.REJECTED}),
}


def decide(current: Status, outcome: Status) -> Status:
    """Only a sent handover can be accepted or rejected, and only once."""
    return move("handover", TRANSITIONS, current, outcome)
