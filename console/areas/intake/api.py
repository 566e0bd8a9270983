"""Intake's JSON operations: send a referral, read one, list them (a referrer its own, status
only; the room all)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from console.areas.intake import reads
from console.areas.intake.actions import add_addendum, submit, withdraw
from console.areas.intake.reads import is_room, list_referrals
from console.areas.intake.schemas import (
    EXAMPLE,
    Addendum,
    AddendumIn,
    ReferralIn,
    ReferralPage,
    ReferralReceived,
    ReferralsQuery,
    ReferralStatus,
    ReferralView,
    WithdrawalIn,
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


_OWN_REFERRER = access.AllOf(frozenset({_P.SUBMIT_REFERRAL, _P.VIEW_OWN_REFERRALS}))


@operation(
    "POST",
    "/api/v1/referrals/{id}/addenda",
    summary="Add information to one's own referral (integrazione)",
    description="Only the referral's own referrer (404 for any other referral; 403 for a role"
    " that is not a referrer). The room sees the addendum at once (the room's feed, and the"
    " timeline of its case, or of its target's case when merged). Refused with 409 once the"
    " referral is over: `referral_closed` (closed or not pertinent), `referral_withdrawn`. The"
    " `Idempotency-Key` header is required: the same key with the same body answers the first"
    " 201 again (`Idempotent-Replayed: true`); with another body it is a 409 `conflict`.",
    body=AddendumIn,
    response=Addendum,
    status=201,
    auth=("api_key", "session"),
    permission=_OWN_REFERRER,
    errors=(403, 404, 409),
    tag="intake",
    example={"text": "La persona ha lasciato il pronto soccorso: ora è in stazione."},
    idempotency_key=True,
)
async def post_addendum(
    request: Request, principal: access.Principal, body: AddendumIn, _: None
) -> Response:
    key = idempotency.key_of(request)
    assert key is not None
    done = await add_addendum(services.of(request).db, principal, path_id(request), body, key)
    headers = {REPLAYED_HEADER: "true"} if done.replayed else {}
    return JSONResponse(done.response, status_code=201, headers=headers)


@operation(
    "POST",
    "/api/v1/referrals/{id}/withdraw",
    summary="Withdraw one's own referral, with a reason",
    description="Only the referral's own referrer (404 for any other referral; 403 for a role"
    " that is not a referrer). Allowed until a unit is dispatched to its case: the referral"
    " leaves the room's queue, its clocks are cancelled, a case opened for it is closed, and"
    ' its status becomes `withdrawn` ("Ritirata"). Refused with 409 and a precise code:'
    " `unit_dispatched`, `case_in_progress` (resources in place or handover sent),"
    " `resources_booked`, `referral_merged` (joined to another referral),"
    " `referral_followed` (others were joined to it), `referral_closed`,"
    " `already_withdrawn`.",
    body=WithdrawalIn,
    response=ReferralStatus,
    auth=("api_key", "session"),
    permission=_OWN_REFERRER,
    errors=(403, 404, 409),
    tag="intake",
    example={"reason": "La persona è stata accolta dai familiari."},
)
async def post_withdrawal(
    request: Request, principal: access.Principal, body: WithdrawalIn, _: None
) -> ReferralStatus:
    return await withdraw(services.of(request).db, principal, path_id(request), body.reason)
