"""Bodies over the cap (SEUS_BODY_LIMIT) are refused with 413 before they are read: a declared
length over the cap at once, a chunked body once it passes the cap; the process's memory does
not grow with what was sent, on the JSON API and on the login form alike."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from tests import support

LIMIT = 2048
MEGABYTES = 10


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def raw_exchange(console: support.Console, head: str, body: bytes = b"") -> bytes:
    """Send a request's head (and perhaps the start of its body), never the rest, keep the
    socket open, and read the whole response that comes back. A server that waited for the
    rest of the body would never answer: the read times out and the test fails."""
    with socket.create_connection(("127.0.0.1", console.port), timeout=30) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before a response: {received!r}"
            received += chunk
        headers, _, content = received.partition(b"\r\n\r\n")
        found = re.search(rb"(?i)content-length: *(\d+)", headers)
        assert found, headers
        while len(content) < int(found.group(1)):
            chunk = sock.recv(65536)
            assert chunk, "connection closed in the middle of the response"
            content += chunk
        return headers + b"\r\n\r\n" + content


def head(path: str, content_type: str, length: str) -> str:
    return f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {content_type}\n{length}\n"


async def megabytes(start: bytes, count: int = MEGABYTES) -> AsyncIterator[bytes]:
    """`count` MB streamed in 64 KiB chunks (no Content-Length: chunked)."""
    yield start
    for _ in range(count * 16):
        yield b"x" * 65536


async def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(start_console, people):
    console = start_console(SEUS_BODY_LIMIT=str(LIMIT))
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])
        too_big = await client.post(
            "/api/v1/room/messages", json={"body": "x" * 3000}, headers={"X-CSRF-Token": csrf}
        )
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "payload_too_large"
        assert str(LIMIT) in too_big.json()["detail"]
        fits = await client.post(
            "/api/v1/room/messages", json={"body": "x" * 1500}, headers={"X-CSRF-Token": csrf}
        )
        assert fits.status_code == 201

    # 10 MB announced, only the head sent, the socket kept open: the answer comes anyway.
    for path, kind in [("/api/v1/session", "application/json"), ("/login", "text/plain")]:
        answer = raw_exchange(console, head(path, kind, "Content-Length: 10485760"))
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])
        assert b'"payload_too_large"' in answer
        # ... and the first bytes of such a body change nothing.
        answer = raw_exchange(
            console, head(path, kind, "Content-Length: 10485760"), b'{"username": "x'
        )
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])

    # No length announced (chunked): one chunk past the cap, the body never finished.
    for path, kind in [
        ("/api/v1/session", "application/json"),
        ("/login", "application/x-www-form-urlencoded"),
    ]:
        answer = raw_exchange(
            console,
            head(path, kind, "Transfer-Encoding: chunked"),
            b"1000\r\n" + b"x" * 4096 + b"\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:200])
    assert console.process.poll() is None


async def test_a_chunked_body_growing_past_the_cap_is_refused_and_never_held_in_memory(
    start_console, people
):
    console = start_console(SEUS_BODY_LIMIT=str(LIMIT))
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])
        before = rss_kib(console.process.pid)

        api = await client.post(
            "/api/v1/room/messages",
            content=megabytes(b'{"body": "'),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert "content-length" not in api.request.headers
        assert api.status_code == 413
        assert api.json()["error"] == "payload_too_large"

        page = await client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text
        form = await client.post(
            "/login",
            content=megabytes(f"csrf_token={token.group(1)}&username=operator&password=".encode()),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert "content-length" not in form.request.headers
        assert form.status_code == 413

        # 2 x 10 MB sent; the process did not keep them.
        assert rss_kib(console.process.pid) - before < 5 * 1024

        assert (await client.get("/healthz")).status_code == 200
        still = await client.post(
            "/api/v1/room/messages", json={"body": "ancora qui"}, headers={"X-CSRF-Token": csrf}
        )
        assert still.status_code == 201
    assert console.process.poll() is None


async def test_a_body_just_under_the_cap_is_read_whole_whatever_its_framing(start_console, people):
    """The cap refuses what is over it, not what is near it: chunked or with its length."""
    console = start_console(SEUS_BODY_LIMIT=str(LIMIT))
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])
        text = "y" * (LIMIT - len('{"body": ""}'))

        async def chunked() -> AsyncIterator[bytes]:
            yield b'{"body": "'
            for start in range(0, len(text), 100):
                yield text[start : start + 100].encode()
            yield b'"}'

        for content in (f'{{"body": "{text}"}}'.encode(), chunked()):
            answer = await client.post(
                "/api/v1/room/messages",
                content=content,
                headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
            )
            # Exactly at the cap: read, and judged on its content (2000 characters at most).
            assert answer.status_code == 422, answer.text
            assert {p["field"] for p in answer.json()["errors"]} == {"body"}
        over = await client.post(
            "/api/v1/room/messages",
            content=f'{{"body": "{text}x"}}'.encode(),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert over.status_code == 413
