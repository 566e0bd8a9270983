"""Test helpers: seeded people, console processes, logged-in clients."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import redis.asyncio as aioredis
import websockets

from console.lib import auth, eventlog
from console.lib.db import Database
from console.lib.embedded import free_port
from dispatch import access
from dispatch.events import NewEvent

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent

# The browser tests drive Debian's chromium through Playwright; nothing is ever downloaded.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def artifacts(kind: str) -> Path:
    """A folder of the test artifacts kept by CI: `screenshots` (the main pages, written by the
    browser tests) or `failures` (every open page of a failed browser test). Under
    $SEUS_TEST_ARTIFACTS when set, else test-artifacts/ at the repository root (git-ignored)."""
    root = Path(os.environ.get("SEUS_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = root / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str) -> Path:
    """Keep a full-page screenshot of `page` as <artifacts>/screenshots/<name>.png."""
    path = artifacts("screenshots") / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@contextlib.contextmanager
def browser() -> Iterator[Browser]:
    """A launched chromium (Playwright's sync API), closed on the way out; the test fails with
    a clear message when /usr/bin/chromium is missing. Ask for it after the fixtures that use
    asyncio.run: while the sync API runs, this thread has a running event loop."""
    import pytest
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests drive Debian's chromium and never "
            "download one. Install it (apt-get install chromium), or run scripts/test, "
            "which does."
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield launched
        finally:
            launched.close()


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    role: str
    user_id: int
    secret: str = ""  # referrer API key or unit device token, when the role has one


@functools.cache
def password_hash(password: str) -> str:
    """argon2 is slow on purpose; the test people's hashes are computed once per run."""
    return auth.hash_password(password)


async def seed_people(dsn: str) -> dict[str, Person]:
    """Users of every role (a second operator and unit too), with known secrets."""
    conn = await asyncpg.connect(dsn)
    try:
        referrer = await conn.fetchval(
            "INSERT INTO referrers (name, kind) VALUES ('PS test', 'hospital') RETURNING id"
        )
        other_referrer = await conn.fetchval(
            "INSERT INTO referrers (name, kind) VALUES ('PM test', 'municipal_police') RETURNING id"
        )
        unit = await conn.fetchval("INSERT INTO units (name) VALUES ('UTES test') RETURNING id")
        other_unit = await conn.fetchval("INSERT INTO units (name) VALUES ('UTES 2') RETURNING id")
        specs: list[tuple[str, str, dict[str, Any]]] = [
            ("operator", "operator", {}),
            ("operator2", "operator", {}),
            ("supervisor", "supervisor", {}),
            ("admin", "admin", {}),
            ("territorial", "territorial_service", {"zone_id": "firenze"}),
            ("referrer", "referrer", {"referrer_id": referrer}),
            ("unit", "unit", {"unit_id": unit}),
            ("unit2", "unit", {"unit_id": other_unit}),
        ]
        people = {}
        for username, role, extra in specs:
            password = f"pw-{username}-secret"
            user_id = await conn.fetchval(
                "INSERT INTO users (username, display_name, password_hash, role, unit_id,"
                " referrer_id, zone_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                username,
                f"{username.title()} Test",
                password_hash(password),
                role,
                extra.get("unit_id"),
                extra.get("referrer_id"),
                extra.get("zone_id"),
            )
            secret = ""
            if role == "unit":
                secret = f"device-token-{username}"
                await conn.execute(
                    "INSERT INTO device_tokens (user_id, token_hash) VALUES ($1, $2)",
                    user_id,
                    auth.digest(secret),
                )
            if role == "referrer":
                secret = "api-key-referrer"
                await conn.execute(
                    "INSERT INTO api_keys (referrer_id, key_hash) VALUES ($1, $2)",
                    referrer,
                    auth.digest(secret),
                )
            people[username] = Person(username, password, role, user_id, secret)
        await conn.execute(
            "INSERT INTO api_keys (referrer_id, key_hash) VALUES ($1, $2)",
            other_referrer,
            auth.digest("api-key-other-referrer"),
        )
        return people
    finally:
        await conn.close()


class Console:
    """A console process started as `python run.py --port P`, on the given environment."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"
        self.origin = self.url

    @classmethod
    def start(
        cls,
        env: Mapping[str, str],
        *,
        data_dir: Path,
        port: int | None = None,
        timeout: float = 30,
        args: Sequence[str] = (),
    ) -> Console:
        port = port or free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir / "console.log"
        full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        # --demo seeds a year of history by default (minutes): none unless a test asks for it.
        full_env.update({"SEUS_LOG_FORMAT": "json", "SEUS_DEMO_HISTORY": "0", **env})
        with log.open("ab") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "run.py"),
                    "--port",
                    str(port),
                    "--data-dir",
                    str(data_dir),
                    *args,
                ],
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        console = cls(process, port, log)
        console.wait_ready(timeout)
        return console

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"console exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"console not ready in {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=10)


ConsoleFactory = Callable[..., Console]


async def log_in(client: httpx.AsyncClient, person: Person) -> str:
    """Open a session through the API; returns the CSRF token."""
    response = await client.post(
        "/api/v1/session", json={"username": person.username, "password": person.password}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["csrf_token"]
    return token


def ws_headers(
    console: Console, client: httpx.AsyncClient | None = None, **extra: str
) -> dict[str, str]:
    headers = {"Origin": console.origin, **extra}
    if client is not None and client.cookies.get(auth.SESSION_COOKIE):
        headers["Cookie"] = f"{auth.SESSION_COOKIE}={client.cookies.get(auth.SESSION_COOKIE)}"
    return headers


async def recv_json(ws: Any, timeout: float = 5) -> dict[str, Any]:
    import asyncio

    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return message


@contextlib.asynccontextmanager
async def logged_in(
    console: Console, person: Person
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """An HTTP client with an open session, and its CSRF token."""
    async with console.client() as client:
        yield client, await log_in(client, person)


async def post_message(client: httpx.AsyncClient, csrf: str, body: str) -> int:
    """Post a room message through the API; returns the seq of its event."""
    response = await client.post(
        "/api/v1/room/messages", json={"body": body}, headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 201, response.text
    seq: int = response.json()["seq"]
    return seq


def connect(
    console: Console,
    client: httpx.AsyncClient | None = None,
    after: int | str | None = None,
    **options: Any,
) -> websockets.connect:
    """A websocket to `console`'s /ws with the client's session cookie and our Origin."""
    url = console.ws_url if after is None else f"{console.ws_url}?after={after}"
    headers = options.pop("additional_headers", None) or ws_headers(console, client)
    return websockets.connect(url, additional_headers=headers, open_timeout=5, **options)


async def make_referral(
    conn: asyncpg.Connection,
    *,
    referrer_id: int,
    status: str = "received",
    trigger: str = "abandonment",
    urgency: str | None = "giallo",
    municipality: str = "048017",  # Firenze
    description: str = "Persona anziana sola, senza assistenza.",
    people: dict[str, Any] | None = None,
) -> int:
    """A referral row as intake would leave it (test data: no events)."""
    from datetime import UTC, datetime

    from dispatch.cases import case_number

    now = datetime.now(UTC)
    zone = await conn.fetchval(
        "SELECT zone_id FROM municipalities WHERE istat_code = $1", municipality
    )
    referral_id: int = await conn.fetchval(
        "INSERT INTO referrals (case_number, referrer_id, status, trigger, urgency_proposed,"
        " municipality_code, zone_id, people, description, callback, received_at, updated_at)"
        " VALUES ('pending-' || gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7::text::jsonb, $8,"
        " $9::text::jsonb, $10, $10) RETURNING id",
        referrer_id,
        status,
        trigger,
        urgency,
        municipality,
        zone,
        json.dumps(people or {"count": 1, "minors": 0, "age_band": "over_65", "language": "it"}),
        description,
        json.dumps({"name": "Referente test", "phone": "+39 055 000000"}),
        now,
    )
    await conn.execute(
        "UPDATE referrals SET case_number = $2 WHERE id = $1",
        referral_id,
        case_number(now.year, referral_id),
    )
    return referral_id


async def make_case(
    conn: asyncpg.Connection,
    *,
    referrer_id: int,
    status: str = "open",
    urgency: str = "giallo",
    municipality: str = "048017",
    needs: Sequence[str] = (),
    skills: Sequence[str] = (),
    language: str | None = None,
) -> tuple[int, int]:
    """An activated referral and its case (test data: no events); returns both ids."""
    from datetime import UTC, datetime

    referral_id = await make_referral(
        conn,
        referrer_id=referrer_id,
        status="activated",
        urgency=urgency,
        municipality=municipality,
    )
    now = datetime.now(UTC)
    case_id: int = await conn.fetchval(
        "INSERT INTO cases (referral_id, case_number, status, zone_id, urgency, needs, skills,"
        " language, opened_at, updated_at) SELECT id, case_number, $2, zone_id, $3, $4, $5, $6,"
        " $7, $7 FROM referrals WHERE id = $1 RETURNING id",
        referral_id,
        status,
        urgency,
        list(needs),
        list(skills),
        language,
        now,
    )
    return referral_id, case_id


# Stands in for the Web Audio API: counts the tones the page starts (each alarm is 3 tones),
# and, as Chromium, runs only once the page has had a user gesture (`arm_audio`).
def arm_audio(page: Any) -> None:
    """What a user does once on a freshly loaded live page: one click to let it sound."""
    from playwright.sync_api import expect

    toggle = page.locator("#audio-toggle")
    expect(toggle).to_have_text("Audio non attivo")
    toggle.click()
    expect(toggle).to_have_text("Audio attivo")


COUNT_TONES = """
(() => {
  window.__tones = 0;
  class Node { connect(next) { return next ?? this; } }
  window.AudioContext = class {
    constructor() {
      this.state = "suspended";
      this.currentTime = 0;
      this.destination = new Node();
      this.listeners = [];
    }
    addEventListener(type, listener) { if (type === "statechange") this.listeners.push(listener); }
    resume() {
      // Chromium's autoplay policy: no sound before the page has had a user gesture
      if (navigator.userActivation.hasBeenActive && this.state !== "running") {
        this.state = "running";
        for (const listener of this.listeners) listener();
      }
      return Promise.resolve();
    }
    createOscillator() {
      const node = new Node();
      node.frequency = { value: 0 };
      node.start = () => { window.__tones += 1; };
      node.stop = () => {};
      return node;
    }
    createGain() {
      const node = new Node();
      node.gain = { setValueAtTime() {}, exponentialRampToValueAtTime() {} };
      return node;
    }
  };
})();
"""


def new_page(
    browser: Any,
    contexts: list[Any],
    *,
    viewport: tuple[int, int] = (1280, 900),
    timeout_ms: int = 5_000,
    init_script: str | None = None,
) -> Any:
    """A page in a fresh context of its own (Italian locale, Rome time), kept in `contexts`."""
    context = browser.new_context(
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport={"width": viewport[0], "height": viewport[1]},
    )
    context.set_default_timeout(timeout_ms)
    if init_script:
        context.add_init_script(init_script)
    contexts.append(context)
    return context.new_page()


def log_in_page(
    page: Any,
    console: Console,
    person: Person,
    path: str,
    *,
    live: bool = True,
    timeout_ms: int = 5_000,
) -> None:
    """Open `path`, get sent to the login page, log in, land back on `path` (and, for a live
    page, wait until it is "In linea"). The room's feed `/` asks for no page in particular: the
    login lands on the role's first screen, and the feed is opened from there."""
    from playwright.sync_api import expect

    page.goto(console.url + path)
    expect(page).to_have_url(console.url + f"/login?next={path}", timeout=timeout_ms)
    page.get_by_label("Nome utente").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Accedi").click()
    if path == "/":
        expect(page).not_to_have_url(re.compile(r"/login"), timeout=timeout_ms)
        page.goto(console.url + path)
    expect(page).to_have_url(console.url + path, timeout=timeout_ms)
    if live:
        expect(page.locator("#live-status")).to_have_text("In linea", timeout=timeout_ms)


def send_referral(console: Console, referrer: Person, body: dict[str, Any]) -> dict[str, Any]:
    """A referrer's system sends a referral (from a sync test); returns the 201 answer."""
    import uuid

    with httpx.Client(base_url=console.url, timeout=10) as client:
        posted = client.post(
            "/api/v1/referrals",
            json=body,
            headers={
                "Authorization": f"Bearer {referrer.secret}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
    assert posted.status_code == 201, posted.text
    answer: dict[str, Any] = posted.json()
    return answer


class LogWriter:
    """Writes events straight into the log from the test process, as another instance would,
    and announces them on Redis (the consoles would also find them by polling PostgreSQL)."""

    def __init__(self, db: Database, redis: aioredis.Redis, prefix: str) -> None:
        self.db = db
        self.redis = redis
        self.channel = f"{prefix}:events"

    async def write(self, count: int = 1, audience: str = access.ROOM, body: str = "") -> list[int]:
        async with self.db.action() as tx:
            tx.emit(
                *(
                    NewEvent(
                        type="room.message_posted",
                        subject="room_message:0",
                        audience=frozenset({audience}),
                        payload={"body": body or f"messaggio {i}"},
                        actor="system",
                    )
                    for i in range(count)
                )
            )
        await self.redis.publish(self.channel, eventlog.to_bus(tx.logged))
        return [e.seq for e in tx.logged]

    async def head(self) -> int:
        return await eventlog.head(self.db.pool)

    async def visible(self, role_tags: frozenset[str], after: int = 0) -> list[int]:
        rows = await self.db.pool.fetch(
            "SELECT seq FROM events WHERE seq > $1 AND audience && $2::text[] ORDER BY seq",
            after,
            sorted(role_tags),
        )
        return [r["seq"] for r in rows]
