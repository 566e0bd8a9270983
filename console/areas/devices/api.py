"""Units' tablets over JSON: the tablets board, pairing codes, revoking, the exchange."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.areas.accounts.actions import log_in, set_session_cookie
from console.areas.devices import actions, reads
from console.areas.devices.schemas import (
    Paired,
    PairingCodeOut,
    PairingIn,
    Revoked,
    RevokeIn,
    TabletsBoard,
)
from console.lib import guard, nav, services
from console.lib.api import operation, path_id
from dispatch import access

PAIR = access.Permission.PAIR_DEVICES


@operation(
    "GET",
    "/api/v1/units/tablets",
    summary="Every unit's paired tablets and the pairing audit trail (admins, supervisors)",
    response=TabletsBoard,
    permission=PAIR,
    errors=(403,),
    tag="devices",
)
async def get_tablets(
    request: Request, principal: access.Principal, _: None, __: None
) -> TabletsBoard:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        return await reads.tablets_board(conn, datetime.now(UTC))


@operation(
    "POST",
    "/api/v1/units/{id}/pairing-codes",
    summary="Issue a pairing code (and its QR code) for a unit's tablet",
    response=PairingCodeOut,
    status=201,
    permission=PAIR,
    errors=(403, 404),
    tag="devices",
    description="The code is valid once, for SEUS_PAIRING_CODE_MINUTES (10 by default); only "
    "its SHA-256 is stored, so it is shown in this answer only. The QR code encodes "
    "`<origin>/tablet/abbina?codice=<code>`.",
)
async def post_pairing_code(
    request: Request, principal: access.Principal, _: None, __: None
) -> PairingCodeOut:
    svc = services.of(request)
    return await actions.issue_code(
        svc.db,
        principal,
        path_id(request),
        ttl=svc.settings.pairing_code_ttl,
        origin=actions.origin_of(request),
    )


@operation(
    "POST",
    "/api/v1/units/{id}/tablets/revoke",
    summary="Revoke one tablet of a unit (token_id) or all of them",
    body=RevokeIn,
    response=Revoked,
    permission=PAIR,
    errors=(403, 404, 422),
    tag="devices",
    example={"token_id": None, "reason": "tablet smarrito"},
    description="The device tokens stop working at once, the sessions they opened end and "
    "their sockets close; revoking all also cancels the unit's codes not yet used.",
)
async def post_revoke(
    request: Request, principal: access.Principal, body: RevokeIn, _: None
) -> Revoked:
    db = services.of(request).db
    return await actions.revoke_tablets(db, principal, path_id(request), body.token_id)


@operation(
    "POST",
    "/api/v1/tablet/pairing",
    summary="A tablet exchanges a pairing code for its device token (opens a session)",
    body=PairingIn,
    response=Paired,
    status=201,
    auth=(),
    errors=(401, 403, 422, 429),
    tag="devices",
    example={"code": "ABCD-EFGH"},
    description="401 with an Italian `detail` for a code unknown, expired or already used; "
    "rate-limited like logging in (429 with Retry-After). Opens the same session as "
    "`/tablet/login` (cookie) and answers the device token once, for clients that keep it.",
)
async def post_pairing(request: Request, _: None, body: PairingIn, __: None) -> Response:
    await guard.check_csrf(request, "POST")
    exchanged = await actions.exchange_code(request, body.code)
    cookie, session = await log_in(request, "", None, device_token=exchanged.token)
    payload = Paired(
        unit_id=exchanged.unit_id,
        unit_name=exchanged.unit_name,
        device_token=exchanged.token,
        csrf_token=session.csrf_token,
        home=nav.HOME[session.principal.role],
    )
    response = JSONResponse(payload.model_dump(mode="json"), status_code=201)
    set_session_cookie(response, request, cookie)
    return response
