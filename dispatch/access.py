"""Who may see and do what: the one place that decides it.

Pages, the JSON API and the websocket all ask this module. A principal is whoever acts
(a user with a session, a referrer with an API key, a unit tablet with a device token);
an event carries an audience, a set of tags; a principal reads the tags it holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    UNIT = "unit"
    REFERRER = "referrer"
    TERRITORIAL_SERVICE = "territorial_service"
    ADMIN = "admin"


class Permission(enum.StrEnum):
    VIEW_ROOM = "view_room"  # the live room page and its stream
    POST_ROOM_MESSAGE = "post_room_message"
    VIEW_AUDIT = "view_audit"  # logins, logouts, administrative events
    VIEW_OWN = "view_own"  # one's own account and stream


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: frozenset(
        {Permission.VIEW_OWN, Permission.VIEW_ROOM, Permission.POST_ROOM_MESSAGE}
    ),
    Role.SUPERVISOR: frozenset(
        {Permission.VIEW_OWN, Permission.VIEW_ROOM, Permission.POST_ROOM_MESSAGE}
    ),
    Role.ADMIN: frozenset({Permission.VIEW_OWN, Permission.VIEW_ROOM, Permission.VIEW_AUDIT}),
    Role.UNIT: frozenset({Permission.VIEW_OWN}),
    Role.REFERRER: frozenset({Permission.VIEW_OWN}),
    Role.TERRITORIAL_SERVICE: frozenset({Permission.VIEW_OWN}),
}

# Audience tags. An event names the tags that may read it; see `read_tags`.
ROOM = "room"  # operators, supervisors, admins: the operations room
SUPERVISORS = "supervisors"
AUDIT = "audit"  # admins


def unit_tag(unit_id: int) -> str:
    return f"unit:{unit_id}"


def referrer_tag(referrer_id: int) -> str:
    return f"referrer:{referrer_id}"


def territorial_tag(zone_id: str) -> str:
    return f"territorial:{zone_id}"


def user_tag(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever is acting. Built at the edge from a session, an API key or a device token."""

    role: Role
    name: str
    user_id: int | None = None
    unit_id: int | None = None
    referrer_id: int | None = None
    zone_id: str | None = None
    session_id: str | None = None  # hash of the session cookie, when a session authenticated


def can(principal: Principal, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[principal.role]


def read_tags(principal: Principal) -> frozenset[str]:
    """The audience tags whose events this principal may receive."""
    tags: set[str] = set()
    if principal.user_id is not None:
        tags.add(user_tag(principal.user_id))
    role = principal.role
    if role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        tags.add(ROOM)
    if role in (Role.SUPERVISOR, Role.ADMIN):
        tags.add(SUPERVISORS)
    if role is Role.ADMIN:
        tags.add(AUDIT)
    if role is Role.UNIT and principal.unit_id is not None:
        tags.add(unit_tag(principal.unit_id))
    if role is Role.REFERRER and principal.referrer_id is not None:
        tags.add(referrer_tag(principal.referrer_id))
    if role is Role.TERRITORIAL_SERVICE and principal.zone_id is not None:
        tags.add(territorial_tag(principal.zone_id))
    return frozenset(tags)


def can_see(tags: frozenset[str], audience: frozenset[str] | tuple[str, ...]) -> bool:
    """True when an event with this audience may be sent to a holder of `tags`."""
    return not tags.isdisjoint(audience)
