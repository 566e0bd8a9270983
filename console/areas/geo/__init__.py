"""Geography: where a point lies (municipality, zone) and whether it agrees with a stated
municipality; intake checks every referral's point with the same reads."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The geography area's API operations."""
    from console.areas.geo import api

    return operations.routes(api)
