"""Intake's JSON operations: send a referral, read one, list them (a referrer its own, status
only; the room all)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.areas.intake import reads
from console.areas.intake.actions import submit
from console.areas.intake.reads import is_room, list_referrals
from console.areas.intake.schemas import (
    EXAMPLE,
    ReferralIn,
    ReferralPage,
    ReferralReceived,
    ReferralsQuery,
    ReferralStatus,
    ReferralView,
)
from console.lib import audit, errors, idempotency, services
from console.lib.api import operation, path_id
from dispatch import access

_P = access.Permission


REPLAYED_HEADER = "Idempotent-Replayed"


@operation(
    "POST",
    "/api/v1/referrals",
    summary="Send a referral (segnalazione)",
    description="A referrer's system (Bearer API key) or web user, or an operator entering a"
    " referral taken by phone (session, with `referrer_id`). The `Idempotency-Key` header is"
    " required: the same key with the same body answers the first 201 again"
    " (`Idempotent-Replayed: true`) and creates nothing; with another body it is a 409. The"
    " referrer's own `reference` is unique per referrer (409 if reused).",
    body=ReferralIn,
    response=ReferralReceived,
    status=201,
    auth=("api_key", "session"),
    permission=_P.SUBMIT_REFERRAL,
    errors=(409,),
    tag="intake",
    example=EXAMPLE,
    idempotency_key=True,
)
async def post_referral(
    request: Request, principal: access.Principal, body: ReferralIn, _: None
) -> Response:
    key = idempotency.key_of(request)
    assert key is not None
    done = await submit(services.of(request).db, principal, body, key)
    headers = {REPLAYED_HEADER: "true"} if done.replayed else {}
    return JSONResponse(done.response, status_code=201, headers=headers)


@operation(
    "GET",
    "/api/v1/referrals/{id}",
    summary="One referral: its status (referrers, their own only) or all of it (the room)",
    description="A referrer sees only its own referrals (404 for any other) and only their"
    " status fields; room roles (VIEW_REFERRALS) get every field.",
    response=ReferralView,
    auth=("api_key", "session"),
    permission=access.READ_REFERRALS,
    errors=(403, 404),
    tag="intake",
)
async def get_referral(
    request: Request, principal: access.Principal, _: None, __: None
) -> ReferralStatus:
    room = is_room(principal)
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        row = await reads.one(conn, path_id(request))
        if row is None or not (room or row["referrer_id"] == principal.referrer_id):
            raise errors.NotFound("Segnalazione non trovata.")
        if room:  # the whole file (a referrer sees only its own referral's status)
            await audit.file_opened(conn, principal, "referral", row["id"])
    return reads.room_view(row) if room else reads.status_view(row)


@operation(
    "GET",
    "/api/v1/referrals",
    summary="Referrals, newest first: a referrer's own (status only), or all (the room)",
    query=ReferralsQuery,
    response=ReferralPage,
    auth=("api_key", "session"),
    permission=access.READ_REFERRALS,
    errors=(403,),
    tag="intake",
)
async def get_referrals(
    request: Request, principal: access.Principal, _: None, query: ReferralsQuery
) -> dict[str, Any]:
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        found = await list_referrals(conn, principal, query)
        if is_room(principal):  # every referral's whole file, as if opened one by one
            await audit.file_opened(conn, principal, "referral", [view.id for view in found])
    more = len(found) == query.limit
    return {
        "referrals": [view.model_dump(mode="json") for view in found],
        "next_after_id": found[-1].id if more else None,
    }
