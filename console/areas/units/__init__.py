"""Field units: the units board, the ranked recommendation, dispatching and recalling a unit."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The units area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.units import api, pages

    return [*operations.routes(api), *pages.ROUTES]
