"""Case pages: the referral, assessment, timeline, units, bookings, notes and handover, live."""

from __future__ import annotations

from starlette.routing import BaseRoute

page_routes: list[BaseRoute] = []
