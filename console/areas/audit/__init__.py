"""The audit's read side: who opened which person's file."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The audit area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.audit import api

    return [*operations.routes(api)]
