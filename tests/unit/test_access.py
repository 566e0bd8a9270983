"""Who may see and do what (dispatch/access.py): each role's permissions and audience tags."""

import pytest

from dispatch import access
from dispatch.access import Permission, Principal, Role

P = Permission
ROOM_WORK = {
    P.VIEW_OWN, P.VIEW_ROOM, P.POST_ROOM_MESSAGE, P.SUBMIT_REFERRAL, P.VIEW_REFERRALS, P.ASSESS,
    P.MANAGE_CASES, P.VIEW_UNITS, P.VIEW_BASKET,
}  # fmt: skip

# One principal per role, with every id its role can carry.
PRINCIPALS = {
    Role.OPERATOR: Principal(Role.OPERATOR, "Operatore", user_id=1),
    Role.SUPERVISOR: Principal(Role.SUPERVISOR, "Supervisore", user_id=2),
    Role.ADMIN: Principal(Role.ADMIN, "Amministratore", user_id=3),
    Role.UNIT: Principal(Role.UNIT, "UTES 1", user_id=4, unit_id=7),
    Role.REFERRER: Principal(Role.REFERRER, "PS Careggi", referrer_id=9),
    Role.TERRITORIAL_SERVICE: Principal(
        Role.TERRITORIAL_SERVICE, "SST Firenze", user_id=5, zone_id="firenze"
    ),
}


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.OPERATOR, ROOM_WORK),
        (
            Role.SUPERVISOR,
            ROOM_WORK | {P.REASSIGN, P.SUPERVISE, P.VIEW_INDICATORS, P.PAIR_DEVICES},
        ),
        (
            Role.ADMIN,
            {
                P.VIEW_OWN,
                P.VIEW_ROOM,
                P.VIEW_AUDIT,
                P.VIEW_REFERRALS,
                P.VIEW_UNITS,
                P.VIEW_BASKET,
                P.EDIT_BASKET,
                P.VIEW_INDICATORS,
                P.EDIT_POLICIES,
                P.EDIT_UNITS,
                P.PAIR_DEVICES,
            },
        ),
        (Role.UNIT, {P.VIEW_OWN, P.UNIT_TABLET}),
        (Role.REFERRER, {P.VIEW_OWN, P.SUBMIT_REFERRAL, P.VIEW_OWN_REFERRALS}),
        (Role.TERRITORIAL_SERVICE, {P.VIEW_OWN, P.DECIDE_HANDOVER}),
    ],
)
def test_each_role_may_do_exactly_its_own_things(role, allowed):
    principal = PRINCIPALS[role]
    for permission in Permission:
        assert access.can(principal, permission) is (permission in allowed), permission


def test_every_role_has_a_permission_entry():
    assert set(access.ROLE_PERMISSIONS) == set(Role)


@pytest.mark.parametrize(
    ("role", "tags"),
    [
        (Role.OPERATOR, {"user:1", "room"}),
        (Role.SUPERVISOR, {"user:2", "room", "supervisors"}),
        (Role.ADMIN, {"user:3", "room", "supervisors", "audit"}),
        (Role.UNIT, {"user:4", "unit:7"}),
        (Role.REFERRER, {"referrer:9"}),
        (Role.TERRITORIAL_SERVICE, {"user:5", "territorial:firenze"}),
    ],
)
def test_each_role_reads_exactly_its_audience_tags(role, tags):
    assert access.read_tags(PRINCIPALS[role]) == frozenset(tags)


@pytest.mark.parametrize(
    "principal",
    [
        Principal(Role.UNIT, "unità senza unità"),
        Principal(Role.REFERRER, "ente senza ente"),
        Principal(Role.TERRITORIAL_SERVICE, "servizio senza zona"),
    ],
)
def test_a_principal_without_its_id_reads_no_tag_at_all(principal):
    assert access.read_tags(principal) == frozenset()


def test_a_unit_reads_its_unit_tag_but_not_the_referrer_or_zone_ids_it_carries():
    unit = Principal(Role.UNIT, "UTES 1", unit_id=7, referrer_id=9, zone_id="firenze")
    assert access.read_tags(unit) == {"unit:7"}


@pytest.mark.parametrize(
    ("tags", "audience", "visible"),
    [
        ({"room"}, {"room"}, True),
        ({"user:1", "room"}, ("audit", "room"), True),
        ({"user:1", "room"}, {"audit"}, False),
        ({"unit:7"}, {"unit:8"}, False),
        ({"unit:7"}, frozenset(), False),
        (set(), {"room"}, False),
    ],
)
def test_an_event_is_seen_only_by_a_holder_of_one_of_its_audience_tags(tags, audience, visible):
    assert access.can_see(frozenset(tags), audience) is visible


@pytest.mark.parametrize(
    ("event_audience", "who_sees"),
    [
        ({access.ROOM}, {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}),
        ({access.AUDIT}, {Role.ADMIN}),
        ({access.SUPERVISORS}, {Role.SUPERVISOR, Role.ADMIN}),
        ({access.unit_tag(7)}, {Role.UNIT}),
        ({access.referrer_tag(9)}, {Role.REFERRER}),
        ({access.territorial_tag("firenze")}, {Role.TERRITORIAL_SERVICE}),
        ({access.territorial_tag("prato")}, set()),
        ({access.user_tag(1)}, {Role.OPERATOR}),
    ],
)
def test_each_audience_reaches_exactly_the_roles_it_names(event_audience, who_sees):
    seen_by = {
        role
        for role, principal in PRINCIPALS.items()
        if access.can_see(access.read_tags(principal), frozenset(event_audience))
    }
    assert seen_by == who_sees


@pytest.mark.parametrize(
    ("need", "roles"),
    [
        (P.VIEW_OWN, set(Role)),
        (access.READ_CASES, {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN}),
        (access.READ_REFERRALS, {Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN, Role.REFERRER}),
        (
            access.AnyOf(frozenset({P.UNIT_TABLET, P.DECIDE_HANDOVER})),
            {Role.UNIT, Role.TERRITORIAL_SERVICE},
        ),
        (
            access.AllOf(frozenset({P.VIEW_REFERRALS, P.SUBMIT_REFERRAL})),
            {Role.OPERATOR, Role.SUPERVISOR},
        ),
        (access.AllOf(frozenset({P.VIEW_OWN_REFERRALS, P.SUBMIT_REFERRAL})), {Role.REFERRER}),
        (access.AnyOf(frozenset()), set()),
    ],
)
def test_a_routes_need_opens_it_to_exactly_these_roles(need, roles):
    assert access.roles_allowed(need) == roles
    for role, principal in PRINCIPALS.items():
        assert access.allows(principal, need) is (role in roles), role
