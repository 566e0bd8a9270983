"""The hub: an instance's ordered feed, fed by notifications and polls, backed by PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from console.lib.db import Database
from console.lib.hub import CLOSE_TOO_SLOW, Hub, Subscription
from dispatch import access
from dispatch.events import Event, NewEvent

OPERATOR = access.Principal(role=access.Role.OPERATOR, name="Operatore", user_id=1)
SUPERVISOR = access.Principal(role=access.Role.SUPERVISOR, name="Supervisore", user_id=2)
UNIT = access.Principal(role=access.Role.UNIT, name="UTES 7", user_id=3, unit_id=7)


@pytest.fixture
async def hub(db: Database) -> AsyncIterator[Hub]:
    feed = Hub(db.pool, queue_size=5)
    await feed.start()
    try:
        yield feed
    finally:
        await feed.stop()


async def write(db: Database, audience: str = access.ROOM) -> Event:
    """Commit one action with one event; nobody is told (the test notifies the hub itself)."""
    async with db.action() as tx:
        tx.emit(NewEvent(type="test.happened", subject="test", audience=frozenset({audience})))
    [event] = tx.logged
    return event


async def take(sub: Subscription, count: int) -> list[int]:
    """The seqs of the next `count` messages queued for `sub` (bounded wait)."""
    seqs = []
    for _ in range(count):
        item = await sub.next(5)
        assert item is not None, f"expected {count} messages, got {seqs}"
        seqs.append(item[0])
    return seqs


async def test_an_event_after_a_gap_is_delivered_after_the_missing_ones_read_from_postgresql(
    db: Database, hub: Hub
):
    sub = hub.subscribe(OPERATOR)
    first, second = await write(db), await write(db)
    hub.notify([first, second])
    assert await take(sub, 2) == [1, 2]

    await write(db)
    await write(db)
    fifth = await write(db)
    hub.notify([fifth])  # 3 and 4 were never announced

    assert await take(sub, 3) == [3, 4, 5]
    assert hub.head == 5


async def test_an_event_already_delivered_is_not_delivered_again(db: Database, hub: Hub):
    sub = hub.subscribe(OPERATOR)
    events = [await write(db) for _ in range(3)]
    hub.notify(events)
    assert await take(sub, 3) == [1, 2, 3]

    hub.notify([events[2]])  # our own commit echoed by Redis
    hub.notify(events[:2])
    fourth = await write(db)
    hub.notify([fourth])

    assert await take(sub, 1) == [4]
    assert len(sub.queue) == 0


async def test_a_poll_catches_up_events_that_were_never_notified(db: Database, hub: Hub):
    sub = hub.subscribe(OPERATOR)
    for _ in range(3):
        await write(db)

    hub.poll()

    assert await take(sub, 3) == [1, 2, 3]
    assert hub.head == 3


async def test_a_full_subscriber_is_ended_as_too_slow_while_another_keeps_every_event(
    db: Database, hub: Hub
):
    slow = hub.subscribe(OPERATOR)  # never drained
    fast = hub.subscribe(SUPERVISOR)
    received = []
    for _ in range(hub.queue_size + 3):
        hub.notify([await write(db)])
        received += await take(fast, 1)

    assert received == list(range(1, hub.queue_size + 4))
    assert slow.ended.is_set()
    assert slow.close_code == CLOSE_TOO_SLOW
    assert await slow.next(0.01) is None, "an ended subscriber gets nothing more"
    assert fast.close_code is None


async def test_events_a_subscriber_may_not_see_are_not_queued_but_its_position_advances(
    db: Database, hub: Hub
):
    unit = hub.subscribe(UNIT)
    room = hub.subscribe(OPERATOR)
    for _ in range(3):
        hub.notify([await write(db, access.ROOM)])
    assert await take(room, 3) == [1, 2, 3]

    assert len(unit.queue) == 0
    assert unit.position == 3

    hub.notify([await write(db, access.unit_tag(7))])
    assert await take(unit, 1) == [4]
    assert unit.position == 4
    assert len(room.queue) == 0, "the unit's event is not the room's"
