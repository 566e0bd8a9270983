"""Server-rendered pages (Italian): login, tablet login, logout, the live page; and `page`,
the one declaration of every page of the console and of what one needs to open it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from console import accounts, auth, errors, guard, services
from dispatch import access

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

PAGE_TITLES = {
    access.Role.OPERATOR: "Sala operativa",
    access.Role.SUPERVISOR: "Sala operativa · supervisione",
    access.Role.ADMIN: "Sala operativa · amministrazione",
    access.Role.UNIT: "Tablet unità operativa",
    access.Role.REFERRER: "Ente segnalante",
    access.Role.TERRITORIAL_SERVICE: "Servizio sociale territoriale",
}


_P = access.Permission

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


# Every page route, registered by `page` and `public_page` as the areas are imported; the guard
# below and the access matrix (tests/security/test_access_matrix.py) read the same entries.
PAGES: list[Page] = []


def page(
    path: str,
    handler: PageHandler,
    need: access.Need,
    *,
    login: str = "/login",
    refusal: str = REFUSED,
) -> Route:
    """Declare a GET page open to the holders of `need`. Without a session the visitor is sent
    to `login` (the user login comes back here after); a role without `need` gets the 403 page;
    otherwise `handler(request, session)` answers."""
    PAGES.append(Page("GET", path, need, login))

    async def guarded(request: Request) -> Response:
        session = await guard.session_of(request)
        if session is None:
            target = f"/login?next={request.url.path}" if login == "/login" else login
            return RedirectResponse(target, status_code=303)
        if not access.allows(session.principal, need):
            raise errors.Forbidden(refusal)
        return await handler(request, session)

    guarded.__name__ = handler.__name__
    return Route(path, guarded, methods=["GET"])


def public_page(method: str, path: str, handler: Callable[[Request], Awaitable[Response]]) -> Route:
    """Declare a page anyone may open (the login forms and logout)."""
    PAGES.append(Page(method, path, None))
    return Route(path, handler, methods=[method])


# The sections of the console: (path, Italian label, what one needs to open it).
NAV: list[tuple[str, str, frozenset[access.Permission]]] = [
    ("/", "Sala", frozenset({_P.VIEW_ROOM})),
    ("/coda", "Coda segnalazioni", frozenset({_P.ASSESS})),
    ("/casi", "Casi aperti", frozenset({_P.MANAGE_CASES})),
    (
        "/segnalazioni/nuova",
        "Nuova segnalazione",
        frozenset({_P.VIEW_REFERRALS, _P.SUBMIT_REFERRAL}),
    ),
    ("/supervisione", "Supervisione", frozenset({_P.SUPERVISE})),
    ("/indicatori", "Indicatori", frozenset({_P.VIEW_INDICATORS})),
    ("/unita", "Unità operative", frozenset({_P.VIEW_UNITS})),
    ("/risorse", "Paniere risorse", frozenset({_P.VIEW_BASKET})),
    ("/tempi", "Tempi di servizio", frozenset({_P.EDIT_POLICIES})),
    ("/tablet", "Intervento", frozenset({_P.UNIT_TABLET})),
    ("/segnalazioni", "Le mie segnalazioni", frozenset({_P.VIEW_OWN_REFERRALS})),
    ("/passaggi", "Passaggi in carico", frozenset({_P.DECIDE_HANDOVER})),
]


def nav_for(principal: access.Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [
        (href, label)
        for href, label, needed in NAV
        if all(access.can(principal, p) for p in needed)
    ]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    principal = context.get("principal")
    context.setdefault("nav", nav_for(principal))
    context.setdefault("role_label", accounts.ROLE_LABELS[principal.role] if principal else "")
    context.setdefault("csrf_token", "")
    context.setdefault("page_title", "SEUS")
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def safe_next(target: str | None) -> str:
    """Only a path on this site: no open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_form(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    token = auth.new_secret()
    response = render(request, template, status, csrf_token=token, principal=None, **context)
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


async def login_page(request: Request) -> Response:
    return _login_form(
        request,
        "login.html",
        next=safe_next(request.query_params.get("next")),
        username="",
        error=None,
        page_title="Accesso",
    )


async def _check_login_csrf(request: Request, submitted: object) -> None:
    """Our origin and the login form's own double-submit token.

    Not the session's token: a browser that is still logged in (another person at the same
    desk) must be able to log in again; that login revokes the old session.
    """
    if not auth.origin_allowed(request, services.of(request).settings):
        raise errors.CsrfRefused("Origine della richiesta non consentita.")
    if not auth.same(str(submitted or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)):
        raise errors.CsrfRefused()


async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", ""))[:150]
    target = safe_next(str(form.get("next", "")))
    try:
        await _check_login_csrf(request, form.get("csrf_token"))
        cookie, _ = await accounts.log_in(request, username, str(form.get("password", ""))[:1024])
    except errors.ApiError as exc:
        response = _login_form(
            request,
            "login.html",
            exc.status,
            next=target,
            username=username,
            error=exc.detail,
            page_title="Accesso",
        )
        response.headers.update(exc.headers())
        return response
    response = RedirectResponse(target, status_code=303)
    accounts.set_session_cookie(response, request, cookie)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
    return response


async def tablet_login_page(request: Request) -> Response:
    return _login_form(request, "tablet_login.html", error=None, page_title="Accesso tablet")


async def tablet_login_submit(request: Request) -> Response:
    form = await request.form()
    try:
        await _check_login_csrf(request, form.get("csrf_token"))
        cookie, _ = await accounts.log_in(
            request, "", None, device_token=str(form.get("token", "")).strip()[:200]
        )
    except errors.ApiError as exc:
        detail = "Codice del dispositivo non valido." if exc.status == 401 else exc.detail
        return _login_form(
            request, "tablet_login.html", exc.status, error=detail, page_title="Accesso tablet"
        )
    response = RedirectResponse("/tablet", status_code=303)
    accounts.set_session_cookie(response, request, cookie)
    return response


async def logout(request: Request) -> Response:
    form = await request.form()
    await guard.check_csrf(request, "POST", submitted=str(form.get("csrf_token", "")))
    await accounts.log_out(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


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


page_routes = [
    page("/", live_page, _P.VIEW_OWN),
    public_page("GET", "/login", login_page),
    public_page("POST", "/login", login_submit),
    public_page("GET", "/tablet/login", tablet_login_page),
    public_page("POST", "/tablet/login", tablet_login_submit),
    public_page("POST", "/logout", logout),
]
