"""map_first_paint_ms and map_fps: the live map (/mappa) in Chromium, with every layer.

Data (the map's usual load, written straight into the database as bench housekeeping): U units
at bases in U municipalities, each with a tablet user and a device token, sharing their
position, with a fresh last position; R open referrals with a point near their municipality's
centre (urgencies varied). The browser is Debian's chromium through Playwright's async API
(`/usr/bin/chromium`, tests/support.py's launch arguments: headless, software rendering, no
download), at 1920x1080, logged in as an operator (the session cookie of a seeded operator).

map_first_paint_ms. Ours: `/mappa` loaded L times in a row (one new tab each, the same
browser context: its cache warm, as an operator reopening the map; one load before, not
counted); the time from navigation start to the page's `performance.mark("seus-map-drawn")`,
set by static/js/map.js once the first snapshot of every layer is drawn; median. Baseline:
the floor of a map of Tuscany in the same browser, the same static files from the same
instance: a page of Leaflet and static/js/lib/map.js drawing the zones only (no data, no API,
no websocket), its mark set at the same point; median of as many loads.

map_fps. Ours: `/mappa` open, its snapshot drawn, while the U units move once a second through
the real path: each unit's tablet `POST /api/v1/tablet/position` (its device token), the U
spread over the second, alternating the two instances; the page learns of them by the
console's websocket (`unit.position_reported`) and reads what it draws from the API. A
`requestAnimationFrame` loop (an init script; it does nothing but count) keeps Chromium
producing a frame every vsync, so that every frame the page's work delays is a missed frame. A
Chromium trace (CDP Tracing, devtools.timeline and its frame category) of S seconds: fps = the
main-thread frames begun (`BeginMainThreadFrame`) in the page's renderer per second of trace;
the rAF count over the same window and the trace's `DroppedFrame` events are in the note.
Baseline: the same trace of a plain Leaflet page with the same R referral markers and U unit
markers (the same icons, static/js/lib/map.js) moved locally at the same rate with no network,
**while the same position requests run** (the machine carries the same load): the floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx

from bench.common import Figure, Run, insert_referrals
from console.lib import auth, geo
from tests.support import CHROMIUM, CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

MARK = "seus-map-drawn"
VIEWPORT = {"width": 1920, "height": 1080}
FLOOR_PATH = "/__bench/map-floor"  # answered by the browser itself (page.route)
SLOTS = 20  # the units' posts spread over the second in this many ticks
RADIUS = 0.02  # degrees: each unit circles its base
SPEED = 0.1  # radians per second
STATUSES = ("available", "available", "available", "en_route", "on_scene", "returning")

RAF_COUNTER = """
window.__benchFrames = [];
const benchTick = (t) => { window.__benchFrames.push(t); requestAnimationFrame(benchTick); };
requestAnimationFrame(benchTick);
"""

FLOOR_HTML = """<!doctype html>
<html lang="it">
<head>
<meta charset="utf-8">
<title>Mappa (floor del bench)</title>
<link rel="stylesheet" href="/static/vendor/leaflet/dist/leaflet.css">
<link rel="stylesheet" href="/static/css/map.css">
<script src="/static/vendor/leaflet/dist/leaflet.js" defer></script>
<style>html, body { margin: 0; height: 100%; } #map { position: absolute; inset: 0; }</style>
</head>
<body>
<div id="map"></div>
<script type="application/json" id="data">__DATA__</script>
<script type="module">
import { createMap, addBoundaries, referralIcon, unitIcon } from "/static/js/lib/map.js";
const data = JSON.parse(document.getElementById("data").textContent);
const map = createMap(document.getElementById("map"));
await addBoundaries(map);
for (const r of data.referrals) {
  L.marker([r.lat, r.lon], { icon: referralIcon(r.urgency) }).addTo(map);
}
const units = data.units.map(
  (u) => L.marker([u.lat, u.lon], { icon: unitIcon(u.status) }).addTo(map),
);
requestAnimationFrame(() => performance.mark("seus-map-drawn")); // as static/js/map.js marks
if (units.length) {
  // each unit moves once a second, spread over the second as the bench's tablets post
  const per = Math.ceil(units.length / data.slots);
  let slot = 0;
  setInterval(() => {
    const t = Date.now() / 1000;
    for (let i = slot * per; i < Math.min(units.length, (slot + 1) * per); i++) {
      const u = data.units[i];
      const a = t * data.speed + i;
      units[i].setLatLng([u.lat + data.radius * Math.sin(a), u.lon + data.radius * Math.cos(a)]);
    }
    slot = (slot + 1) % data.slots;
  }, 1000 / data.slots);
}
</script>
</body>
</html>
"""


@dataclass(frozen=True)
class Unit:
    id: int
    token: str
    lat: float  # its base
    lon: float
    status: str

    def at(self, index: int, t: float) -> tuple[float, float]:
        """Where the unit is at time t (seconds): circling its base (as the floor page moves
        it)."""
        a = t * SPEED + index
        return self.lat + RADIUS * math.sin(a), self.lon + RADIUS * math.cos(a)


@dataclass(frozen=True)
class Referral:
    lat: float
    lon: float
    urgency: str | None


_units: dict[str, list[Unit]] = {}  # run tag -> the units seeded (once per run)


async def _seed_units(run: Run, conn: asyncpg.Connection) -> list[Unit]:
    if run.tag in _units:
        return _units[run.tag]
    locator = geo.locator()
    codes = locator.codes()
    count = run.sizes.map_units
    units: list[Unit] = []
    async with conn.transaction():
        for i in range(count):
            code = codes[(i * 37) % len(codes)]
            lat, lon = locator.surface_point(code)
            status = STATUSES[i % len(STATUSES)]
            unit_id: int = await conn.fetchval(
                "INSERT INTO units (name, base_label, base_municipality_code, base_lat, base_lon,"
                " zones, vehicle, synthetic, status, status_since, share_position, last_lat,"
                " last_lon, last_position_at)"
                " SELECT $1, 'Base bench ' || m.name, m.istat_code, $3, $4, ARRAY[m.zone_id],"
                " 'Fiat Doblò', true, $5, now(), true, $3, $4, now()"
                " FROM municipalities m WHERE m.istat_code = $2 RETURNING id",
                f"Bench mappa {run.tag} {i + 1}",
                code,
                lat,
                lon,
                status,
            )
            user_id: int = await conn.fetchval(
                "INSERT INTO users (username, display_name, password_hash, role, unit_id)"
                " VALUES ($1, $2, NULL, 'unit', $3) RETURNING id",
                f"bench-map-{run.tag}-{i + 1}",
                f"Tablet {i + 1}",
                unit_id,
            )
            token = auth.new_secret()
            await conn.execute(
                "INSERT INTO device_tokens (user_id, token_hash, label) VALUES ($1, $2, 'bench')",
                user_id,
                auth.digest(token),
            )
            units.append(Unit(unit_id, token, lat, lon, status))
    _units[run.tag] = units
    return units


async def _seed(run: Run) -> tuple[list[Unit], list[Referral]]:
    """The units (once per run) and R open referrals with a point (every figure: the
    housekeeping between figures closes them)."""
    conn = await asyncpg.connect(run.dsn)
    try:
        units = await _seed_units(run, conn)
        ids = await insert_referrals(
            conn,
            run.sizes.map_referrals,
            status="received",
            referrer_id=run.referrer_id,
            tag=f"m{uuid.uuid4().hex[:6]}",
        )
        rows = await conn.fetch(
            "UPDATE referrals r SET lat = m.lat + ((r.id % 11) - 5) * 0.002,"
            " lon = m.lon + ((r.id % 7) - 3) * 0.003"
            " FROM municipalities m WHERE m.istat_code = r.municipality_code AND r.id = ANY($1)"
            " RETURNING r.lat, r.lon, r.urgency_proposed",
            ids,
        )
    finally:
        await conn.close()
    referrals = [Referral(r["lat"], r["lon"], r["urgency_proposed"]) for r in rows]
    return units, referrals


# ---- the tablets ----------------------------------------------------------------------------


class Tablets:
    """U tablets posting their positions once a second, spread over the second, alternating
    the instances; counts what was kept."""

    def __init__(self, run: Run, units: list[Unit]) -> None:
        self.units = units
        # one client (one connection) per tablet, as each is its own device
        self.clients = [
            httpx.AsyncClient(
                base_url=run.consoles[i % len(run.consoles)].url,
                timeout=10,
                limits=httpx.Limits(max_connections=1),
            )
            for i in range(len(units))
        ]
        self.sent = self.kept = self.failed = self.skipped = 0
        self.began = time.monotonic()
        self._busy: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._posts: set[asyncio.Task[None]] = set()

    async def _post(self, index: int, unit: Unit) -> None:
        lat, lon = unit.at(index, time.time())
        client = self.clients[index]
        try:
            answer = await client.post(
                "/api/v1/tablet/position",
                json={"lat": lat, "lon": lon, "accuracy_m": 15},
                headers={"Authorization": f"Bearer {unit.token}"},
            )
            self.sent += 1
            if answer.status_code == 200 and answer.json().get("kept"):
                self.kept += 1
            else:
                self.failed += 1
        except httpx.HTTPError:
            self.failed += 1

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        tick = 0
        while True:
            slot = tick % SLOTS
            for i in range(slot, len(self.units), SLOTS):
                if i in self._busy:  # a tablet waits for its last answer: skip this second
                    self.skipped += 1
                    continue
                self._busy.add(i)
                post = asyncio.create_task(self._post(i, self.units[i]))
                self._posts.add(post)
                post.add_done_callback(self._posts.discard)
                post.add_done_callback(lambda _, i=i: self._busy.discard(i))
            tick += 1
            await asyncio.sleep(max(0.0, began + tick / SLOTS - loop.time()))

    def start(self) -> None:
        self.sent = self.kept = self.failed = self.skipped = 0
        self.began = time.monotonic()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._posts:
            await asyncio.gather(*self._posts, return_exceptions=True)

    async def close(self) -> None:
        await self.stop()
        for client in self.clients:
            await client.aclose()


# ---- the browser ----------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _browser() -> AsyncIterator[Browser]:
    from playwright.async_api import async_playwright

    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing (apt-get install chromium)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield browser
        finally:
            await browser.close()


async def _context(
    browser: Browser, run: Run, *, logged_in: bool, raf: bool = False
) -> BrowserContext:
    context = await browser.new_context(
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport=VIEWPORT,  # type: ignore[arg-type]
    )
    context.set_default_timeout(30_000)
    if logged_in:
        await context.add_cookies(
            [
                {
                    "name": auth.SESSION_COOKIE,
                    "value": run.operators[0].cookie,
                    "url": run.consoles[0].url,
                }
            ]
        )
    if raf:
        await context.add_init_script(RAF_COUNTER)
    return context


def _floor_html(units: list[Unit], referrals: list[Referral]) -> str:
    data = {
        "referrals": [{"lat": r.lat, "lon": r.lon, "urgency": r.urgency} for r in referrals],
        "units": [{"lat": u.lat, "lon": u.lon, "status": u.status} for u in units],
        "slots": SLOTS,
        "radius": RADIUS,
        "speed": SPEED,
    }
    return FLOOR_HTML.replace("__DATA__", json.dumps(data).replace("</", "<\\/"))


async def _serve_floor(page: Page, html: str) -> None:
    await page.route(
        f"**{FLOOR_PATH}",
        lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"),
    )


async def _drawn(page: Page, limit: float = 30) -> float:
    """The page's mark (ms from navigation start), polled for (the console's CSP forbids
    `wait_for_function`'s eval; the mark's own time is what counts, not the poll's)."""
    deadline = time.monotonic() + limit
    while True:
        at = await page.evaluate(
            f"(performance.getEntriesByName({json.dumps(MARK)})[0] || {{}}).startTime ?? null"
        )
        if at is not None:
            return float(at)
        if time.monotonic() > deadline:
            raise RuntimeError(f"{page.url}: no performance mark {MARK!r} in {limit:g} s")
        await asyncio.sleep(0.05)


async def _paints(
    context: BrowserContext, url: str, loads: int, floor: str | None = None
) -> tuple[list[float], list[float]]:
    """(mark times, first-contentful-paint times) of `loads` loads, each in a new tab; one
    load before, not counted."""
    marks: list[float] = []
    fcps: list[float] = []
    for i in range(loads + 1):
        page = await context.new_page()
        try:
            if floor is not None:
                await _serve_floor(page, floor)
            await page.goto(url, wait_until="commit")
            drawn = await _drawn(page)
            fcp = await page.evaluate(
                "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
                " ?? null"
            )
        finally:
            await page.close()
        if i > 0:
            marks.append(drawn)
            if fcp is not None:
                fcps.append(float(fcp))
    return marks, fcps


async def measure_paint(run: Run) -> list[Figure]:
    units, referrals = await _seed(run)
    console = run.consoles[0]
    loads = run.sizes.map_loads
    async with _browser() as browser:
        ours_context = await _context(browser, run, logged_in=True)
        ours, ours_fcp = await _paints(ours_context, console.url + "/mappa", loads)
        await ours_context.close()
        floor_context = await _context(browser, run, logged_in=False)
        floor, _ = await _paints(
            floor_context, console.url + FLOOR_PATH, loads, _floor_html([], [])
        )
        await floor_context.close()
    m_ours, m_floor = statistics.median(ours), statistics.median(floor)
    fcp = f"{statistics.median(ours_fcp):.0f} ms" if ours_fcp else "n/a"
    return [
        Figure(
            "map_first_paint_ms",
            round(m_ours, 1),
            round(m_floor, 1),
            "ms",
            "ours <= 1000 ms",
            m_ours <= 1000,
            f"/mappa with every layer, {len(referrals)} open referrals, {len(units)} units;"
            f" navigation start to the mark 'seus-map-drawn', median of {loads} loads (max ours"
            f" {max(ours):.0f} ms); first contentful paint ours {fcp}; baseline Leaflet and the"
            " zones only",
        )
    ]


# ---- frames ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frames:
    fps: float  # main-thread frames begun per second of trace
    raf_fps: float  # requestAnimationFrame callbacks per second over the same window
    dropped: int  # the trace's DroppedFrame events
    worst_ms: float  # the longest gap between two rAF callbacks
    seconds: float


def _frames_of(events: list[dict[str, Any]]) -> tuple[int, int, float]:
    """(main-thread frames, dropped frames, seconds) of the renderer that ran the rAF loop."""
    animation = Counter(e.get("pid") for e in events if e.get("name") == "FireAnimationFrame")
    if not animation:
        return 0, 0, 0.0
    pid = animation.most_common(1)[0][0]
    mine = [e for e in events if e.get("pid") == pid and isinstance(e.get("ts"), int | float)]
    stamps = [e["ts"] for e in mine if e.get("ph") != "M"]
    frames = sum(1 for e in mine if e.get("name") == "BeginMainThreadFrame")
    dropped = sum(1 for e in mine if e.get("name") == "DroppedFrame")
    return frames, dropped, (max(stamps) - min(stamps)) / 1e6


async def _trace(browser: Browser, page: Page, seconds: float) -> Frames:
    await browser.start_tracing(
        page=page,
        categories=[
            "devtools.timeline",
            "disabled-by-default-devtools.timeline.frame",
            "benchmark",
        ],
    )
    before = await page.evaluate("window.__benchFrames.length")
    began = time.perf_counter()
    await asyncio.sleep(seconds)
    stamps: list[float] = await page.evaluate(f"window.__benchFrames.slice({before})")
    wall = time.perf_counter() - began
    stopping = time.perf_counter()
    raw = await browser.stop_tracing()
    print(
        f"bench: map_fps: trace of {len(raw) / 1e6:.1f} MB read in"
        f" {time.perf_counter() - stopping:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    trace = json.loads(raw)
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    frames, dropped, span = _frames_of(events)
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    return Frames(
        fps=frames / span if span else 0.0,
        raf_fps=len(stamps) / wall,
        dropped=dropped,
        worst_ms=max(gaps, default=0.0),
        seconds=span,
    )


async def measure_fps(run: Run) -> list[Figure]:
    units, referrals = await _seed(run)
    console = run.consoles[0]
    seconds = run.sizes.map_seconds
    tablets = Tablets(run, units)
    reads: list[str] = []
    try:
        async with _browser() as browser:
            context = await _context(browser, run, logged_in=True, raf=True)
            page = await context.new_page()
            await page.goto(console.url + "/mappa")
            await _drawn(page)
            tablets.start()
            await asyncio.sleep(1.5)  # the first positions reach the page
            page.on(
                "request",
                lambda request: reads.append(request.url) if "/api/v1/" in request.url else None,
            )
            ours = await _trace(browser, page, seconds)
            rate = tablets.kept / (time.monotonic() - tablets.began)
            sent, skipped = tablets.sent, tablets.skipped
            await context.close()

            context = await _context(browser, run, logged_in=False, raf=True)
            page = await context.new_page()
            await _serve_floor(page, _floor_html(units, referrals))
            await page.goto(console.url + FLOOR_PATH)
            await _drawn(page)
            await asyncio.sleep(1.5)
            floor = await _trace(browser, page, seconds)
            await context.close()
            failed = tablets.failed
    finally:
        await tablets.close()
    run.check(ours.seconds > 0 and floor.seconds > 0, "map_fps: no frames in a trace")
    run.check(failed == 0, f"map_fps: {failed} position posts failed or were not kept")
    run.check(bool(reads), "map_fps: the page read nothing while the units moved")
    return [
        Figure(
            "map_fps",
            round(ours.fps, 1),
            round(floor.fps, 1),
            "fps",
            "ours >= 50 fps",
            ours.fps >= 50,
            f"{len(units)} units moving once a second (POST /api/v1/tablet/position: {rate:.0f}"
            f" kept/s, {sent} sent, {skipped} skipped while the unit's last post was unanswered),"
            f" {len(referrals)} referral markers; {ours.seconds:.1f} s"
            f" trace; rAF ours {ours.raf_fps:.1f} fps, floor {floor.raf_fps:.1f}; dropped frames"
            f" ours {ours.dropped}, floor {floor.dropped}; longest frame ours"
            f" {ours.worst_ms:.0f} ms, floor {floor.worst_ms:.0f} ms; {len(reads)} API reads by"
            " the page",
        )
    ]
