"""Who the caller is, as the API answers it."""

from __future__ import annotations

from console.areas.accounts import schemas
from dispatch import access
from dispatch.access import ROLE_LABELS


def me(principal: access.Principal) -> schemas.Me:
    return schemas.Me(
        name=principal.name,
        role=principal.role.value,
        role_label=ROLE_LABELS[principal.role],
        permissions=sorted(p.value for p in access.ROLE_PERMISSIONS[principal.role]),
        user_id=principal.user_id,
        unit_id=principal.unit_id,
        referrer_id=principal.referrer_id,
        zone_id=principal.zone_id,
    )
