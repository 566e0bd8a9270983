"""Two console processes sharing one PostgreSQL and one Redis, as in production.

Redis only makes delivery between instances fast; PostgreSQL is the truth. A client of one
instance must get what is written through the other, in order, even across a Redis restart.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection

from console.embedded import EmbeddedRedis
from tests import support


async def go_live(ws: ClientConnection) -> None:
    assert (await support.recv_json(ws))["type"] == "hello"
    assert (await support.recv_json(ws))["type"] == "live"


async def events_up_to(ws: ClientConnection, seq: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Every event message until the one with `seq` (heartbeats skipped; bounded wait)."""

    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while not found or found[-1]["seq"] < seq:
            message = await support.recv_json(ws, timeout)
            if message["type"] != "heartbeat":
                assert message["type"] == "event", message
                found.append(message)
        return found

    return await asyncio.wait_for(read(), timeout)


async def events_before_a_heartbeat_at(ws: ClientConnection, head: int) -> list[dict[str, Any]]:
    """Events sent until a heartbeat says the client has everything up to `head`."""

    async def read() -> list[dict[str, Any]]:
        found = []
        while True:
            message = await support.recv_json(ws)
            if message["type"] == "heartbeat" and message["head"] >= head:
                return found
            if message["type"] == "event":
                found.append(message)

    return await asyncio.wait_for(read(), 10)


async def both_instances_listen_again(url: str, channel: str) -> None:
    async def subscribers() -> int:
        client = aioredis.from_url(url)
        try:
            [(_, count)] = await client.pubsub_numsub(channel)
            return int(count)
        finally:
            await client.aclose()

    async def wait() -> None:
        while await subscribers() < 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), 10)


async def test_a_client_of_one_instance_receives_in_order_what_is_posted_through_the_other(
    start_console, people
):
    # Polling PostgreSQL only every 30 s: what arrives within the test came through Redis.
    a = start_console(SEUS_POLL_SECONDS="30")
    b = start_console(SEUS_POLL_SECONDS="30")
    async with (
        support.logged_in(a, people["supervisor"]) as (poster, csrf),
        support.logged_in(b, people["operator"]) as (reader, _),
        support.connect(b, reader, after=0) as ws,
    ):
        await go_live(ws)
        posted = [await support.post_message(poster, csrf, f"da A {i}") for i in range(10)]

        received = await events_up_to(ws, posted[-1], timeout=5)

        assert [m["seq"] for m in received] == posted
        assert [m["event"]["payload"]["body"] for m in received] == [f"da A {i}" for i in range(10)]


async def test_a_redis_restart_loses_nothing_and_never_stops_anyone_from_writing(
    start_console, people, redis_prefix: str, tmp_path: Path
):
    redis = EmbeddedRedis(tmp_path / "r")
    redis.start()
    try:
        env = {"REDIS_URL": redis.url, "SEUS_POLL_SECONDS": "0.2", "SEUS_HEARTBEAT_SECONDS": "0.5"}
        a = start_console(**env)
        b = start_console(**env)
        async with (
            support.logged_in(a, people["supervisor"]) as (poster, csrf),
            support.logged_in(b, people["operator"]) as (reader, _),
            support.connect(b, reader, after=0) as ws,
        ):
            await go_live(ws)
            received: list[dict[str, Any]] = []

            async def post_some(label: str) -> None:
                posted = [
                    await support.post_message(poster, csrf, f"{label} {i}") for i in range(5)
                ]
                received.extend(await events_up_to(ws, posted[-1]))

            await post_some("prima")
            redis.stop()
            await post_some("senza Redis")  # 201 each: Redis is not on the path of truth
            redis.start()  # the same port: both instances find it again
            await both_instances_listen_again(redis.url, f"{redis_prefix}:events")
            await post_some("dopo")

            # A heartbeat's head promises that everything up to it has been sent.
            page = (await reader.get("/api/v1/events", params={"limit": 1000})).json()
            received.extend(await events_before_a_heartbeat_at(ws, page["head"]))

        in_postgres = [e["seq"] for e in page["events"]]
        assert len(in_postgres) == 15
        assert [m["seq"] for m in received] == in_postgres
    finally:
        redis.stop()
