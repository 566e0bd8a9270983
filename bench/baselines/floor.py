"""The floor: a bare `websockets` server that only broadcasts what it is given.

`python -m bench.baselines.floor --port P`

- `/ws`: a client; it gets `{"type": "hello"}` once it is in the broadcast set, then every
  broadcast message.
- `/control`: each text message is `{"payload": "<text>"}` (broadcast it, answer `ok` at once:
  the twin of the console's 201) or `{"burst": K, "template": "<text with {i}>", "start": S}`
  (broadcast K messages as fast as the clients' write buffers allow, answer `done`).
- `GET /ready`: 200 (start-up check).

Compression is websockets' default (permessage-deflate when the client offers it), as in the
console under uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import http
import json
import resource
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.http11 import Request, Response

CLIENTS: set[ServerConnection] = set()
HIGH_WATER = 256 * 1024  # pause a burst while a client's write buffer is over this


def _buffered() -> int:
    most = 0
    for ws in CLIENTS:
        transport = ws.transport
        if transport is not None:
            most = max(most, transport.get_write_buffer_size())
    return most


async def _burst(count: int, template: str, start: int) -> None:
    for i in range(start, start + count):
        broadcast(CLIENTS, template.replace("{i}", str(i)))
        if i % 16 == 0:
            while _buffered() > HIGH_WATER:  # noqa: ASYNC110 (polling write buffers)
                await asyncio.sleep(0.001)
        await asyncio.sleep(0)


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/control":
        async for raw in ws:
            command: dict[str, Any] = json.loads(raw)
            if "payload" in command:
                broadcast(CLIENTS, command["payload"])
                await ws.send("ok")
            else:
                await _burst(command["burst"], command["template"], command.get("start", 0))
                await ws.send("done")
        return
    CLIENTS.add(ws)
    try:
        await ws.send('{"type": "hello"}')
        async for _ in ws:
            pass
    finally:
        CLIENTS.discard(ws)


def health(connection: ServerConnection, request: Request) -> Response | None:
    if request.path == "/ready":
        return connection.respond(http.HTTPStatus.OK, "ok\n")
    return None


async def main(port: int) -> None:
    async with serve(
        handler, "127.0.0.1", port, process_request=health, ping_interval=None, max_queue=None
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(main(args.port))
