"""Which unit to send: every unit ranked for a case by estimated arrival, zone, skills,
language and load (dispatch/units.py decides; this module gathers and answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from console.areas.units import store
from console.areas.units.schemas import (
    CaseSummary,
    CrewMemberOut,
    Origin,
    RecommendationOut,
    Recommendations,
    UnitMessageOut,
    UnitOut,
)
from console.areas.units.store import ACTIVE, UNIT_COLUMNS
from console.lib import errors
from dispatch import assignments, messages, units

BOARD_SQL = f"""
SELECT {store.UNIT_COLUMNS}, m.name AS base_municipality, z.id AS home_zone, z.name AS zone_name,
       a.id AS assignment_id, c.id AS case_id, c.case_number, c.status AS case_status,
       c.urgency, cm.name AS case_municipality
FROM units u
LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code
LEFT JOIN zones z ON z.id = COALESCE(m.zone_id, u.zones[1])
LEFT JOIN assignments a ON a.unit_id = u.id AND a.done_at IS NULL AND a.cancelled_at IS NULL
LEFT JOIN cases c ON c.id = COALESCE(a.case_id, u.current_case_id)
LEFT JOIN referrals r ON r.id = c.referral_id
LEFT JOIN municipalities cm ON cm.istat_code = r.municipality_code
ORDER BY z.name NULLS LAST, u.name
"""


def unit_out(row: asyncpg.Record) -> UnitOut:
    status = units.Status(row["status"])
    case = None
    if row["case_id"] is not None:
        case = CaseSummary(
            id=row["case_id"],
            case_number=row["case_number"],
            status=row["case_status"],
            urgency=row["urgency"],
            municipality=row["case_municipality"],
        )
    return UnitOut(
        id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        status_since=row["status_since"],
        zone=row["home_zone"],
        zone_name=row["zone_name"],
        zones=list(row["zones"]),
        skills=list(row["skills"]),
        languages=list(row["languages"]),
        vehicle=row["vehicle"],
        base_label=row["base_label"],
        base_municipality=row["base_municipality"],
        synthetic=row["synthetic"],
        base_note=units.base_note(row["synthetic"]),
        last_lat=row["last_lat"],
        last_lon=row["last_lon"],
        assignment_id=row["assignment_id"],
        current_case=case,
        crew=crew_of(row),
        phone=row["phone"],
    )


def crew_of(row: asyncpg.Record) -> list[CrewMemberOut]:
    """The crew column (jsonb) as the API answers it."""
    found = row["crew"] if isinstance(row["crew"], list) else []
    return [
        CrewMemberOut(name=str(m.get("name", "")), user_id=m.get("user_id"))
        for m in found
        if isinstance(m, dict)
    ]


def _count(value: Any) -> int | None:
    """A people count from the referral's JSON: integers only (a bool is not a count)."""
    if isinstance(value, bool):
        return int(value)
    return value if isinstance(value, int) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def brief(conn: asyncpg.Connection, assignment_id: int) -> assignments.Brief:
    """What the unit of this assignment is told: place, people, what happened, who to call."""
    row = await conn.fetchrow(
        "SELECT a.id, a.dispatched_at, c.id AS case_id, c.case_number, c.urgency, c.needs,"
        " c.language, r.address, r.lat, r.lon, r.people, r.description, r.callback,"
        " m.name AS municipality FROM assignments a JOIN cases c ON c.id = a.case_id"
        " JOIN referrals r ON r.id = c.referral_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code WHERE a.id = $1",
        assignment_id,
    )
    people = row["people"] if isinstance(row["people"], dict) else {}
    callback = row["callback"] if isinstance(row["callback"], dict) else {}
    language = row["language"] or _text(people.get("language")) or None
    return assignments.Brief(
        assignment_id=row["id"],
        case_id=row["case_id"],
        case_number=row["case_number"],
        urgency=row["urgency"],
        municipality=row["municipality"],
        address=row["address"],
        lat=row["lat"],
        lon=row["lon"],
        people_count=_count(people.get("count")),
        minors=_count(people.get("minors")),
        language=language,
        description=row["description"],
        callback_name=_text(callback.get("name")),
        callback_phone=_text(callback.get("phone")),
        needs=tuple(row["needs"]),
        dispatched_at=row["dispatched_at"],
    )


def fix_of(unit: asyncpg.Record, now: datetime, policy: units.RankingPolicy) -> units.Fix:
    """Where the unit is taken to be now (dispatch.units.locate): its last position while fresh,
    else its base; `m_lat`, `m_lon`: its base municipality's centre, where the query has them."""
    return units.locate(
        (unit["last_lat"], unit["last_lon"]),
        unit["last_position_at"],
        (unit["base_lat"], unit["base_lon"]),
        (unit.get("m_lat"), unit.get("m_lon")),
        now=now,
        max_age=policy.position_max_age,
    )


async def candidates(
    conn: asyncpg.Connection, now: datetime, policy: units.RankingPolicy
) -> list[tuple[asyncpg.Record, units.Fix, units.Candidate | None]]:
    """Every unit with where it is taken to be and its load (active assignments); no candidate
    for a unit with no position at all."""
    rows = await conn.fetch(
        f"SELECT {UNIT_COLUMNS}, m.lat AS m_lat, m.lon AS m_lon,"
        f" (SELECT count(*) FROM assignments a WHERE a.unit_id = u.id AND a.{ACTIVE}) AS load"
        " FROM units u LEFT JOIN municipalities m ON m.istat_code = u.base_municipality_code"
        " ORDER BY u.id"
    )
    found: list[tuple[asyncpg.Record, units.Fix, units.Candidate | None]] = []
    for row in rows:
        candidate = None
        fix = fix_of(row, now, policy)
        if fix.lat is not None and fix.lon is not None:
            candidate = units.Candidate(
                id=row["id"],
                name=row["name"],
                status=units.Status(row["status"]),
                lat=fix.lat,
                lon=fix.lon,
                zones=frozenset(row["zones"]),
                skills=frozenset(row["skills"]),
                languages=frozenset(row["languages"]),
                load=row["load"],
                where=units.fix_phrase(fix),
            )
        found.append((row, fix, candidate))
    return found


CASE_PLACE_SQL = """
SELECT c.id, c.case_number, c.status, c.zone_id, c.skills, c.language, r.people,
       r.lat, r.lon, m.name AS municipality, m.lat AS m_lat, m.lon AS m_lon
FROM cases c JOIN referrals r ON r.id = c.referral_id
JOIN municipalities m ON m.istat_code = r.municipality_code WHERE c.id = $1
"""


def origin_of(case: asyncpg.Record) -> Origin:
    if case["lat"] is not None and case["lon"] is not None:
        return Origin(
            lat=case["lat"], lon=case["lon"], source="referral", municipality=case["municipality"]
        )
    return Origin(
        lat=case["m_lat"],
        lon=case["m_lon"],
        source="municipality",
        municipality=case["municipality"],
    )


def _language(case: asyncpg.Record) -> str | None:
    people = case["people"] if isinstance(case["people"], dict) else {}
    spoken = people.get("language") if isinstance(people.get("language"), str) else None
    return units.needed_language(case["language"] or spoken)


async def recommend(
    conn: asyncpg.Connection, case_id: int, policy: units.RankingPolicy, now: datetime
) -> Recommendations:
    case = await conn.fetchrow(CASE_PLACE_SQL, case_id)
    if case is None:
        raise errors.NotFound("Caso non trovato.")
    origin, language = origin_of(case), _language(case)
    found = await candidates(conn, now, policy)
    rows = {row["id"]: (row, fix) for row, fix, _ in found}
    ranked = units.rank(
        origin.lat,
        origin.lon,
        case["zone_id"],
        frozenset(case["skills"]),
        language,
        [c for _, _, c in found if c is not None],
        policy,
    )
    out = [_recommendation(*rows[r.unit_id], r.eligible, r.eta_minutes, r.reasons) for r in ranked]
    out += [
        _recommendation(
            row, fix, False, None, (f"{units.UNKNOWN_PLACE}: né sede né ultima posizione",)
        )
        for row, fix, c in found
        if c is None
    ]
    return Recommendations(
        case_id=case["id"],
        case_number=case["case_number"],
        case_status=case["status"],
        zone=case["zone_id"],
        needed_skills=list(case["skills"]),
        language=language,
        origin=origin,
        road_factor=policy.road_factor,
        speed_kmh=policy.speed_kmh,
        units=out,
    )


def _recommendation(
    row: asyncpg.Record,
    fix: units.Fix,
    eligible: bool,
    eta: int | None,
    reasons: tuple[str, ...],
) -> RecommendationOut:
    status = units.Status(row["status"])
    return RecommendationOut(
        unit_id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        eligible=eligible,
        eta_minutes=eta,
        position_source=fix.source.value,
        position_age_seconds=fix.age_seconds,
        position_label=units.fix_phrase(fix),
        lat=fix.lat,
        lon=fix.lon,
        reasons=list(reasons),
        load=row["load"],
        zones=list(row["zones"]),
        skills=list(row["skills"]),
        languages=list(row["languages"]),
        base_label=row["base_label"],
        base_note=units.base_note(row["synthetic"]),
        crew=crew_of(row),
        phone=row["phone"],
    )


async def unit(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record | None:
    """A unit's row as the tablet reads it (not locked)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {UNIT_COLUMNS} FROM units u WHERE u.id = $1", unit_id
    )
    return row


async def current_assignment(conn: asyncpg.Connection, unit_id: int) -> asyncpg.Record | None:
    """The unit's assignment in progress, if any (not locked)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {store.ASSIGNMENT_COLUMNS} FROM assignments WHERE unit_id = $1 AND {ACTIVE}",
        unit_id,
    )
    return row


async def case(conn: asyncpg.Connection, case_id: int) -> asyncpg.Record:
    """What a unit's actions need of its case (not locked)."""
    row: asyncpg.Record = await conn.fetchrow(
        f"SELECT {store.CASE_COLUMNS} FROM cases WHERE id = $1", case_id
    )
    return row


MESSAGES = (
    "SELECT m.id, m.batch, m.unit_id, u.name AS unit_name, m.case_id, c.case_number, c.zone_id,"
    " m.body, m.author_name, m.sent_at, m.acknowledged_at FROM unit_messages m"
    " JOIN units u ON u.id = m.unit_id LEFT JOIN cases c ON c.id = m.case_id"
)


def sent_of(row: asyncpg.Record) -> messages.Sent:
    """A stored message (a MESSAGES row) for its events."""
    return messages.Sent(
        id=row["id"],
        batch=row["batch"],
        unit_id=row["unit_id"],
        unit_name=row["unit_name"],
        case_id=row["case_id"],
        case_number=row["case_number"],
        zone=row["zone_id"],
        body=row["body"],
        author_name=row["author_name"],
        sent_at=row["sent_at"],
        acknowledged_at=row["acknowledged_at"],
    )


def message_out(row: asyncpg.Record) -> UnitMessageOut:
    return UnitMessageOut(**{k: row[k] for k in UnitMessageOut.model_fields})


async def messages_of_case(conn: asyncpg.Connection, case_id: int) -> list[UnitMessageOut]:
    """The room's messages to the units of a case, oldest first."""
    rows = await conn.fetch(MESSAGES + " WHERE m.case_id = $1 ORDER BY m.sent_at, m.id", case_id)
    return [message_out(r) for r in rows]
