"""The map's one writer: the layers a user shows, remembered server side."""

from __future__ import annotations

from console.areas.map.reads import LAYERS_PREFERENCE
from console.areas.map.schemas import Layer, LayersOut
from console.lib import errors
from console.lib.db import Database
from dispatch import access


async def save_layers(db: Database, principal: access.Principal, layers: list[Layer]) -> LayersOut:
    """Replace the account's chosen layers (each known layer at most once). No event: a
    preference is the user's own, and no screen of anyone else follows it."""
    if principal.user_id is None:
        raise errors.Forbidden("Solo un utente della console ha preferenze.")
    repeated = sorted({name for name in layers if layers.count(name) > 1})
    if repeated:
        raise errors.ValidationFailed(
            problems=[
                errors.FieldProblem("layers", f"livello ripetuto: {name}", "repeated")
                for name in repeated
            ]
        )
    async with db.action() as tx:
        await tx.conn.execute(
            "INSERT INTO account_preferences (account_id, name, value, updated_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, name)"
            " DO UPDATE SET value = $3, updated_at = $4",
            principal.user_id,
            LAYERS_PREFERENCE,
            layers,
            tx.now,
        )
    return LayersOut(layers=layers, updated_at=tx.now)
