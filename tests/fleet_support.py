"""Test data for the field units area: units placed at a base, principals, basket resources."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from dispatch import access
from tests.support import Person


async def unit_id_of(conn: asyncpg.Connection, person: Person) -> int:
    unit_id: int = await conn.fetchval("SELECT unit_id FROM users WHERE id = $1", person.user_id)
    return unit_id


async def place_unit(
    conn: asyncpg.Connection,
    unit_id: int,
    *,
    municipality: str = "048017",  # Firenze
    zones: Sequence[str] = ("firenze",),
    skills: Sequence[str] = (),
    languages: Sequence[str] = (),
    status: str = "available",
    synthetic: bool = True,
) -> None:
    """A unit at a (demo) base in `municipality`, covering `zones`, in `status`."""
    await conn.execute(
        "UPDATE units u SET base_label = 'Misericordia di ' || m.name || ' (sede UTES demo)',"
        " base_municipality_code = m.istat_code, base_lat = m.lat, base_lon = m.lon,"
        " zones = $3, skills = $4, languages = $5, status = $6, synthetic = $7,"
        " vehicle = 'Fiat Doblò' FROM municipalities m WHERE u.id = $1 AND m.istat_code = $2",
        unit_id,
        municipality,
        list(zones),
        list(skills),
        list(languages),
        status,
        synthetic,
    )


def operator(person: Person) -> access.Principal:
    return access.Principal(access.Role.OPERATOR, "Operator Test", user_id=person.user_id)


def unit(person: Person, unit_id: int) -> access.Principal:
    return access.Principal(
        access.Role.UNIT, f"{person.username} crew", user_id=person.user_id, unit_id=unit_id
    )


async def add_resource(
    conn: asyncpg.Connection,
    *,
    zone: str = "firenze",
    type_: str = "shelter_bed",
    name: str = "Dormitorio test",
    capacity: int = 10,
    active: bool = True,
) -> int:
    resource_id: int = await conn.fetchval(
        "INSERT INTO resources (zone_id, type, name, provider, capacity, active)"
        " VALUES ($1, $2, $3, 'Cooperativa test', $4, $5) RETURNING id",
        zone,
        type_,
        name,
        capacity,
        active,
    )
    return resource_id
