"""The basket page (/risorse)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.basket.reads import zones
from console.lib import auth, services
from console.lib.render import page, render
from dispatch import access, basket


async def basket_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    all_zones = await zones(services.of(request).db.pool)
    ids = {z["id"] for z in all_zones}
    chosen = request.query_params.get("zona")
    if chosen not in ids:
        chosen = next((z["id"] for z in all_zones if z["active"]), None)
    return render(
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


ROUTES: list[BaseRoute] = [page("/risorse", basket_page, access.Permission.VIEW_BASKET)]
