"""The referrer's page (/segnalazioni) and the room's phone intake (/segnalazioni/nuova)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.intake.reads import list_referrals
from console.areas.intake.schemas import (
    ReferralsQuery,
    municipalities,
)
from console.lib import auth, services
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
    return moment.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


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
]
