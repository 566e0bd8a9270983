"""Indicators (/indicatori) over HTTP and in a real browser: who may see them, the CSV download.

The browser is Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.sync_api import Browser, expect

from dispatch import indicators as core
from tests import support

FIRENZE, PISTOIA = "048017", "047014"
HOSTILE = '<img src=x onerror="window.__pwned=1">=cmd'


async def _seed(database_url: str, people: dict[str, support.Person]) -> None:
    """Three referrals received now (two hospital, one municipal police), one met clock."""
    conn = await asyncpg.connect(database_url)
    try:
        hospital = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        police = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PM test'")
        await conn.execute("UPDATE zones SET name = $1 WHERE id = 'pistoiese'", HOSTILE)
        first = await support.make_referral(conn, referrer_id=hospital, trigger="violence")
        await support.make_referral(conn, referrer_id=hospital, trigger="violence")
        await support.make_referral(
            conn, referrer_id=police, trigger="abandonment", municipality=PISTOIA
        )
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO clocks (milestone, kind, subject_id, referral_id, case_number, zone_id,"
            " urgency, state, budget, counted, warnings, calendar, started_at, ended_at,"
            " updated_at) SELECT 'referral_claimed', 'referral', id, id, case_number, zone_id,"
            " 'giallo', 'met', interval '5 minutes', interval '2 minutes', '{0.5,0.8}',"
            " '{\"kind\": \"24x7\"}'::jsonb, $2::timestamptz - interval '2 minutes', $2, $2"
            " FROM referrals WHERE id = $1",
            first,
            now,
        )
    finally:
        await conn.close()


async def test_supervisors_see_the_page_the_figures_and_the_csv_and_operators_are_refused(
    start_console, people, database_url
):
    await _seed(database_url, people)
    console = start_console()
    today = core.rome_day(datetime.now(UTC))
    first, last = (today - timedelta(days=29)).isoformat(), today.isoformat()

    async with support.logged_in(console, people["supervisor"]) as (client, _):
        page = await client.get("/indicatori")
        assert page.status_code == 200
        assert '<html lang="it">' in page.text and "<h1>Indicatori</h1>" in page.text
        assert 'href="/indicatori" aria-current="page">Indicatori</a>' in page.text
        assert f'id="period-from" name="from" value="{first}"' in page.text
        assert f'id="period-to" name="to" value="{last}"' in page.text
        assert f'href="/api/v1/indicators.csv?from={first}&amp;to={last}"' in page.text
        assert f'href="/api/v1/indicators.it.csv?from={first}&amp;to={last}"' in page.text
        assert '<script type="module" src="/static/js/indicators.js"></script>' in page.text
        assert (await client.get("/static/js/indicators.js")).status_code == 200

        figures = (await client.get("/api/v1/indicators")).json()
        assert (figures["first_day"], figures["last_day"]) == (first, last)
        assert figures["referrals"]["total"] == 3
        assert figures["referrals"]["by_trigger"]["rows"][:2] == [
            {"key": "violence", "label": "Violenza e abuso (Codice Rosa)", "count": 2},
            {"key": "abandonment", "label": "Abbandono", "count": 1},
        ]
        assert figures["referrals"]["by_zone"]["rows"] == [
            {"key": "firenze", "label": "Firenze", "count": 2},
            {"key": "pistoiese", "label": HOSTILE, "count": 1},
        ]
        claimed = figures["time_to_milestone"][0]
        assert (claimed["milestone"], claimed["count"], claimed["median_s"]) == (
            "referral_claimed",
            1,
            120.0,
        )

        download = await client.get("/api/v1/indicators.csv", params={"from": first, "to": last})
        assert download.status_code == 200
        assert download.headers["content-type"] == "text/csv; charset=utf-8"
        assert download.headers["content-disposition"] == (
            f'attachment; filename="indicatori-{first}-{last}.csv"'
        )
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8"), newline="")))
        assert rows[0][:4] == ["section", "key", "label", "count"]
        by = {(r[0], r[1]): r[2:] for r in rows[1:]}
        assert by[("referrals", "total")][1] == "3"
        assert by[("referrals_by_trigger", "violence")][1] == "2"
        assert by[("referrals_by_zone", "pistoiese")][0] == HOSTILE  # starts with <: unchanged
        assert by[("time_to_milestone", "referral_claimed")][1:4] == ["1", "120", "120"]

        excel = await client.get("/api/v1/indicators.it.csv", params={"from": first, "to": last})
        assert excel.status_code == 200
        assert excel.headers["content-type"] == "text/csv; charset=utf-8"
        assert excel.headers["content-disposition"] == (
            f'attachment; filename="indicatori-{first}-{last}-excel.csv"'
        )
        assert excel.content.startswith(codecs.BOM_UTF8)
        text = excel.content.decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
        assert rows[0][:4] == ["sezione", "chiave", "voce", "numero"]
        by = {(r[0], r[1]): r[2:] for r in rows[1:]}
        assert by[("segnalazioni", "totale")][1] == "3"
        assert by[("segnalazioni_per_zona", "pistoiese")][0] == HOSTILE
        assert by[("tempo_alla_fase", "referral_claimed")][1:4] == ["1", "2", "2"]  # minutes

        backwards = await client.get("/api/v1/indicators?from=2026-04-02&to=2026-04-01")
        assert backwards.status_code == 422
        assert [e["field"] for e in backwards.json()["errors"]] == ["query.from"]
        too_long = await client.get("/api/v1/indicators.csv?from=2025-01-01&to=2026-01-02")
        assert too_long.status_code == 422
        assert [e["field"] for e in too_long.json()["errors"]] == ["query.to"]

        spec = (await client.get("/api/openapi.json")).json()
        for path in ("/api/v1/indicators", "/api/v1/indicators.csv", "/api/v1/indicators.it.csv"):
            documented = spec["paths"][path]["get"]
            assert {p["name"] for p in documented["parameters"]} == {"from", "to"}
            assert {"403", "422"} <= set(documented["responses"])

    async with support.logged_in(console, people["admin"]) as (client, _):
        assert (await client.get("/api/v1/indicators")).status_code == 200

    async with support.logged_in(console, people["operator"]) as (client, _):
        assert (await client.get("/api/v1/indicators")).status_code == 403
        assert (await client.get("/api/v1/indicators.csv")).status_code == 403
        assert (await client.get("/api/v1/indicators.it.csv")).status_code == 403
        refused = await client.get("/indicatori")
        assert refused.status_code == 403
        assert 'href="/indicatori"' not in refused.text

    async with console.client() as stranger:
        gone = await stranger.get("/indicatori")
        assert (gone.status_code, gone.headers["location"]) == (303, "/login?next=/indicatori")
        assert (await stranger.get("/api/v1/indicators")).status_code == 401


# -- in a browser -----------------------------------------------------------------------------


@pytest.fixture
def seeded_console(start_console, people, database_url) -> support.Console:
    asyncio.run(_seed(database_url, people))
    return start_console()


def test_the_page_draws_the_tables_and_charts_and_checks_the_period(
    seeded_console: support.Console, people, browser: Browser
):
    console = seeded_console
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(8_000)
    try:
        page = context.new_page()
        page.goto(console.url + "/indicatori")
        page.get_by_label("Nome utente").fill(people["supervisor"].username)
        page.get_by_label("Password").fill(people["supervisor"].password)
        page.get_by_role("button", name="Accedi").click()
        expect(page).to_have_url(console.url + "/indicatori")

        expect(page.locator("#referrals-total")).to_have_text("3")
        first_trigger = page.locator("#by-trigger tr").first
        expect(first_trigger.locator("th")).to_have_text("Violenza e abuso (Codice Rosa)")
        expect(first_trigger.locator("td").first).to_have_text("2")
        expect(page.locator("#by-zone tr")).to_have_count(2)
        expect(page.locator("#by-zone tr").nth(1).locator("th")).to_have_text(HOSTILE)
        assert page.locator("#indicators-body img").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"

        charts = page.locator("svg.bars[role='img']")
        expect(charts).to_have_count(2)
        expect(charts.first.locator("title")).to_contain_text("Segnalazioni per categoria")
        expect(charts.first.locator("desc")).to_contain_text("Violenza e abuso (Codice Rosa): 2")
        expect(charts.first.locator("rect.bar")).to_have_count(8)

        times = page.locator("#times tr").first
        expect(times.locator("th")).to_have_text("Presa visione")
        expect(times.locator("td")).to_have_text(["1", "2 min 00 s", "2 min 00 s"])
        expect(page.locator("#breaches tr")).to_have_count(6)

        # a backwards period is refused on the field before anything is asked
        page.get_by_label("Dal giorno", exact=True).fill("2026-04-02")
        page.get_by_label("Al giorno", exact=True).fill("2026-04-01")
        page.get_by_role("button", name="Mostra").click()
        expect(page.get_by_label("Dal giorno", exact=True)).to_have_attribute(
            "aria-invalid", "true"
        )
        expect(page.locator("#period-from-error")).to_have_text(
            "la data iniziale è successiva a quella finale"
        )

        # an empty past period: zeros, the address and the CSV link follow it
        page.get_by_label("Dal giorno", exact=True).fill("2025-01-01")
        page.get_by_label("Al giorno", exact=True).fill("2025-01-31")
        page.get_by_role("button", name="Mostra").click()
        expect(page).to_have_url(console.url + "/indicatori?from=2025-01-01&to=2025-01-31")
        expect(page.locator("#referrals-total")).to_have_text("0")
        expect(page.locator("#by-zone-empty")).to_be_visible()
        expect(page.locator("#csv-link")).to_have_attribute(
            "href", "/api/v1/indicators.csv?from=2025-01-01&to=2025-01-31"
        )
        expect(page.locator("#indicators-period")).to_have_text(
            "Periodo dal 01/01/2025 al 31/01/2025 (ora italiana)"
        )
        with page.expect_download() as downloading:
            page.locator("#csv-link").click()
        assert downloading.value.suggested_filename == "indicatori-2025-01-01-2025-01-31.csv"
        expect(page.locator("#csv-link-it")).to_have_attribute(
            "href", "/api/v1/indicators.it.csv?from=2025-01-01&to=2025-01-31"
        )
        with page.expect_download() as downloading:
            page.get_by_role("link", name="CSV per Excel").click()
        excel = downloading.value
        assert excel.suggested_filename == "indicatori-2025-01-01-2025-01-31-excel.csv"
        assert Path(excel.path()).read_bytes().startswith(codecs.BOM_UTF8)

        page.go_back()
        expect(page.locator("#referrals-total")).to_have_text("3")
        support.screenshot(page, "indicators")
    finally:
        context.close()


# -- SLA compliance and the year's trends: charts and their tables -----------------------------

_CLOCK = (
    "INSERT INTO clocks (milestone, kind, subject_id, referral_id, case_number, zone_id, urgency,"
    " state, budget, counted, warnings, calendar, started_at, ended_at, breached_at, updated_at)"
    " SELECT $2, 'referral', id, id, case_number, zone_id, $3, $4, interval '5 minutes',"
    " interval '5 minutes', '{0.5,0.8}', '{\"kind\": \"24x7\"}'::jsonb, $5, $6, $7, $5"
    " FROM referrals WHERE id = $1"
)


async def _seed_clocks(database_url: str) -> None:
    """Clocks on time and late, in the last 30 days and months before (the trends' year)."""
    conn = await asyncpg.connect(database_url)
    try:
        hospital = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        now = datetime.now(UTC)
        ago = lambda **kw: now - timedelta(**kw)  # noqa: E731
        clocks = [
            # milestone, urgency, state, started, ended, breached
            ("referral_claimed", "giallo", "met", ago(hours=2), ago(hours=1), None),
            ("referral_claimed", "giallo", "met", ago(hours=3), ago(hours=2), None),
            ("referral_claimed", "rosso", "breached", ago(hours=4), None, ago(hours=3)),
            ("assessment_decided", "verde", "met", ago(hours=9), ago(hours=2), ago(hours=3)),
            ("assessment_decided", "rosso", "met", ago(days=60, hours=1), ago(days=60), None),
            ("referral_claimed", "giallo", "met", ago(days=200, hours=1), ago(days=200),
             ago(days=200, minutes=30)),
        ]  # fmt: skip
        for milestone, urgency, state, started, ended, breached in clocks:
            referral = await support.make_referral(conn, referrer_id=hospital)
            await conn.execute(
                _CLOCK, referral, milestone, urgency, state, started, ended, breached
            )
    finally:
        await conn.close()


def _percent(value: float | None) -> str:
    """As the page writes a percentage: "66,7%", "100%", "—" for none."""
    return "—" if value is None else f"{core.decimal_it(value)}%"


@pytest.fixture
def clocks_console(start_console, people, database_url) -> support.Console:
    asyncio.run(_seed_clocks(database_url))
    return start_console()


def test_the_compliance_and_trend_charts_have_tables_with_the_figures_of_the_json(
    clocks_console: support.Console, people, browser: Browser, contexts
):
    console = clocks_console
    page = support.new_page(browser, contexts, viewport=(1400, 900), timeout_ms=8_000)
    support.log_in_page(page, console, people["supervisor"], "/indicatori", live=False)
    figures = page.request.get(console.url + "/api/v1/indicators").json()
    compliance, trends = figures["compliance"], figures["trends"]

    # the compliance chart: an image named in Italian, a bar for each figure there is
    chart = page.locator("#chart-compliance svg[role='img']")
    expect(chart).to_have_attribute("aria-label", re.compile(r"^Rispetto dei tempi per traguardo"))
    expect(page.locator("#chart-compliance figcaption")).to_contain_text("Rispetto dei tempi")
    shown = [(m, u) for m in compliance for u in [m, *m["by_urgency"]] if u["percent"] is not None]
    assert len(shown) == 5  # claimed: every code, rosso, giallo; decided: every code, verde
    bars = chart.locator("rect.bar")
    expect(bars).to_have_count(len(shown))
    tips = bars.locator("title").all_text_contents()
    assert "Presa visione, tutti i codici: 66,7% (2 in tempo, 1 in ritardo)" in tips
    assert "Valutazione, verde: 0% (0 in tempo, 1 in ritardo)" in tips

    # its table: the same figures, milestone by milestone and code by code
    table = page.locator("#compliance-table")
    expect(table.locator("caption")).to_contain_text("Rispetto dei tempi per traguardo e codice")
    headers = table.locator("thead th").all_text_contents()
    assert headers == ["Traguardo", "Tutti i codici", "Rosso", "Giallo", "Verde"]
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(compliance))
    for i, milestone in enumerate(compliance):
        row = rows.nth(i)
        expect(row.locator("th")).to_have_text(milestone["label"])
        for figure in [milestone, *milestone["by_urgency"]]:
            urgency = figure["urgency"]
            cell = row.locator(f'td[data-urgency="{urgency}"]')
            expect(cell.locator(".pct")).to_have_text(_percent(figure["percent"]))
            expect(cell.locator(".outcomes")).to_have_text(
                [f"{figure['on_time']} in tempo", f"{figure['late']} in ritardo"]
            )
    claimed = rows.filter(has_text="Presa visione")
    expect(claimed.locator('td[data-urgency="all"] .pct')).to_have_text("66,7%")

    # the trends: 52 weeks and 12 months, each a chart and a table of the same figures
    for key, count in (("weeks", 52), ("months", 12)):
        points = trends[key]
        assert len(points) == count
        chart = page.locator(f"#chart-{key} svg[role='img']")
        expect(chart).to_have_attribute("aria-label", re.compile("rispetto dei tempi per"))
        expect(chart.locator("rect.trend-bar")).to_have_count(count)
        with_percent = [p for p in points if p["percent"] is not None]
        expect(chart.locator("circle.trend-dot")).to_have_count(len(with_percent))
        table = page.locator(f"#trend-{key}-table")
        expect(table.locator("caption")).to_contain_text("Segnalazioni e rispetto dei tempi")
        cells = table.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()))"
        )
        assert cells == [
            [p["label"], str(p["referrals"]), str(p["on_time"]), str(p["late"]),
             _percent(p["percent"])]
            for p in points
        ]  # fmt: skip
    assert sum(p["on_time"] + p["late"] for p in trends["months"]) == 6
    support.screenshot(page, "indicators-compliance")
