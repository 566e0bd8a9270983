"""The tablet page (/tablet)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth, errors
from console.lib.render import page, render
from dispatch import access, basket


async def tablet_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    if principal.unit_id is None:
        raise errors.Forbidden()
    return render(
        request,
        "tablet.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Intervento",
        unit_id=principal.unit_id,
        resource_types=[(t.value, basket.TYPE_LABELS[t]) for t in basket.ResourceType],
    )


ROUTES: list[BaseRoute] = [
    page("/tablet", tablet_page, access.Permission.UNIT_TABLET, login="/tablet/login")
]
