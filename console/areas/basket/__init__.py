"""The zone's basket of resources and the bookings of a case."""

from __future__ import annotations

from datetime import timedelta

from starlette.routing import BaseRoute

from console.lib import api as operations
from console.lib.scheduler import Job


def routes() -> list[BaseRoute]:
    """The basket area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.basket import api, pages

    return [*operations.routes(api), *pages.ROUTES]


def jobs() -> list[Job]:
    """Held bookings past their time lapse, every 15 seconds."""
    from console.areas.basket import actions

    return [Job("expire_holds", actions.expire_holds, timedelta(seconds=15))]
