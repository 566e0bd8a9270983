"""The room's queue: claim, release, reassign, assess and decide referrals."""

from __future__ import annotations

from starlette.routing import BaseRoute

page_routes: list[BaseRoute] = []
