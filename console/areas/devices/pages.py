"""The tablets page (/unita/tablet: codes, QR, revoking) and the tablet's pairing page
(/tablet/abbina: one field, filled in from the QR code's address)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from console.areas.accounts.actions import log_in, set_session_cookie
from console.areas.devices import actions
from console.lib import auth, errors, services
from console.lib.render import page, public_page, render
from dispatch import access, pairing


async def tablets_page(request: Request, session: auth.Session) -> Response:
    settings = services.of(request).settings
    return render(
        request,
        "devices.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Tablet delle unità",
        ttl_minutes=int(settings.pairing_code_ttl.total_seconds() // 60),
    )


def _form(
    request: Request, status: int = 200, *, code: str = "", error: str | None = None
) -> Response:
    """The pairing form with its own double-submit CSRF token (as the login forms)."""
    token = auth.new_secret()
    response = render(
        request,
        "tablet_pair.html",
        status,
        csrf_token=token,
        principal=None,
        code=code,
        error=error,
        page_title="Abbina il tablet",
    )
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/")
    return response


async def pair_page(request: Request) -> Response:
    typed = pairing.normalised(request.query_params.get("codice", ""))[:40]
    code = pairing.grouped(typed) if pairing.well_formed(typed) else typed
    return _form(request, code=code)


async def pair_submit(request: Request) -> Response:
    form = await request.form()
    typed = str(form.get("codice", "")).strip()[:40]
    try:
        if not auth.origin_allowed(request, services.of(request).settings):
            raise errors.CsrfRefused("Origine della richiesta non consentita.")
        if not auth.same(
            str(form.get("csrf_token") or ""), request.cookies.get(auth.LOGIN_CSRF_COOKIE)
        ):
            raise errors.CsrfRefused("Modulo scaduto: ricarica la pagina e riprova.")
        exchanged = await actions.exchange_code(request, typed)
        cookie, _ = await log_in(request, "", None, device_token=exchanged.token)
    except errors.ApiError as exc:
        response = _form(request, exc.status, code=typed, error=exc.detail)
        response.headers.update(exc.headers())
        return response
    response = RedirectResponse("/tablet", status_code=303)
    set_session_cookie(response, request, cookie)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/")
    return response


ROUTES: list[BaseRoute] = [
    page("/unita/tablet", tablets_page, access.Permission.PAIR_DEVICES),
    public_page("GET", actions.PAIRING_PATH, pair_page),
    public_page("POST", actions.PAIRING_PATH, pair_submit),
]
