"""The referrer's page (/segnalazioni) and the room's phone intake (/segnalazioni/nuova)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.intake import reads, store
from console.areas.intake.reads import list_referrals
from console.areas.intake.schemas import (
    ReferralsQuery,
    municipalities,
)
from console.lib import auth, errors, services
from console.lib.api import path_id
from console.lib.render import page, render
from dispatch import access, intake, referrals
from dispatch.calendars import ROME

_P = access.Permission


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
    return moment.astimezone(ROME).strftime("%d/%m/%Y, %H:%M")  # as the pages' JS writes it (it-IT)


async def my_referrals_page(request: Request, session: auth.Session) -> Response:
    async with services.of(request).db.pool.acquire() as conn:
        found = await list_referrals(conn, session.principal, ReferralsQuery(limit=100))
    return render(
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


async def my_referral_page(request: Request, session: auth.Session) -> Response:
    """One of the referrer's own referrals: what it sent, what it added, its status only (never
    the room's assessment or notes); add information, or withdraw it while it may."""
    principal = session.principal
    async with services.of(request).db.pool.acquire() as conn, conn.transaction():
        row = await reads.one(conn, path_id(request))
        if (
            row is None
            or principal.referrer_id is None
            or row["referrer_id"] != principal.referrer_id
        ):
            raise errors.NotFound("Segnalazione non trovata.")
        added = await reads.addenda(conn, [row["id"]])
        standing = await store.standing(conn, row)
    view = reads.status_view(row)
    return render(
        request,
        "intake_referral.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=f"Segnalazione {view.case_number}",
        r=view,
        sent=reads.sent_view(row),
        addenda=added,
        rome_time=rome_time,
        addendum_refusal=intake.addendum_refusal(view.status),
        withdrawal_refusal=intake.withdrawal_refusal(standing),
        addendum_max=intake.ADDENDUM_MAX,
        reason_max=intake.WITHDRAWAL_REASON_MAX,
        progress_labels={p.value: label for p, label in referrals.PROGRESS_LABELS.items()},
    )


async def phone_intake_page(request: Request, session: auth.Session) -> Response:
    async with services.of(request).db.pool.acquire() as conn:
        rows = await conn.fetch("SELECT id, name, kind FROM referrers ORDER BY name")
    return render(
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


ROUTES: list[BaseRoute] = [
    page(
        "/segnalazioni",
        my_referrals_page,
        access.AllOf(frozenset({_P.VIEW_OWN_REFERRALS, _P.SUBMIT_REFERRAL})),
    ),
    page(
        "/segnalazioni/nuova",
        phone_intake_page,
        access.AllOf(frozenset({_P.VIEW_REFERRALS, _P.SUBMIT_REFERRAL})),
    ),
    page(
        "/segnalazioni/{id}",
        my_referral_page,
        access.AllOf(frozenset({_P.VIEW_OWN_REFERRALS, _P.SUBMIT_REFERRAL})),
    ),
]
