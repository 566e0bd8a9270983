"""The live stream as a client lives it: a real console process, real websocket clients.

What a client must be able to rely on (docs/live-protocol.md): every event it may see exactly
once, in seq order, with no gap, across reconnections, logouts and restarts (a slow neighbour:
tests/reliability/test_slow_client.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

import asyncpg
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from console.lib.embedded import free_port
from dispatch import access
from tests import support

# -- helpers ---------------------------------------------------------------------------------


ROOM_TAGS = frozenset({access.ROOM})


async def recv(ws: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    return await support.recv_json(ws, timeout)


async def opening(ws: ClientConnection) -> dict[str, Any]:
    hello = await recv(ws)
    assert hello["type"] == "hello"
    return hello


async def events_until_live(ws: ClientConnection) -> list[int]:
    """Seqs of the backfill, up to and including the `live` message."""
    seqs = []
    while (message := await recv(ws))["type"] != "live":
        assert message["type"] == "event", message
        seqs.append(message["seq"])
    return seqs


async def next_events(ws: ClientConnection, count: int, timeout: float = 5) -> list[dict[str, Any]]:
    """The next `count` event messages (heartbeats skipped)."""
    found = []
    while len(found) < count:
        message = await recv(ws, timeout)
        if message["type"] == "heartbeat":
            continue
        assert message["type"] == "event", message
        found.append(message)
    return found


async def close_code(ws: ClientConnection, timeout: float = 5) -> int | None:
    """Read until the server closes the socket; the close code it sent."""

    async def drain() -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await ws.recv()

    await asyncio.wait_for(drain(), timeout)
    return ws.close_code


# -- catching up -----------------------------------------------------------------------------


async def test_a_client_reconnecting_with_its_last_seq_gets_what_it_missed_in_order_then_live(
    start_console, people, log
):
    console = start_console()
    async with (
        support.logged_in(console, people["operator"]) as (operator, _),
        support.logged_in(console, people["supervisor"]) as (supervisor, csrf),
    ):
        async with support.connect(console, operator, after=0) as ws:
            await opening(ws)
            assert await events_until_live(ws) == []
            before = [await support.post_message(supervisor, csrf, f"prima {i}") for i in range(3)]
            assert [m["seq"] for m in await next_events(ws, 3)] == before
        last = before[-1]

        missed = []
        for i in range(5):
            missed.append(await support.post_message(supervisor, csrf, f"mentre {i}"))
            async with console.client() as admin:  # a login: an event the operator may not see
                await support.log_in(admin, people["admin"])
        assert missed != list(range(missed[0], missed[0] + 5)), "invisible events in between"

        async with support.connect(console, operator, after=last) as ws:
            await opening(ws)
            assert await events_until_live(ws) == missed
            page = (await operator.get(f"/api/v1/events?after={last}")).json()
            assert [e["seq"] for e in page["events"]] == missed
            after = await support.post_message(supervisor, csrf, "dopo")
            [live] = await next_events(ws, 1)
            assert live["seq"] == after
            assert live["event"]["payload"]["body"] == "dopo"


async def test_clients_connecting_while_events_are_written_miss_none_and_get_none_twice(
    start_console, people, log
):
    console = start_console()
    async with support.logged_in(console, people["operator"]) as (operator, _):
        await log.write(10)
        final: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def writer() -> None:
            for _ in range(150):  # as fast as it can: one commit every few milliseconds
                last = (await log.write())[-1]
            final.set_result(last)

        async def client(after: int | None) -> tuple[int, list[int], list[int]]:
            """Where its stream starts, its snapshot's seqs, and the seqs of the events after."""
            async with support.connect(console, operator, after=after) as ws:
                await opening(ws)  # connects, and catches up, while events are being written
                first = await recv(ws)
                if first["type"] == "snapshot":
                    start, seqs = first["as_of"], await events_until_live(ws)
                    snapshot = [e["seq"] for e in first["data"]["events"]]
                elif first["type"] == "event":
                    start, seqs, snapshot = after, [first["seq"], *await events_until_live(ws)], []
                else:
                    assert first["type"] == "live"
                    start, seqs, snapshot = after, [], []
                last = await final
                while not seqs or seqs[-1] < last:
                    seqs += [m["seq"] for m in await next_events(ws, 1)]
                return start, snapshot, seqs

        async def clients() -> list[tuple[int, list[int], list[int]]]:
            started = []
            for i in range(24):
                started.append(asyncio.create_task(client([None, 0, 5][i % 3])))
                await asyncio.sleep(0.01)
            return await asyncio.gather(*started)

        _, streams = await asyncio.wait_for(asyncio.gather(writer(), clients()), 20)

    everything = await log.visible(ROOM_TAGS)
    assert everything[-1] == final.result()
    assert any(start > 10 for start, _, _ in streams), "some snapshots were taken mid-writing"
    for start, snapshot, seqs in streams:
        assert seqs == [seq for seq in everything if seq > start]
        if snapshot:
            assert snapshot == [seq for seq in everything if seq <= start][-50:]


async def test_a_new_client_gets_a_snapshot_of_the_latest_events_as_of_the_head_then_live(
    start_console, people, log
):
    console = start_console()
    written = await log.write(60)
    async with support.logged_in(console, people["operator"]) as (operator, csrf):
        posted = await support.post_message(operator, csrf, "ultimo")
        head = await log.head()
        async with support.connect(console, operator) as ws:
            hello = await opening(ws)
            assert hello["user"]["role"] == "operator"
            snapshot = await recv(ws)
            assert snapshot["type"] == "snapshot"
            assert snapshot["reason"] == "new"
            assert snapshot["as_of"] == head
            seqs = [e["seq"] for e in snapshot["data"]["events"]]
            assert seqs == [*written, posted][-50:]
            assert snapshot["data"]["events"][-1]["payload"]["body"] == "ultimo"
            assert (await recv(ws))["type"] == "live"

            new = await log.write()
            assert [m["seq"] for m in await next_events(ws, 1)] == new


async def test_a_client_further_behind_than_the_backfill_limit_gets_a_snapshot_then_what_follows(
    start_console, people, log
):
    console = start_console(SEUS_BACKFILL_LIMIT="5")
    await log.write(8)
    async with support.logged_in(console, people["operator"]) as (operator, csrf):
        head = await log.head()
        async with support.connect(console, operator, after=1) as ws:
            await opening(ws)
            snapshot = await recv(ws)
            assert (snapshot["type"], snapshot["reason"]) == ("snapshot", "too_far_behind")
            assert snapshot["as_of"] == head
            assert [e["seq"] for e in snapshot["data"]["events"]] == list(range(1, 9))
            assert (await recv(ws))["type"] == "live"

            new = await support.post_message(operator, csrf, "dopo lo snapshot")
            [event] = await next_events(ws, 1)
            assert event["seq"] == new > head

        async with support.connect(console, operator, after=5) as ws:  # within the limit again
            await opening(ws)
            assert await events_until_live(ws) == [6, 7, 8, new]  # 9 was the operator's login


async def test_a_client_ahead_of_the_log_gets_a_snapshot_as_of_the_real_head(
    start_console, people, log
):
    console = start_console()
    await log.write(3)
    async with support.logged_in(console, people["operator"]) as (operator, _):
        head = await log.head()
        async with support.connect(console, operator, after=head + 100) as ws:
            await opening(ws)
            snapshot = await recv(ws)
            assert (snapshot["type"], snapshot["reason"]) == ("snapshot", "ahead_of_log")
            assert snapshot["as_of"] == head
            assert [e["seq"] for e in snapshot["data"]["events"]] == [1, 2, 3]
            assert (await recv(ws))["type"] == "live"
            new = await log.write()
            assert [m["seq"] for m in await next_events(ws, 1)] == new


# -- heartbeats ------------------------------------------------------------------------------


async def test_heartbeats_come_when_nothing_else_does_and_carry_the_head_even_past_unseen_events(
    start_console, people, log
):
    console = start_console(SEUS_HEARTBEAT_SECONDS="0.5")
    async with (
        support.logged_in(console, people["operator"]) as (operator, _),
        support.connect(console, operator, after=0) as ws,
    ):
        hello = await opening(ws)
        assert hello["heartbeat"] == 0.5
        await events_until_live(ws)
        beat = await recv(ws, timeout=2)
        assert beat["type"] == "heartbeat"
        assert beat["head"] == await log.head()
        assert datetime.fromisoformat(beat["at"]).tzinfo is not None

        unseen = await log.write(audience=access.AUDIT)  # not for operators
        deadline = time.monotonic() + 5
        while (beat := await recv(ws, timeout=2))["head"] != unseen[0]:
            assert beat["type"] == "heartbeat", "the operator must not receive an audit event"
            assert time.monotonic() < deadline, "no heartbeat carried the new head"
        assert beat["type"] == "heartbeat"


# -- who may connect, and what they get -------------------------------------------------------


async def test_the_handshake_is_refused_for_a_foreign_origin_an_anonymous_client_or_a_bad_after(
    start_console, people
):
    console = start_console()
    async with support.logged_in(console, people["operator"]) as (operator, _):
        cookie = support.ws_headers(console, operator)["Cookie"]
        refused = [
            {"Origin": "http://evil.example", "Cookie": cookie},
            {"Origin": f"http://127.0.0.1:{free_port()}", "Cookie": cookie},
            {"Origin": f"http://localhost:{free_port()}", "Cookie": cookie},
            {"Origin": console.origin},  # anonymous
        ]
        for headers in refused:
            with pytest.raises(websockets.exceptions.InvalidStatus) as refusal:
                async with support.connect(console, after=0, additional_headers=headers):
                    pass
            assert refusal.value.response.status_code == 403, headers

        for bad in ("abc", "-1", "1.5"):
            with pytest.raises(websockets.exceptions.InvalidStatus) as refusal:
                async with support.connect(console, operator, after=bad):
                    pass
            assert refusal.value.response.status_code == 403, bad

        async with support.connect(console, operator, after=0) as ws:  # the same cookie, our origin
            assert (await opening(ws))["user"]["role"] == "operator"


async def test_a_unit_tablet_connects_with_its_device_token_and_gets_only_its_own_events(
    start_console, people, log, database_url
):
    console = start_console()
    conn = await asyncpg.connect(database_url)
    try:
        unit_ids = {
            name: await conn.fetchval(
                "SELECT unit_id FROM users WHERE id = $1", people[name].user_id
            )
            for name in ("unit", "unit2")
        }
    finally:
        await conn.close()
    tablet = {"Authorization": f"Bearer {people['unit'].secret}"}  # a native client: no Origin
    async with (
        support.logged_in(console, people["operator"]) as (operator, csrf),
        support.connect(console, after=0, additional_headers=tablet) as ws,
    ):
        hello = await opening(ws)
        assert hello["user"]["role"] == "unit"
        assert await events_until_live(ws) == []

        await support.post_message(operator, csrf, "solo per la centrale")
        await log.write(audience=access.unit_tag(unit_ids["unit2"]), body="per l'altra unità")
        [mine] = await log.write(audience=access.unit_tag(unit_ids["unit"]), body="per te")

        [event] = await next_events(ws, 1)
        assert event["seq"] == mine
        assert event["event"]["payload"]["body"] == "per te"


# -- sessions ending, servers stopping -----------------------------------------------------


async def test_logging_out_closes_that_sessions_sockets_on_every_instance_with_4001_only(
    start_console, people
):
    first = start_console()
    second = start_console()
    async with (
        support.logged_in(first, people["operator"]) as (operator, csrf),
        support.logged_in(first, people["operator2"]) as (colleague, _),
        support.logged_in(first, people["supervisor"]) as (supervisor, supervisor_csrf),
        contextlib.AsyncExitStack() as stack,
    ):
        sockets = {}
        for name, console, client in [
            ("mine here", first, operator),
            ("mine there", second, operator),
            ("colleague here", first, colleague),
            ("colleague there", second, colleague),
        ]:
            # The session cookie is valid on any instance (sessions live in PostgreSQL).
            ws = await stack.enter_async_context(
                support.connect(
                    console, client, after=0, additional_headers=support.ws_headers(console, client)
                )
            )
            await opening(ws)
            await events_until_live(ws)
            sockets[name] = ws

        response = await operator.request(
            "DELETE", "/api/v1/session", headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 204

        assert await close_code(sockets["mine here"]) == 4001
        assert await close_code(sockets["mine there"]) == 4001
        seq = await support.post_message(supervisor, supervisor_csrf, "ancora qui?")
        for name in ("colleague here", "colleague there"):
            [event] = await next_events(sockets[name], 1)
            assert event["seq"] == seq, name


async def test_on_sigterm_the_server_closes_its_sockets_as_going_away_and_exits_cleanly(
    start_console, people
):
    console = start_console()
    async with (
        support.logged_in(console, people["operator"]) as (operator, _),
        support.connect(console, operator, after=0) as ws,
    ):
        await opening(ws)
        await events_until_live(ws)

        stopping = asyncio.create_task(asyncio.to_thread(console.stop, timeout=8))
        code = await close_code(ws, timeout=8)
        exit_code = await asyncio.wait_for(stopping, 10)

    assert code in (1001, 1012)
    assert exit_code == 0, console.tail()
