"""The supervisor's room page (/supervisione)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth
from console.lib.render import page, render
from dispatch import access


async def supervision_page(request: Request, session: auth.Session) -> Response:
    return render(
        request,
        "supervision.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Supervisione",
    )


ROUTES: list[BaseRoute] = [
    page(
        "/supervisione",
        supervision_page,
        access.Permission.SUPERVISE,
        refusal="Pagina riservata al supervisore di turno.",
    )
]
