"""The live map (/mappa): zones, referrals and cases, units, bases and resources on Tuscany's
own boundaries, with no tiles (docs/map.md)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The map's API operations and page."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.map import api, pages

    return [*operations.routes(api), *pages.ROUTES]
