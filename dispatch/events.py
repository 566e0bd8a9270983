"""Event definitions: what happened, to what, who may see it.

An event is written in the same transaction as the change it records; its `seq` is given by
the event log at commit time, so a `NewEvent` has none and a logged `Event` has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dispatch import access

JSON = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class NewEvent:
    type: str  # past tense, dotted: "room.message_posted"
    subject: str  # what it is about: "room", "session:<id>", later "referral:<id>"
    audience: frozenset[str]
    payload: JSON = field(default_factory=dict)
    actor: str | None = None  # "user:<id>", "referrer:<id>", "system"
    zone: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    subject: str
    audience: frozenset[str]
    payload: JSON
    actor: str | None
    zone: str | None
    at: datetime


def actor_of(principal: access.Principal) -> str:
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    if principal.referrer_id is not None:
        return f"referrer:{principal.referrer_id}"
    if principal.unit_id is not None:
        return f"unit:{principal.unit_id}"
    return "system"


def room_message_posted(message_id: int, body: str, author: access.Principal) -> NewEvent:
    return NewEvent(
        type="room.message_posted",
        subject=f"room_message:{message_id}",
        audience=frozenset({access.ROOM}),
        payload={"id": message_id, "body": body, "author": author.name},
        actor=actor_of(author),
    )


def user_logged_in(principal: access.Principal) -> NewEvent:
    return NewEvent(
        type="user.logged_in",
        subject=f"user:{principal.user_id}",
        audience=frozenset({access.AUDIT}),
        payload={"username": principal.name, "role": principal.role.value},
        actor=actor_of(principal),
    )


def user_logged_out(principal: access.Principal, *, session: str, reason: str) -> NewEvent:
    """A session ended. Every instance closes that session's sockets when it sees this."""
    return NewEvent(
        type="user.logged_out",
        subject=f"user:{principal.user_id}",
        audience=frozenset({access.AUDIT}),
        payload={"username": principal.name, "session": session, "reason": reason},
        actor=actor_of(principal),
    )


def demo_seeded(users: int, units: int) -> NewEvent:
    return NewEvent(
        type="demo.seeded",
        subject="demo",
        audience=frozenset({access.AUDIT}),
        payload={"users": users, "units": units},
        actor="system",
    )


def referral_progressed(
    referrer_id: int, referral_id: int, case_number: str, progress: str, reason: str | None
) -> NewEvent:
    """What the referrer may see: the status of its own referral, nothing more."""
    return NewEvent(
        type="referral.progressed",
        subject=f"referral:{referral_id}",
        audience=frozenset({access.referrer_tag(referrer_id)}),
        payload={
            "id": referral_id,
            "case_number": case_number,
            "status": progress,
            "reason": reason,
        },
        actor="system",
    )
