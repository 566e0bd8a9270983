"""The room's queue and a referral's assessment page: reads, merge suggestions, pages.

Reads that a page follows live come with `as_of`, the log's head read in the same
repeatable-read transaction: the page applies the events after it. The actions are in
`console.assessment`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from console import auth, errors, eventlog, pages, services
from console.api import operation
from dispatch import access, basket, intake, referrals, units
from dispatch.referrals import Status, Urgency

ROME = ZoneInfo("Europe/Rome")
SUMMARY_CHARS = 160

_REFERRAL_COLUMNS = (
    "r.id, r.case_number, r.status, r.trigger, r.urgency, r.urgency_proposed, r.zone_id,"
    " z.name AS zone_name, r.municipality_code, m.name AS municipality_name, r.address, r.lat,"
    " r.lon, r.people, r.description, r.callback, r.received_at, r.holder_id,"
    " h.display_name AS holder_name, r.claimed_at, f.name AS referrer_name, f.kind AS"
    " referrer_kind, r.referrer_reference"
)
_REFERRAL_JOINS = (
    " FROM referrals r JOIN municipalities m ON m.istat_code = r.municipality_code"
    " JOIN zones z ON z.id = r.zone_id JOIN referrers f ON f.id = r.referrer_id"
    " LEFT JOIN users h ON h.id = r.holder_id"
)


class QueueEntry(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str = Field(description="What the queue orders by (see urgency_source)")
    urgency_source: str = Field(description="assessment, proposal or default (giallo)")
    trigger: str
    trigger_label: str
    municipality_name: str
    zone_id: str
    zone_name: str
    people_count: int | None
    minors: int | None
    summary: str = Field(description="The start of what happened (plain text)")
    referrer_name: str
    received_at: datetime
    waited_seconds: int
    holder_id: int | None
    holder_name: str | None
    claimed_at: datetime | None


class QueueOut(BaseModel):
    entries: list[QueueEntry] = Field(description="Most urgent first, then longest waiting")
    as_of: int = Field(description="Log head the queue was read at: apply events after it")
    now: datetime = Field(description="Server time of the read (for waiting clocks)")


class Candidate(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    trigger_label: str
    municipality_name: str
    received_at: datetime
    summary: str
    score: float
    reasons: list[str] = Field(description="Why it may be the same situation (Italian)")


class Candidates(BaseModel):
    candidates: list[Candidate]


class Operator(BaseModel):
    id: int
    name: str
    role: str


class Operators(BaseModel):
    operators: list[Operator]


def path_id(request: Request) -> int:
    """The `{id}` of an API path; anything but a plain positive number is not found."""
    raw = str(request.path_params["id"])
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound("Segnalazione non trovata.")
    return int(raw)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _urgency(value: str | None) -> Urgency | None:
    return Urgency(value) if value else None


def _trigger_label(value: str) -> str:
    try:
        return referrals.TRIGGER_LABELS[referrals.Trigger(value)]
    except ValueError:
        return value


def _summary(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


# Only what an entry shows: the queue reads every open referral on every refresh.
_QUEUE_COLUMNS = (
    "r.id, r.case_number, r.status, r.trigger, r.urgency, r.urgency_proposed, r.zone_id,"
    " z.name AS zone_name, m.name AS municipality_name, r.people->'count' AS people_count,"
    " r.people->'minors' AS minors, r.description, r.received_at, r.holder_id,"
    " h.display_name AS holder_name, r.claimed_at, f.name AS referrer_name"
)


def queue_entry(row: asyncpg.Record, now: datetime) -> QueueEntry:
    assessed, proposed = _urgency(row["urgency"]), _urgency(row["urgency_proposed"])
    source = "assessment" if assessed else "proposal" if proposed else "default"
    status = Status(row["status"])
    # Built from PostgreSQL's own typed columns: nothing to validate (model_construct is
    # several times faster for a queue of thousands).
    return QueueEntry.model_construct(
        id=row["id"],
        case_number=row["case_number"],
        status=status.value,
        status_label=referrals.STATUS_LABELS[status],
        urgency=referrals.queue_urgency(assessed, proposed).value,
        urgency_source=source,
        trigger=row["trigger"],
        trigger_label=_trigger_label(row["trigger"]),
        municipality_name=row["municipality_name"],
        zone_id=row["zone_id"],
        zone_name=row["zone_name"],
        people_count=_int(row["people_count"]),
        minors=_int(row["minors"]),
        summary=_summary(row["description"]),
        referrer_name=row["referrer_name"],
        received_at=row["received_at"],
        waited_seconds=max(0, int((now - row["received_at"]).total_seconds())),
        holder_id=row["holder_id"],
        holder_name=row["holder_name"],
        claimed_at=row["claimed_at"],
    )


def _queue_key(entry: QueueEntry) -> tuple[int, float, int]:
    rank, received = referrals.queue_key(Urgency(entry.urgency), entry.received_at.timestamp())
    return (rank, received, entry.id)


async def read_queue(pool: asyncpg.Pool, now: datetime | None = None) -> QueueOut:
    """The open referrals in the room's order, and the log head they agree with."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        rows = await conn.fetch(
            f"SELECT {_QUEUE_COLUMNS}{_REFERRAL_JOINS}"
            " WHERE r.status IN ('received', 'in_assessment')"
        )
    now = now or datetime.now(UTC)
    entries = sorted((queue_entry(r, now) for r in rows), key=_queue_key)
    return QueueOut(entries=entries, as_of=as_of, now=now)


async def read_referral(pool: asyncpg.Pool, referral_id: int) -> tuple[dict[str, Any], int]:
    """Everything the room sees of one referral, and the log head it agrees with."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        row = await conn.fetchrow(
            f"SELECT {_REFERRAL_COLUMNS}, r.assessment, r.decision_reason, r.merged_into,"
            " t.case_number AS merged_into_number, c.id AS case_id,"
            " rm.name AS residence_name, e.display_name AS entered_by_name"
            f"{_REFERRAL_JOINS} LEFT JOIN referrals t ON t.id = r.merged_into"
            " LEFT JOIN cases c ON c.referral_id = r.id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " LEFT JOIN users e ON e.id = r.entered_by WHERE r.id = $1",
            referral_id,
        )
    if row is None:
        raise errors.NotFound("Segnalazione non trovata.")
    return dict(row), as_of


async def merge_candidates(pool: asyncpg.Pool, referral_id: int, now: datetime) -> Candidates:
    columns = (
        "r.id, r.case_number, r.status, r.trigger, r.municipality_code, m.name AS"
        " municipality_name, r.lat, r.lon, r.callback, r.description, r.received_at"
    )
    joins = " FROM referrals r JOIN municipalities m ON m.istat_code = r.municipality_code"
    subject = await pool.fetchrow(f"SELECT {columns}{joins} WHERE r.id = $1", referral_id)
    if subject is None:
        raise errors.NotFound("Segnalazione non trovata.")
    rows = await pool.fetch(
        f"SELECT {columns}{joins} WHERE r.id <> $1 AND r.status <> 'merged'"
        " AND r.received_at >= $2 ORDER BY r.received_at DESC LIMIT 2000",
        referral_id,
        now - referrals.MERGE_WINDOW,
    )
    by_id = {r["id"]: r for r in rows}
    found = referrals.merge_candidates(_sighting(subject), map(_sighting, rows), now)
    return Candidates(
        candidates=[
            Candidate(
                id=c.id,
                case_number=by_id[c.id]["case_number"],
                status=by_id[c.id]["status"],
                status_label=referrals.STATUS_LABELS[Status(by_id[c.id]["status"])],
                trigger_label=_trigger_label(by_id[c.id]["trigger"]),
                municipality_name=by_id[c.id]["municipality_name"],
                received_at=by_id[c.id]["received_at"],
                summary=_summary(by_id[c.id]["description"]),
                score=c.score,
                reasons=list(c.reasons),
            )
            for c in found
        ]
    )


def _sighting(row: asyncpg.Record) -> referrals.Sighting:
    callback = row["callback"] if isinstance(row["callback"], dict) else {}
    return referrals.Sighting(
        id=row["id"],
        status=Status(row["status"]),
        municipality_code=row["municipality_code"],
        municipality_name=row["municipality_name"],
        lat=row["lat"],
        lon=row["lon"],
        phone=str(callback.get("phone") or ""),
        description=row["description"],
        received_at=row["received_at"],
    )


# ---- the API ------------------------------------------------------------------------------


@operation(
    "GET",
    "/api/v1/queue",
    summary="The room's queue: open referrals, most urgent and longest waiting first",
    response=QueueOut,
    permission=access.Permission.VIEW_REFERRALS,
    tag="room",
    description="Urgency is the assessed one, else the referrer's proposal, else giallo."
    " `as_of` is the log head read with the queue: follow `/ws?after=as_of`.",
)
async def get_queue(request: Request, principal: access.Principal, _: None, __: None) -> QueueOut:
    return await read_queue(services.of(request).db.pool)


@operation(
    "GET",
    "/api/v1/referrals/{id}/merge-candidates",
    summary="Referrals of the last 72 h that may be the same situation",
    response=Candidates,
    permission=access.Permission.VIEW_REFERRALS,
    tag="room",
    errors=(404,),
    description="Same municipality, within 2 km, the same phone to call back or a similar"
    " description; merged referrals excluded; each with its reasons in Italian.",
)
async def get_merge_candidates(
    request: Request, principal: access.Principal, _: None, __: None
) -> Candidates:
    pool = services.of(request).db.pool
    return await merge_candidates(pool, path_id(request), datetime.now(UTC))


@operation(
    "GET",
    "/api/v1/operators",
    summary="Active operators and supervisors (for reassignment)",
    response=Operators,
    permission=access.Permission.VIEW_ROOM,
    tag="room",
)
async def get_operators(
    request: Request, principal: access.Principal, _: None, __: None
) -> Operators:
    rows = await services.of(request).db.pool.fetch(
        "SELECT id, display_name, role FROM users WHERE active"
        " AND role IN ('operator', 'supervisor') ORDER BY display_name, id"
    )
    return Operators(
        operators=[Operator(id=r["id"], name=r["display_name"], role=r["role"]) for r in rows]
    )


# ---- the pages ----------------------------------------------------------------------------


def rome(value: datetime | None) -> str:
    return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if value else ""


ROOM_ONLY = "Pagina riservata alla centrale operativa."


async def queue_page(request: Request, session: auth.Session) -> Response:
    return pages.render(
        request,
        "queue.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Coda segnalazioni",
    )


FORM_OPTIONS = {
    "triggers": [(t.value, label) for t, label in referrals.TRIGGER_LABELS.items()],
    "urgencies": [(u.value, label) for u, label in referrals.URGENCY_LABELS.items()],
    "risks": [(r.value, label) for r, label in referrals.RISK_LABELS.items()],
    "needs": [(t.value, label) for t, label in basket.TYPE_LABELS.items()],
    "skills": [(s.value, label) for s, label in units.SKILL_LABELS.items()],
    "decisions": [(d.value, label) for d, label in referrals.DECISION_LABELS.items()],
}


async def assessment_page(request: Request, session: auth.Session) -> Response:
    referral, as_of = await read_referral(services.of(request).db.pool, request.path_params["id"])
    status = Status(referral["status"])
    people = _people_view(referral["people"])
    callback = referral["callback"] if isinstance(referral["callback"], dict) else {}
    principal = session.principal
    return pages.render(
        request,
        "assessment.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=f"Valutazione {referral['case_number']}",
        r=referral,
        as_of=as_of,
        status_label=referrals.STATUS_LABELS[status],
        is_open=status in referrals.OPEN,
        trigger_label=_trigger_label(referral["trigger"]),
        people=people,
        callback=callback,
        assessment=referral["assessment"] or {},
        received=rome(referral["received_at"]),
        claimed=rome(referral["claimed_at"]),
        can_reassign=access.can(principal, access.Permission.REASSIGN),
        options=FORM_OPTIONS,
    )


def _label(labels: dict[Any, str], value: object) -> str:
    return next((label for key, label in labels.items() if key == value), str(value or ""))


def _people_view(people: object) -> dict[str, Any]:
    """The people involved as the page shows them (labels in Italian)."""
    raw = people if isinstance(people, dict) else {}
    band, sex = raw.get("age_band"), raw.get("sex")
    return {
        "count": _int(raw.get("count")),
        "minors": _int(raw.get("minors")) or 0,
        "age_band": _label(intake.AGE_BAND_LABELS, band) if band not in (None, "unknown") else "",
        "sex": _label(intake.SEX_LABELS, sex) if sex not in (None, "unknown") else "",
        "language": intake.language_label(raw.get("language")),
        "italian": raw.get("language") in (None, "", "it"),
        "needs_mediator": raw.get("needs_mediator") is True,
    }


page_routes = [
    pages.page("/coda", queue_page, access.Permission.ASSESS, refusal=ROOM_ONLY),
    pages.page("/coda/{id:int}", assessment_page, access.Permission.ASSESS, refusal=ROOM_ONLY),
]
