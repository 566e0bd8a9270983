"""Intake: referrals from referrers' systems, their web form and the room's phone intake; a
referral's status for its referrer."""

from __future__ import annotations

from starlette.routing import BaseRoute

from console.lib import api as operations
from console.lib.db import BeforeCommit


def routes() -> list[BaseRoute]:
    """The intake area's API operations and pages."""
    # Imported here: another area importing this one's reads or actions loads no pages.
    from console.areas.intake import api, pages

    return [*operations.routes(api), *pages.ROUTES]


def before_commit() -> list[BeforeCommit]:
    """Referrers are told the progress of the referrals each action moved."""
    from console.areas.intake import actions

    return [actions.tell_referrers]
