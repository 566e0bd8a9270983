"""The zone's basket of resources (paniere delle risorse): list with live availability, edit.

Availability is capacity minus what held, confirmed and in-use bookings count. Writers that
change that count lock the resource row first (console/bookings.py), so a count read under the
lock is the truth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response

from console import auth, errors, eventlog, pages, schemas, services
from console.api import operation
from console.db import Tx
from dispatch import access, basket
from dispatch.events import actor_of

TYPE_ORDER = [t.value for t in basket.ResourceType]

_SELECT = (
    "SELECT r.id, r.zone_id, z.name AS zone_name, r.type, r.name, r.provider, r.capacity,"
    " r.conditions, r.max_duration, r.contact_hours, r.phone, r.active, r.updated_at,"
    " coalesce(c.held, 0) AS held, coalesce(c.confirmed, 0) AS confirmed,"
    " coalesce(c.in_use, 0) AS in_use"
    " FROM resources r JOIN zones z ON z.id = r.zone_id"
    " LEFT JOIN LATERAL (SELECT sum(b.quantity) FILTER (WHERE b.status = 'held') AS held,"
    " sum(b.quantity) FILTER (WHERE b.status = 'confirmed') AS confirmed,"
    " sum(b.quantity) FILTER (WHERE b.status = 'in_use') AS in_use"
    " FROM bookings b WHERE b.resource_id = r.id"
    " AND b.status IN ('held', 'confirmed', 'in_use')) c ON true"
)


def printable(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


class ResourceOut(BaseModel):
    id: int
    zone_id: str
    zone_name: str
    type: basket.ResourceType
    type_label: str
    name: str
    provider: str
    capacity: int
    available: int = Field(description="Capacity minus held, confirmed and in-use quantities")
    held: int
    confirmed: int
    in_use: int
    conditions: str
    max_duration: str
    contact_hours: str
    phone: str
    active: bool
    updated_at: datetime


class ResourceList(BaseModel):
    as_of: int = Field(description="Seq of the log these numbers are read at; newer events apply")
    resources: list[ResourceOut]


class ResourcesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str | None = Field(default=None, max_length=80, description="Zone id, e.g. pistoiese")
    type: basket.ResourceType | None = None


class ResourceIn(schemas.Request):
    zone_id: str = Field(min_length=1, max_length=80)
    type: basket.ResourceType
    name: str = Field(min_length=1, max_length=200)
    provider: str = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=0, le=100_000)
    conditions: str = Field(default="", max_length=2000, description="Conditions of access")
    max_duration: str = Field(default="", max_length=200)
    contact_hours: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=50)
    active: bool = True

    _printable = field_validator(
        "name", "provider", "conditions", "max_duration", "contact_hours", "phone"
    )(printable)


class ResourcePatch(schemas.Request):
    """Only the fields sent change; the zone of a resource does not."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    provider: str | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    conditions: str | None = Field(default=None, max_length=2000)
    max_duration: str | None = Field(default=None, max_length=200)
    contact_hours: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=50)
    active: bool | None = None
    reason: str | None = Field(default=None, max_length=500, description="Why (for the log)")

    _printable = field_validator(
        "name", "provider", "conditions", "max_duration", "contact_hours", "phone", "reason"
    )(printable)


def path_id(request: Request, name: str = "id") -> int:
    """A numeric id from the path; anything else names nothing (404)."""
    raw = str(request.path_params.get(name, ""))
    if not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound()
    return int(raw)


def to_out(row: asyncpg.Record | dict[str, Any]) -> ResourceOut:
    held, confirmed, in_use = int(row["held"]), int(row["confirmed"]), int(row["in_use"])
    kind = basket.ResourceType(row["type"])
    return ResourceOut(
        id=row["id"],
        zone_id=row["zone_id"],
        zone_name=row["zone_name"],
        type=kind,
        type_label=basket.TYPE_LABELS[kind],
        name=row["name"],
        provider=row["provider"],
        capacity=row["capacity"],
        available=basket.available(row["capacity"], held + confirmed + in_use),
        held=held,
        confirmed=confirmed,
        in_use=in_use,
        conditions=row["conditions"],
        max_duration=row["max_duration"],
        contact_hours=row["contact_hours"],
        phone=row["phone"],
        active=row["active"],
        updated_at=row["updated_at"],
    )


async def read(conn: asyncpg.Connection, resource_id: int) -> ResourceOut | None:
    row = await conn.fetchrow(_SELECT + " WHERE r.id = $1", resource_id)
    return to_out(row) if row else None


async def taken(conn: asyncpg.Connection, resource_id: int) -> int:
    """Quantity held, confirmed or in use (read it under the resource's row lock)."""
    value: int = await conn.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM bookings WHERE resource_id = $1"
        " AND status IN ('held', 'confirmed', 'in_use')",
        resource_id,
    )
    return int(value)


async def list_resources(
    pool: asyncpg.Pool, zone: str | None = None, kind: str | None = None
) -> ResourceList:
    """The basket with its availability and the log's seq, read in one snapshot."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        head = await eventlog.head(conn)
        rows = await conn.fetch(
            _SELECT + " WHERE ($1::text IS NULL OR r.zone_id = $1)"
            " AND ($2::text IS NULL OR r.type = $2)"
            " ORDER BY z.name, array_position($3::text[], r.type), r.name, r.id",
            zone,
            kind,
            TYPE_ORDER,
        )
    return ResourceList(as_of=head, resources=[to_out(r) for r in rows])


async def zones(conn: asyncpg.Connection | asyncpg.Pool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, name, active FROM zones ORDER BY name"
    )
    return rows


@operation(
    "GET",
    "/api/v1/resources",
    summary="The resource basket of a zone (or of all), with live availability",
    query=ResourcesQuery,
    response=ResourceList,
    permission=access.Permission.VIEW_BASKET,
    errors=(422,),
    tag="basket",
)
async def get_resources(
    request: Request, _: access.Principal, __: None, query: ResourcesQuery
) -> ResourceList:
    pool = services.of(request).db.pool
    if query.zone is not None and not await pool.fetchval(
        "SELECT true FROM zones WHERE id = $1", query.zone
    ):
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem("query.zone", "unknown zone", "unknown")]
        )
    return await list_resources(pool, query.zone, query.type.value if query.type else None)


@operation(
    "POST",
    "/api/v1/resources",
    summary="Add a resource to a zone's basket (admin)",
    body=ResourceIn,
    response=ResourceOut,
    status=201,
    permission=access.Permission.EDIT_BASKET,
    errors=(422,),
    tag="basket",
    example={
        "zone_id": "pistoiese",
        "type": "shelter_bed",
        "name": "Posti letto accoglienza notturna",
        "provider": "Caritas diocesana di Pistoia",
        "capacity": 12,
        "conditions": "Maggiorenni; accesso su invio della centrale SEUS",
        "max_duration": "7 notti",
        "contact_hours": "h24",
        "phone": "+39 0573 000000",
    },
)
async def create_resource(
    request: Request, principal: access.Principal, body: ResourceIn, _: None
) -> ResourceOut:
    async with services.of(request).db.action() as tx:
        if not await tx.conn.fetchval("SELECT true FROM zones WHERE id = $1", body.zone_id):
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("zone_id", "unknown zone", "unknown")]
            )
        resource_id: int = await tx.conn.fetchval(
            "INSERT INTO resources (zone_id, type, name, provider, capacity, conditions,"
            " max_duration, contact_hours, phone, active, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            body.zone_id,
            body.type.value,
            body.name,
            body.provider,
            body.capacity,
            body.conditions,
            body.max_duration,
            body.contact_hours,
            body.phone,
            body.active,
            tx.now,
        )
        out = await read(tx.conn, resource_id)
        assert out is not None
        _emit_changed(tx, out, {}, created=True, principal=principal, reason=None)
    return out


class CapacityBelowCounted(errors.Conflict):
    code = "capacity_below_counted"
    detail = "La capacità non può scendere sotto le quantità già prenotate o in uso."

    def __init__(self, counted: int) -> None:
        super().__init__()
        self.counted = counted

    def body(self) -> dict[str, Any]:
        return {**super().body(), "counted": self.counted}


EDITABLE = (
    "name",
    "provider",
    "capacity",
    "conditions",
    "max_duration",
    "contact_hours",
    "phone",
    "active",
)


@operation(
    "PATCH",
    "/api/v1/resources/{id}",
    summary="Edit a resource of a basket (admin); capacity never below what is counted",
    body=ResourcePatch,
    response=ResourceOut,
    permission=access.Permission.EDIT_BASKET,
    errors=(404, 409, 422),
    tag="basket",
    example={"capacity": 15, "reason": "Aperti 3 posti in più per l'emergenza freddo"},
)
async def edit_resource(
    request: Request, principal: access.Principal, body: ResourcePatch, _: None
) -> ResourceOut:
    resource_id = path_id(request)
    async with services.of(request).db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT id, name, provider, capacity, conditions, max_duration, contact_hours, phone,"
            " active FROM resources WHERE id = $1 FOR UPDATE",
            resource_id,
        )
        if row is None:
            raise errors.NotFound()
        wanted = {f: getattr(body, f) for f in EDITABLE if getattr(body, f) is not None}
        changes = {f: (row[f], v) for f, v in wanted.items() if row[f] != v}
        if "capacity" in changes:
            counted = await taken(tx.conn, resource_id)
            if not basket.capacity_fits(changes["capacity"][1], counted):
                raise CapacityBelowCounted(counted)
        if changes:
            assignments = ", ".join(f"{f} = ${i}" for i, f in enumerate(changes, start=3))
            await tx.conn.execute(
                f"UPDATE resources SET updated_at = $2, {assignments} WHERE id = $1",
                resource_id,
                tx.now,
                *(new for _, new in changes.values()),
            )
        out = await read(tx.conn, resource_id)
        assert out is not None
        if changes:
            _emit_changed(tx, out, changes, created=False, principal=principal, reason=body.reason)
    return out


def _emit_changed(
    tx: Tx,
    out: ResourceOut,
    changes: dict[str, tuple[Any, Any]],
    *,
    created: bool,
    principal: access.Principal,
    reason: str | None,
) -> None:
    actor = actor_of(principal)
    view = out.model_dump(mode="json")
    tx.emit(basket.resource_changed(view, changes, created=created, actor=actor, reason=reason))
    if created or "capacity" in changes:
        tx.emit(
            basket.availability_changed(out.id, out.zone_id, out.capacity, out.available, actor)
        )


async def basket_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    all_zones = await zones(services.of(request).db.pool)
    ids = {z["id"] for z in all_zones}
    chosen = request.query_params.get("zona")
    if chosen not in ids:
        chosen = next((z["id"] for z in all_zones if z["active"]), None)
    return pages.render(
        request,
        "basket.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Paniere delle risorse",
        zones=all_zones,
        zone=chosen,
        can_edit=access.can(principal, access.Permission.EDIT_BASKET),
        types=[(t.value, basket.TYPE_LABELS[t]) for t in basket.ResourceType],
    )


page_routes = [pages.page("/risorse", basket_page, access.Permission.VIEW_BASKET)]
