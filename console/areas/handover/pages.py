"""The territorial service's handovers page (/passaggi)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.cases import reads as cases_reads
from console.lib import auth, services
from console.lib.render import page, render
from dispatch import access


async def handovers_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    zone_name = None
    if principal.zone_id is not None:
        pool = services.of(request).db.pool
        zone_name = await pool.fetchval("SELECT name FROM zones WHERE id = $1", principal.zone_id)
    return render(
        request,
        "handovers.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Passaggi in carico",
        zone_name=zone_name or principal.zone_id,
        labels=cases_reads.labels(),
    )


ROUTES: list[BaseRoute] = [page("/passaggi", handovers_page, access.Permission.DECIDE_HANDOVER)]
