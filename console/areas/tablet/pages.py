"""The tablet page (/tablet) and its offline app shell (/tablet-sw.js)."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.lib import auth, errors, services
from console.lib.render import page, public_page, render
from dispatch import access, basket


async def tablet_page(request: Request, session: auth.Session) -> Response:
    principal = session.principal
    if principal.unit_id is None:
        raise errors.Forbidden()
    return render(
        request,
        "tablet.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Intervento",
        unit_id=principal.unit_id,
        position_interval=services.of(request).settings.position_interval_seconds,
        resource_types=[(t.value, basket.TYPE_LABELS[t]) for t in basket.ResourceType],
    )


STATIC = Path(__file__).resolve().parents[3] / "static"
# The destination map without signal (static/js/lib/map.js, static/css/map.css are globbed):
# Leaflet, the zones, and the municipalities it draws from zoom 10 on.
OFFLINE_MAP = [
    STATIC / "vendor/leaflet/dist/leaflet.js",
    STATIC / "vendor/leaflet/dist/leaflet.css",
    STATIC / "geo/zones.geojson",
    STATIC / "geo/municipalities.geojson",
]


@functools.cache
def worker_source() -> bytes:
    """The service worker (worker.js, beside this module) with its manifest: what the tablet
    page needs offline (its script, the shared modules, the styles, and its small map's Leaflet
    and boundaries) and a version that changes with any of them."""
    files = sorted(
        [
            *STATIC.glob("css/*.css"),
            *STATIC.glob("js/lib/*.js"),
            STATIC / "js/tablet.js",
            *OFFLINE_MAP,
        ]
    )
    source = (Path(__file__).parent / "worker.js").read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode())
    for file in files:
        digest.update(file.read_bytes())
    manifest = {
        "version": digest.hexdigest()[:16],
        "files": ["/" + str(f.relative_to(STATIC.parent)) for f in files],
    }
    return source.replace('"__MANIFEST__"', json.dumps(manifest)).encode()


async def service_worker(request: Request) -> Response:
    """Public like any script: it holds no data, only the list of static files."""
    return Response(
        worker_source(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/tablet"},
    )


ROUTES: list[BaseRoute] = [
    page("/tablet", tablet_page, access.Permission.UNIT_TABLET, login="/tablet/login"),
    public_page("GET", "/tablet-sw.js", service_worker),
]
