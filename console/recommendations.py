"""Which unit to send: every unit ranked for a case by estimated arrival, zone, skills,
language and load (dispatch/units.py decides; this module gathers and answers)."""

from __future__ import annotations

import asyncpg
from pydantic import BaseModel, Field
from starlette.requests import Request

from console import errors, services
from console import fleet_queries as q
from console.api import operation
from dispatch import access, units


def path_id(request: Request, name: str = "id") -> int:
    raw = str(request.path_params.get(name, ""))
    if not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound()
    return int(raw)


# ---- recommendation ------------------------------------------------------------------------


class Origin(BaseModel):
    lat: float
    lon: float
    source: str = Field(description='"referral" (its coordinates) or "municipality" (centroid)')
    municipality: str


class RecommendationOut(BaseModel):
    unit_id: int
    name: str
    status: str
    status_label: str
    eligible: bool
    eta_minutes: int | None
    reasons: list[str] = Field(description="Why, in Italian, for the operator")
    load: int = Field(description="Active assignments")
    zones: list[str]
    skills: list[str]
    languages: list[str]
    base_label: str
    base_note: str | None


class Recommendations(BaseModel):
    case_id: int
    case_number: str
    case_status: str
    zone: str
    needed_skills: list[str]
    language: str | None
    origin: Origin
    road_factor: float
    speed_kmh: float
    units: list[RecommendationOut] = Field(description="Eligible first, best first")


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
    conn: asyncpg.Connection, case_id: int, policy: units.RankingPolicy
) -> Recommendations:
    case = await conn.fetchrow(CASE_PLACE_SQL, case_id)
    if case is None:
        raise errors.NotFound("Caso non trovato.")
    origin, language = origin_of(case), _language(case)
    found = await q.candidates(conn)
    rows = {row["id"]: row for row, _ in found}
    ranked = units.rank(
        origin.lat,
        origin.lon,
        case["zone_id"],
        frozenset(case["skills"]),
        language,
        [c for _, c in found if c is not None],
        policy,
    )
    out = [_recommendation(rows[r.unit_id], r.eligible, r.eta_minutes, r.reasons) for r in ranked]
    out += [
        _recommendation(row, False, None, ("posizione sconosciuta: né sede né ultima posizione",))
        for row, c in found
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
    row: asyncpg.Record, eligible: bool, eta: int | None, reasons: tuple[str, ...]
) -> RecommendationOut:
    status = units.Status(row["status"])
    return RecommendationOut(
        unit_id=row["id"],
        name=row["name"],
        status=status.value,
        status_label=units.STATUS_LABELS[status],
        eligible=eligible,
        eta_minutes=eta,
        reasons=list(reasons),
        load=row["load"],
        zones=list(row["zones"]),
        skills=list(row["skills"]),
        languages=list(row["languages"]),
        base_label=row["base_label"],
        base_note=units.base_note(row["synthetic"]),
    )


@operation(
    "GET",
    "/api/v1/cases/{id}/recommendations",
    summary="Every unit ranked for a case: estimated arrival, zone, skills, language, load",
    response=Recommendations,
    permission=access.Permission.MANAGE_CASES,
    errors=(404,),
    tag="units",
    description="Eligible (available) units first, best first; every unit with its reasons in "
    "Italian. Estimated arrival: straight-line distance from the unit's last known position "
    "(else its base) to the referral's coordinates (else its municipality's centroid), times "
    "SEUS_ROAD_FACTOR, at SEUS_AVERAGE_SPEED_KMH.",
)
async def get_recommendations(
    request: Request, principal: access.Principal, _: None, __: None
) -> Recommendations:
    svc = services.of(request)
    async with svc.db.pool.acquire() as conn:
        return await recommend(conn, path_id(request), svc.settings.ranking_policy)
