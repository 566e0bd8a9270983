"""The operations room's feed: the live page every role lands on, messages to the room."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The room area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.room import api, pages

    return [*operations.routes(api), *pages.ROUTES]
