"""Two console processes sharing one PostgreSQL and one Redis, as in production.

Redis only makes delivery between instances fast; PostgreSQL is the truth. A client of one
instance must get what is written through the other, in order (across a Redis restart or the
death of an instance: tests/reliability/).
"""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection

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
