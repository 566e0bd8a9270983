"""Field units: the units board, recommendation and dispatch, and the unit tablet."""

from __future__ import annotations

from starlette.routing import BaseRoute

page_routes: list[BaseRoute] = []
