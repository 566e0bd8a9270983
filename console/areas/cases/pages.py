"""The open cases page (/casi) and a case's page (/casi/{id})."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.cases import reads
from console.lib import auth, errors, services
from console.lib.api import path_id
from console.lib.render import page, render
from dispatch import access


async def case_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    case_id = path_id(request)
    pool = services.of(request).db.pool
    # The place's municipality's point: the mini-map's place when the referral has no coordinates.
    row = await pool.fetchrow(
        "SELECT c.case_number, c.zone_id, m.lat AS centre_lat, m.lon AS centre_lon FROM cases c"
        " JOIN referrals r ON r.id = c.referral_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code WHERE c.id = $1",
        case_id,
    )
    if row is None:
        raise errors.NotFound("Caso non trovato.")
    zones = await pool.fetch("SELECT id, name FROM zones ORDER BY name")
    can_manage = access.can(principal, access.Permission.MANAGE_CASES)
    # For a correction of the residence after a rejected handover (the room only).
    municipalities = (
        await pool.fetch("SELECT istat_code, name FROM municipalities ORDER BY name")
        if can_manage
        else []
    )
    return render(
        request,
        "case.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=f"Caso {row['case_number']}",
        case_id=case_id,
        case_number=row["case_number"],
        case_zone=row["zone_id"],
        centre=(row["centre_lat"], row["centre_lon"]),
        zones=zones,
        municipalities=municipalities,
        labels=reads.labels(),
        can_manage=can_manage,
    )


# The list's filters, as kept in the address (?filtro=...): value -> Italian label.
CASE_FILTERS = {"tutti": "Tutti", "miei": "Miei", "respinti": "Passaggio respinto"}


async def cases_page(request: Request, session: auth.Session) -> Response:
    """The room's open cases, live; the filter lives in the address."""
    principal = session.principal
    chosen = request.query_params.get("filtro", "tutti")
    return render(
        request,
        "cases.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Casi aperti",
        filters=CASE_FILTERS,
        chosen=chosen if chosen in CASE_FILTERS else "tutti",
    )


ROUTES: list[BaseRoute] = [
    page("/casi", cases_page, access.READ_CASES),
    page("/casi/{id}", case_page, access.READ_CASES),
]
