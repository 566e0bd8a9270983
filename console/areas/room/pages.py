"""The room's live feed page (/), where every role lands."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth
from console.lib.render import page, render
from dispatch import access

PAGE_TITLES = {
    access.Role.OPERATOR: "Sala operativa",
    access.Role.SUPERVISOR: "Sala operativa · supervisione",
    access.Role.ADMIN: "Sala operativa · amministrazione",
    access.Role.UNIT: "Tablet unità operativa",
    access.Role.REFERRER: "Ente segnalante",
    access.Role.TERRITORIAL_SERVICE: "Servizio sociale territoriale",
}


async def live_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    return render(
        request,
        "live.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=PAGE_TITLES[principal.role],
        can_post=access.can(principal, access.Permission.POST_ROOM_MESSAGE),
    )


ROUTES: list[BaseRoute] = [page("/", live_page, access.Permission.VIEW_OWN)]
