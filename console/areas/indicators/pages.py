"""The indicators page (/indicatori) with its period presets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth
from console.lib.render import page, render
from console.lib.schemas import EARLIEST, ISO_DAY
from dispatch import access
from dispatch import indicators as core
from dispatch.indicators import Period


def presets(now: datetime) -> list[tuple[str, Period]]:
    """Quick periods for the page: (Italian label, period)."""
    today = core.rome_day(now)
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        ("Ultimi 7 giorni", core.default_period(now, 7)),
        ("Ultimi 30 giorni", core.default_period(now)),
        ("Mese in corso", Period(month_start, today)),
        ("Mese scorso", Period(last_month_end.replace(day=1), last_month_end)),
        ("Anno in corso", Period(today.replace(month=1, day=1), today)),
    ]


def _day_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "")
    return value if ISO_DAY.fullmatch(value) else None


async def indicators_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    now = datetime.now(UTC)
    default = core.default_period(now)
    chosen_from = _day_param(request, "from") or default.first.isoformat()
    chosen_to = _day_param(request, "to") or default.last.isoformat()
    return render(
        request,
        "indicators.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Indicatori",
        chosen_from=chosen_from,
        chosen_to=chosen_to,
        earliest=EARLIEST.isoformat(),
        presets=[(label, p.first.isoformat(), p.last.isoformat()) for label, p in presets(now)],
        max_days=core.MAX_DAYS,
    )


ROUTES: list[BaseRoute] = [page("/indicatori", indicators_page, access.Permission.VIEW_INDICATORS)]
