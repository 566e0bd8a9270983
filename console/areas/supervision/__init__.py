"""The supervisor's room: queues, clocks at risk, units, who is on shift, escalations, shift
notes."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The supervision area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.supervision import api, pages

    return [*operations.routes(api), *pages.ROUTES]
