"""Indicators over a period: referrals by trigger, referrer and zone, time to each milestone,
breaches."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The indicators area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.indicators import api, pages

    return [*operations.routes(api), *pages.ROUTES]
