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


ROLE_LABELS = {
    Role.OPERATOR: "Operatore di centrale",
    Role.SUPERVISOR: "Supervisore di turno",
    Role.UNIT: "Unità operativa",
    Role.REFERRER: "Ente segnalante",
    Role.TERRITORIAL_SERVICE: "Servizio sociale territoriale",
    Role.ADMIN: "Amministratore",
}


class Permission(enum.StrEnum):
    VIEW_OWN = "view_own"  # one's own account and stream
    VIEW_ROOM = "view_room"  # the room's live pages and stream
    POST_ROOM_MESSAGE = "post_room_message"
    VIEW_AUDIT = "view_audit"  # logins, logouts, administrative events
    SUBMIT_REFERRAL = "submit_referral"  # referrers; operators taking one by phone
    VIEW_OWN_REFERRALS = "view_own_referrals"  # a referrer: the status of its own, nothing more
    VIEW_REFERRALS = "view_referrals"  # the full referral, assessment included
    ASSESS = "assess"  # claim a referral, assess it, decide
    REASSIGN = "reassign"  # hand a referral or case to another operator
    MANAGE_CASES = "manage_cases"  # notes, dispatch, bookings, handover of a case
    VIEW_UNITS = "view_units"  # every unit's status and position
    UNIT_TABLET = "unit_tablet"  # a unit's own assignment: status, check-in, notes, requests
    VIEW_BASKET = "view_basket"
    EDIT_BASKET = "edit_basket"
    DECIDE_HANDOVER = "decide_handover"  # a territorial service: accept or reject
    SUPERVISE = "supervise"  # the supervisor's room: escalations, shift notes, staffing
    VIEW_INDICATORS = "view_indicators"  # activity and SLA indicators, CSV export
    EDIT_POLICIES = "edit_policies"  # SLA targets, calendars and rules
    EDIT_UNITS = "edit_units"  # a unit's crew and phone
    PAIR_DEVICES = "pair_devices"  # pairing codes for a unit's tablet; revoking its tablets


_P = Permission
_ROOM = frozenset(
    {
        _P.VIEW_OWN,
        _P.VIEW_ROOM,
        _P.POST_ROOM_MESSAGE,
        _P.SUBMIT_REFERRAL,
        _P.VIEW_REFERRALS,
        _P.ASSESS,
        _P.MANAGE_CASES,
        _P.VIEW_UNITS,
        _P.VIEW_BASKET,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OPERATOR: _ROOM,
    Role.SUPERVISOR: _ROOM | {_P.REASSIGN, _P.SUPERVISE, _P.VIEW_INDICATORS, _P.PAIR_DEVICES},
    Role.ADMIN: frozenset(
        {
            _P.VIEW_OWN,
            _P.VIEW_ROOM,
            _P.VIEW_AUDIT,
            _P.VIEW_REFERRALS,
            _P.VIEW_UNITS,
            _P.VIEW_BASKET,
            _P.EDIT_BASKET,
            _P.VIEW_INDICATORS,
            _P.EDIT_POLICIES,
            _P.EDIT_UNITS,
            _P.PAIR_DEVICES,
        }
    ),
    Role.UNIT: frozenset({_P.VIEW_OWN, _P.UNIT_TABLET}),
    Role.REFERRER: frozenset({_P.VIEW_OWN, _P.SUBMIT_REFERRAL, _P.VIEW_OWN_REFERRALS}),
    Role.TERRITORIAL_SERVICE: frozenset({_P.VIEW_OWN, _P.DECIDE_HANDOVER}),
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


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Open to a holder of any one of these permissions; each then gets only its share (the
    room every field of a referral, a referrer the status of its own)."""

    options: frozenset[Permission]


@dataclass(frozen=True, slots=True)
class AllOf:
    """Open only to a holder of every one of these permissions."""

    required: frozenset[Permission]


# What a route (an API operation, a page) asks of its caller. Every route declares one; the
# guard and the access matrix test (tests/security/test_access_matrix.py) read that declaration.
Need = Permission | AnyOf | AllOf


def allows(principal: Principal, need: Need) -> bool:
    if isinstance(need, AnyOf):
        return any(can(principal, p) for p in need.options)
    if isinstance(need, AllOf):
        return all(can(principal, p) for p in need.required)
    return can(principal, need)


def roles_allowed(need: Need) -> frozenset[Role]:
    """The roles a route with this need is open to (documentation, tests)."""
    return frozenset(role for role in Role if allows(Principal(role, role.value), need))


# The needs shared by routes that several roles use, each seeing its own part.
READ_CASES = AnyOf(frozenset({Permission.VIEW_REFERRALS, Permission.MANAGE_CASES}))
READ_REFERRALS = AnyOf(frozenset({Permission.VIEW_REFERRALS, Permission.VIEW_OWN_REFERRALS}))


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
