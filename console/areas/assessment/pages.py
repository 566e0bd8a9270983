"""The room's queue page and a referral's assessment page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.assessment.reads import int_or_none, read_referral, trigger_label
from console.lib import auth, services
from console.lib.api import path_id
from console.lib.render import page, render
from dispatch import access, basket, intake, referrals, units
from dispatch.calendars import ROME
from dispatch.referrals import Status


def rome(value: datetime | None) -> str:
    return value.astimezone(ROME).strftime("%d/%m/%Y %H:%M") if value else ""


ROOM_ONLY = "Pagina riservata alla centrale operativa."


async def queue_page(request: Request, session: auth.Session) -> Response:
    return render(
        request,
        "queue.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Coda segnalazioni",
    )


FORM_OPTIONS = {
    "triggers": [(t.value, label) for t, label in referrals.TRIGGER_LABELS.items()],
    "urgencies": [(u.value, label) for u, label in referrals.URGENCY_LABELS.items()],
    "risks": [(r.value, label) for r, label in referrals.RISK_LABELS.items()],
    "needs": [(t.value, label) for t, label in basket.TYPE_LABELS.items()],
    "skills": [(s.value, label) for s, label in units.SKILL_LABELS.items()],
    "decisions": [(d.value, label) for d, label in referrals.DECISION_LABELS.items()],
}


async def assessment_page(request: Request, session: auth.Session) -> Response:
    referral, as_of = await read_referral(services.of(request).db.pool, path_id(request))
    status = Status(referral["status"])
    people = _people_view(referral["people"])
    callback = referral["callback"] if isinstance(referral["callback"], dict) else {}
    principal = session.principal
    return render(
        request,
        "assessment.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title=f"Valutazione {referral['case_number']}",
        r=referral,
        as_of=as_of,
        status_label=referrals.STATUS_LABELS[status],
        is_open=status in referrals.OPEN,
        trigger_label=trigger_label(referral["trigger"]),
        people=people,
        callback=callback,
        assessment=referral["assessment"] or {},
        received=rome(referral["received_at"]),
        claimed=rome(referral["claimed_at"]),
        withdrawn=rome(referral["withdrawn_at"]),
        addenda=referral["addenda"],
        rome=rome,
        can_reassign=access.can(principal, access.Permission.REASSIGN),
        options=FORM_OPTIONS,
    )


def _label(labels: dict[Any, str], value: object) -> str:
    return next((label for key, label in labels.items() if key == value), str(value or ""))


def _people_view(people: object) -> dict[str, Any]:
    """The people involved as the page shows them (labels in Italian)."""
    raw = people if isinstance(people, dict) else {}
    band, sex = raw.get("age_band"), raw.get("sex")
    return {
        "count": int_or_none(raw.get("count")),
        "minors": int_or_none(raw.get("minors")) or 0,
        "age_band": _label(intake.AGE_BAND_LABELS, band) if band not in (None, "unknown") else "",
        "sex": _label(intake.SEX_LABELS, sex) if sex not in (None, "unknown") else "",
        "language": intake.language_label(raw.get("language")),
        "italian": raw.get("language") in (None, "", "it"),
        "needs_mediator": raw.get("needs_mediator") is True,
    }


ROUTES: list[BaseRoute] = [
    page("/coda", queue_page, access.Permission.ASSESS, refusal=ROOM_ONLY),
    page("/coda/{id}", assessment_page, access.Permission.ASSESS, refusal=ROOM_ONLY),
]
