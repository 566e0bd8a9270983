"""Forged requests from a hostile page, in a real browser that holds an operator's session.

The hostile page is served from the same host on another port (same site: the browser sends
the SameSite=Lax cookie with it, DESIGN.md's known pitfall) and from another site (`localhost`
against the console's `127.0.0.1`). From each it opens a websocket to the console, fires a
credentialed cross-origin POST and submits a form: the console must refuse all of them.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from console.lib.embedded import free_port
from tests import support

ATTACK = """<!doctype html>
<html><body>
<form id="forged" method="POST" action="{console}/api/v1/room/messages" enctype="text/plain">
  <input name='{{"body":"modulo contraffatto","x":"' value='"}}'>
</form>
<script>
window.results = {{ ws: "pending", fetch: "pending" }};
const ws = new WebSocket("{ws}");
ws.onopen = () => {{ window.results.ws = "open"; }};
ws.onmessage = (m) => {{ window.results.wsMessage = m.data; }};
ws.onclose = () => {{ if (window.results.ws === "pending") window.results.ws = "refused"; }};
fetch("{console}/api/v1/room/messages", {{
  method: "POST", credentials: "include", mode: "no-cors",
  headers: {{ "Content-Type": "text/plain" }},
  body: JSON.stringify({{ body: "fetch contraffatto" }}),
}}).then(() => {{ window.results.fetch = "sent"; }}, () => {{ window.results.fetch = "failed"; }});
</script>
</body></html>
"""


@pytest.fixture
def hostile_site() -> Iterator[tuple[int, dict[str, str]]]:
    """A web server on another port of this host; the test sets the page it serves."""
    pages: dict[str, str] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield port, pages
    finally:
        server.shutdown()
        server.server_close()


def _room_messages(console: support.Console, operator: support.Person) -> list[str]:
    """The room's messages, as the operator's own API client reads them from the log."""
    with httpx.Client(base_url=console.url, timeout=10) as client:
        opened = client.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        assert opened.status_code == 201, opened.text
        events = client.get("/api/v1/events").json()["events"]
    return [e["payload"]["body"] for e in events if e["type"] == "room.message_posted"]


def test_a_hostile_page_on_another_port_or_site_cannot_act_or_listen_with_the_operators_session(
    start_console, people, hostile_site, browser, contexts
):
    console = start_console()
    port, pages = hostile_site
    pages["/attack.html"] = ATTACK.format(console=console.url, ws=console.ws_url)
    page = support.new_page(browser, contexts)
    support.log_in_page(page, console, people["operator"], "/")

    # the session works from the console's own page: the cookie is there to be abused
    cookies = {c["name"] for c in page.context.cookies(console.url)}
    assert "seus_session" in cookies

    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        hostile = page.context.new_page()
        hostile.goto(f"{origin}/attack.html")
        hostile.wait_for_function(
            "window.results.ws !== 'pending' && window.results.fetch !== 'pending'",
            timeout=10_000,
        )
        results = hostile.evaluate("window.results")
        assert results["ws"] == "refused", (origin, results)
        assert "wsMessage" not in results, (origin, results)
        with hostile.expect_navigation():
            hostile.evaluate("document.getElementById('forged').submit()")
        assert '"error"' in hostile.content(), (origin, hostile.content())
        hostile.close()

    # nothing was posted, and the operator's own page still works
    assert _room_messages(console, people["operator"]) == []
    page.reload()
    expect(page.locator("#live-status")).to_have_text("In linea")
