"""The domain's errors: few, named, translated once at the edge."""

from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses; the message says why (in English, for logs and APIs)."""


class IllegalTransition(DomainError):
    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot go from {current} to {target}")
        self.entity = entity
        self.current = current
        self.target = target


class Refused(DomainError):
    """A rule forbids the command in this state (e.g. a claim held by someone else)."""
