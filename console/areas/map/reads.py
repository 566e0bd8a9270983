"""What the live map reads: zones with their counts, open referrals and cases at their place,
units where they are taken to be, bases, and the resources that have a point. Every read comes
with `as_of`, the log's head read in the same repeatable-read transaction.

Protected housing (a women's shelter, "indirizzo riservato") is never read here, whatever its
point: the filter is in the one query that reads resources.
"""

from __future__ import annotations

import csv
import functools
from datetime import datetime
from typing import Any

import asyncpg

from console.areas.map.schemas import (
    LAYERS,
    BaseOut,
    LayersOut,
    MapReferrals,
    MapSnapshot,
    MapUnits,
    ReferralOut,
    ResourceOut,
    UnitOut,
    ZoneOut,
)
from console.areas.units.reads import fix_of
from console.lib import eventlog, geo, geography
from dispatch import basket, cases, referrals, units

LAYERS_PREFERENCE = "map-layers"

# The referrals on the map: those in the queue, and the activated ones whose case is open.
OPEN = (
    "(r.status IN ('received', 'in_assessment')"
    " OR (r.status = 'activated' AND c.id IS NOT NULL AND c.status <> 'closed'))"
)

REFERRALS = f"""
SELECT r.id, r.case_number, r.status, r.urgency, r.urgency_proposed, r.received_at,
       r.lat, r.lon, m.lat AS m_lat, m.lon AS m_lon, m.name AS municipality,
       c.id AS case_id, c.status AS case_status, c.urgency AS case_urgency, c.opened_at,
       z.id AS zone_id, z.name AS zone_name,
       EXISTS (SELECT 1 FROM clocks k WHERE k.state = 'breached'
               AND (k.referral_id = r.id OR k.case_id = c.id)) AS breached
FROM referrals r
JOIN municipalities m ON m.istat_code = r.municipality_code
LEFT JOIN cases c ON c.referral_id = r.id
JOIN zones z ON z.id = COALESCE(c.zone_id, r.zone_id)
WHERE {OPEN}
"""

ZONES = f"""
SELECT z.id, z.name,
       (SELECT count(*) FROM referrals r LEFT JOIN cases c ON c.referral_id = r.id
        WHERE COALESCE(c.zone_id, r.zone_id) = z.id AND {OPEN}) AS open_referrals,
       (SELECT count(*) FROM clocks k WHERE k.zone_id = z.id AND k.state = 'breached')
        AS breached
FROM zones z ORDER BY z.name
"""

UNITS = """
SELECT u.id, u.name, u.status, u.status_since, u.vehicle, u.zones, u.base_label, u.base_lat,
       u.base_lon, u.last_lat, u.last_lon, u.last_position_at, u.synthetic,
       m.lat AS m_lat, m.lon AS m_lon, COALESCE(m.zone_id, u.zones[1]) AS zone,
       c.id AS case_id, c.case_number
FROM units u
LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code
LEFT JOIN assignments a ON a.unit_id = u.id AND a.done_at IS NULL AND a.cancelled_at IS NULL
LEFT JOIN cases c ON c.id = COALESCE(a.case_id, u.current_case_id)
"""

RESOURCES = """
SELECT r.id, r.name, r.type, r.provider, r.zone_id, z.name AS zone_name, r.capacity, r.lat,
       r.lon, (SELECT coalesce(sum(b.quantity), 0) FROM bookings b WHERE b.resource_id = r.id
               AND b.status IN ('held', 'confirmed', 'in_use')) AS taken
FROM resources r JOIN zones z ON z.id = r.zone_id
WHERE r.active AND r.lat IS NOT NULL AND r.lon IS NOT NULL AND r.type <> 'protected_housing'
ORDER BY z.name, r.name, r.id
"""


def zone_out(row: asyncpg.Record) -> ZoneOut:
    return ZoneOut(
        id=row["id"],
        name=row["name"],
        open_referrals=row["open_referrals"],
        breached=row["breached"],
    )


def referral_out(row: asyncpg.Record) -> ReferralOut:
    exact = row["lat"] is not None and row["lon"] is not None
    if row["case_id"] is not None:
        status = row["case_status"]
        label = cases.STATUS_LABELS[cases.Status(status)]
        urgency = row["case_urgency"]
        since, href = row["opened_at"], f"/casi/{row['case_id']}"
    else:
        status = row["status"]
        label = referrals.STATUS_LABELS[referrals.Status(status)]
        urgency = referrals.queue_urgency(
            referrals.Urgency(row["urgency"]) if row["urgency"] else None,
            referrals.Urgency(row["urgency_proposed"]) if row["urgency_proposed"] else None,
        ).value
        since, href = row["received_at"], f"/coda/{row['id']}"
    return ReferralOut(
        id=row["id"],
        case_id=row["case_id"],
        number=row["case_number"],
        urgency=urgency,
        status=status,
        status_label=label,
        zone=row["zone_id"],
        zone_name=row["zone_name"],
        municipality=row["municipality"],
        lat=row["lat"] if exact else row["m_lat"],
        lon=row["lon"] if exact else row["m_lon"],
        approximate=not exact,
        since=since,
        breached=row["breached"],
        href=href,
    )


def where_label(fix: units.Fix) -> str:
    """Where a unit is drawn, in the room's words."""
    if fix.source is units.Source.POSITION:
        return f"posizione di {units.age_words(fix.age_seconds or 0)} fa"
    if fix.source is units.Source.BASE:
        return "alla base (nessuna posizione recente)"
    if fix.source is units.Source.TOWN:
        return "al centro del comune della base (nessuna posizione recente)"
    return units.UNKNOWN_PLACE


def unit_out(row: asyncpg.Record, now: datetime, policy: units.RankingPolicy) -> UnitOut:
    fix = fix_of(row, now, policy)
    status = units.Status(row["status"])
    place = None
    if fix.lat is not None and fix.lon is not None:
        code = geo.locator().municipality(fix.lat, fix.lon)
        place = geo.locator().name(code) if code else None
    fresh = fix.source is units.Source.POSITION
    return UnitOut(
        id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        status_since=row["status_since"],
        vehicle=row["vehicle"],
        zone=row["zone"],
        zones=list(row["zones"]),
        case_id=row["case_id"],
        case_number=row["case_number"],
        lat=fix.lat,
        lon=fix.lon,
        position_source=fix.source.value,
        position_at=row["last_position_at"] if fresh else None,
        position_age_seconds=fix.age_seconds,
        position_label=where_label(fix),
        place=place,
        base_label=row["base_label"],
        base_note=units.base_note(row["synthetic"]),
    )


def resource_out(row: asyncpg.Record) -> ResourceOut:
    kind = basket.ResourceType(row["type"])
    return ResourceOut(
        id=row["id"],
        name=row["name"],
        type=kind.value,
        type_label=basket.TYPE_LABELS[kind],
        provider=row["provider"],
        zone=row["zone_id"],
        zone_name=row["zone_name"],
        capacity=row["capacity"],
        available=basket.available(row["capacity"], int(row["taken"])),
        lat=row["lat"],
        lon=row["lon"],
        href=f"/risorse?zona={row['zone_id']}#risorsa-{row['id']}",
    )


@functools.cache
def operations_room() -> tuple[tuple[str, float, float, str], ...]:
    """The operations room(s) as shipped (label, lat, lon, zone): console/data."""
    with (geography.DATA_DIR / "demo_unit_bases_SYNTHETIC.csv").open(encoding="utf-8") as f:
        return tuple(
            (r["label"], float(r["lat"]), float(r["lon"]), r["zona_id"])
            for r in csv.DictReader(f)
            if r["kind"] == "centrale_operativa"
        )


def bases_of(rows: list[asyncpg.Record]) -> list[BaseOut]:
    """The units' bases (one per label and point, with the units based there), then the
    operations room."""
    found: dict[tuple[str, float, float], BaseOut] = {}
    for row in rows:
        if row["base_lat"] is None or row["base_lon"] is None:
            continue
        key = (row["base_label"], row["base_lat"], row["base_lon"])
        if key not in found:
            found[key] = BaseOut(
                kind="unit_base",
                label=row["base_label"] or "Base",
                lat=row["base_lat"],
                lon=row["base_lon"],
                zone=row["zone"],
                units=[],
                note=units.base_note(row["synthetic"]),
            )
        found[key].units.append(row["name"])
    room = [
        BaseOut(
            kind="operations_room", label=label, lat=lat, lon=lon, zone=zone, units=[], note=None
        )
        for label, lat, lon, zone in operations_room()
    ]
    return sorted(found.values(), key=lambda b: b.label) + room


async def snapshot(pool: asyncpg.Pool, policy: units.RankingPolicy) -> MapSnapshot:
    """Everything the map draws, as of one seq of the log."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        as_of = await eventlog.head(conn)
        now: datetime = await conn.fetchval("SELECT now()")
        zones = await conn.fetch(ZONES)
        found = await conn.fetch(REFERRALS + " ORDER BY r.received_at, r.id")
        unit_rows = await conn.fetch(UNITS + " ORDER BY u.name, u.id")
        resources = await conn.fetch(RESOURCES)
    return MapSnapshot(
        as_of=as_of,
        now=now,
        position_max_age_seconds=int(policy.position_max_age.total_seconds()),
        zones=[zone_out(z) for z in zones],
        referrals=[referral_out(r) for r in found],
        units=[unit_out(u, now, policy) for u in unit_rows],
        bases=bases_of(unit_rows),
        resources=[resource_out(r) for r in resources],
    )


async def some_units(pool: asyncpg.Pool, ids: list[int], policy: units.RankingPolicy) -> MapUnits:
    """The units asked (their position moved, their status changed), as the snapshot has them."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        as_of = await eventlog.head(conn)
        now: datetime = await conn.fetchval("SELECT now()")
        rows = await conn.fetch(UNITS + " WHERE u.id = ANY($1::bigint[]) ORDER BY u.id", ids)
    return MapUnits(as_of=as_of, now=now, units=[unit_out(r, now, policy) for r in rows])


async def some_referrals(
    pool: asyncpg.Pool, referral_ids: list[int], case_ids: list[int]
) -> MapReferrals:
    """The referrals and cases asked that are still open, and every zone's counts now."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        as_of = await eventlog.head(conn)
        now: datetime = await conn.fetchval("SELECT now()")
        found = await conn.fetch(
            REFERRALS + " AND (r.id = ANY($1::bigint[]) OR c.id = ANY($2::bigint[]))"
            " ORDER BY r.received_at, r.id",
            referral_ids,
            case_ids,
        )
        zones = await conn.fetch(ZONES)
    return MapReferrals(
        as_of=as_of,
        now=now,
        referrals=[referral_out(r) for r in found],
        zones=[zone_out(z) for z in zones],
    )


async def layers(conn: asyncpg.Connection | asyncpg.Pool, account_id: int) -> LayersOut:
    """The layers this account shows (every layer until it chose)."""
    row = await conn.fetchrow(
        "SELECT value, updated_at FROM account_preferences WHERE account_id = $1 AND name = $2",
        account_id,
        LAYERS_PREFERENCE,
    )
    if row is None:
        return LayersOut(layers=list(LAYERS), updated_at=None)
    value: Any = row["value"]
    chosen = [name for name in value if name in LAYERS] if isinstance(value, list) else []
    return LayersOut(layers=chosen, updated_at=row["updated_at"])
