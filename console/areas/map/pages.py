"""The live map page (/mappa; /mappa?parete=1 for the supervisor's wall: bigger type, no
list)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.map.api import NEED
from console.areas.map.schemas import LAYERS
from console.lib import auth, services
from console.lib.render import page, render
from dispatch import referrals

LAYER_LABELS = {
    "zones": "Zone (segnalazioni aperte, tempi scaduti)",
    "referrals": "Segnalazioni e casi aperti",
    "units": "Unità operative",
    "bases": "Basi e centrale operativa",
    "resources": "Risorse del paniere",
}


async def map_page(request: Request, session: auth.Session) -> Response:
    async with services.of(request).db.pool.acquire() as conn:
        zones = await conn.fetch("SELECT id, name FROM zones ORDER BY name")
    wall = request.query_params.get("parete") == "1"
    return render(
        request,
        "map.html",
        principal=session.principal,
        csrf_token=session.csrf_token,
        page_title="Mappa",
        zones=zones,
        urgencies=[(u.value, referrals.URGENCY_LABELS[u]) for u in referrals.URGENCY_ORDER],
        layers=[(name, LAYER_LABELS[name]) for name in LAYERS],
        wall=wall,
    )


ROUTES: list[BaseRoute] = [page("/mappa", map_page, NEED)]
