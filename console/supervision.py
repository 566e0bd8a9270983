"""The supervisor's room (/supervisione): one snapshot, escalations, shift notes, reassigning.

`read_supervision` reads everything the wall screen shows in one repeatable-read transaction
with `as_of`, so the page can follow the log after it. The actions (acknowledge an escalation,
write and acknowledge shift notes, hand a case to another operator) are one transaction each,
their rows locked `FOR UPDATE`, with their events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console import accounts, auth, casefile, clockboard, errors, eventlog, guard, pages, services
from console.api import operation
from console.assessment_schemas import ReassignIn
from console.clockboard import ClockView
from console.db import Database
from console.schemas import Request as RequestModel
from dispatch import access, cases, referrals, sla, units
from dispatch import supervision as supervision_events
from dispatch.clocks import Milestone
from dispatch.sessions import SessionPolicy

ROME = ZoneInfo("Europe/Rome")
URGENCY_ORDER = ("rosso", "giallo", "verde", "none")
REFERRAL_STATES = ("received", "in_assessment")
SHIFT_NOTES_SHOWN = 20
WORK_LIMIT = 500
CLOCK_LIMIT = 5000

# ---- schemas --------------------------------------------------------------------------------


class ReferralQueue(BaseModel):
    state: str = Field(description="received | in_assessment")
    state_label: str
    urgency: str = Field(description="rosso | giallo | verde | none (no code, no proposal)")
    count: int
    oldest_received_at: datetime = Field(description="When the longest-waiting one came in")


class CaseQueue(BaseModel):
    status: str
    status_label: str
    urgency: str
    count: int
    oldest_updated_at: datetime = Field(description="The least recently moved case's update")


class UnitOnBoard(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    zones: list[str]
    current_case_id: int | None
    current_case_number: str | None


class ZoneBoard(BaseModel):
    zone_id: str | None = Field(description="The units' first zone; null: no zone")
    zone_name: str
    units: list[UnitOnBoard]


class OnShift(BaseModel):
    user_id: int
    name: str
    role: str
    role_label: str
    since: datetime = Field(description="Login time of the oldest live session")
    last_seen_at: datetime
    sessions: int


class EscalationView(BaseModel):
    id: int
    clock_id: int
    milestone: str
    label: str = Field(description="The milestone in Italian")
    referral_id: int | None
    case_id: int | None
    unit_id: int | None
    unit_name: str | None
    case_number: str
    zone_id: str
    zone_name: str
    urgency: str
    due_at: datetime = Field(description="When the target was missed")
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    acknowledged_by_name: str | None = None
    note: str | None = None


class ShiftNoteView(BaseModel):
    id: int
    body: str
    author_id: int
    author_name: str
    written_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    acknowledged_by_name: str | None


class WorkItem(BaseModel):
    kind: str = Field(description="referral | case")
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str
    holder_id: int | None = Field(description="The referral's holder or the case's owner")
    holder_name: str | None


class Supervision(BaseModel):
    as_of: int = Field(description="Log head the snapshot was read at: apply events after it")
    now: datetime = Field(description="Server time of the read (for waiting times)")
    referral_queues: list[ReferralQueue]
    case_queues: list[CaseQueue]
    clocks: list[ClockView] = Field(description="Breached, then running with a warning fired")
    zones: list[ZoneBoard]
    on_shift: list[OnShift]
    escalations: list[EscalationView] = Field(description="Unacknowledged, oldest due first")
    shift_notes: list[ShiftNoteView] = Field(description="The latest 20, newest first")
    work: list[WorkItem] = Field(description="Open referrals and cases (for reassigning)")


def _printable(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


class AcknowledgeIn(RequestModel):
    note: str | None = Field(None, max_length=2000, description="What the supervisor did")
    _text = field_validator("note")(_printable)


class AcknowledgedEscalation(EscalationView):
    seq: int = Field(description="Seq of the event that recorded it")


class ShiftNoteIn(RequestModel):
    body: str = Field(min_length=1, max_length=8000, description="The note (rendered escaped)")
    _text = field_validator("body")(_printable)


class ShiftNoteOut(ShiftNoteView):
    seq: int = Field(description="Seq of the event that recorded it")


class CaseReassigned(BaseModel):
    id: int
    case_number: str
    owner_id: int
    owner_name: str
    seq: int


# ---- the snapshot ---------------------------------------------------------------------------


def _urgency_rank(urgency: str) -> int:
    return URGENCY_ORDER.index(urgency) if urgency in URGENCY_ORDER else len(URGENCY_ORDER)


async def _referral_queues(conn: asyncpg.Connection) -> list[ReferralQueue]:
    rows = await conn.fetch(
        "SELECT status, coalesce(urgency, urgency_proposed, 'none') AS urgency, count(*) AS n,"
        " min(received_at) AS oldest FROM referrals WHERE status = ANY($1) GROUP BY 1, 2",
        list(REFERRAL_STATES),
    )
    found = [
        ReferralQueue(
            state=r["status"],
            state_label=referrals.STATUS_LABELS[referrals.Status(r["status"])],
            urgency=r["urgency"],
            count=r["n"],
            oldest_received_at=r["oldest"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda q: (REFERRAL_STATES.index(q.state), _urgency_rank(q.urgency)))


async def _case_queues(conn: asyncpg.Connection) -> list[CaseQueue]:
    rows = await conn.fetch(
        "SELECT status, urgency, count(*) AS n, min(updated_at) AS oldest FROM cases"
        " WHERE status <> 'closed' GROUP BY 1, 2"
    )
    order = [s.value for s in cases.Status]
    found = [
        CaseQueue(
            status=r["status"],
            status_label=casefile.label_of(cases.STATUS_LABELS, cases.Status, r["status"]),
            urgency=r["urgency"],
            count=r["n"],
            oldest_updated_at=r["oldest"],
        )
        for r in rows
    ]
    return sorted(found, key=lambda q: (order.index(q.status), _urgency_rank(q.urgency)))


async def _clocks_at_risk(conn: asyncpg.Connection) -> list[ClockView]:
    found = await clockboard.open_clocks(conn, limit=CLOCK_LIMIT)
    return [c for c in found if c.state == "breached" or (c.state == "running" and c.warned > 0)]


async def _zones(conn: asyncpg.Connection) -> list[ZoneBoard]:
    rows = await conn.fetch(
        "SELECT u.id, u.name, u.status, u.status_since, u.zones, u.current_case_id,"
        " c.case_number, u.zones[1] AS zone_id, z.name AS zone_name FROM units u"
        " LEFT JOIN cases c ON c.id = u.current_case_id LEFT JOIN zones z ON z.id = u.zones[1]"
        " ORDER BY z.name NULLS LAST, u.zones[1] NULLS LAST, u.name, u.id"
    )
    boards: dict[str | None, ZoneBoard] = {}
    for r in rows:
        zone_id = r["zone_id"]
        board = boards.get(zone_id)
        if board is None:
            name = r["zone_name"] or (zone_id or "Senza zona assegnata")
            board = boards[zone_id] = ZoneBoard(zone_id=zone_id, zone_name=name, units=[])
        board.units.append(
            UnitOnBoard(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                status_label=casefile.label_of(units.STATUS_LABELS, units.Status, r["status"]),
                status_since=r["status_since"],
                zones=list(r["zones"]),
                current_case_id=r["current_case_id"],
                current_case_number=r["case_number"],
            )
        )
    return list(boards.values())


async def _on_shift(
    conn: asyncpg.Connection, now: datetime, policy: SessionPolicy
) -> list[OnShift]:
    """Operators and supervisors with a live session (the rules of `dispatch.sessions`)."""
    rows = await conn.fetch(
        "SELECT u.id, u.display_name, u.role, min(s.created_at) AS since,"
        " max(s.last_seen_at) AS last_seen, count(*) AS n FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.revoked_at IS NULL AND u.active"
        " AND u.role IN ('operator', 'supervisor') AND s.last_seen_at > $1 AND s.created_at > $2"
        " AND s.created_at <= $3 GROUP BY u.id, u.display_name, u.role"
        " ORDER BY u.role = 'operator', u.display_name, u.id",
        now - policy.idle,
        now - policy.absolute,
        now,
    )
    return [
        OnShift(
            user_id=r["id"],
            name=r["display_name"],
            role=r["role"],
            role_label=accounts.ROLE_LABELS[access.Role(r["role"])],
            since=r["since"],
            last_seen_at=r["last_seen"],
            sessions=r["n"],
        )
        for r in rows
    ]


_ESCALATION_COLUMNS = (
    "e.id, e.clock_id, e.milestone, e.referral_id, e.case_id, e.unit_id, un.name AS unit_name,"
    " e.case_number, e.zone_id, z.name AS zone_name, e.urgency, e.due_at, e.raised_at,"
    " e.acknowledged_at, e.acknowledged_by, b.display_name AS acknowledged_by_name, e.note"
)
_ESCALATION_JOINS = (
    " FROM escalations e JOIN zones z ON z.id = e.zone_id LEFT JOIN units un ON un.id = e.unit_id"
    " LEFT JOIN users b ON b.id = e.acknowledged_by"
)


def _milestone_label(value: str) -> str:
    try:
        return sla.MILESTONE_LABELS[Milestone(value)]
    except ValueError:
        return value


def _escalation(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "label": _milestone_label(row["milestone"])}


async def _escalations(conn: asyncpg.Connection) -> list[EscalationView]:
    rows = await conn.fetch(
        f"SELECT {_ESCALATION_COLUMNS}{_ESCALATION_JOINS}"
        " WHERE e.acknowledged_at IS NULL ORDER BY e.due_at, e.id"
    )
    return [EscalationView(**_escalation(r)) for r in rows]


_NOTE_COLUMNS = (
    "n.id, n.body, n.author_id, a.display_name AS author_name, n.written_at, n.acknowledged_at,"
    " n.acknowledged_by, b.display_name AS acknowledged_by_name"
)
_NOTE_JOINS = (
    " FROM shift_notes n JOIN users a ON a.id = n.author_id"
    " LEFT JOIN users b ON b.id = n.acknowledged_by"
)


async def _shift_notes(conn: asyncpg.Connection) -> list[ShiftNoteView]:
    rows = await conn.fetch(
        f"SELECT {_NOTE_COLUMNS}{_NOTE_JOINS} ORDER BY n.written_at DESC, n.id DESC LIMIT $1",
        SHIFT_NOTES_SHOWN,
    )
    return [ShiftNoteView(**dict(r)) for r in rows]


async def _work(conn: asyncpg.Connection) -> list[WorkItem]:
    rank = "array_position(ARRAY['rosso','giallo','verde'], {})"
    referral_rows = await conn.fetch(
        "SELECT r.id, r.case_number, r.status, coalesce(r.urgency, r.urgency_proposed, 'none')"
        " AS urgency, r.holder_id, h.display_name AS holder_name FROM referrals r"
        " LEFT JOIN users h ON h.id = r.holder_id WHERE r.status = ANY($1)"
        f" ORDER BY {rank.format('coalesce(r.urgency, r.urgency_proposed)')} NULLS LAST,"
        " r.received_at, r.id LIMIT $2",
        list(REFERRAL_STATES),
        WORK_LIMIT,
    )
    case_rows = await conn.fetch(
        "SELECT c.id, c.case_number, c.status, c.urgency, c.owner_id AS holder_id,"
        " o.display_name AS holder_name FROM cases c LEFT JOIN users o ON o.id = c.owner_id"
        f" WHERE c.status <> 'closed' ORDER BY {rank.format('c.urgency')}, c.opened_at, c.id"
        " LIMIT $1",
        WORK_LIMIT,
    )
    found = [
        WorkItem(
            kind="referral",
            **dict(r),
            status_label=referrals.STATUS_LABELS[referrals.Status(r["status"])],
        )
        for r in referral_rows
    ]
    found += [
        WorkItem(
            kind="case",
            **dict(r),
            status_label=casefile.label_of(cases.STATUS_LABELS, cases.Status, r["status"]),
        )
        for r in case_rows
    ]
    return found


async def read_supervision(
    pool: asyncpg.Pool, policy: SessionPolicy, now: datetime | None = None
) -> Supervision:
    """Everything the supervisor's screen shows, and the log head it agrees with."""
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        return Supervision(
            as_of=as_of,
            now=now,
            referral_queues=await _referral_queues(conn),
            case_queues=await _case_queues(conn),
            clocks=await _clocks_at_risk(conn),
            zones=await _zones(conn),
            on_shift=await _on_shift(conn, now, policy),
            escalations=await _escalations(conn),
            shift_notes=await _shift_notes(conn),
            work=await _work(conn),
        )


# ---- actions --------------------------------------------------------------------------------


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
            f"SELECT {_ESCALATION_COLUMNS}{_ESCALATION_JOINS} WHERE e.id = $1", escalation_id
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
        escalation = _escalation(row)
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
        row = await tx.conn.fetchrow(
            f"SELECT {_NOTE_COLUMNS}{_NOTE_JOINS} WHERE n.id = $1", note_id
        )
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
        if locked["status"] == cases.Status.CLOSED:
            raise errors.Conflict("Il caso è chiuso: non si riassegna.")
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


# ---- the API --------------------------------------------------------------------------------


def _path_id(request: Request, missing: str) -> int:
    raw = str(request.path_params["id"])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound(missing)
    return int(raw)


_SUPERVISE: dict[str, Any] = {"permission": access.Permission.SUPERVISE, "tag": "supervision"}


@operation(
    "GET",
    "/api/v1/supervision",
    summary="The supervisor's room: queues, clocks at risk, units, staff, escalations, notes",
    response=Supervision,
    errors=(403,),
    description="Read in one repeatable-read transaction with `as_of`: follow"
    " `/ws?after=as_of`. On shift: operators and supervisors with a live session (not revoked,"
    " within the idle and absolute timeouts).",
    **_SUPERVISE,
)
async def get_supervision(
    request: Request, principal: access.Principal, _: None, __: None
) -> Supervision:
    svc = services.of(request)
    return await read_supervision(svc.db.pool, svc.settings.session_policy)


@operation(
    "POST",
    "/api/v1/escalations/{id}/acknowledge",
    summary="Acknowledge an escalation (a missed SLA target), with an optional note",
    body=AcknowledgeIn,
    response=AcknowledgedEscalation,
    errors=(403, 404, 409, 422),
    description="Once: a second acknowledgement gets 409 with `acknowledged` (by whom, when)."
    " Event `escalation.acknowledged` to the supervisors.",
    example={"note": "Chiamata l'operatrice: la segnalazione è in valutazione."},
    **_SUPERVISE,
)
async def post_escalation_acknowledgement(
    request: Request, principal: access.Principal, body: AcknowledgeIn, _: None
) -> AcknowledgedEscalation:
    escalation_id = _path_id(request, "Escalation non trovata.")
    return await acknowledge_escalation(
        services.of(request).db, principal, escalation_id, body.note
    )


@operation(
    "POST",
    "/api/v1/shift-notes",
    summary="Write a shift note (consegna) for the incoming shift",
    body=ShiftNoteIn,
    response=ShiftNoteOut,
    status=201,
    errors=(403, 422),
    description="Event `shift_note.written` to the supervisors.",
    example={"body": "Caso SEUS-2026-000123: richiamare il PS di Careggi alle 8."},
    **_SUPERVISE,
)
async def post_shift_note(
    request: Request, principal: access.Principal, body: ShiftNoteIn, _: None
) -> ShiftNoteOut:
    return await write_shift_note(services.of(request).db, principal, body.body)


@operation(
    "POST",
    "/api/v1/shift-notes/{id}/acknowledge",
    summary="Acknowledge a shift note (the incoming supervisor)",
    response=ShiftNoteOut,
    errors=(403, 404, 409),
    description="409 when the author tries (the incoming shift confirms) or when it is already"
    " acknowledged (`acknowledged`: by whom, when). Event `shift_note.acknowledged`.",
    **_SUPERVISE,
)
async def post_shift_note_acknowledgement(
    request: Request, principal: access.Principal, _: None, __: None
) -> ShiftNoteOut:
    note_id = _path_id(request, "Consegna non trovata.")
    return await acknowledge_shift_note(services.of(request).db, principal, note_id)


@operation(
    "POST",
    "/api/v1/cases/{id}/reassign",
    summary="Hand an open case to another operator (supervisors)",
    body=ReassignIn,
    response=CaseReassigned,
    permission=access.Permission.REASSIGN,
    tag="supervision",
    errors=(403, 404, 409, 422),
    description="`operator_id` must be an active operator or supervisor (422 otherwise); 409"
    " when the case is closed or already theirs. Event `case.reassigned` to the room.",
    example={"operator_id": 2, "reason": "Fine turno: prosegue la collega."},
)
async def post_case_reassignment(
    request: Request, principal: access.Principal, body: ReassignIn, _: None
) -> CaseReassigned:
    case_id = _path_id(request, "Caso non trovato.")
    db = services.of(request).db
    return await reassign_case(db, principal, case_id, body.operator_id, body.reason)


# ---- the page -------------------------------------------------------------------------------


async def supervision_page(request: Request, session: auth.Session) -> Response:
    return pages.render(
        request,
        "supervision.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Supervisione",
    )


page_routes: list[BaseRoute] = [
    pages.page(
        "/supervisione",
        supervision_page,
        access.Permission.SUPERVISE,
        refusal="Pagina riservata al supervisore di turno.",
    )
]
