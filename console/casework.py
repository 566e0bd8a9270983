"""Case pages: the referral, assessment, timeline, units, bookings, notes and handover, live."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console import audit, auth, casefile, errors, eventlog, pages, progress, services
from console.api import operation
from console.db import Database
from console.schemas import Request as RequestModel
from dispatch import access, cases, referrals, units

# -- schemas ----------------------------------------------------------------------------------


class PersonRef(BaseModel):
    id: int
    name: str


class CaseUnit(BaseModel):
    id: int
    name: str
    status: str
    status_label: str


class RoomCase(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str
    zone_id: str
    zone_name: str
    municipality: str
    trigger: str
    trigger_label: str
    owner: PersonRef | None
    flagged: bool
    flag_reason: str | None = Field(description="Why the last handover was rejected, if flagged")
    units: list[CaseUnit] = Field(description="Units on the case now (active assignments)")
    opened_at: datetime
    updated_at: datetime


class RoomCaseList(BaseModel):
    cases: list[RoomCase]
    as_of: int = Field(description="Last seq in the log when read")


class RoomCaseQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "all"] = Field(default="open", description="open: not closed")


class CaseDetail(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    allowed: list[str] = Field(description="Statuses the case may move to from here")
    urgency: str
    zone_id: str
    zone_name: str
    competent_zone: dict[str, str] = Field(description="Where a handover would go: id, name")
    owner: PersonRef | None
    needs: list[str]
    need_labels: list[str]
    skills: list[str]
    language: str | None
    flagged: bool
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    referral: dict[str, Any] = Field(description="Every field of the referral")
    assessment: dict[str, Any] | None
    assignments: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    handovers: list[dict[str, Any]]
    as_of: int = Field(description="Last seq in the log when read: events after it follow")


class CaseTimelineEntry(BaseModel):
    seq: int
    at: datetime
    type: str
    what: str = Field(description="What happened, in Italian")
    who: str = Field(description="Who did it (display name), or 'sistema'")
    why: str | None = Field(description="The reason recorded with it")
    detail: str | None = Field(description="Its object: a unit, a resource, a note's text")


class CaseTimeline(BaseModel):
    entries: list[CaseTimelineEntry]
    as_of: int


class CaseTimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0, description="Only entries with a greater seq")
    limit: int = Field(default=500, ge=1, le=1000)


def _printable(value: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


class CaseNoteIn(RequestModel):
    body: str = Field(min_length=1, max_length=4000, description="The note (rendered escaped)")

    @field_validator("body")
    @classmethod
    def printable(cls, value: str) -> str:
        return _printable(value)


class CaseNote(BaseModel):
    id: int
    case_id: int
    author: str
    author_name: str
    body: str
    at: datetime
    seq: int = Field(description="Seq of the event that recorded it")


class CaseCloseIn(RequestModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the case is closed")

    @field_validator("reason")
    @classmethod
    def printable(cls, value: str) -> str:
        return _printable(value)


class CaseUrgencyIn(RequestModel):
    urgency: Literal["rosso", "giallo", "verde"] = Field(description="The new urgency code")
    reason: str = Field(min_length=1, max_length=2000, description="Why the code changes")

    @field_validator("reason")
    @classmethod
    def printable(cls, value: str) -> str:
        return _printable(value)


class CaseState(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    flagged: bool
    seq: int = Field(description="Seq of the last event the action recorded")


# -- access -----------------------------------------------------------------------------------


def require_case_reader(principal: access.Principal) -> None:
    """The case file: whoever may see full referrals or manage cases (the room)."""
    if not access.allows(principal, access.READ_CASES):
        raise errors.Forbidden()


def _case_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not str(raw).isdigit() or len(str(raw)) > 18:
        raise errors.NotFound("Caso non trovato.")
    return int(raw)


# -- reads ------------------------------------------------------------------------------------


@operation(
    "GET",
    "/api/v1/cases",
    summary="The room's cases: open ones (default) or all",
    query=RoomCaseQuery,
    response=RoomCaseList,
    permission=access.READ_CASES,
    errors=(403,),
    tag="cases",
    description="Flagged cases (handover rejected) first, then by urgency and age.",
)
async def list_cases(
    request: Request, principal: access.Principal, _: None, query: RoomCaseQuery
) -> RoomCaseList:
    require_case_reader(principal)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await room_cases(conn, include_closed=query.status == "all")
    return RoomCaseList(cases=found, as_of=as_of)


async def room_cases(conn: asyncpg.Connection, *, include_closed: bool) -> list[RoomCase]:
    """The room's list: flagged first (with the rejection's reason), then urgency, then age."""
    rows = await conn.fetch(
        "SELECT c.id, c.case_number, c.status, c.urgency, c.zone_id, z.name AS zone_name,"
        " m.name AS municipality, r.trigger, c.owner_id, o.display_name AS owner_name,"
        " c.flagged, c.opened_at, c.updated_at,"
        " (SELECT h.reason FROM handovers h WHERE h.case_id = c.id AND h.status = 'rejected'"
        "  ORDER BY h.decided_at DESC LIMIT 1) AS flag_reason"
        " FROM cases c JOIN referrals r ON r.id = c.referral_id"
        " JOIN zones z ON z.id = c.zone_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code"
        " LEFT JOIN users o ON o.id = c.owner_id"
        " WHERE $1 OR c.status <> 'closed'"
        " ORDER BY c.flagged DESC, array_position(ARRAY['rosso','giallo','verde'], c.urgency),"
        " c.opened_at, c.id LIMIT 1000",
        include_closed,
    )
    on_case = await active_units(conn, [r["id"] for r in rows])
    found = []
    for r in rows:
        status = cases.Status(r["status"])
        found.append(
            RoomCase(
                id=r["id"],
                case_number=r["case_number"],
                status=status.value,
                status_label=cases.STATUS_LABELS[status],
                urgency=r["urgency"],
                zone_id=r["zone_id"],
                zone_name=r["zone_name"],
                municipality=r["municipality"],
                trigger=r["trigger"],
                trigger_label=casefile.label_of(
                    referrals.TRIGGER_LABELS, referrals.Trigger, r["trigger"]
                ),
                owner=PersonRef(id=r["owner_id"], name=r["owner_name"]) if r["owner_id"] else None,
                flagged=r["flagged"],
                flag_reason=r["flag_reason"] if r["flagged"] else None,
                units=on_case.get(r["id"], []),
                opened_at=r["opened_at"],
                updated_at=r["updated_at"],
            )
        )
    return found


async def active_units(conn: asyncpg.Connection, case_ids: list[int]) -> dict[int, list[CaseUnit]]:
    """The units on each case now: its active assignments, in dispatch order."""
    rows = await conn.fetch(
        "SELECT a.case_id, u.id, u.name, u.status FROM assignments a"
        " JOIN units u ON u.id = a.unit_id WHERE a.case_id = ANY($1::bigint[])"
        " AND a.done_at IS NULL AND a.cancelled_at IS NULL ORDER BY a.id",
        case_ids,
    )
    found: dict[int, list[CaseUnit]] = {}
    for r in rows:
        found.setdefault(r["case_id"], []).append(
            CaseUnit(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                status_label=casefile.label_of(units.STATUS_LABELS, units.Status, r["status"]),
            )
        )
    return found


@operation(
    "GET",
    "/api/v1/cases/{id}",
    summary="A case's whole file: referral, assessment, units, bookings, notes, handovers",
    response=CaseDetail,
    permission=access.READ_CASES,
    errors=(403, 404),
    tag="cases",
    description="Read in one repeatable-read transaction: events after `as_of` follow live.",
)
async def get_case(request: Request, principal: access.Principal, _: None, __: None) -> CaseDetail:
    require_case_reader(principal)
    case_id = _case_id(request)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await casefile.load_case(conn, case_id)
        if found is None:
            raise errors.NotFound("Caso non trovato.")
        await audit.file_opened(conn, principal, "case", case_id)
    return CaseDetail(**found, as_of=as_of)


@operation(
    "GET",
    "/api/v1/cases/{id}/timeline",
    summary="A case's history, built from the event log",
    query=CaseTimelineQuery,
    response=CaseTimeline,
    permission=access.READ_CASES,
    errors=(403, 404),
    tag="cases",
    description="Events whose subject is the case or its referral, or whose payload names the "
    "case (`case_id`), that the caller may see; each with when, who, what and why.",
)
async def get_timeline(
    request: Request, principal: access.Principal, _: None, query: CaseTimelineQuery
) -> CaseTimeline:
    require_case_reader(principal)
    case_id = _case_id(request)
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        referral_id = await conn.fetchval("SELECT referral_id FROM cases WHERE id = $1", case_id)
        if referral_id is None:
            raise errors.NotFound("Caso non trovato.")
        await audit.file_opened(conn, principal, "case", case_id)
        entries = await casefile.timeline(
            conn,
            case_id,
            referral_id,
            access.read_tags(principal),
            after=query.after,
            limit=query.limit,
        )
    return CaseTimeline(entries=[CaseTimelineEntry(**e) for e in entries], as_of=as_of)


# -- actions ----------------------------------------------------------------------------------


async def add_note(db: Database, principal: access.Principal, case_id: int, body: str) -> CaseNote:
    """A note on the case, for the room."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT case_number, status, zone_id FROM cases WHERE id = $1 FOR UPDATE", case_id
        )
        if row is None:
            raise errors.NotFound("Caso non trovato.")
        if row["status"] == cases.Status.CLOSED:
            raise errors.Conflict("Il caso è chiuso: non si aggiungono note.")
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
        await progress.notify_referrer(tx, row["referral_id"])
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
        if row["status"] == cases.Status.CLOSED:
            raise errors.Conflict("Il caso è chiuso: il codice non cambia più.")
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


@operation(
    "POST",
    "/api/v1/cases/{id}/urgency",
    summary="Change an open case's urgency code (its clocks take the new targets)",
    body=CaseUrgencyIn,
    response=CaseState,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    description="The time already counted on every open clock of the case and of its units is"
    " kept; the targets become the new code's. 409 when the case is closed or already has it.",
    example={"urgency": "rosso", "reason": "Il PS segnala che la persona ha minori con sé."},
)
async def post_urgency(
    request: Request, principal: access.Principal, body: CaseUrgencyIn, _: None
) -> CaseState:
    db = services.of(request).db
    return await change_urgency(db, principal, _case_id(request), body.urgency, body.reason)


@operation(
    "POST",
    "/api/v1/cases/{id}/notes",
    summary="Add a note to a case",
    body=CaseNoteIn,
    response=CaseNote,
    status=201,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    example={"body": "Richiamato il pronto soccorso: la persona è ancora in sala d'attesa."},
)
async def post_note(
    request: Request, principal: access.Principal, body: CaseNoteIn, _: None
) -> CaseNote:
    return await add_note(services.of(request).db, principal, _case_id(request), body.body)


@operation(
    "POST",
    "/api/v1/cases/{id}/close",
    summary="Close a case (only from a state that allows it: 409 otherwise)",
    body=CaseCloseIn,
    response=CaseState,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="cases",
    example={"reason": "Passaggio accettato dal servizio territoriale; intervento concluso."},
)
async def post_close(
    request: Request, principal: access.Principal, body: CaseCloseIn, _: None
) -> CaseState:
    return await close_case(services.of(request).db, principal, _case_id(request), body.reason)


# -- page -------------------------------------------------------------------------------------


async def case_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    case_id = _case_id(request)
    pool = services.of(request).db.pool
    row = await pool.fetchrow("SELECT case_number, zone_id FROM cases WHERE id = $1", case_id)
    if row is None:
        raise errors.NotFound("Caso non trovato.")
    zones = await pool.fetch("SELECT id, name FROM zones ORDER BY name")
    return pages.render(
        request,
        "case.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=f"Caso {row['case_number']}",
        case_id=case_id,
        case_number=row["case_number"],
        case_zone=row["zone_id"],
        zones=zones,
        labels=casefile.labels(),
        can_manage=access.can(principal, access.Permission.MANAGE_CASES),
    )


# The list's filters, as kept in the address (?filtro=...): value -> Italian label.
CASE_FILTERS = {"tutti": "Tutti", "miei": "Miei", "respinti": "Passaggio respinto"}


async def cases_page(request: Request, session: auth.Session) -> Response:
    """The room's open cases, live; the filter lives in the address."""
    principal = session.principal
    chosen = request.query_params.get("filtro", "tutti")
    return pages.render(
        request,
        "cases.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Casi aperti",
        filters=CASE_FILTERS,
        chosen=chosen if chosen in CASE_FILTERS else "tutti",
    )


page_routes: list[BaseRoute] = [
    pages.page("/casi", cases_page, access.READ_CASES),
    pages.page("/casi/{id}", case_page, access.READ_CASES),
]
