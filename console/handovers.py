"""Handover to the territorial service: dossier, routing, accept or reject."""

from __future__ import annotations

from starlette.routing import BaseRoute

page_routes: list[BaseRoute] = []
