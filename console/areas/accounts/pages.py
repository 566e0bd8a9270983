"""The login pages (users and unit tablets) and logout."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from console.areas.accounts import actions
from console.lib import auth, errors, guard, nav, services
from console.lib.render import public_page, render


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
        cookie, session = await actions.log_in(
            request, username, str(form.get("password", ""))[:1024]
        )
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
    if target == "/":  # nowhere in particular: where the role's work is
        target = nav.HOME[session.principal.role]
    response = RedirectResponse(target, status_code=303)
    actions.set_session_cookie(response, request, cookie)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
    return response


async def tablet_login_page(request: Request) -> Response:
    return _login_form(request, "tablet_login.html", error=None, page_title="Accesso tablet")


async def tablet_login_submit(request: Request) -> Response:
    form = await request.form()
    try:
        await _check_login_csrf(request, form.get("csrf_token"))
        cookie, _ = await actions.log_in(
            request, "", None, device_token=str(form.get("token", "")).strip()[:200]
        )
    except errors.ApiError as exc:
        detail = "Codice del dispositivo non valido." if exc.status == 401 else exc.detail
        return _login_form(
            request, "tablet_login.html", exc.status, error=detail, page_title="Accesso tablet"
        )
    response = RedirectResponse("/tablet", status_code=303)
    actions.set_session_cookie(response, request, cookie)
    return response


async def logout(request: Request) -> Response:
    form = await request.form()
    await guard.check_csrf(request, "POST", submitted=str(form.get("csrf_token", "")))
    await actions.log_out(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


ROUTES: list[BaseRoute] = [
    public_page("GET", "/login", login_page),
    public_page("POST", "/login", login_submit),
    public_page("GET", "/tablet/login", tablet_login_page),
    public_page("POST", "/tablet/login", tablet_login_submit),
    public_page("POST", "/logout", logout),
]
