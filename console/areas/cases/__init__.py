"""Cases: the open cases, a case's file and timeline, notes, urgency changes, closing."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The cases area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.cases import api, pages

    return [*operations.routes(api), *pages.ROUTES]
