"""Session lifetime rules (dispatch/sessions.py): idle and absolute timeouts, revocation."""

from datetime import UTC, datetime, timedelta

import pytest

from dispatch.sessions import SessionPolicy, SessionState, needs_touch, state_of

POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8))
LOGIN = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("since_login", "since_seen", "revoked", "state"),
    [
        (timedelta(0), timedelta(0), False, SessionState.ACTIVE),
        (30 * MIN - TICK, 30 * MIN - TICK, False, SessionState.ACTIVE),
        (30 * MIN, 30 * MIN, False, SessionState.IDLE_EXPIRED),
        (5 * HOUR, 29 * MIN, False, SessionState.ACTIVE),
        (5 * HOUR, 31 * MIN, False, SessionState.IDLE_EXPIRED),
        (8 * HOUR - TICK, 1 * MIN, False, SessionState.ACTIVE),
        (8 * HOUR, 1 * MIN, False, SessionState.EXPIRED),
        (8 * HOUR, 0 * MIN, False, SessionState.EXPIRED),
        (9 * HOUR, 2 * HOUR, False, SessionState.EXPIRED),  # both over: the absolute limit wins
        (timedelta(0), timedelta(0), True, SessionState.REVOKED),
        (9 * HOUR, 2 * HOUR, True, SessionState.REVOKED),  # revoked wins over everything
    ],
)
def test_a_session_is_active_until_idle_expired_or_revoked(since_login, since_seen, revoked, state):
    # A session seen `since_seen` ago that was opened `since_login` ago.
    now = LOGIN + since_login
    assert (
        state_of(POLICY, now, created_at=LOGIN, last_seen_at=now - since_seen, revoked=revoked)
        is state
    )


def test_a_short_idle_timeout_ends_a_session_that_was_never_touched_again():
    policy = SessionPolicy(idle=timedelta(seconds=2), absolute=timedelta(hours=12))
    now = LOGIN + timedelta(seconds=2)
    # Within touch_every (60 s) no activity is recorded, so the login time is the last seen.
    assert not needs_touch(policy, now, LOGIN)
    assert state_of(policy, now, created_at=LOGIN, last_seen_at=LOGIN, revoked=False) is (
        SessionState.IDLE_EXPIRED
    )


@pytest.mark.parametrize(
    ("since_seen", "touch"),
    [
        (timedelta(0), False),
        (59 * timedelta(seconds=1), False),
        (MIN - TICK, False),
        (MIN, True),
        (MIN + TICK, True),
        (3 * HOUR, True),
    ],
)
def test_activity_is_recorded_at_most_once_a_minute(since_seen, touch):
    assert needs_touch(POLICY, LOGIN + since_seen, LOGIN) is touch


def test_touch_interval_follows_the_policy():
    policy = SessionPolicy(idle=HOUR, absolute=8 * HOUR, touch_every=timedelta(seconds=5))
    assert not needs_touch(policy, LOGIN + timedelta(seconds=4), LOGIN)
    assert needs_touch(policy, LOGIN + timedelta(seconds=5), LOGIN)
