"""Assignments of field units: what a unit is told about its case, and the events of
dispatch, recall and the unit tablet (who may read each one is in its audience)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatch import access, cases
from dispatch.events import NewEvent, actor_of
from dispatch.units import STATUS_LABELS, Status, language_label

# ---- what an assignment does to its case ------------------------------------------------------


def case_after_dispatch(case: cases.Status, others_active: int) -> cases.Status | None:
    """The case's new status when a unit is sent; None when it stays as it is.

    A second unit on a case already dispatched, or joining a unit already on scene, does not
    move it again; a case past the field work (handover sent, closed) refuses units.
    """
    if case is cases.Status.UNIT_DISPATCHED:
        return None
    if case is cases.Status.ON_SCENE and others_active:
        return None
    return cases.advance(case, cases.Status.UNIT_DISPATCHED)


def case_after_arrival(case: cases.Status) -> cases.Status | None:
    """A unit reached the person: the case is on scene (if it was waiting for a unit)."""
    if case is cases.Status.UNIT_DISPATCHED:
        return cases.advance(case, cases.Status.ON_SCENE)
    return None


def case_after_release(case: cases.Status, others_active: int) -> cases.Status | None:
    """An assignment ended (done or recalled): a case still waiting for a unit that now has
    none goes back to open; otherwise it stays where it is."""
    if case is cases.Status.UNIT_DISPATCHED and not others_active:
        return cases.advance(case, cases.Status.OPEN)
    return None


# ---- what a unit is told about its case --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Brief:
    """Only what a unit needs to do its job: no assessment, no referrer, no history."""

    assignment_id: int
    case_id: int
    case_number: str
    urgency: str
    municipality: str
    address: str
    lat: float | None
    lon: float | None
    people_count: int | None
    minors: int | None
    language: str | None
    description: str
    callback_name: str
    callback_phone: str
    needs: tuple[str, ...]
    dispatched_at: datetime

    def payload(self) -> dict[str, Any]:
        return {
            "assignment_id": self.assignment_id,
            "case_id": self.case_id,
            "case_number": self.case_number,
            "urgency": self.urgency,
            "place": {
                "municipality": self.municipality,
                "address": self.address,
                "lat": self.lat,
                "lon": self.lon,
            },
            "people": {
                "count": self.people_count,
                "minors": self.minors,
                "language": self.language,
                "language_label": language_label(self.language) if self.language else None,
            },
            "description": self.description,
            "callback": {"name": self.callback_name, "phone": self.callback_phone},
            "needs": list(self.needs),
            "dispatched_at": self.dispatched_at.isoformat(),
        }


# ---- events ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnitRef:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class CaseRef:
    id: int
    number: str
    zone: str


def _room_and(*unit_ids: int) -> frozenset[str]:
    return frozenset({access.ROOM, *(access.unit_tag(u) for u in unit_ids)})


def unit_assigned(
    brief: Brief, unit: UnitRef, zone: str, by: access.Principal, reason: str
) -> NewEvent:
    """To the unit alone: its new assignment, with only what it needs."""
    return NewEvent(
        type="unit.assigned",
        subject=f"assignment:{brief.assignment_id}",
        audience=frozenset({access.unit_tag(unit.id)}),
        payload={**brief.payload(), "unit_id": unit.id, "by": by.name, "reason": reason},
        actor=actor_of(by),
        zone=zone,
    )


def unit_recalled(
    unit: UnitRef, assignment_id: int, case: CaseRef, by: access.Principal, reason: str
) -> NewEvent:
    """To the unit alone: the room called it back from its assignment."""
    return NewEvent(
        type="unit.recalled",
        subject=f"assignment:{assignment_id}",
        audience=frozenset({access.unit_tag(unit.id)}),
        payload={
            "assignment_id": assignment_id,
            "unit_id": unit.id,
            "case_id": case.id,
            "case_number": case.number,
            "by": by.name,
            "reason": reason,
        },
        actor=actor_of(by),
        zone=case.zone,
    )


def unit_status_changed(
    unit: UnitRef,
    previous: Status,
    status: Status,
    at: datetime,
    by: access.Principal,
    reason: str,
    *,
    case: CaseRef | None = None,
    assignment_id: int | None = None,
    position_at: datetime | None = None,
) -> NewEvent:
    """To the room and the unit itself. Never coordinates (the log keeps events for ever; a
    position is personal data): `position_at` says a position was kept with it."""
    return NewEvent(
        type="unit.status_changed",
        subject=f"unit:{unit.id}",
        audience=_room_and(unit.id),
        payload={
            "unit_id": unit.id,
            "unit_name": unit.name,
            "previous": previous.value,
            "status": status.value,
            "status_label": STATUS_LABELS[status],
            "at": at.isoformat(),
            "case_id": case.id if case else None,
            "case_number": case.number if case else None,
            "assignment_id": assignment_id,
            "position_at": position_at.isoformat() if position_at else None,
            "by": by.name,
            "reason": reason,
        },
        actor=actor_of(by),
        zone=case.zone if case else None,
    )


def _case_event(
    type_: str,
    case: CaseRef,
    unit: UnitRef,
    assignment_id: int,
    previous: cases.Status,
    status: cases.Status,
    by: access.Principal,
    reason: str,
    **extra: Any,
) -> NewEvent:
    return NewEvent(
        type=type_,
        subject=f"case:{case.id}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": case.id,
            "case_number": case.number,
            "assignment_id": assignment_id,
            "unit_id": unit.id,
            "unit_name": unit.name,
            "previous": previous.value,
            "status": status.value,
            "status_label": cases.STATUS_LABELS[status],
            "by": by.name,
            "reason": reason,
            **extra,
        },
        actor=actor_of(by),
        zone=case.zone,
    )


def case_unit_dispatched(
    case: CaseRef,
    unit: UnitRef,
    assignment_id: int,
    previous: cases.Status,
    status: cases.Status,
    by: access.Principal,
    reason: str,
    eta_minutes: int | None,
) -> NewEvent:
    """To the room: a unit was sent (`status` is the case's status after it, maybe unchanged)."""
    return _case_event(
        "case.unit_dispatched",
        case,
        unit,
        assignment_id,
        previous,
        status,
        by,
        reason,
        eta_minutes=eta_minutes,
    )


def case_unit_on_scene(
    case: CaseRef,
    unit: UnitRef,
    assignment_id: int,
    previous: cases.Status,
    status: cases.Status,
    by: access.Principal,
    at: datetime,
) -> NewEvent:
    """To the room: a unit reached the person."""
    return _case_event(
        "case.unit_on_scene",
        case,
        unit,
        assignment_id,
        previous,
        status,
        by,
        "unità sul posto",
        at=at.isoformat(),
    )


def case_unit_released(
    case: CaseRef,
    unit: UnitRef,
    assignment_id: int,
    previous: cases.Status,
    status: cases.Status,
    by: access.Principal,
    reason: str,
    *,
    recalled: bool,
) -> NewEvent:
    """To the room: an assignment ended, finished by the unit or recalled by the room."""
    return _case_event(
        "case.unit_released",
        case,
        unit,
        assignment_id,
        previous,
        status,
        by,
        reason,
        how="recalled" if recalled else "completed",
    )


def unit_checked_in(
    case: CaseRef,
    unit: UnitRef,
    assignment_id: int,
    at: datetime,
    by: access.Principal,
    *,
    position_at: datetime | None,
    note: str,
) -> NewEvent:
    """To the room: the unit on scene says it is safe (the safety check-in clock restarts).
    No coordinates: `position_at` says a position was kept with it."""
    return NewEvent(
        type="unit.checked_in",
        subject=f"unit:{unit.id}",
        audience=frozenset({access.ROOM}),
        payload={
            "unit_id": unit.id,
            "unit_name": unit.name,
            "case_id": case.id,
            "case_number": case.number,
            "assignment_id": assignment_id,
            "at": at.isoformat(),
            "position_at": position_at.isoformat() if position_at else None,
            "note": note,
            "by": by.name,
            "reason": "check-in di sicurezza",
        },
        actor=actor_of(by),
        zone=case.zone,
    )


def case_note_added(
    case: CaseRef,
    note_id: int,
    body: str,
    author_name: str,
    at: datetime,
    by: access.Principal,
    unit_ids: Iterable[int],
) -> NewEvent:
    """To the room and the units on the case: a note on the case (cases.note_added's event)."""
    return cases.note_added(
        case.id,
        case.number,
        case.zone,
        note_id,
        body,
        by,
        at,
        author_name=author_name,
        unit_ids=unit_ids,
    )


def unit_position_reported(unit: UnitRef, at: datetime, by: access.Principal) -> NewEvent:
    """To the room: the unit's position is fresh as of `at` (the coordinates stay in the units
    table, never in the log)."""
    return NewEvent(
        type="unit.position_reported",
        subject=f"unit:{unit.id}",
        audience=frozenset({access.ROOM}),
        payload={"unit_id": unit.id, "unit_name": unit.name, "position_at": at.isoformat()},
        actor=actor_of(by),
    )


def unit_sharing_changed(unit: UnitRef, share: bool, by: access.Principal) -> NewEvent:
    """To the room and the unit: the crew turned the sending of its position on or off."""
    return NewEvent(
        type="unit.position_sharing_changed",
        subject=f"unit:{unit.id}",
        audience=_room_and(unit.id),
        payload={"unit_id": unit.id, "unit_name": unit.name, "share_position": share},
        actor=actor_of(by),
    )
