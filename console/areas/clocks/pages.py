"""The SLA policies page (/tempi)."""

from __future__ import annotations

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.clocks.reads import policy_out
from console.areas.clocks.schemas import TargetIO
from console.areas.clocks.store import load
from console.lib import auth, services
from console.lib.render import page, render
from dispatch import access, sla
from dispatch.clocks import Milestone
from dispatch.referrals import URGENCIES


def _minutes(target: TargetIO | None) -> str:
    if target is None or target.seconds is None:
        return ""
    return f"{target.seconds / 60:g}"


async def policies_page(request: StarletteRequest, session: auth.Session) -> Response:
    principal = session.principal
    async with services.of(request).db.pool.acquire() as conn:
        found = await load(conn)
    return render(
        request,
        "policies.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Tempi di servizio",
        policies=[policy_out(found[m]) for m in Milestone],
        triggers=[(t.value, sla.TRIGGER_LABELS[t]) for t in sla.Trigger
                  if t is not sla.Trigger.URGENCY_CHANGED],
        rule_fields=[("starts_on", "Avviato da"), ("stops_on", "Fermato (rispettato) da"),
                     ("cancels_on", "Annullato da"), ("pauses_on", "Messo in pausa da"),
                     ("resumes_on", "Ripreso da")],
        urgencies=URGENCIES,
        minutes=_minutes,
    )  # fmt: skip


ROUTES: list[BaseRoute] = [page("/tempi", policies_page, access.Permission.EDIT_POLICIES)]
