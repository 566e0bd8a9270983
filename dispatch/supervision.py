"""Events of the supervisor's room: escalations, shift notes, cases handed to another operator."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dispatch import access, sla
from dispatch.events import NewEvent, actor_of
from dispatch.sla import Tracked


def escalation_raised(
    escalation_id: int, tracked: Tracked, context: dict[str, Any], due_at: datetime
) -> NewEvent:
    return NewEvent(
        type="escalation.raised",
        subject=f"escalation:{escalation_id}",
        audience=frozenset({access.SUPERVISORS}),
        payload={
            "escalation_id": escalation_id,
            "clock_id": tracked.id,
            "milestone": tracked.milestone.value,
            "label": sla.MILESTONE_LABELS[tracked.milestone],
            "urgency": tracked.urgency,
            "due_at": due_at.isoformat(),
            **context,
        },
        actor="system",
        zone=context["zone_id"],
    )


def escalation_acknowledged(
    escalation: Mapping[str, Any], by: access.Principal, at: datetime, note: str | None
) -> NewEvent:
    return NewEvent(
        type="escalation.acknowledged",
        subject=f"escalation:{escalation['id']}",
        audience=frozenset({access.SUPERVISORS}),
        payload={
            "escalation_id": escalation["id"],
            "clock_id": escalation["clock_id"],
            "case_number": escalation["case_number"],
            "referral_id": escalation["referral_id"],
            "case_id": escalation["case_id"],
            "by": by.user_id,
            "by_name": by.name,
            "at": at.isoformat(),
            "note": note,
        },
        actor=actor_of(by),
        zone=escalation["zone_id"],
    )


def shift_note_written(note_id: int, body: str, by: access.Principal, at: datetime) -> NewEvent:
    return NewEvent(
        type="shift_note.written",
        subject=f"shift_note:{note_id}",
        audience=frozenset({access.SUPERVISORS}),
        payload={
            "id": note_id,
            "body": body,
            "author_id": by.user_id,
            "author_name": by.name,
            "at": at.isoformat(),
        },
        actor=actor_of(by),
    )


def shift_note_acknowledged(note_id: int, by: access.Principal, at: datetime) -> NewEvent:
    return NewEvent(
        type="shift_note.acknowledged",
        subject=f"shift_note:{note_id}",
        audience=frozenset({access.SUPERVISORS}),
        payload={"id": note_id, "by": by.user_id, "by_name": by.name, "at": at.isoformat()},
        actor=actor_of(by),
    )


def case_reassigned(
    row: Mapping[str, Any],
    by: access.Principal,
    at: datetime,
    *,
    to: tuple[int, str],
    reason: str | None,
) -> NewEvent:
    """A supervisor handed a case to another operator: the room sees who has it now."""
    return NewEvent(
        type="case.reassigned",
        subject=f"case:{row['id']}",
        audience=frozenset({access.ROOM}),
        payload={
            "case_id": row["id"],
            "case_number": row["case_number"],
            "from": row["owner_id"],
            "from_name": row["owner_name"],
            "to": to[0],
            "to_name": to[1],
            "by_name": by.name,
            "reason": reason,
            "at": at.isoformat(),
        },
        actor=actor_of(by),
        zone=row["zone_id"],
    )
