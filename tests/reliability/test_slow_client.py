"""Fault: a websocket client stops reading (a frozen tab, a tablet in a tunnel).

It must not delay anybody else: the others receive every event as it is written. Its own
queue (`SEUS_WS_QUEUE`) fills, the server closes it as too slow (4008), and it resumes after
its last seq with nothing missing (docs/live-protocol.md). A client that never reads again
does not keep its connection: the server lets go of it (console/lib/wsserver.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
from typing import Any

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from console.lib.hub import CLOSE_TOO_SLOW
from tests import support

QUEUE = 20  # messages a socket may have waiting before it is closed as too slow
BATCH = 5
# Big, incompressible events fill the kernel's and the transport's buffers quickly.
BIG = base64.b64encode(os.urandom(24_000)).decode()


async def closed_slow(console: support.Console) -> float:
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith("seus_websocket_closed_slow_total "):
            return float(line.split()[1])
    return 0.0


def small_window_socket(console: support.Console) -> socket.socket:
    """A TCP connection whose receive buffer is small (set before connecting, so the window
    the kernel advertises stays small): once it stops reading, the server's sends block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", console.port))
    sock.setblocking(False)
    return sock


async def go_live(ws: ClientConnection) -> int:
    """Through the hello and the backfill (the logins an admin may see) to `live`; its head."""
    while (message := await support.recv_json(ws))["type"] != "live":
        assert message["type"] in ("hello", "event"), message
    head: int = message["head"]
    return head


def server_holds(console: support.Console, client_port: int) -> bool:
    """True while the console's end of the TCP connection from `client_port` exists."""
    ours, theirs = f"0100007F:{console.port:04X}", f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as table:
        return any(line.split()[1:3] == [ours, theirs] for line in table.read().splitlines()[1:])


async def events(ws: ClientConnection, count: int, timeout: float = 10) -> list[int]:
    """The seqs of the next `count` event messages (heartbeats skipped; a bounded wait)."""
    found: list[int] = []

    async def read() -> None:
        while len(found) < count:
            message = await support.recv_json(ws, timeout)
            if message["type"] != "heartbeat":
                assert message["type"] == "event", message
                found.append(message["seq"])

    await asyncio.wait_for(read(), timeout)
    return found


async def read_to_the_end(ws: ClientConnection) -> tuple[list[int], int | None]:
    """Everything that reached a client, and the close code it got."""
    seqs = []
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            message: dict[str, Any] = json.loads(await ws.recv())
            if message["type"] != "heartbeat":
                assert message["type"] == "event", message["type"]
                seqs.append(message["seq"])
    return seqs, ws.close_code


async def test_a_client_that_stops_reading_delays_nobody_is_closed_as_too_slow_and_resumes(
    start_console, people, log
):
    console = start_console(SEUS_WS_QUEUE=str(QUEUE))
    async with contextlib.AsyncExitStack() as stack:
        clients = {}
        for name in ("operator", "operator2", "supervisor", "admin"):
            clients[name], _ = await stack.enter_async_context(
                support.logged_in(console, people[name])
            )
        # The stalled client: no compression, so the bytes on the wire are as big as the
        # events; then it stops reading from its TCP socket altogether (the transport's
        # reading paused: nothing more leaves the kernel's buffer).
        stalled = await stack.enter_async_context(
            support.connect(
                console,
                clients["operator"],
                after=0,
                sock=small_window_socket(console),
                compression=None,
                ping_interval=None,
            )
        )
        stalled_head = await go_live(stalled)
        stalled_port = stalled.transport.get_extra_info("sockname")[1]
        stalled.transport.pause_reading()
        others = {}
        for name in ("operator2", "supervisor", "admin"):
            others[name] = await stack.enter_async_context(
                support.connect(console, clients[name], after=0)
            )
            await go_live(others[name])

        written: list[int] = []
        received: dict[str, list[int]] = {name: [] for name in others}

        async def write_a_batch_and_see_everyone_else_get_it() -> None:
            """Each batch reaches every other client before the next one is written."""
            batch = await log.write(BATCH, body=BIG)
            written.extend(batch)
            got = await asyncio.gather(*(events(ws, BATCH) for ws in others.values()))
            for name, seqs in zip(others, got, strict=True):
                received[name].extend(seqs)
                assert seqs == batch, name

        for _ in range(400):
            await write_a_batch_and_see_everyone_else_get_it()
            if await closed_slow(console):
                break
        else:
            pytest.fail(f"the stalled client was not closed after {len(written)} events")
        assert len(written) > QUEUE, "its queue filled: the server's sends to it were blocked"

        # It still does not read: the server lets go of its connection all the same, without
        # waiting for it to drain what is stuck in the buffers; the others go on as before.
        for _ in range(100):
            if not server_holds(console, stalled_port):
                break
            await write_a_batch_and_see_everyone_else_get_it()
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the server still holds the connection of a client that stopped reading")

        # It reads again: whatever had reached it, then the drop (or the 4008 close frame).
        stalled.transport.resume_reading()
        got, code = await asyncio.wait_for(read_to_the_end(stalled), 10)
        assert code in (CLOSE_TOO_SLOW, 1006)
        assert len(got) < len(written)
        assert got == written[: len(got)], "what reached it has no gap"
        for name in others:
            assert received[name] == written, name

        # It reconnects at once, after its last seq: everything it missed, in order, then live.
        last = got[-1] if got else stalled_head
        async with support.connect(console, clients["operator"], after=last) as again:
            caught_up = []
            while (message := await support.recv_json(again))["type"] != "live":
                if message["type"] == "event":
                    caught_up.append(message["seq"])
            assert got + caught_up == written
            new = await log.write(1)
            assert await events(again, 1) == new
