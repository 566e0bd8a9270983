"""Referral intake: the referrers' API and web form, operators' phone intake, referral status."""

from __future__ import annotations

from starlette.routing import BaseRoute

page_routes: list[BaseRoute] = []
