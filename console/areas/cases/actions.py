"""A case's writes: notes (and their mark for the handover), urgency changes, closing."""

from __future__ import annotations

from console.areas.cases.schemas import CaseNote, CaseState
from console.lib import errors
from console.lib.db import Database
from dispatch import access, cases, handover


def require_open(status: str, doing: str) -> None:
    """409 when the case is closed: the core's rule (dispatch.cases.closed_refusal), for every
    area's action on a case."""
    reason = cases.closed_refusal(status, doing)
    if reason is not None:
        raise errors.Conflict(reason)


async def add_note(db: Database, principal: access.Principal, case_id: int, body: str) -> CaseNote:
    """A note on the case, for the room."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT case_number, status, zone_id FROM cases WHERE id = $1 FOR UPDATE", case_id
        )
        if row is None:
            raise errors.NotFound("Caso non trovato.")
        require_open(row["status"], "non si aggiungono note")
        note_id: int = await tx.conn.fetchval(
            "INSERT INTO notes (case_id, author, author_name, body, at)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            case_id,
            f"user:{principal.user_id}",
            principal.name,
            body,
            tx.now,
        )
        tx.emit(
            cases.note_added(
                case_id, row["case_number"], row["zone_id"], note_id, body, principal, tx.now
            )
        )
    return CaseNote(
        id=note_id,
        case_id=case_id,
        author=f"user:{principal.user_id}",
        author_name=principal.name,
        body=body,
        at=tx.now,
        seq=tx.logged[-1].seq,
    )


async def mark_note(
    db: Database, principal: access.Principal, case_id: int, note_id: int, for_handover: bool
) -> CaseNote:
    """Mark a note "per il passaggio" (its text goes in the handover's dossier), or unmark it."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT c.case_number, c.status, c.zone_id, n.author, n.author_name, n.body, n.at,"
            " n.for_handover FROM notes n JOIN cases c ON c.id = n.case_id"
            " WHERE n.id = $1 AND n.case_id = $2 FOR UPDATE OF n",
            note_id,
            case_id,
        )
        if row is None:
            raise errors.NotFound("Nota non trovata.")
        require_open(row["status"], "le note non si segnano più")
        if row["for_handover"] == for_handover:
            raise errors.Conflict(
                "La nota è già segnata per il passaggio."
                if for_handover
                else "La nota non è segnata per il passaggio."
            )
        await tx.conn.execute(
            "UPDATE notes SET for_handover = $2 WHERE id = $1", note_id, for_handover
        )
        tx.emit(
            handover.note_marked(
                case_id,
                row["case_number"],
                row["zone_id"],
                note_id,
                row["body"],
                for_handover,
                principal,
            )
        )
    return CaseNote(
        id=note_id,
        case_id=case_id,
        author=row["author"],
        author_name=row["author_name"],
        body=row["body"],
        at=row["at"],
        for_handover=for_handover,
        seq=tx.logged[-1].seq,
    )


async def close_case(
    db: Database, principal: access.Principal, case_id: int, reason: str
) -> CaseState:
    """Close the case when its state allows it (IllegalTransition, a 409, otherwise)."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT referral_id, case_number, status, zone_id FROM cases WHERE id = $1 FOR UPDATE",
            case_id,
        )
        if row is None:
            raise errors.NotFound("Caso non trovato.")
        previous = cases.Status(row["status"])
        status = cases.advance(previous, cases.Status.CLOSED)
        await tx.conn.execute(
            "UPDATE cases SET status = $2, flagged = false, closed_at = $3, updated_at = $3"
            " WHERE id = $1",
            case_id,
            status.value,
            tx.now,
        )
        tx.emit(
            cases.closed(case_id, row["case_number"], row["zone_id"], previous, reason, principal)
        )
    return CaseState(
        id=case_id,
        case_number=row["case_number"],
        status=status.value,
        status_label=cases.STATUS_LABELS[status],
        flagged=False,
        seq=tx.logged[-1].seq,
    )


async def change_urgency(
    db: Database, principal: access.Principal, case_id: int, urgency: str, reason: str
) -> CaseState:
    """Re-code an open case: its clocks keep the time counted and take the new targets."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT case_number, status, zone_id, urgency, flagged FROM cases WHERE id = $1"
            " FOR UPDATE",
            case_id,
        )
        if row is None:
            raise errors.NotFound("Caso non trovato.")
        require_open(row["status"], "il codice non cambia più")
        if row["urgency"] == urgency:
            raise errors.Conflict(f"Il caso ha già il codice {urgency}.")
        await tx.conn.execute(
            "UPDATE cases SET urgency = $2, updated_at = $3 WHERE id = $1", case_id, urgency, tx.now
        )
        active = await tx.conn.fetch(
            "SELECT id FROM assignments WHERE case_id = $1 AND done_at IS NULL"
            " AND cancelled_at IS NULL",
            case_id,
        )
        tx.emit(
            cases.urgency_changed(
                case_id,
                row["case_number"],
                row["zone_id"],
                row["urgency"],
                urgency,
                reason,
                principal,
                [a["id"] for a in active],
            )
        )
    status = cases.Status(row["status"])
    return CaseState(
        id=case_id,
        case_number=row["case_number"],
        status=status.value,
        status_label=cases.STATUS_LABELS[status],
        flagged=row["flagged"],
        seq=tx.logged[0].seq,
    )
