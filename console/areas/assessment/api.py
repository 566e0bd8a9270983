"""Assessment's JSON operations: the queue, merge candidates, operators, claim, release,
reassign, decide."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from console.areas.assessment.actions import claim, decide, reassign, release
from console.areas.assessment.reads import merge_candidates, read_queue
from console.areas.assessment.schemas import (
    Candidates,
    DecisionIn,
    DecisionOut,
    Operator,
    Operators,
    QueueOut,
    ReferralState,
    ReleaseIn,
)
from console.lib import services
from console.lib.api import operation, path_id
from console.lib.schemas import ReassignIn
from dispatch import access


@operation(
    "GET",
    "/api/v1/queue",
    summary="The room's queue: open referrals, most urgent and longest waiting first",
    response=QueueOut,
    permission=access.Permission.VIEW_REFERRALS,
    tag="room",
    description="Urgency is the assessed one, else the referrer's proposal, else giallo."
    " `as_of` is the log head read with the queue: follow `/ws?after=as_of`.",
)
async def get_queue(request: Request, principal: access.Principal, _: None, __: None) -> QueueOut:
    return await read_queue(services.of(request).db.pool)


@operation(
    "GET",
    "/api/v1/referrals/{id}/merge-candidates",
    summary="Possible duplicates: referrals of the last 72 h that may be the same situation",
    response=Candidates,
    permission=access.Permission.VIEW_REFERRALS,
    tag="room",
    errors=(404,),
    description="Scored on the person (the phone to call back, words of the description, age"
    " band, sex, language), the place (the same address or street, within 2 km, the same"
    " municipality) and the time received; merged and withdrawn referrals excluded. Each comes"
    " with its reasons and its differences in Italian (`stesso indirizzo`, `a 300 m`, `ricevuta"
    " 12 min prima`, `sesso diverso`).",
)
async def get_merge_candidates(
    request: Request, principal: access.Principal, _: None, __: None
) -> Candidates:
    pool = services.of(request).db.pool
    return await merge_candidates(pool, path_id(request), datetime.now(UTC))


@operation(
    "GET",
    "/api/v1/operators",
    summary="Active operators and supervisors (for reassignment)",
    response=Operators,
    permission=access.Permission.VIEW_ROOM,
    tag="room",
)
async def get_operators(
    request: Request, principal: access.Principal, _: None, __: None
) -> Operators:
    rows = await services.of(request).db.pool.fetch(
        "SELECT id, display_name, role FROM users WHERE active"
        " AND role IN ('operator', 'supervisor') ORDER BY display_name, id"
    )
    return Operators(
        operators=[Operator(id=r["id"], name=r["display_name"], role=r["role"]) for r in rows]
    )


_ASSESS: dict[str, Any] = {"permission": access.Permission.ASSESS, "tag": "room"}


@operation(
    "POST",
    "/api/v1/referrals/{id}/claim",
    summary="Take a received referral into assessment",
    response=ReferralState,
    description="Exactly one of many simultaneous claims wins; the others get 409 `refused`"
    " with `holder` (who holds it).",
    errors=(404, 409),
    **_ASSESS,
)
async def claim_referral(
    request: Request, principal: access.Principal, _: None, __: None
) -> ReferralState:
    return await claim(services.of(request).db, principal, path_id(request))


@operation(
    "POST",
    "/api/v1/referrals/{id}/release",
    summary="Give a referral back to the queue (its holder only)",
    body=ReleaseIn,
    response=ReferralState,
    example={"reason": "Fine turno: la riprende il collega."},
    errors=(404, 409),
    **_ASSESS,
)
async def release_referral(
    request: Request, principal: access.Principal, body: ReleaseIn, _: None
) -> ReferralState:
    return await release(services.of(request).db, principal, path_id(request), body.reason)


@operation(
    "POST",
    "/api/v1/referrals/{id}/reassign",
    summary="Hand an open referral to another operator (supervisors)",
    body=ReassignIn,
    response=ReferralState,
    permission=access.Permission.REASSIGN,
    tag="room",
    errors=(404, 409, 422),
    example={"operator_id": 2, "reason": "Serve la collega con esperienza Codice Rosa."},
)
async def reassign_referral(
    request: Request, principal: access.Principal, body: ReassignIn, _: None
) -> ReferralState:
    db = services.of(request).db
    return await reassign(db, principal, path_id(request), body.operator_id, body.reason)


@operation(
    "POST",
    "/api/v1/referrals/{id}/decision",
    summary="Decide an assessed referral: activate, not pertinent, redirect or merge",
    body=DecisionIn,
    response=DecisionOut,
    description="Only the holder decides. `activate` needs `assessment.urgency` and opens a"
    " case; `not_pertinent` and `redirect` need `reason` (`redirect` also `redirect_to`);"
    " `merge` needs `merge_into`, another referral not merged itself.",
    errors=(404, 409, 422),
    example={
        "decision": "activate",
        "assessment": {
            "trigger": "poverty_homelessness",
            "urgency": "rosso",
            "risk_factors": ["no_shelter", "cold_weather"],
            "people": {"count": 1, "minors": 0},
            "needs": ["shelter_bed", "meals"],
            "skills": [],
            "language": None,
            "notes": "Uomo senza dimora, temperatura prevista -3 °C.",
        },
    },
    **_ASSESS,
)
async def decide_referral(
    request: Request, principal: access.Principal, body: DecisionIn, _: None
) -> DecisionOut:
    return await decide(services.of(request).db, principal, path_id(request), body)
