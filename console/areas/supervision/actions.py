"""The supervisor's writes: acknowledging escalations, shift notes, reassigning a case.

One transaction each, their rows locked `FOR UPDATE`, with their events.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.areas.cases import actions as cases_actions
from console.areas.supervision.schemas import AcknowledgedEscalation, CaseReassigned, ShiftNoteOut
from console.areas.supervision.store import (
    ESCALATION_COLUMNS,
    ESCALATION_JOINS,
    NOTE_COLUMNS,
    NOTE_JOINS,
    escalation_of,
)
from console.lib import errors, guard
from console.lib.db import Database
from dispatch import access
from dispatch import supervision as supervision_events
from dispatch.calendars import ROME


class AlreadyAcknowledged(errors.Conflict):
    """Someone got there first: the answer says who and when."""

    def __init__(self, what: str, by_id: int | None, by_name: str | None, at: datetime) -> None:
        when = at.astimezone(ROME).strftime("%H:%M del %d/%m")
        super().__init__(
            f"{what} già confermata da {by_name or 'un altro supervisore'} alle {when}."
        )
        self.acknowledged = {"by": by_id, "by_name": by_name, "at": at.isoformat()}

    def body(self) -> dict[str, Any]:
        return {**super().body(), "acknowledged": self.acknowledged}


async def acknowledge_escalation(
    db: Database, by: access.Principal, escalation_id: int, note: str | None = None
) -> AcknowledgedEscalation:
    """A supervisor has seen the breach (and says what was done): once, by one supervisor."""
    user_id = guard.user_id_of(by)
    note = note or None
    async with db.action() as tx:
        locked = await tx.conn.fetchrow(
            "SELECT id FROM escalations WHERE id = $1 FOR UPDATE", escalation_id
        )
        if locked is None:
            raise errors.NotFound("Escalation non trovata.")
        row = await tx.conn.fetchrow(
            f"SELECT {ESCALATION_COLUMNS}{ESCALATION_JOINS} WHERE e.id = $1", escalation_id
        )
        if row["acknowledged_at"] is not None:
            raise AlreadyAcknowledged(
                "Escalation",
                row["acknowledged_by"],
                row["acknowledged_by_name"],
                row["acknowledged_at"],
            )
        await tx.conn.execute(
            "UPDATE escalations SET acknowledged_at = $2, acknowledged_by = $3, note = $4"
            " WHERE id = $1",
            escalation_id,
            tx.now,
            user_id,
            note,
        )
        escalation = escalation_of(row)
        tx.emit(supervision_events.escalation_acknowledged(escalation, by, tx.now, note))
    return AcknowledgedEscalation(
        **{
            **escalation,
            "acknowledged_at": tx.now,
            "acknowledged_by": user_id,
            "acknowledged_by_name": by.name,
            "note": note,
        },
        seq=tx.logged[-1].seq,
    )


async def write_shift_note(db: Database, by: access.Principal, body: str) -> ShiftNoteOut:
    """The outgoing shift's note to the incoming one."""
    user_id = guard.user_id_of(by)
    async with db.action() as tx:
        note_id: int = await tx.conn.fetchval(
            "INSERT INTO shift_notes (body, author_id, written_at) VALUES ($1, $2, $3)"
            " RETURNING id",
            body,
            user_id,
            tx.now,
        )
        tx.emit(supervision_events.shift_note_written(note_id, body, by, tx.now))
    return ShiftNoteOut(
        id=note_id,
        body=body,
        author_id=user_id,
        author_name=by.name,
        written_at=tx.now,
        acknowledged_at=None,
        acknowledged_by=None,
        acknowledged_by_name=None,
        seq=tx.logged[-1].seq,
    )


async def acknowledge_shift_note(db: Database, by: access.Principal, note_id: int) -> ShiftNoteOut:
    """The incoming supervisor has read the note: never its own author, and only once."""
    user_id = guard.user_id_of(by)
    async with db.action() as tx:
        locked = await tx.conn.fetchrow(
            "SELECT id FROM shift_notes WHERE id = $1 FOR UPDATE", note_id
        )
        if locked is None:
            raise errors.NotFound("Consegna non trovata.")
        row = await tx.conn.fetchrow(f"SELECT {NOTE_COLUMNS}{NOTE_JOINS} WHERE n.id = $1", note_id)
        if row["acknowledged_at"] is not None:
            raise AlreadyAcknowledged(
                "Consegna",
                row["acknowledged_by"],
                row["acknowledged_by_name"],
                row["acknowledged_at"],
            )
        if row["author_id"] == user_id:
            raise errors.Conflict(
                "La consegna va confermata da chi prende il turno, non da chi l'ha scritta."
            )
        await tx.conn.execute(
            "UPDATE shift_notes SET acknowledged_at = $2, acknowledged_by = $3 WHERE id = $1",
            note_id,
            tx.now,
            user_id,
        )
        tx.emit(supervision_events.shift_note_acknowledged(note_id, by, tx.now))
    return ShiftNoteOut(
        **{
            **dict(row),
            "acknowledged_at": tx.now,
            "acknowledged_by": user_id,
            "acknowledged_by_name": by.name,
        },
        seq=tx.logged[-1].seq,
    )


async def reassign_case(
    db: Database, by: access.Principal, case_id: int, to: int, reason: str | None = None
) -> CaseReassigned:
    """Hand an open case to another active operator or supervisor."""
    async with db.action() as tx:
        locked = await tx.conn.fetchrow(
            "SELECT id, case_number, status, zone_id, owner_id FROM cases WHERE id = $1 FOR UPDATE",
            case_id,
        )
        if locked is None:
            raise errors.NotFound("Caso non trovato.")
        cases_actions.require_open(locked["status"], "non si riassegna")
        name = await guard.room_member_name(tx.conn, to)
        if locked["owner_id"] == to:
            raise errors.Conflict(f"Il caso è già assegnato a {name}.")
        owner_name = (
            await tx.conn.fetchval(
                "SELECT display_name FROM users WHERE id = $1", locked["owner_id"]
            )
            if locked["owner_id"] is not None
            else None
        )
        await tx.conn.execute(
            "UPDATE cases SET owner_id = $2, updated_at = $3 WHERE id = $1", case_id, to, tx.now
        )
        row = {**dict(locked), "owner_name": owner_name}
        tx.emit(
            supervision_events.case_reassigned(
                row, by, tx.now, to=(to, name), reason=reason or None
            )
        )
    return CaseReassigned(
        id=case_id,
        case_number=locked["case_number"],
        owner_id=to,
        owner_name=name,
        seq=tx.logged[-1].seq,
    )
