"""What the fault tests share: clients that behave as real ones do when a server fails.

- `Follower`: a websocket client of the live stream that remembers every seq it received and,
  when its connection drops, reconnects (to the next console of its list) with `?after=` its
  last seq, as docs/live-protocol.md asks of every client.
- `Referrer`: a referrer's system that resends the same referral with the same
  `Idempotency-Key` on a connection error or a 5xx until it gets its answer, alternating
  between the consoles' addresses as a load balancer would.
- `visible_seqs`: the seqs of the events table a person may see (dispatch/access.py's rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import websockets

from console.areas.intake.schemas import EXAMPLE
from dispatch import access
from tests import support

BOUND = 20.0  # seconds: a wait longer than this is a hang, not slowness


def kill(console: support.Console) -> None:
    """kill -9: no shutdown, no closing handshake, transactions cut where they stand."""
    console.stop(sig=signal.SIGKILL)


def tags_of(person: support.Person) -> frozenset[str]:
    principal = access.Principal(
        role=access.Role(person.role), name=person.username, user_id=person.user_id
    )
    return access.read_tags(principal)


async def visible_seqs(dsn: str, person: support.Person, after: int = 0) -> list[int]:
    """Every seq in the events table, after `after`, that `person` may see, in order."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT seq FROM events WHERE seq > $1 AND audience && $2::text[] ORDER BY seq",
            after,
            sorted(tags_of(person)),
        )
    finally:
        await conn.close()
    return [row["seq"] for row in rows]


async def head_of(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        head: int = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM events")
        return head
    finally:
        await conn.close()


async def until(condition: Any, what: str, bound: float = BOUND) -> None:
    """Wait for `condition()` (a bounded wait: only a hang fails it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    while not condition():
        assert loop.time() < deadline, f"not within {bound} s: {what}"
        await asyncio.sleep(0.05)


@dataclass
class Follower:
    """A live-stream client that resumes after its last seq whenever its connection drops."""

    client: httpx.AsyncClient  # logged in: its session cookie is valid on every console
    consoles: Sequence[support.Console]
    seqs: list[int] = field(default_factory=list)
    head: int = 0  # the highest head a `live` or `heartbeat` promised: all up to it was sent
    closes: list[int | None] = field(default_factory=list)  # close code of each lost connection
    on: list[int] = field(default_factory=list)  # the port of each connection made
    unexpected: list[dict[str, Any]] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None
    _live: int = 0  # connections that reached `live`

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def connected(self, count: int = 1) -> None:
        """Wait until `count` connections have gone live."""
        await until(lambda: self._live >= count, f"{count} live connection(s)")

    async def caught_up(self, head: int, bound: float = BOUND) -> None:
        """Wait until the server promised that everything up to `head` was sent."""
        await until(lambda: self.head >= head, f"a heartbeat at {head} (got {self.head})", bound)

    async def _follow(self) -> None:
        index = 0
        while True:
            console = self.consoles[index % len(self.consoles)]
            try:
                async with support.connect(
                    console, self.client, after=self.last, ping_interval=None
                ) as ws:
                    self.on.append(console.port)
                    try:
                        async for raw in ws:
                            self._take(json.loads(raw))
                    finally:
                        self.closes.append(ws.close_code)
            except (OSError, TimeoutError, websockets.InvalidHandshake):
                pass  # that console is not answering: try the next one
            except websockets.ConnectionClosed:
                pass  # counted above; resume after the last seq
            index += 1
            await asyncio.sleep(0.1)

    def _take(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "event":
            self.seqs.append(message["seq"])
        elif kind in ("live", "heartbeat"):
            if kind == "live":
                self._live += 1
            self.head = max(self.head, message["head"])
        elif kind != "hello":
            self.unexpected.append(message)  # a snapshot: the client would lose its history


def referral_body(label: str) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["description"] = f"Segnalazione di prova {label}: persona senza un posto per la notte."
    return body


@dataclass
class Referrer:
    """A referrer's system sending `count` referrals, each until it is acknowledged."""

    api_key: str
    label: str
    urls: Sequence[str]
    acked: dict[str, int] = field(default_factory=dict)  # Idempotency-Key -> referral id
    replayed: int = 0  # answers that were replays of an earlier, unanswered, attempt
    failures: int = 0  # attempts that got a connection error or a 5xx

    async def send(self, count: int) -> None:
        turn = 0
        async with httpx.AsyncClient(timeout=10) as http:
            for n in range(count):
                key = f"{self.label}-{n}"
                body = referral_body(key)
                while True:
                    url = self.urls[turn % len(self.urls)]
                    turn += 1
                    try:
                        answer = await http.post(
                            f"{url}/api/v1/referrals",
                            json=body,
                            headers={
                                "Authorization": f"Bearer {self.api_key}",
                                "Idempotency-Key": key,
                            },
                        )
                    except httpx.TransportError:
                        self.failures += 1
                        await asyncio.sleep(0.05)
                        continue
                    if answer.status_code >= 500:
                        self.failures += 1
                        await asyncio.sleep(0.05)
                        continue
                    assert answer.status_code in (200, 201), answer.text
                    self.acked[key] = answer.json()["id"]
                    self.replayed += answer.headers.get("Idempotent-Replayed") == "true"
                    break
