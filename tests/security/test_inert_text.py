"""Stored HTML and script in every free-text field stay inert text, in a real browser, under a
Content-Security-Policy that forbids inline script.

Hostile text goes into every free-text field a referrer, an operator, a supervisor, a unit's
crew, an admin or a territorial service can store, each through the real API (and an
operator's display name, set as an admin would in the database). Then every page that shows
them is opened by the person who would: the text must be shown literally, nothing of it may
become an element, no script of it may run (`window.__pwned`), no dialog may open, every page
must carry the CSP, and the browser must report no CSP violation (which would mean our own
code needs inline script, or that something of the payload reached the DOM as markup).

Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import support

FIRENZE = "048017"
ACTION_MS = 8_000
LIVE_MS = 10_000

# What a hostile referrer or user would try: markup, inline handlers, a script, a link to
# javascript:, template syntax (Jinja's and JavaScript's). Fields with room enough get FULL;
# shorter fields SHORT or TINY. Each stored copy starts with its own tag, to say which field
# failed.
FULL = (
    "javascript:window.__pwned=1 <script>window.__pwned=1</script>"
    '<img src=x onerror="window.__pwned=1">"><svg onload="window.__pwned=1">{{7*7}} ${7*7}'
)
SHORT = '<img src=x onerror=window.__pwned=1>"><svg onload=window.__pwned=1>{{7*7}} ${7*7}'
TINY = "<img src=x onerror=window.__pwned=1>{{7*7}}"

# Any trace of the payloads becoming markup; our pages have none of these of their own.
INJECTED = (
    "img[src='x'], svg[onload], [onerror], [onload], [onclick], a[href^='javascript:' i],"
    " script:not([src]):not([type='application/json'])"
)

# Records, per document, every CSP violation the browser reports, and dialogs never open.
WATCH = """
(() => {
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => {
    const where = `${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`;
    window.__cspViolations.push(`${e.violatedDirective} ${where}`);
  });
})();
"""


def hostile(tag: str, payload: str = FULL) -> str:
    return f"{tag}: {payload}"


@dataclass
class World:
    """What was stored, and where: tag -> text."""

    texts: dict[str, str] = field(default_factory=dict)
    referrals: dict[str, int] = field(default_factory=dict)
    cases: dict[str, int] = field(default_factory=dict)

    def put(self, tag: str, payload: str = FULL) -> str:
        text = hostile(tag, payload)
        self.texts[tag] = text
        return text


async def _hostile_display_name(database_url: str, person: support.Person, name: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE users SET display_name = $2 WHERE id = $1", person.user_id, name)
    finally:
        await conn.close()


OPERATOR2_NAME = hostile("op2-name", SHORT)


@pytest.fixture
def hostile_operator2(database_url: str, people: dict[str, support.Person]) -> str:
    """operator2's display name is hostile (an admin typed it; there is no API for users)."""
    asyncio.run(_hostile_display_name(database_url, people["operator2"], OPERATOR2_NAME))
    return OPERATOR2_NAME


class Api:
    """A sync client logged in as someone (session and CSRF), or with a bearer secret."""

    def __init__(self, console: support.Console, person: support.Person, bearer: bool = False):
        self.client = httpx.Client(base_url=console.url, timeout=15)
        self.headers: dict[str, str] = {}
        if bearer:
            self.headers["Authorization"] = f"Bearer {person.secret}"
        else:
            opened = self.client.post(
                "/api/v1/session", json={"username": person.username, "password": person.password}
            )
            assert opened.status_code == 201, opened.text
            self.headers["X-CSRF-Token"] = opened.json()["csrf_token"]

    def call(self, method: str, path: str, body: Any = None, expect_status: int = 0) -> Any:
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        answer = self.client.request(method, path, json=body, headers=headers)
        assert answer.status_code < 300 if not expect_status else expect_status, (
            method,
            path,
            answer.status_code,
            answer.text,
        )
        return answer.json() if answer.content else None

    def close(self) -> None:
        self.client.close()


def referral_body(world: World, tag: str) -> dict[str, Any]:
    return {
        "trigger": "poverty_homelessness",
        "urgency": "giallo",
        "place": {"municipality": FIRENZE, "address": world.put(f"{tag}-address")},
        "people": {"count": 1, "minors": 0, "age_band": "30_64", "sex": "m"},
        "description": world.put(f"{tag}-desc"),  # fits the queue's summary
        "callback": {
            "name": world.put(f"{tag}-cb-name", SHORT),
            "role": world.put(f"{tag}-cb-role", SHORT),
            "phone": "+39 055 000000",
        },
        "reference": world.put(f"{tag}-ref", SHORT),
    }


def build(console: support.Console, people: dict[str, support.Person], unit_id: int) -> World:
    """Store hostile text in every free-text field, each through the API of whoever writes it."""
    world = World()
    referrer = Api(console, people["referrer"], bearer=True)
    room = Api(console, people["operator"])
    boss = Api(console, people["supervisor"])
    admin = Api(console, people["admin"])
    tablet = Api(console, people["unit"], bearer=True)
    service = Api(console, people["territorial"])
    try:
        for tag in ("A", "B", "C", "D", "E", "F"):
            world.referrals[tag] = referrer.call(
                "POST", "/api/v1/referrals", referral_body(world, tag)
            )["id"]
        ids = world.referrals

        # A: claimed, assessed and activated: the case everybody works on
        room.call("POST", f"/api/v1/referrals/{ids['A']}/claim")
        decided = room.call(
            "POST",
            f"/api/v1/referrals/{ids['A']}/decision",
            {
                "decision": "activate",
                "assessment": {
                    "urgency": "giallo",
                    "needs": ["shelter_bed", "meals"],
                    "notes": world.put("A-assessment-notes"),
                    "language": world.put("A-lang", TINY),
                },
            },
        )
        case = world.cases["A"] = decided["case_id"]
        # B: not pertinent; C: redirected (both with their reasons)
        room.call("POST", f"/api/v1/referrals/{ids['B']}/claim")
        room.call(
            "POST",
            f"/api/v1/referrals/{ids['B']}/decision",
            {"decision": "not_pertinent", "reason": world.put("B-reason")},
        )
        room.call("POST", f"/api/v1/referrals/{ids['C']}/claim")
        room.call(
            "POST",
            f"/api/v1/referrals/{ids['C']}/decision",
            {
                "decision": "redirect",
                "reason": world.put("C-reason"),
                "redirect_to": world.put("C-redirect-to"),
            },
        )
        # D: claimed, released with a reason, reassigned by a supervisor with a reason to the
        # operator whose display name is hostile
        room.call("POST", f"/api/v1/referrals/{ids['D']}/claim")
        room.call(
            "POST",
            f"/api/v1/referrals/{ids['D']}/release",
            {"reason": world.put("D-release", SHORT)},
        )
        boss.call(
            "POST",
            f"/api/v1/referrals/{ids['D']}/reassign",
            {"operator_id": people["operator2"].user_id, "reason": world.put("D-reassign", SHORT)},
        )
        # E: activated, then its case closed with a reason
        room.call("POST", f"/api/v1/referrals/{ids['E']}/claim")
        closed = room.call(
            "POST",
            f"/api/v1/referrals/{ids['E']}/decision",
            {"decision": "activate", "assessment": {"urgency": "verde"}},
        )
        world.cases["E"] = closed["case_id"]
        room.call(
            "POST",
            f"/api/v1/cases/{closed['case_id']}/close",
            {"reason": world.put("E-close")},
        )

        # the case: a note, a new code, a unit sent, a resource booked, all with their words
        room.call("POST", f"/api/v1/cases/{case}/notes", {"body": world.put("A-case-note")})
        room.call(
            "POST",
            f"/api/v1/cases/{case}/urgency",
            {"urgency": "rosso", "reason": world.put("A-urgency")},
        )
        room.call(
            "POST",
            f"/api/v1/cases/{case}/dispatch",
            {"unit_id": unit_id, "reason": world.put("A-dispatch")},
        )
        resource = admin.call(
            "POST",
            "/api/v1/resources",
            {
                "zone_id": "firenze",
                "type": "shelter_bed",
                "name": world.put("res-name"),
                "provider": world.put("res-provider"),
                "capacity": 5,
                "conditions": world.put("res-conditions"),
                "max_duration": world.put("res-duration"),
                "contact_hours": world.put("res-hours"),
                "phone": "javascript:window.__pwned=1",
            },
        )
        room.call(
            "POST",
            f"/api/v1/cases/{case}/bookings",
            {"resource_id": resource["id"], "quantity": 1, "note": world.put("A-booking")},
        )

        # the crew: on scene, a check-in, a note, a resource request, all with words
        for status in ("acknowledged", "en_route", "on_scene"):
            tablet.call("POST", "/api/v1/tablet/status", {"status": status})
        tablet.call("POST", "/api/v1/tablet/check-in", {"note": world.put("A-check-in")})
        tablet.call("POST", "/api/v1/tablet/notes", {"body": world.put("A-unit-note")})
        tablet.call(
            "POST",
            "/api/v1/tablet/resource-requests",
            {"type": "shelter_bed", "quantity": 1, "note": world.put("A-request")},
        )

        # the handover: sent, rejected with a reason (the case is flagged), sent again
        first = room.call("POST", f"/api/v1/cases/{case}/handover")
        service.call(
            "POST", f"/api/v1/handovers/{first['id']}/reject", {"reason": world.put("A-reject")}
        )
        room.call("POST", f"/api/v1/cases/{case}/handover")

        # the room and the supervisors: a message, a shift note, a case handed to a colleague
        room.call("POST", "/api/v1/room/messages", {"body": world.put("room-message")})
        boss.call("POST", "/api/v1/shift-notes", {"body": world.put("shift-note")})
        boss.call(
            "POST",
            f"/api/v1/cases/{case}/reassign",
            {"operator_id": people["operator2"].user_id, "reason": world.put("A-reassign")},
        )
        world.texts["op2-name"] = OPERATOR2_NAME
        return world
    finally:
        for api in (referrer, room, boss, admin, tablet, service):
            api.close()


# -- in the browser ---------------------------------------------------------------------------


class Watched:
    """A page of its own context whose dialogs, CSP violations and errors are recorded."""

    def __init__(self, browser: Browser, contexts: list[BrowserContext]) -> None:
        self.page: Page = support.new_page(
            browser, contexts, init_script=WATCH, timeout_ms=ACTION_MS
        )
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"console: {message.text}")

    def log_in(self, console: support.Console, person: support.Person, path: str) -> None:
        support.log_in_page(self.page, console, person, path, live=False, timeout_ms=ACTION_MS)

    def tablet_log_in(self, console: support.Console, unit: support.Person) -> None:
        self.page.goto(console.url + "/tablet/login")
        self.page.get_by_label("Codice del dispositivo").fill(unit.secret)
        self.page.get_by_role("button", name="Collega il tablet").click()
        expect(self.page).to_have_url(console.url + "/tablet")

    def check(
        self, console: support.Console, path: str, texts: list[str], shot: str | None = None
    ) -> None:
        """Open `path`: its CSP forbids inline script; every text shows literally once the
        page has read its data; nothing of it became markup or ran; no dialog, no violation."""
        page = self.page
        if page.url != console.url + path:
            response = page.goto(console.url + path)
            assert response is not None and response.ok, path
            csp_allows_no_inline_script(response.headers, path)
        body = page.locator("body")
        for text in texts:
            expect(body).to_contain_text(text, use_inner_text=True, timeout=LIVE_MS)
        assert page.locator(INJECTED).count() == 0, (path, page.locator(INJECTED).count())
        assert page.evaluate("typeof window.__pwned") == "undefined", path
        assert page.evaluate("window.__cspViolations") == [], path
        assert self.dialogs == [], (path, self.dialogs)
        assert self.errors == [], (path, self.errors)
        if shot:
            support.screenshot(page, shot)

    def prove_the_csp_blocks_inline_script(self) -> None:
        """The browser enforces the policy (not only the header's words), and the watcher
        sees violations: an inline script added to the page does not run and is reported."""
        page = self.page
        blocked = page.expect_console_message(lambda m: "Content Security Policy" in m.text)
        with blocked:
            page.evaluate(
                """() => {
                  const script = document.createElement("script");
                  script.textContent = "window.__inline = 1";
                  document.body.append(script);
                }"""
            )
        page.wait_for_function("window.__cspViolations.length > 0")
        assert page.evaluate("typeof window.__inline") == "undefined"
        assert "script-src" in page.evaluate("window.__cspViolations[0]")
        assert self.errors, "the console's report of the violation was not seen"
        page.evaluate("() => { document.body.lastElementChild.remove(); }")
        page.evaluate("window.__cspViolations = []")
        self.errors.clear()  # the console's report of this very violation


def csp_allows_no_inline_script(headers: dict[str, str], where: str) -> None:
    policy = headers.get("content-security-policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    scripts = directives.get("script-src") or directives.get("default-src")
    assert scripts, (where, policy)
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, (where, policy)
    assert not any(s in ("*", "data:", "http:", "https:") for s in scripts), (where, policy)
    assert "'none'" in directives.get("object-src", directives.get("default-src", [])) or (
        directives.get("default-src") == ["'self'"]
    ), (where, policy)


def test_hostile_text_stays_inert_on_every_page_of_the_room_and_the_supervisors(
    start_console, people, unit_id, hostile_operator2, browser: Browser, contexts
) -> None:
    console = start_console()
    world = build(console, people, unit_id)
    t, ids, cases = world.texts, world.referrals, world.cases

    def of(*tags: str) -> list[str]:
        return [t[tag] for tag in tags]

    def referral(r: str) -> list[str]:
        return of(f"{r}-address", f"{r}-desc", f"{r}-cb-name", f"{r}-cb-role", f"{r}-ref")

    room = Watched(browser, contexts)
    room.log_in(console, people["operator"], "/")
    room.prove_the_csp_blocks_inline_script()
    room.check(console, "/", of("room-message"))
    room.check(console, "/coda", of("D-desc", "F-desc", "op2-name"))
    room.check(console, f"/coda/{ids['A']}", referral("A"))
    room.check(console, f"/coda/{ids['B']}", [*referral("B"), t["B-reason"]])
    room.check(console, f"/coda/{ids['C']}", [*referral("C"), *of("C-reason", "C-redirect-to")])
    room.check(console, f"/coda/{ids['D']}", [*referral("D"), t["op2-name"]])
    room.check(console, "/casi", of("op2-name"))
    case_texts = of(
        "A-assessment-notes", "A-lang", "A-case-note", "A-urgency", "A-dispatch", "A-booking",
        "A-unit-note", "A-request", "A-reject", "A-reassign", "res-name", "res-provider",
        "op2-name",
    )  # fmt: skip
    room.check(console, f"/casi/{cases['A']}", [*referral("A"), *case_texts], shot="inert-case")
    room.check(console, f"/casi/{cases['E']}", [*referral("E"), t["E-close"]])
    basket = of("res-name", "res-provider", "res-conditions", "res-duration", "res-hours")
    room.check(console, "/risorse?zona=firenze", basket, shot="basket")
    room.check(console, "/unita", [])
    room.check(console, "/segnalazioni/nuova", [])

    boss = Watched(browser, contexts)
    boss.log_in(console, people["supervisor"], "/supervisione")
    boss.check(console, "/supervisione", of("shift-note", "op2-name"), shot="supervision")


def test_hostile_text_stays_inert_on_the_tablet_and_the_services_and_referrers_pages(
    start_console, people, unit_id, hostile_operator2, browser: Browser, contexts
) -> None:
    console = start_console()
    world = build(console, people, unit_id)
    t = world.texts

    def of(*tags: str) -> list[str]:
        return [t[tag] for tag in tags]

    tablet = Watched(browser, contexts)
    tablet.tablet_log_in(console, people["unit"])
    tablet.prove_the_csp_blocks_inline_script()
    tablet.check(
        console,
        "/tablet",
        of("A-address", "A-desc", "A-cb-name", "A-lang", "A-unit-note", "A-request", "res-name"),
        shot="inert-tablet",
    )

    service = Watched(browser, contexts)
    service.log_in(console, people["territorial"], "/passaggi")
    dossier = of("A-address", "A-desc", "A-reject", "res-name", "res-provider")
    service.check(console, "/passaggi", dossier, shot="inert-handovers")

    referrer = Watched(browser, contexts)
    referrer.log_in(console, people["referrer"], "/segnalazioni")
    mine = of("A-ref", "B-ref", "C-ref", "D-ref", "E-ref", "F-ref", "B-reason", "C-reason")
    referrer.check(console, "/segnalazioni", mine, shot="inert-referrer")

    admin = Watched(browser, contexts)
    admin.page.goto(console.url + "/login")
    admin.check(console, "/login", [], shot="login")
    admin.log_in(console, people["admin"], "/tempi")
    admin.check(console, "/tempi", [], shot="policies")
    basket = of("res-name", "res-provider", "res-conditions", "res-duration", "res-hours")
    admin.check(console, "/risorse?zona=firenze", basket)
    admin.check(console, "/indicatori", [])
