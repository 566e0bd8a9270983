"""State machines as data: an enum and one table of allowed moves."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeVar

from dispatch.errors import IllegalTransition

S = TypeVar("S", bound=enum.Enum)


def move(entity: str, table: Mapping[S, frozenset[S]], current: S, target: S) -> S:
    """The new state, or IllegalTransition when the table does not allow the move."""
    if target not in table.get(current, frozenset()):
        raise IllegalTransition(entity, str(current.value), str(target.value))
    return target
