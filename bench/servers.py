"""What a run starts: PostgreSQL, Redis, console instances, baselines, load generators.

Everything is registered on a `Stack` as it starts and stopped in reverse order by
`Stack.close()`, which the orchestrator calls in `finally`, and which atexit calls too; SIGTERM
is turned into KeyboardInterrupt so that Ctrl-C and a kill both go through `finally`.
Only loopback addresses are used.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from console.lib.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    _with_database,
    free_port,
    process_alive,
)
from tests.support import Console

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


@dataclass
class Stack:
    """Things started, each with how to stop it; closed last-in first-out."""

    workdir: Path
    _stops: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    pids: dict[int, str] = field(default_factory=dict)
    _children: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.close)

    def defer(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    def popen(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        pipes: bool = False,
    ) -> subprocess.Popen[bytes]:
        """A child in its own session (a terminal's Ctrl-C reaches only us; we stop it)."""
        log = (self.workdir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.pids[process.pid] = name
        self._children.append(process)
        self.defer(name, lambda: terminate(process))
        return process

    def interrupt_children(self) -> None:
        """SIGTERM to every process started with `popen` (not PostgreSQL or Redis), without
        waiting: threads blocked on their pipes return, `close()` then waits for them."""
        for process in self._children:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)

    def track(self, pid: int, name: str) -> None:
        self.pids[pid] = name

    def close(self) -> None:
        while self._stops:
            name, stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # keep stopping the rest
                print(f"bench: stopping {name} failed: {exc!r}", file=sys.stderr)

    def leftovers(self) -> list[str]:
        return [f"{name} (pid {pid})" for pid, name in self.pids.items() if process_alive(pid)]


def terminate(process: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def interruptible() -> None:
    """Ctrl-C raises KeyboardInterrupt (and inside asyncio.run cancels the main task) even when
    SIGINT was ignored by whoever started us (a background job of a non-interactive shell);
    SIGTERM does what Ctrl-C does."""
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def on_term(signum: int, frame: object) -> None:
        signal.raise_signal(signal.SIGINT)

    signal.signal(signal.SIGTERM, on_term)


# ---- PostgreSQL and Redis ------------------------------------------------------------------


async def _admin(dsn: str, statement: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def postgres(stack: Stack, url: str | None) -> tuple[str, str]:
    """A fresh database `seus_bench_<id>` on the given server or on an embedded one (its data
    directory kept under the work directory between runs); returns (admin dsn, dsn). The
    database is dropped and the embedded server stopped at the end."""
    if url:
        admin = url
    else:
        server = EmbeddedPostgres(stack.workdir / "postgres")
        admin = server.start()
        stack.defer("postgres", server.stop)
        with contextlib.suppress(OSError, ValueError):
            pid = int((server.pgdata / "postmaster.pid").read_text().split()[0])
            stack.track(pid, "postgres")
    name = f"seus_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    stack.defer(
        "database",
        lambda: asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')),
    )
    return admin, _with_database(admin, name)


def redis(stack: Stack, url: str | None) -> str:
    if url:
        return url
    server = EmbeddedRedis(stack.workdir / "redis")
    server.start()
    stack.defer("redis", server.stop)
    if server._process is not None:
        stack.track(server._process.pid, "redis")
    return server.url


def postgres_version(dsn: str) -> str:
    async def read() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            value: str = await conn.fetchval("SHOW server_version")
            return value
        finally:
            await conn.close()

    return asyncio.run(read())


def redis_version(url: str) -> str:
    import redis as sync_redis

    with sync_redis.Redis.from_url(url) as client:
        info: dict[str, Any] = client.info("server")
        return str(info.get("redis_version", "?"))


# ---- the console and the baselines ---------------------------------------------------------


def consoles(stack: Stack, env: Mapping[str, str], count: int) -> list[Console]:
    """`count` console instances (`python run.py`, as tests/support.py starts them), in
    parallel; stopped with SIGTERM at the end."""
    started: list[Console] = []

    def one(index: int) -> Console:
        console = Console.start(env, data_dir=stack.workdir / f"console{index}", timeout=60)
        return console

    async def all_of() -> list[Console]:
        return list(await asyncio.gather(*(asyncio.to_thread(one, i) for i in range(count))))

    started = asyncio.run(all_of())
    for index, console in enumerate(started):
        stack.track(console.process.pid, f"console{index}")
        stack.defer(f"console{index}", console.stop)
    return started


def wait_http(url: str, process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited ({process.returncode})")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def floor_server(stack: Stack, name: str = "floor") -> Server:
    """The bare `websockets` broadcast server (bench/baselines/floor.py)."""
    port = free_port()
    process = stack.popen(name, [PYTHON, "-m", "bench.baselines.floor", "--port", str(port)])
    wait_http(f"http://127.0.0.1:{port}/ready", process)
    return Server(process, port)


def channels_server(stack: Stack, redis_url: str, prefix: str) -> Server:
    """The Django Channels project under uvicorn (the console's own ASGI server, as run.py
    configures it)."""
    port = free_port()
    process = stack.popen(
        "channels",
        [PYTHON, "-m", "bench.baselines.channels_serve", str(port)],
        env={"BENCH_REDIS_URL": redis_url, "BENCH_CHANNELS_PREFIX": prefix},
    )
    wait_http(f"http://127.0.0.1:{port}/", process)
    return Server(process, port)


def rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


# ---- the socket load generator -------------------------------------------------------------


class LoadGen:
    """A `bench.loadgen` process holding many websocket clients; JSON lines both ways."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.stack = stack
        self.name = name
        self.process = stack.popen(name, [PYTHON, "-m", "bench.loadgen"], pipes=True)

    def _send(self, message: Mapping[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())
        self.process.stdin.flush()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited ({self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    async def open(
        self, sockets: list[dict[str, Any]], ready: str, limit: float = 120
    ) -> dict[str, Any]:
        self._send({"sockets": sockets, "ready": ready, "timeout": limit})
        answer = await asyncio.to_thread(self._read)
        if answer.get("retries"):
            print(
                f"bench: {self.name}: {answer['retries']} socket connections refused or closed"
                " before going live were retried (as the browser client does)",
                file=sys.stderr,
            )
        return answer

    async def reset(self) -> None:
        self._send({"cmd": "reset"})
        await asyncio.to_thread(self._read)

    async def expect(self, count: int, limit: float) -> dict[str, Any]:
        self._send({"cmd": "expect", "count": count, "timeout": limit})
        return await asyncio.to_thread(self._read)

    async def quit(self) -> None:
        if self.process.poll() is None:
            self._send({"cmd": "quit"})
            await asyncio.to_thread(self._read)
            await asyncio.to_thread(self.process.wait, 10)
