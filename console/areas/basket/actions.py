"""Bookings of a zone's resources for a case, as actions: hold, confirm, start, release, cancel,
expire. The JSON API over them is
console/areas/basket/api.py.

Capacity is never overbooked: every action that changes what a resource has counted (held,
confirmed, in use) locks the resource's row first and counts under that lock. Lock order is
always booking -> resource -> case, so concurrent actions queue instead of deadlocking.
A booking may use a resource of any zone (cross-zone booking is allowed on purpose: a shelter
bed in the next zone is better than none)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from console.areas.basket import reads
from console.areas.basket.reads import BOOKINGS, booking_out, read_resource, taken
from console.areas.basket.schemas import BookingOut, ResourceIn, ResourceOut, ResourcePatch
from console.lib import errors
from console.lib.db import Database, Tx
from dispatch import access, basket, cases
from dispatch.basket import Status
from dispatch.events import actor_of

SYSTEM = "system"


EXPIRED_REASON = "prenotazione non confermata entro il tempo di attesa"


@dataclass(frozen=True, slots=True)
class Full:
    available: int


@dataclass(frozen=True, slots=True)
class Expired:
    booking: BookingOut


Outcome = BookingOut | Full | Expired


async def read_booking(
    conn: asyncpg.Connection | asyncpg.Pool, booking_id: int
) -> BookingOut | None:
    row = await conn.fetchrow(BOOKINGS + " WHERE b.id = $1", booking_id)
    return booking_out(row) if row else None


def _facts(out: BookingOut) -> basket.BookingFacts:
    return basket.BookingFacts(
        id=out.id,
        case_id=out.case_id,
        case_number=out.case_number,
        resource_id=out.resource_id,
        resource_name=out.resource_name,
        resource_type=out.resource_type.value,
        zone=out.resource_zone,
        quantity=out.quantity,
        status=out.status,
        held_until=out.held_until,
        note=out.note,
    )


async def _lock_resource(conn: asyncpg.Connection, resource_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, zone_id, capacity, active FROM resources WHERE id = $1 FOR UPDATE",
        resource_id,
    )
    return row


async def units_told(conn: asyncpg.Connection, out: BookingOut) -> list[int]:
    """The units whose tablets follow this booking: the one that asked for it (even after its
    assignment ended) and those still working on the case."""
    rows = await conn.fetch(
        "SELECT unit_id FROM assignments WHERE case_id = $1 AND done_at IS NULL"
        " AND cancelled_at IS NULL",
        out.case_id,
    )
    told = {r["unit_id"] for r in rows}
    if out.requested_by.startswith("unit:"):
        told.add(int(out.requested_by.removeprefix("unit:")))
    return sorted(told)


async def _recorded(
    tx: Tx,
    booking_ids: list[int],
    previous: Status,
    resource: asyncpg.Record,
    actor: str,
    reason: str | None,
) -> list[BookingOut]:
    """Emit the events of bookings that just moved from `previous` (resource locked)."""
    outs = [out for i in booking_ids if (out := await read_booking(tx.conn, i)) is not None]
    for out in outs:
        tx.emit(
            basket.booking_event(
                _facts(out),
                previous=previous,
                available=out.available,
                actor=actor,
                reason=reason,
                unit_ids=await units_told(tx.conn, out),
            )
        )
    if outs and basket.changes_availability(previous, outs[0].status):
        tx.emit(
            basket.availability_changed(
                resource["id"], resource["zone_id"], resource["capacity"], outs[-1].available, actor
            )
        )
    return outs


async def _expire_overdue(tx: Tx, resource: asyncpg.Record) -> None:
    """Expire this resource's holds past their time before counting (the job may be late).

    SKIP LOCKED: a hold the expiry job (or anyone) has locked stays counted for now, which can
    only refuse too much, never overbook, and cannot deadlock with the job.
    """
    ids = [
        r["id"]
        for r in await tx.conn.fetch(
            "SELECT id FROM bookings WHERE resource_id = $1 AND status = 'held'"
            " AND held_until <= $2 ORDER BY id FOR UPDATE SKIP LOCKED",
            resource["id"],
            tx.now,
        )
    ]
    if ids:
        await tx.conn.execute(
            "UPDATE bookings SET status = 'expired', updated_at = $2 WHERE id = ANY($1::bigint[])",
            ids,
            tx.now,
        )
        await _recorded(tx, ids, Status.HELD, resource, SYSTEM, EXPIRED_REASON)


async def _bookable_case(conn: asyncpg.Connection, case_id: int) -> None:
    status = await conn.fetchval("SELECT status FROM cases WHERE id = $1", case_id)
    if status is None:
        raise errors.NotFound("Caso non trovato.")
    if not basket.bookable(cases.Status(status)):  # closed, or handed over and accepted
        raise errors.Conflict("Il caso è chiuso: non si prenotano risorse.")


def _usable(resource: asyncpg.Record | None, field: str | None = "resource_id") -> asyncpg.Record:
    if resource is None:
        problem = errors.FieldProblem(field or "resource_id", "unknown resource", "unknown")
        raise errors.ValidationFailed("Risorsa sconosciuta.", problems=[problem])
    if not resource["active"]:
        error = errors.Conflict("Risorsa non attiva: non si può prenotare.")
        error.code = "resource_inactive"
        raise error
    return resource


async def book(
    db: Database,
    case_id: int,
    resource_id: int,
    quantity: int,
    note: str,
    *,
    actor: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> BookingOut | Full:
    """Book a resource for a case, held at once if capacity allows."""
    async with db.action(now) as tx:
        await _bookable_case(tx.conn, case_id)
        resource = _usable(await _lock_resource(tx.conn, resource_id))
        await _expire_overdue(tx, resource)
        count = await reads.taken(tx.conn, resource_id)
        result = basket.hold(Status.REQUESTED, resource["capacity"], count, quantity, tx.now, ttl)
        if isinstance(result, basket.Full):
            return Full(result.available)
        booking_id: int = await tx.conn.fetchval(
            "INSERT INTO bookings (case_id, resource_id, quantity, status, requested_by,"
            " held_until, note, created_at, updated_at)"
            " VALUES ($1, $2, $3, 'held', $4, $5, $6, $7, $7) RETURNING id",
            case_id,
            resource_id,
            quantity,
            actor,
            result.expires_at,
            note,
            tx.now,
        )
        [out] = await _recorded(tx, [booking_id], Status.REQUESTED, resource, actor, None)
    return out


async def record_request(
    tx: Tx,
    case_id: int,
    resource_id: int,
    quantity: int,
    note: str,
    *,
    actor: str,
    unit_id: int | None = None,
) -> BookingOut:
    """Record a resource request (a unit tablet's): nothing is counted until the room holds it.

    For other areas' actions: call inside their transaction; emits `booking.requested`.
    """
    await _bookable_case(tx.conn, case_id)
    _usable(await tx.conn.fetchrow("SELECT active FROM resources WHERE id = $1", resource_id))
    booking_id: int = await tx.conn.fetchval(
        "INSERT INTO bookings (case_id, resource_id, quantity, status, requested_by, note,"
        " created_at, updated_at) VALUES ($1, $2, $3, 'requested', $4, $5, $6, $6) RETURNING id",
        case_id,
        resource_id,
        quantity,
        actor,
        note,
        tx.now,
    )
    out = await read_booking(tx.conn, booking_id)
    assert out is not None
    tx.emit(
        basket.booking_event(
            _facts(out),
            previous=None,
            available=out.available,
            actor=actor,
            unit_id=unit_id,
            unit_ids=await units_told(tx.conn, out),
        )
    )
    return out


async def step(
    db: Database,
    booking_id: int,
    target: Status,
    *,
    actor: str,
    reason: str | None = None,
    ttl: timedelta,
    now: datetime | None = None,
) -> Outcome:
    """Move a booking to `target` (IllegalTransition when the table does not allow it)."""
    async with db.action(now) as tx:
        row = await tx.conn.fetchrow(
            "SELECT status, resource_id, case_id, quantity, held_until FROM bookings"
            " WHERE id = $1 FOR UPDATE",
            booking_id,
        )
        if row is None:
            raise errors.NotFound("Prenotazione non trovata.")
        current = Status(row["status"])
        basket.advance(current, target)
        resource = await _lock_resource(tx.conn, row["resource_id"])
        assert resource is not None
        if target is Status.CONFIRMED and basket.expired(current, row["held_until"], tx.now):
            await tx.conn.execute(
                "UPDATE bookings SET status = 'expired', updated_at = $2 WHERE id = $1",
                booking_id,
                tx.now,
            )
            [out] = await _recorded(tx, [booking_id], current, resource, SYSTEM, EXPIRED_REASON)
            return Expired(out)
        held_until = row["held_until"]
        if target is Status.HELD:
            await _bookable_case(tx.conn, row["case_id"])
            _usable(resource, field=None)
            await _expire_overdue(tx, resource)
            count = await reads.taken(tx.conn, resource["id"])
            result = basket.hold(current, resource["capacity"], count, row["quantity"], tx.now, ttl)
            if isinstance(result, basket.Full):
                return Full(result.available)
            held_until = result.expires_at
        await tx.conn.execute(
            "UPDATE bookings SET status = $2, held_until = $3, updated_at = $4 WHERE id = $1",
            booking_id,
            target.value,
            held_until,
            tx.now,
        )
        [out] = await _recorded(tx, [booking_id], current, resource, actor, reason)
        if target in basket.IN_PLACE:
            await _resources_in_place(tx, out, actor)
    return out


async def _resources_in_place(tx: Tx, out: BookingOut, actor: str) -> None:
    """The case's first resource in place moves it to resources_in_place, when it may."""
    case = await tx.conn.fetchrow(
        "SELECT id, referral_id, case_number, zone_id, status FROM cases WHERE id = $1 FOR UPDATE",
        out.case_id,
    )
    others = await tx.conn.fetchval(
        "SELECT exists(SELECT 1 FROM bookings WHERE case_id = $1 AND id <> $2"
        " AND status IN ('confirmed', 'in_use'))",
        out.case_id,
        out.id,
    )
    previous = cases.Status(case["status"])
    target = basket.case_after(out.status, previous, others)
    if target is None:
        return
    await tx.conn.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1",
        case["id"],
        target.value,
        tx.now,
    )
    tx.emit(
        basket.case_moved(
            case["id"],
            case["case_number"],
            case["zone_id"],
            previous,
            target,
            booking_id=out.id,
            actor=actor,
        )
    )


async def expire_holds(db: Database, now: datetime | None = None, limit: int = 500) -> int:
    """The scheduler's job: expire held bookings past their time, each once, with its event.

    `FOR UPDATE SKIP LOCKED` on the due rows: two instances running it at once split the work
    and never expire the same booking twice.
    """
    async with db.action(now) as tx:
        rows = await tx.conn.fetch(
            "WITH due AS (SELECT id FROM bookings WHERE status = 'held' AND held_until <= $1"
            " ORDER BY held_until, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " UPDATE bookings b SET status = 'expired', updated_at = $1 FROM due"
            " WHERE b.id = due.id RETURNING b.id, b.resource_id",
            tx.now,
            limit,
        )
        by_resource: dict[int, list[int]] = {}
        for r in rows:
            by_resource.setdefault(r["resource_id"], []).append(r["id"])
        for resource_id in sorted(by_resource):  # one lock order for every instance
            resource = await _lock_resource(tx.conn, resource_id)
            assert resource is not None
            ids = sorted(by_resource[resource_id])
            await _recorded(tx, ids, Status.HELD, resource, SYSTEM, EXPIRED_REASON)
    return len(rows)


async def add_resource(db: Database, principal: access.Principal, body: ResourceIn) -> ResourceOut:
    """A new resource in a zone's basket."""
    check_point(body.lat, body.lon)
    async with db.action() as tx:
        if not await tx.conn.fetchval("SELECT true FROM zones WHERE id = $1", body.zone_id):
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("zone_id", "unknown zone", "unknown")]
            )
        resource_id: int = await tx.conn.fetchval(
            "INSERT INTO resources (zone_id, type, name, provider, capacity, conditions,"
            " max_duration, contact_hours, phone, active, updated_at, address, lat, lon)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id",
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
            body.address,
            body.lat,
            body.lon,
        )
        out = await read_resource(tx.conn, resource_id)
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
    "address",
    "active",
)


async def change_resource(
    db: Database, principal: access.Principal, resource_id: int, body: ResourcePatch
) -> ResourceOut:
    """The fields sent change; capacity never below what is held, confirmed or in use."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT id, name, provider, capacity, conditions, max_duration, contact_hours, phone,"
            " address, lat, lon, active FROM resources WHERE id = $1 FOR UPDATE",
            resource_id,
        )
        if row is None:
            raise errors.NotFound()
        wanted = {f: getattr(body, f) for f in EDITABLE if getattr(body, f) is not None}
        if POINT & body.model_fields_set:  # the point goes whole: both numbers, or both null
            check_point(body.lat, body.lon, sent=POINT & body.model_fields_set)
            wanted |= {"lat": body.lat, "lon": body.lon}
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
        out = await read_resource(tx.conn, resource_id)
        assert out is not None
        if changes:
            _emit_changed(tx, out, changes, created=False, principal=principal, reason=body.reason)
    return out


POINT = frozenset({"lat", "lon"})

POINT_WHOLE = "Indica sia la latitudine sia la longitudine, oppure nessuna delle due."


def check_point(lat: float | None, lon: float | None, sent: frozenset[str] = POINT) -> None:
    """A resource's point is both coordinates or neither: 422 in Italian at the missing one.
    `sent`: the coordinates the request named (an edit naming one must name both). The ranges
    are the schema's."""
    if sent != POINT:
        missing = sorted(POINT - sent)
    elif (lat is None) != (lon is None):
        missing = ["lat"] if lat is None else ["lon"]
    else:
        return
    raise errors.ValidationFailed(
        POINT_WHOLE,
        problems=[errors.FieldProblem(n, POINT_WHOLE, "point_incomplete") for n in missing],
    )


def _event_view(
    out: ResourceOut, changes: dict[str, tuple[Any, Any]]
) -> tuple[dict[str, Any], dict[str, tuple[Any, Any]]]:
    """What the log keeps of a change: protected housing's point (an address kept secret)
    never goes into the log, which is kept for ever."""
    view = out.model_dump(mode="json")
    if out.type is basket.ResourceType.PROTECTED_HOUSING:
        view |= {"lat": None, "lon": None}
        changes = {name: change for name, change in changes.items() if name not in POINT}
    return view, changes


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
    view, logged = _event_view(out, changes)
    tx.emit(basket.resource_changed(view, logged, created=created, actor=actor, reason=reason))
    if created or "capacity" in changes:
        tx.emit(
            basket.availability_changed(out.id, out.zone_id, out.capacity, out.available, actor)
        )
