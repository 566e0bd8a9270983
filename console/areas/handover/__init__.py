"""Handover of a case to the territorial service: the dossier, accept or reject."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The handover area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.handover import api, pages

    return [*operations.routes(api), *pages.ROUTES]
