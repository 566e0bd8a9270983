"""Assessment: the room's live queue, claiming a referral, the assessment and its decision."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The assessment area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.assessment import api, pages

    return [*operations.routes(api), *pages.ROUTES]
