"""Search and archive: referrals and cases, open and closed, found by number, reference, place
or words, each caller in its own share."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The search area's API operation and pages."""
    from console.areas.search import api, pages

    return [*operations.routes(api), *pages.ROUTES]
