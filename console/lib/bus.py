"""Fan-out between app instances through Redis Pub/Sub.

Redis only makes delivery fast: it never holds the only copy of an event. A lost message
(Redis restarted, subscriber reconnecting) is caught up from PostgreSQL by the hub, which
polls the log's head and reads any gap it sees.

Redis outage: fails open, on both sides, because nothing here is the truth. Publishing runs
after the commit, in the background, so a write never waits on Redis or fails because of it;
a failed publish is only counted (`seus_bus_errors_total`). The subscriber reconnects with
backoff and, once subscribed again, asks the hub to poll the log, so the instance's sockets
get every event they missed, in order; meanwhile the hub's own poll (`SEUS_POLL_SECONDS`) and
its gap reads keep delivery going from PostgreSQL. tests/reliability/test_redis_outage.py
kills Redis under two instances and checks both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from console.lib import eventlog, metrics
from console.lib.hub import Hub
from dispatch.events import Event

log = logging.getLogger("seus.bus")


class Bus:
    def __init__(self, redis: aioredis.Redis, hub: Hub, *, prefix: str, poll_seconds: float):
        self.redis = redis
        self.hub = hub
        self.channel = f"{prefix}:events"
        self.poll_seconds = poll_seconds
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-listen"),
            asyncio.create_task(self._poll(), name="bus-poll"),
        ]

    async def stop(self) -> None:
        self._stopping = True  # redis-py may swallow a cancellation mid-connect
        tasks = [*self._tasks, *self._pending]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    def committed(self, events: Sequence[Event]) -> None:
        """After a local commit: deliver here now, and tell the other instances."""
        self.hub.notify(events)
        task = asyncio.get_running_loop().create_task(self._publish(eventlog.to_bus(events)))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, message: str) -> None:
        try:
            await self.redis.publish(self.channel, message)
        except (RedisError, OSError) as exc:
            metrics.BUS_ERRORS.inc()
            log.warning(
                "publish to Redis failed; others will catch up from PostgreSQL",
                extra={"error": repr(exc)},
            )

    async def _listen(self) -> None:
        delay = 0.1
        while not self._stopping:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.hub.poll()  # whatever was published while we were not listening
                delay = 0.1
                while not self._stopping:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None and message["type"] == "message":
                        self.hub.notify(eventlog.from_bus(message["data"]))
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, ValueError, KeyError) as exc:
                metrics.BUS_ERRORS.inc()
                log.warning("Redis subscription lost; reconnecting", extra={"error": repr(exc)})
            finally:
                # Bounded: closing a subscription cancelled mid-connect can otherwise hang.
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    await asyncio.wait_for(pubsub.aclose(), 2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            self.hub.poll()
