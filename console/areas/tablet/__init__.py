"""The unit tablet: the current assignment, status reports, check-ins, notes and resource
requests."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The tablet area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.tablet import api, pages

    return [*operations.routes(api), *pages.ROUTES]
