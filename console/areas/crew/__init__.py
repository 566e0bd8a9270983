"""Units' crews and contacts: who is on board (users of the console or volunteers) and the
unit's phone, set by the admins and shown to the room (units board, case page)."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The crew area's API operations."""
    from console.areas.crew import api

    return [*operations.routes(api)]
