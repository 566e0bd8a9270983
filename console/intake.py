"""Referral intake: the referrers' API and web form, operators' phone intake, referral status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from console import audit, auth, errors, idempotency, pages, progress, services
from console import intake_queries as queries
from console.api import operation
from console.db import Database
from console.intake_schemas import (
    EXAMPLE,
    ReferralIn,
    ReferralPage,
    ReferralReceived,
    ReferralsQuery,
    ReferralStatus,
    ReferralView,
    municipalities,
)
from dispatch import access, events, intake, referrals
from dispatch.cases import case_number

ROME = ZoneInfo("Europe/Rome")
REPLAYED_HEADER = "Idempotent-Replayed"
_P = access.Permission


@dataclass(frozen=True, slots=True)
class Submitted:
    response: dict[str, Any]
    replayed: bool


def _who_refers(principal: access.Principal, body: ReferralIn) -> tuple[int, intake.Channel]:
    """The referrer a referral is from, and how it came: the caller's own, or an operator's."""
    if principal.role is access.Role.REFERRER:
        if body.referrer_id is not None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("referrer_id", "only operators send it", "forbidden")]
            )
        assert principal.referrer_id is not None
        channel = intake.Channel.WEB if principal.user_id is not None else intake.Channel.API
        return principal.referrer_id, channel
    if body.referrer_id is None:
        raise errors.ValidationFailed(
            problems=[
                errors.FieldProblem(
                    "referrer_id", "an operator entering a referral names its referrer", "missing"
                )
            ]
        )
    return body.referrer_id, intake.Channel.PHONE


def _received(
    referral_id: int,
    number: str,
    body: ReferralIn,
    place: asyncpg.Record,
    referrer: asyncpg.Record,
    channel: intake.Channel,
    principal: access.Principal,
    now: datetime,
) -> intake.Received:
    return intake.Received(
        referral_id=referral_id,
        case_number=number,
        trigger=body.trigger.value,
        urgency_proposed=body.urgency.value if body.urgency else None,
        municipality_code=place["istat_code"],
        municipality=place["name"],
        zone_id=place["zone_id"],
        zone=place["zone_name"],
        people_count=body.people.count,
        minors=body.people.minors,
        needs_mediator=body.people.needs_mediator,
        language=body.people.language,
        summary=intake.summary(body.description),
        referrer_id=referrer["id"],
        referrer_name=referrer["name"],
        referrer_kind=referrer["kind"],
        channel=channel,
        received_at=now,
        entered_by=principal.name if channel is intake.Channel.PHONE else None,
    )


async def submit(
    db: Database, principal: access.Principal, body: ReferralIn, key: str
) -> Submitted:
    """Receive one referral: its case number, its row, its events, its idempotency record."""
    referrer_id, channel = _who_refers(principal, body)
    scope = f"referrer:{referrer_id}"
    request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
    async with db.action() as tx:
        replay = await idempotency.claim(tx.conn, scope, key, request_hash, tx.now)
        if replay is not None:
            return Submitted(replay.response, replayed=True)
        referrer = await tx.conn.fetchrow(
            "SELECT id, name, kind FROM referrers WHERE id = $1", referrer_id
        )
        if referrer is None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("referrer_id", "unknown referrer", "unknown")]
            )
        place = await queries.municipality(tx.conn, "place.municipality", body.place.municipality)
        residence = None
        if body.residence_municipality is not None:
            residence = await queries.municipality(
                tx.conn, "residence_municipality", body.residence_municipality
            )
        if body.reference is not None:
            await queries.check_reference(tx.conn, referrer_id, body.reference)
        # The id first, so that the case number is part of the insert.
        referral_id: int = await tx.conn.fetchval(
            "SELECT nextval(pg_get_serial_sequence('referrals', 'id'))"
        )
        number = case_number(tx.now.astimezone(ROME).year, referral_id)
        by_phone = channel is intake.Channel.PHONE
        entered_by = principal.user_id if by_phone else None
        await queries.insert(
            tx.conn, referral_id, number, referrer_id, body, place, residence, entered_by, tx.now
        )
        received = _received(referral_id, number, body, place, referrer, channel, principal, tx.now)
        tx.emit(intake.referral_received(received, events.actor_of(principal)))
        current = await progress.notify_referrer(tx, referral_id)
        response = ReferralReceived(
            id=referral_id,
            case_number=number,
            reference=body.reference,
            status=current,
            status_label=referrals.PROGRESS_LABELS[current],
            received_at=tx.now,
        ).model_dump(mode="json")
        await idempotency.record(tx.conn, scope, key, 201, response)
    return Submitted(response, replayed=False)


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


# -- reading ------------------------------------------------------------------------------------


def _is_room(principal: access.Principal) -> bool:
    """True for the room (all of every referral); False for a referrer (its own, status only)."""
    if access.can(principal, _P.VIEW_REFERRALS):
        return True
    if access.can(principal, _P.VIEW_OWN_REFERRALS) and principal.referrer_id is not None:
        return False
    raise errors.Forbidden()


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
    room = _is_room(principal)
    raw = request.path_params["id"]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise errors.NotFound("Segnalazione non trovata.")
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        row = await queries.one(conn, int(raw))
        if row is None or not (room or row["referrer_id"] == principal.referrer_id):
            raise errors.NotFound("Segnalazione non trovata.")
        if room:  # the whole file (a referrer sees only its own referral's status)
            await audit.file_opened(conn, principal, "referral", row["id"])
    return queries.room_view(row) if room else queries.status_view(row)


async def list_referrals(
    conn: asyncpg.Connection, principal: access.Principal, query: ReferralsQuery
) -> list[ReferralStatus]:
    """Newest first: all of every referral for the room, a referrer's own status views."""
    room = _is_room(principal)
    rows = await queries.page(
        conn,
        referrer_id=None if room else principal.referrer_id,
        status=query.status,
        limit=query.limit,
        after_id=query.after_id,
    )
    return [queries.room_view(row) if room else queries.status_view(row) for row in rows]


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
        if _is_room(principal):  # every referral's whole file, as if opened one by one
            await audit.file_opened(conn, principal, "referral", [view.id for view in found])
    more = len(found) == query.limit
    return {
        "referrals": [view.model_dump(mode="json") for view in found],
        "next_after_id": found[-1].id if more else None,
    }


# -- pages --------------------------------------------------------------------------------------


def _form_context(mode: str, title: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "form_title": title,
        "triggers": [(t.value, label) for t, label in referrals.TRIGGER_LABELS.items()],
        "urgency_options": [(u.value, u.value.capitalize()) for u in referrals.Urgency],
        "age_bands": [(a.value, label) for a, label in intake.AGE_BAND_LABELS.items()],
        "sexes": [(s.value, label) for s, label in intake.SEX_LABELS.items()],
        "languages": sorted(names[0].capitalize() for names in intake.LANGUAGES.values()),
        "municipalities": sorted(municipalities().names.values()),
    }


def rome_time(moment: datetime) -> str:
    return moment.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


async def my_referrals_page(request: Request, session: auth.Session) -> Response:
    async with services.of(request).db.pool.acquire() as conn:
        found = await list_referrals(conn, session.principal, ReferralsQuery(limit=100))
    return pages.render(
        request,
        "intake_referrer.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Le mie segnalazioni",
        referrals=found,
        rome_time=rome_time,
        progress_labels={p.value: label for p, label in referrals.PROGRESS_LABELS.items()},
        **_form_context("referrer", "Nuova segnalazione"),
    )


async def phone_intake_page(request: Request, session: auth.Session) -> Response:
    async with services.of(request).db.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, name, kind FROM referrers ORDER BY name")
    return pages.render(
        request,
        "intake_phone.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Nuova segnalazione telefonica",
        referrers_options=[
            (r["id"], f"{r['name']} · {intake.REFERRER_KIND_LABELS.get(r['kind'], r['kind'])}")
            for r in rows
        ],
        **_form_context("phone", "Dati della segnalazione telefonica"),
    )


page_routes: list[BaseRoute] = [
    pages.page(
        "/segnalazioni",
        my_referrals_page,
        access.AllOf(frozenset({_P.VIEW_OWN_REFERRALS, _P.SUBMIT_REFERRAL})),
    ),
    pages.page(
        "/segnalazioni/nuova",
        phone_intake_page,
        access.AllOf(frozenset({_P.VIEW_REFERRALS, _P.SUBMIT_REFERRAL})),
    ),
]
