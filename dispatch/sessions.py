"""Session lifetime rules: idle and absolute timeouts, and when to record activity."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta


class SessionState(enum.StrEnum):
    ACTIVE = "active"
    IDLE_EXPIRED = "idle_expired"
    EXPIRED = "expired"  # absolute lifetime over
    REVOKED = "revoked"  # logged out


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle: timedelta
    absolute: timedelta
    touch_every: timedelta = timedelta(seconds=60)


def state_of(
    policy: SessionPolicy,
    now: datetime,
    *,
    created_at: datetime,
    last_seen_at: datetime,
    revoked: bool,
) -> SessionState:
    if revoked:
        return SessionState.REVOKED
    if now >= created_at + policy.absolute:
        return SessionState.EXPIRED
    if now >= last_seen_at + policy.idle:
        return SessionState.IDLE_EXPIRED
    return SessionState.ACTIVE


def needs_touch(policy: SessionPolicy, now: datetime, last_seen_at: datetime) -> bool:
    """Record activity at most once per `touch_every`, to spare a write on every request."""
    return now - last_seen_at >= policy.touch_every
