"""Server-rendered pages: `page`, the one declaration of a page of the console and of what one
needs to open it, and `render`, a template with the navigation of the caller's role."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from console.lib import api, auth, errors, guard
from console.lib.nav import nav_for
from dispatch import access, search
from dispatch.calendars import ROME

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))


def rome_datetime(instant: datetime | None) -> str:
    """An instant as people in the room read it: "04/12/2026 22:40", in Rome's time."""
    return instant.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if instant else ""


templates.env.filters["rome_datetime"] = rome_datetime


PageHandler = Callable[[Request, auth.Session], Awaitable[Response]]


REFUSED = "Questa pagina non è disponibile per il tuo ruolo."


@dataclass(frozen=True)
class Page:
    """A page of the console as declared: what one needs to open it (None: anyone, the login
    forms) and where a visitor without a session is sent."""

    method: str
    path: str
    need: access.Need | None
    login: str = "/login"


class PageRoute(Route):
    """The route of a declared page; it keeps the declaration (the access matrix reads it from
    the composed routes)."""

    def __init__(self, declared: Page, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        super().__init__(api.with_ids(declared.path), endpoint, methods=[declared.method])
        self.page = declared


def page(
    path: str,
    handler: PageHandler,
    need: access.Need,
    *,
    login: str = "/login",
    refusal: str = REFUSED,
) -> PageRoute:
    """Declare a GET page open to the holders of `need`. Without a session the visitor is sent
    to `login` (the user login comes back here after); a role without `need` gets the 403 page;
    otherwise `handler(request, session)` answers."""

    async def guarded(request: Request) -> Response:
        session = await guard.session_of(request)
        if session is None:
            target = f"/login?next={request.url.path}" if login == "/login" else login
            return RedirectResponse(target, status_code=303)
        if not access.allows(session.principal, need):
            raise errors.Forbidden(refusal)
        api.check_ids(request)
        return await handler(request, session)

    guarded.__name__ = handler.__name__
    return PageRoute(Page("GET", path, need, login), guarded)


def public_page(
    method: str, path: str, handler: Callable[[Request], Awaitable[Response]]
) -> PageRoute:
    """Declare a page anyone may open (the login forms and logout)."""
    return PageRoute(Page(method, path, None), handler)


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    principal = context.get("principal")
    context.setdefault("nav", nav_for(principal))
    context.setdefault(
        "can_search", principal is not None and access.allows(principal, search.NEED)
    )
    context.setdefault("role_label", access.ROLE_LABELS[principal.role] if principal else "")
    context.setdefault("csrf_token", "")
    context.setdefault("page_title", "SEUS")
    return templates.TemplateResponse(request, name, context, status_code=status_code)
