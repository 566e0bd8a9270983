"""Handover to the territorial service: dossier, routing, accept or reject."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console import audit, auth, casefile, errors, eventlog, pages, progress, services
from console.api import operation
from console.casework import PersonRef
from console.db import Database, Tx
from console.schemas import Request as RequestModel
from dispatch import access, cases, handover

# -- schemas ----------------------------------------------------------------------------------


class Handover(BaseModel):
    id: int
    case_id: int
    case_number: str
    zone_id: str = Field(description="The competent territorial service's zone")
    zone_name: str
    status: str = Field(description="sent | accepted | rejected")
    status_label: str
    dossier: dict[str, Any] = Field(description="The curated extract, not the whole file")
    sent_at: datetime
    sent_by: PersonRef | None
    decided_at: datetime | None
    decided_by: PersonRef | None
    reason: str | None = Field(description="Why it was rejected")
    seq: int | None = Field(default=None, description="Seq of the event an action recorded")


class HandoverList(BaseModel):
    handovers: list[Handover]
    as_of: int


class HandoverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["sent", "accepted", "rejected", "all"] = "all"


class HandoverRejectIn(RequestModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the service refuses it")

    @field_validator("reason")
    @classmethod
    def printable(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("control characters are not allowed")
        return value


def _out(row: dict[str, Any], seq: int | None = None) -> Handover:
    status = handover.Status(row["status"])
    return Handover(
        **{k: v for k, v in row.items() if k not in ("status",)},
        status=status.value,
        status_label=handover.STATUS_LABELS[status],
        seq=seq,
    )


def _id(request: Request) -> int:
    raw = str(request.path_params["id"])
    if not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound()
    return int(raw)


# -- the dossier ------------------------------------------------------------------------------


async def build_dossier(tx: Tx, case: Any) -> handover.Dossier:
    """Who, what happened, what was done, what was booked, what is still needed."""
    conn = tx.conn
    referral = await casefile.load_referral(conn, case["referral_id"])
    done = [
        line
        for e in await casefile.case_events(
            conn, case["id"], case["referral_id"], frozenset({access.ROOM}), limit=1000
        )
        if (line := cases.done_line(e["type"], e["payload"] or {}, e["at"])) is not None
    ]
    bookings = [
        {
            "type": b["resource_type"],
            "type_label": b["type_label"],
            "name": b["resource_name"],
            "provider": b["provider"],
            "status": b["status"],
            "quantity": b["quantity"],
        }
        for b in await casefile.load_bookings(conn, case["id"])
    ]
    return handover.dossier(
        case_number=case["case_number"],
        people=referral["people"] or {},
        what_happened=referral["description"],
        trigger=referral["trigger_label"],
        urgency=case["urgency"],
        place={
            "municipality": referral["municipality"]["name"],
            "zone": referral["zone"]["name"],
            "address": referral["address"],
        },
        timeline=done,
        bookings=bookings,
        needs=list(case["needs"]),
    )


# -- actions ----------------------------------------------------------------------------------


async def send(db: Database, principal: access.Principal, case_id: int) -> Handover:
    """Send the case to the competent zone's service: residence first, else where found."""
    async with db.action() as tx:
        case = await tx.conn.fetchrow(
            "SELECT c.id, c.referral_id, c.case_number, c.status, c.zone_id, c.urgency, c.needs,"
            " rm.zone_id AS residence_zone FROM cases c JOIN referrals r ON r.id = c.referral_id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " WHERE c.id = $1 FOR UPDATE OF c",
            case_id,
        )
        if case is None:
            raise errors.NotFound("Caso non trovato.")
        status = cases.advance(cases.Status(case["status"]), cases.Status.HANDOVER_SENT)
        zone = handover.competent_zone(case["residence_zone"], case["zone_id"])
        zone_name = await tx.conn.fetchval("SELECT name FROM zones WHERE id = $1", zone)
        dossier = await build_dossier(tx, case)
        handover_id: int = await tx.conn.fetchval(
            "INSERT INTO handovers (case_id, zone_id, status, dossier, sent_at, sent_by)"
            " VALUES ($1, $2, 'sent', $3, $4, $5) RETURNING id",
            case_id,
            zone,
            dossier.as_dict(),
            tx.now,
            principal.user_id,
        )
        await tx.conn.execute(
            "UPDATE cases SET status = $2, flagged = false, updated_at = $3 WHERE id = $1",
            case_id,
            status.value,
            tx.now,
        )
        tx.emit(
            handover.sent(handover_id, case_id, zone, dossier, principal),
            handover.case_handover_sent(
                handover_id,
                case_id,
                case["case_number"],
                case["zone_id"],
                zone,
                zone_name,
                principal,
            ),
        )
        await progress.notify_referrer(tx, case["referral_id"])
        [row] = await casefile.load_handovers(tx.conn, handover_id=handover_id)
    return _out(row, tx.logged[-1].seq)


async def decide(
    db: Database,
    principal: access.Principal,
    handover_id: int,
    outcome: handover.Status,
    reason: str | None = None,
) -> Handover:
    """The zone's service accepts (its part is closed) or rejects (the room gets it, flagged)."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT h.status, h.zone_id, h.case_id, c.referral_id, c.case_number,"
            " c.status AS case_status FROM handovers h JOIN cases c ON c.id = h.case_id"
            " WHERE h.id = $1 FOR UPDATE",
            handover_id,
        )
        if row is None or principal.zone_id is None or row["zone_id"] != principal.zone_id:
            raise errors.NotFound("Passaggio non trovato.")
        handover.decide(handover.Status(row["status"]), outcome)
        rejected = outcome is handover.Status.REJECTED
        reason = handover.reject_reason(reason) if rejected else None
        target = cases.Status.HANDOVER_REJECTED if rejected else cases.Status.HANDOVER_ACCEPTED
        status = cases.advance(cases.Status(row["case_status"]), target)
        await tx.conn.execute(
            "UPDATE handovers SET status = $2, decided_at = $3, decided_by = $4, reason = $5"
            " WHERE id = $1",
            handover_id,
            outcome.value,
            tx.now,
            principal.user_id,
            reason,
        )
        await tx.conn.execute(
            "UPDATE cases SET status = $2, flagged = $3, updated_at = $4 WHERE id = $1",
            row["case_id"],
            status.value,
            rejected,
            tx.now,
        )
        tx.emit(
            handover.decided(
                handover_id,
                row["case_id"],
                row["case_number"],
                row["zone_id"],
                outcome,
                principal,
                reason,
            )
        )
        await progress.notify_referrer(tx, row["referral_id"])
        [found] = await casefile.load_handovers(tx.conn, handover_id=handover_id)
    return _out(found, tx.logged[-1].seq)


async def zone_handovers(
    conn: Any, principal: access.Principal, *, handover_id: int | None = None, status: str = "all"
) -> list[dict[str, Any]]:
    """Only the caller's zone: a service without a zone sees none."""
    if principal.zone_id is None:
        return []
    return await casefile.load_handovers(
        conn,
        handover_id=handover_id,
        zone=principal.zone_id,
        status=None if status == "all" else status,
    )


# -- operations -------------------------------------------------------------------------------


@operation(
    "POST",
    "/api/v1/cases/{id}/handover",
    summary="Send the case to the competent territorial service, with a curated dossier",
    response=Handover,
    status=201,
    permission=access.Permission.MANAGE_CASES,
    errors=(404, 409),
    tag="handovers",
    description="The competent zone is the residence municipality's, else where the person was "
    "found. Only that zone's service receives the dossier.",
)
async def post_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    return await send(services.of(request).db, principal, _id(request))


@operation(
    "GET",
    "/api/v1/handovers",
    summary="The handovers of the caller's zone",
    query=HandoverQuery,
    response=HandoverList,
    permission=access.Permission.DECIDE_HANDOVER,
    tag="handovers",
)
async def list_handovers(
    request: Request, principal: access.Principal, _: None, query: HandoverQuery
) -> HandoverList:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        rows = await zone_handovers(conn, principal, status=query.status)
        await audit.file_opened(conn, principal, "handover", [r["id"] for r in rows])
    return HandoverList(handovers=[_out(r) for r in rows], as_of=as_of)


@operation(
    "GET",
    "/api/v1/handovers/{id}",
    summary="One handover of the caller's zone (404 for any other zone's)",
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404,),
    tag="handovers",
)
async def get_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction():
        rows = await zone_handovers(conn, principal, handover_id=_id(request))
        if not rows:
            raise errors.NotFound("Passaggio non trovato.")
        await audit.file_opened(conn, principal, "handover", rows[0]["id"])
    return _out(rows[0])


@operation(
    "POST",
    "/api/v1/handovers/{id}/accept",
    summary="Accept a handover: the territorial service takes the person in charge",
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404, 409),
    tag="handovers",
)
async def accept_handover(request: Request, principal: access.Principal, _: None, __: None) -> Any:
    db = services.of(request).db
    return await decide(db, principal, _id(request), handover.Status.ACCEPTED)


@operation(
    "POST",
    "/api/v1/handovers/{id}/reject",
    summary="Reject a handover with a reason: the case returns to the room, flagged",
    body=HandoverRejectIn,
    response=Handover,
    permission=access.Permission.DECIDE_HANDOVER,
    errors=(404, 409),
    tag="handovers",
    example={"reason": "La persona risiede in un altro comune: competente la zona pistoiese."},
)
async def reject_handover(
    request: Request, principal: access.Principal, body: HandoverRejectIn, _: None
) -> Any:
    db = services.of(request).db
    return await decide(db, principal, _id(request), handover.Status.REJECTED, body.reason)


# -- page -------------------------------------------------------------------------------------


async def handovers_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    zone_name = None
    if principal.zone_id is not None:
        pool = services.of(request).db.pool
        zone_name = await pool.fetchval("SELECT name FROM zones WHERE id = $1", principal.zone_id)
    return pages.render(
        request,
        "handovers.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Passaggi in carico",
        zone_name=zone_name or principal.zone_id,
        labels=casefile.labels(),
    )


page_routes: list[BaseRoute] = [
    pages.page("/passaggi", handovers_page, access.Permission.DECIDE_HANDOVER)
]
