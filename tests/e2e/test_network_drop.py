"""A network drop healed without a reload and without a missing update, in real browsers.

The operator's queue and the unit's tablet reach the console through a TCP proxy of the test's
own. The proxy cuts every connection (the websockets die as on a real network failure) and
refuses new ones for a while; meanwhile a new referral arrives, another operator claims a
referral and the unit is sent to a case, all written straight to the console. When the network
comes back, both pages resume the live stream after their last seq and show all of it, without
a reload; their connection indicator said so all along.

Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests import support

ACTION_MS = 8_000
LIVE_MS = 20_000  # the client's backoff after a few failed attempts is several seconds
DOWN_LABEL = "Connessione persa: riconnessione…"


class CuttableProxy:
    """A TCP proxy to a local port that can cut every connection at once (reset, as a dead
    network would) and refuse new ones until restored."""

    def __init__(self) -> None:
        self.target_port = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._down = False
        self._closed = False
        self.refused = 0  # connections refused while down
        self._start(self._accept)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            upstream = None
            if self.target_port and not self._down:
                with contextlib.suppress(OSError):
                    upstream = socket.create_connection(("127.0.0.1", self.target_port), 5)
            with self._lock:
                admitted = upstream is not None and not self._down and not self._closed
                if admitted:
                    self._open.update((client, upstream))
                elif self._down:
                    self.refused += 1
            if not admitted or upstream is None:
                for end in (client, upstream):
                    if end is not None:
                        _reset(end)
                continue
            upstream.settimeout(None)
            self._start(self._pump, client, upstream)
            self._start(self._pump, upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:  # one side ended (or was cut): end the other, in order
            with self._lock:
                self._open.difference_update((source, sink))
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def cut(self) -> None:
        with self._lock:
            self._down = True
            dying, self._open = self._open, set()
        for end in dying:
            _reset(end)

    def restore(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


def _reset(end: socket.socket) -> None:
    """Drop a connection at once, without a websocket closing handshake: a zero linger makes
    the close a TCP reset; the shutdown wakes the pump blocked reading it."""
    with contextlib.suppress(OSError):
        end.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    end.close()


@dataclass(frozen=True)
class Address:
    """Where the browsers reach the console (what `support.log_in_page` needs of a Console)."""

    url: str


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    opened = CuttableProxy()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def clients() -> Iterator[contextlib.ExitStack]:
    with contextlib.ExitStack() as stack:
        yield stack


def referral(address: str) -> dict[str, Any]:
    return {
        "trigger": "abandonment",
        "urgency": "giallo",
        "place": {"municipality": "048017", "address": address},
        "people": {"count": 1, "minors": 0, "age_band": "over_65"},
        "description": "Anziana sola in casa, senza assistenza da due giorni.",
        "callback": {"name": "Vigile di turno", "phone": "+39 055 222222"},
    }


class Api:
    """A logged-in client straight to the console (not through the proxy)."""

    def __init__(self, console: support.Console, person: support.Person) -> None:
        self.client = httpx.Client(base_url=console.url, timeout=15)
        opened = self.client.post(
            "/api/v1/session", json={"username": person.username, "password": person.password}
        )
        assert opened.status_code == 201, opened.text
        self.client.headers["X-CSRF-Token"] = opened.json()["csrf_token"]

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def post(self, path: str, body: Any = None) -> Any:
        answer = self.client.post(path, json=body)
        assert answer.status_code < 300, (path, answer.status_code, answer.text)
        return answer.json()


def sockets_of(page: Page) -> list[str]:
    """The URLs of every websocket the page opens, in order."""
    urls: list[str] = []
    page.on("websocket", lambda ws: urls.append(ws.url))
    return urls


def navigations_of(page: Page) -> list[str]:
    """Every navigation of the page's main frame from now on."""
    seen: list[str] = []

    def navigated(frame: Any) -> None:
        if frame == page.main_frame:
            seen.append(frame.url)

    page.on("framenavigated", navigated)
    return seen


def test_a_dropped_network_heals_without_a_reload_and_without_a_missing_update(
    start_console, people, unit_id, proxy, clients, browser, contexts
):
    console = start_console(SEUS_ALLOWED_ORIGINS=proxy.url)
    proxy.target_port = console.port
    site = Address(proxy.url)
    room_api = clients.enter_context(Api(console, people["operator"]))
    colleague = clients.enter_context(Api(console, people["operator2"]))

    # before: a referral waiting in the queue, and a case with no unit yet
    waiting = support.send_referral(console, people["referrer"], referral("Via Roma 1"))
    activated = support.send_referral(console, people["referrer"], referral("Via Pisana 20"))
    room_api.post(f"/api/v1/referrals/{activated['id']}/claim")
    case_id = room_api.post(
        f"/api/v1/referrals/{activated['id']}/decision",
        {"decision": "activate", "assessment": {"urgency": "giallo", "needs": ["meals"]}},
    )["case_id"]

    room = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    room_sockets = sockets_of(room)
    support.log_in_page(room, site, people["operator"], "/coda", timeout_ms=LIVE_MS)
    item = room.locator(f'.queue-item[data-id="{waiting["id"]}"]')
    expect(item).to_contain_text("Da prendere in carico")

    tablet = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    tablet_sockets = sockets_of(tablet)
    tablet.goto(proxy.url + "/tablet/login")
    tablet.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
    tablet.get_by_role("button", name="Collega il tablet").click()
    expect(tablet).to_have_url(proxy.url + "/tablet")
    expect(tablet.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(tablet.locator("#assignment-none")).to_be_visible()

    pages = (room, tablet)
    moves = []
    for page in pages:
        page.evaluate("window.testNotReloaded = true")
        moves.append(navigations_of(page))

    # -- the network drops: every connection reset, new ones refused ------------------------
    proxy.cut()
    for page in pages:
        status = page.locator("#live-status")
        expect(status).to_have_text(DOWN_LABEL, timeout=LIVE_MS)
        expect(status).to_have_attribute("data-status", "reconnecting")
    support.screenshot(room, "queue-connection-lost")
    room_seq = int(room.evaluate("sessionStorage.getItem('seus.queue.lastSeq:Operator Test')"))
    tablet_seq = int(
        tablet.evaluate(
            "Object.entries(sessionStorage).find(([k]) => k.startsWith('seus.live.lastSeq'))[1]"
        )
    )

    # -- meanwhile, straight to the console: a new referral, a claim, a unit sent ------------
    newcomer = support.send_referral(console, people["referrer"], referral("Viale Redi 7"))
    colleague.post(f"/api/v1/referrals/{waiting['id']}/claim")
    room_api.post(f"/api/v1/cases/{case_id}/dispatch", {"unit_id": unit_id})

    # the pages keep trying (the proxy refuses them), and keep saying they are not connected
    refused = proxy.refused
    for _ in range(100):
        if proxy.refused >= refused + 2:
            break
        room.wait_for_timeout(100)
    assert proxy.refused >= refused + 2, "the pages did not try to reconnect"
    for page in pages:
        expect(page.locator("#live-status")).to_have_text(DOWN_LABEL)
    expect(room.locator(f'.queue-item[data-id="{newcomer["id"]}"]')).to_have_count(0)

    # -- the network comes back: both pages catch up by themselves ---------------------------
    proxy.restore()
    for page in pages:
        expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)

    expect(room.locator(f'.queue-item[data-id="{newcomer["id"]}"]')).to_be_visible(timeout=LIVE_MS)
    expect(item).to_contain_text("in valutazione da Operator2 Test", timeout=LIVE_MS)
    expect(room.locator("#queue-count")).to_have_text("2")

    expect(tablet.locator("#assignment-body")).to_be_visible(timeout=LIVE_MS)
    expect(tablet.locator("#a-place")).to_contain_text("Via Pisana 20")
    expect(tablet.locator("#tablet-status")).to_have_text("Assegnata")

    for page, moved in zip(pages, moves, strict=True):
        assert page.evaluate("window.testNotReloaded") is True  # the same document
        assert moved == [], moved  # no navigation, no reload
    # each resumed after the last seq it had seen, instead of starting over
    for urls, seq in ((room_sockets, room_seq), (tablet_sockets, tablet_seq)):
        resumed = parse_qs(urlparse(urls[-1]).query)
        assert resumed.get("after") == [str(seq)], (urls, seq)
    support.screenshot(room, "queue-after-network-drop")
