"""Units' tablets: pairing codes (a short code and its QR, exchanged once for a device token),
the tablets paired with each unit, revoking them, and their audit trail."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations


def routes() -> list[BaseRoute]:
    """The devices area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.devices import api, pages

    return [*operations.routes(api), *pages.ROUTES]
