"""The zone's basket of resources (paniere delle risorse) with live availability, and bookings."""

from __future__ import annotations

from typing import Any

import asyncpg

from console.areas.basket.schemas import BookingOut, ResourceList, ResourceOut
from console.lib import eventlog
from dispatch import basket
from dispatch.basket import Status


def booking_out(row: asyncpg.Record) -> BookingOut:
    status = Status(row["status"])
    return BookingOut(
        id=row["id"],
        case_id=row["case_id"],
        case_number=row["case_number"],
        resource_id=row["resource_id"],
        resource_name=row["resource_name"],
        resource_type=basket.ResourceType(row["resource_type"]),
        resource_zone=row["resource_zone"],
        provider=row["provider"],
        quantity=row["quantity"],
        status=status,
        status_label=basket.STATUS_LABELS[status],
        held_until=row["held_until"],
        note=row["note"],
        requested_by=row["requested_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        available=basket.available(row["capacity"], int(row["taken"])),
    )


async def of_case(conn: asyncpg.Connection | asyncpg.Pool, case_id: int) -> list[BookingOut]:
    """A case's bookings, newest first."""
    rows = await conn.fetch(BOOKINGS + " WHERE b.case_id = $1 ORDER BY b.id DESC", case_id)
    return [booking_out(r) for r in rows]


TYPE_ORDER = [t.value for t in basket.ResourceType]


_RESOURCES = (
    "SELECT r.id, r.zone_id, z.name AS zone_name, r.type, r.name, r.provider, r.capacity,"
    " r.conditions, r.max_duration, r.contact_hours, r.phone, r.address, r.lat, r.lon, r.active,"
    " r.updated_at,"
    " coalesce(c.held, 0) AS held, coalesce(c.confirmed, 0) AS confirmed,"
    " coalesce(c.in_use, 0) AS in_use"
    " FROM resources r JOIN zones z ON z.id = r.zone_id"
    " LEFT JOIN LATERAL (SELECT sum(b.quantity) FILTER (WHERE b.status = 'held') AS held,"
    " sum(b.quantity) FILTER (WHERE b.status = 'confirmed') AS confirmed,"
    " sum(b.quantity) FILTER (WHERE b.status = 'in_use') AS in_use"
    " FROM bookings b WHERE b.resource_id = r.id"
    " AND b.status IN ('held', 'confirmed', 'in_use')) c ON true"
)


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
        address=row["address"],
        lat=row["lat"],
        lon=row["lon"],
        phone=row["phone"],
        active=row["active"],
        updated_at=row["updated_at"],
    )


async def read_resource(conn: asyncpg.Connection, resource_id: int) -> ResourceOut | None:
    row = await conn.fetchrow(_RESOURCES + " WHERE r.id = $1", resource_id)
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
            _RESOURCES + " WHERE ($1::text IS NULL OR r.zone_id = $1)"
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


BOOKINGS = (
    "SELECT b.id, b.case_id, c.case_number, b.resource_id, r.name AS resource_name,"
    " r.type AS resource_type, r.zone_id AS resource_zone, r.provider, r.capacity, b.quantity,"
    " b.status, b.held_until, b.note, b.requested_by, b.created_at, b.updated_at,"
    " (SELECT coalesce(sum(o.quantity), 0) FROM bookings o WHERE o.resource_id = r.id"
    " AND o.status IN ('held', 'confirmed', 'in_use')) AS taken"
    " FROM bookings b JOIN cases c ON c.id = b.case_id JOIN resources r ON r.id = b.resource_id"
)
