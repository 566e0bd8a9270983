"""The units board page (/unita)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth, services
from console.lib.render import page, render
from dispatch import access, units


async def units_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    statuses = [(s.value, units.STATUS_LABELS[s]) for s in units.Status]
    async with services.of(request).db.pool.acquire() as conn:
        zones = await conn.fetch("SELECT id, name FROM zones ORDER BY name")
    return render(
        request,
        "units.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Unità operative",
        zones=zones,
        statuses=statuses,
        demo_note=units.DEMO_BASE_NOTE,
        can_edit_crew=access.can(principal, access.Permission.EDIT_UNITS),
        can_pair=access.can(principal, access.Permission.PAIR_DEVICES),
    )


ROUTES: list[BaseRoute] = [
    page("/unita", units_page, access.Permission.VIEW_UNITS),
]
