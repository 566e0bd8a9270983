"""The socket load generator: one asyncio process holding many websocket clients.

Started by the orchestrator as `python -m bench.loadgen`; it reads one JSON line of
configuration on stdin, then JSON commands, one per line, and answers with JSON lines on stdout.

Configuration: `{"sockets": [{"url": ..., "headers": {...}}, ...], "ready": "<marker>"}`: a
socket is ready once a message containing the marker arrived (`"type": "live"` for the console,
`"type": "hello"` for the baselines, which send one after joining their broadcast set or group).

Commands:
- `{"cmd": "reset"}`: forget what was counted so far.
- `{"cmd": "expect", "count": E, "timeout": T}`: wait until every socket has received E
  counted messages (or T seconds passed), then report.
- `{"cmd": "quit"}`: close every socket and exit.

A counted message is an event of type `referral.received` or `room.message_posted` (the
baselines send copies of those wire messages); its key is its `subject`. The report has, per
key, how many sockets received it and the first and last arrival (time.time()), and the
minimum and maximum count per socket.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from typing import Any

import websockets
from websockets.asyncio.client import connect

COUNTED = re.compile(r'"type": "(?:referral\.received|room\.message_posted)", "subject": "([^"]+)"')
CONNECT_AT_ONCE = 64
RETRIES = 6


def raise_nofile(wanted: int = 65536) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard) if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class Sockets:
    def __init__(self, targets: list[dict[str, Any]], ready_marker: str) -> None:
        self.targets = targets
        self.marker = ready_marker
        self.counts = [0] * len(targets)
        self.keys: dict[str, list[float]] = {}  # key -> [sockets, first, last]
        self.first = 0.0
        self.last = 0.0
        self.ready = [asyncio.Event() for _ in targets]
        self.closed: dict[int, str] = {}
        self.retries = 0
        self.expect = 0
        self.complete = 0
        self.changed = asyncio.Event()
        self.tasks: list[asyncio.Task[None]] = []
        self.conns: list[Any] = [None] * len(targets)
        self._gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    def reset(self) -> None:
        self.counts = [0] * len(self.targets)
        self.keys = {}
        self.first = self.last = 0.0
        self.complete = 0

    async def run(self, index: int) -> None:
        """One client; like the browser's client it reconnects (with backoff) when the socket
        is refused or closed before it went live, up to RETRIES times."""
        for attempt in range(RETRIES + 1):
            try:
                await self._serve(index)
                return
            except (OSError, websockets.WebSocketException, TimeoutError) as exc:
                if self.ready[index].is_set() or attempt == RETRIES:
                    self.closed[index] = repr(exc)[:200]
                    break
                self.retries += 1
                await asyncio.sleep(0.25 * 2**attempt)
        self.ready[index].set()
        self.changed.set()

    async def _serve(self, index: int) -> None:
        target = self.targets[index]
        async with self._gate:
            ws = await connect(
                target["url"],
                additional_headers=target.get("headers") or {},
                open_timeout=120,
                close_timeout=2,
                ping_interval=None,
                max_size=None,
                max_queue=None,
            )
        self.conns[index] = ws
        async for raw in ws:
            if not isinstance(raw, str):
                continue
            if not self.ready[index].is_set():
                if self.marker in raw:
                    self.ready[index].set()
                continue
            found = COUNTED.search(raw, 0, 400)
            if found is None:
                continue
            now = time.time()
            stats = self.keys.get(found.group(1))
            if stats is None:
                self.keys[found.group(1)] = [1, now, now]
            else:
                stats[0] += 1
                stats[2] = now
            if not self.first:
                self.first = now
            self.last = now
            self.counts[index] += 1
            if self.counts[index] == self.expect:
                self.complete += 1
                self.changed.set()
        if not self.ready[index].is_set():
            raise websockets.ConnectionClosedError(ws.close_rcvd, ws.close_sent)
        self.closed[index] = f"closed {ws.close_code}"
        self.changed.set()

    async def start(self, limit: float) -> dict[str, Any]:
        self.tasks = [asyncio.create_task(self.run(i)) for i in range(len(self.targets))]
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in self.ready)), limit)
        except TimeoutError:
            pass
        failed = {i: why for i, why in self.closed.items()}
        return {
            "event": "ready",
            "ready": sum(1 for i, e in enumerate(self.ready) if e.is_set() and i not in failed),
            "failed": len(failed),
            "errors": list(failed.values())[:5],
            "retries": self.retries,
        }

    async def wait_for(self, count: int, limit: float) -> dict[str, Any]:
        self.expect = count
        self.complete = sum(1 for c in self.counts if c >= count)
        deadline = time.monotonic() + limit
        while True:
            alive = len(self.targets) - len(self.closed)
            if self.complete >= alive or time.monotonic() >= deadline:
                break
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                break
        return {
            "event": "stats",
            "sockets": len(self.targets),
            "min": min(self.counts) if self.counts else 0,
            "max": max(self.counts) if self.counts else 0,
            "total": sum(self.counts),
            "first": self.first,
            "last": self.last,
            "keys": self.keys,
            "closed": {str(i): why for i, why in list(self.closed.items())[:10]},
            "closed_count": len(self.closed),
        }

    async def close(self) -> None:
        for ws in self.conns:
            if ws is not None:
                await ws.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def main() -> None:
    raise_nofile()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = json.loads(await reader.readline())
    sockets = Sockets(config["sockets"], config["ready"])
    say(await sockets.start(config.get("timeout", 120)))
    while line := await reader.readline():
        command = json.loads(line)
        if command["cmd"] == "reset":
            sockets.reset()
            say({"event": "reset"})
        elif command["cmd"] == "expect":
            say(await sockets.wait_for(command["count"], command.get("timeout", 60)))
        elif command["cmd"] == "quit":
            break
    await sockets.close()
    say({"event": "bye"})


if __name__ == "__main__":
    asyncio.run(main())
