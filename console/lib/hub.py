"""One instance's ordered live feed and the sockets that follow it.

Events reach the hub from this instance's commits and, through Redis, from other instances'.
The hub delivers them in seq order, reading any missing range back from PostgreSQL first, and
puts each one into every subscriber's own bounded queue without ever waiting on a socket.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Sequence

import asyncpg

from console.lib import eventlog, metrics
from dispatch import access
from dispatch.events import Event
from dispatch.stream import missing_range

log = logging.getLogger("seus.hub")

CLOSE_SESSION_ENDED = 4001
CLOSE_TOO_SLOW = 4008
CLOSE_GOING_AWAY = 1001

_POLL = object()
_BATCH = 1000


class Subscription:
    """A socket's place in the feed: a bounded queue of encoded messages."""

    def __init__(self, principal: access.Principal, maxsize: int, position: int) -> None:
        self.principal = principal
        self.tags = access.read_tags(principal)
        self.maxsize = maxsize
        self.position = position  # last seq the hub has passed this subscriber, seen or not
        self.queue: collections.deque[tuple[int, str]] = collections.deque()
        self.close_code: int | None = None
        self.ended = asyncio.Event()
        self._wake = asyncio.Event()

    def offer(self, event: Event, message: str) -> None:
        self.position = event.seq
        if self.close_code is not None or not access.can_see(self.tags, event.audience):
            return
        if len(self.queue) >= self.maxsize:
            self.end(CLOSE_TOO_SLOW)
            return
        self.queue.append((event.seq, message))
        self._wake.set()

    def end(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self.queue.clear()
        self.ended.set()
        self._wake.set()

    async def next(self, wait: float) -> tuple[int, str] | None:
        """The next queued message; None after `wait` seconds of silence or once ended."""
        if not self.queue and self.close_code is None:
            self._wake.clear()
            try:
                async with asyncio.timeout(wait):  # (wait_for would start a task per wake-up)
                    await self._wake.wait()
            except TimeoutError:
                return None
        if self.close_code is not None or not self.queue:
            return None
        return self.queue.popleft()


class Hub:
    def __init__(self, pool: asyncpg.Pool, *, queue_size: int) -> None:
        self.pool = pool
        self.queue_size = queue_size
        self.head = 0  # last seq delivered to subscribers
        self.subscribers: set[Subscription] = set()
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._poll_queued = False
        self.watchers: list[Callable[[Sequence[Event]], None]] = []  # in-process consumers

    async def start(self) -> None:
        self.head = await eventlog.head(self.pool)
        self._task = asyncio.create_task(self._run(), name="hub")

    async def stop(self) -> None:
        self.close_all(CLOSE_GOING_AWAY)
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    # -- input ---------------------------------------------------------------------------------

    def notify(self, events: Sequence[Event]) -> None:
        """Events committed (here, or elsewhere and heard through Redis)."""
        self._inbox.put_nowait(list(events))

    def poll(self) -> None:
        """Check the log's head: catches up whatever Redis did not bring."""
        if not self._poll_queued:
            self._poll_queued = True
            self._inbox.put_nowait(_POLL)

    # -- subscribers ---------------------------------------------------------------------------

    def subscribe(self, principal: access.Principal) -> Subscription:
        sub = Subscription(principal, self.queue_size, self.head)
        self.subscribers.add(sub)
        metrics.WS_CLIENTS.set(len(self.subscribers))
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)
        metrics.WS_CLIENTS.set(len(self.subscribers))

    def close_all(self, code: int) -> None:
        for sub in list(self.subscribers):
            sub.end(code)

    # -- the ordered feed ----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            item = await self._inbox.get()
            try:
                if item is _POLL:
                    self._poll_queued = False
                    await self._catch_up(None)
                else:
                    assert isinstance(item, list)
                    for event in sorted(item, key=lambda e: e.seq):
                        if event.seq <= self.head:
                            continue  # already delivered (our own, echoed by Redis)
                        gap = missing_range(self.head, event.seq)
                        if gap is not None:
                            await self._catch_up(gap[1])
                        if event.seq == self.head + 1:
                            self._deliver(event)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                # PostgreSQL unreachable: the next poll tries again; nothing is skipped.
                log.warning("hub catch-up failed", extra={"error": repr(exc)})
            except Exception:
                # A bug must not stop live delivery for everyone: log it, keep the feed going.
                log.exception("hub failed to deliver; catching up at the next poll")

    async def _catch_up(self, upto: int | None) -> None:
        target = upto if upto is not None else await eventlog.head(self.pool)
        while self.head < target:
            batch = await eventlog.read_range(self.pool, self.head, min(target, self.head + _BATCH))
            if not batch:
                break
            for event in batch:
                self._deliver(event)

    def _deliver(self, event: Event) -> None:
        self.head = event.seq
        message = eventlog.wire(event)
        for sub in list(self.subscribers):
            sub.offer(event, message)
        if event.type == "user.logged_out":
            session = event.payload.get("session")
            for sub in list(self.subscribers):
                if session and sub.principal.session_id == session:
                    sub.end(CLOSE_SESSION_ENDED)
        if event.type == "device.revoked":  # a unit's tablets revoked: its token sockets end
            unit = event.payload.get("unit_id")  # (those with a live token connect again)
            for sub in list(self.subscribers):
                if unit and sub.principal.unit_id == unit and sub.principal.session_id is None:
                    sub.end(CLOSE_SESSION_ENDED)
        for watcher in self.watchers:
            try:
                watcher((event,))
            except Exception:
                log.exception("hub watcher failed", extra={"seq": event.seq})
        metrics.EVENT_HEAD.set(event.seq)
        metrics.EVENT_LAG.observe(max(0.0, time.time() - event.at.timestamp()))
