"""Indicators (/indicatori) over HTTP and in a real browser: who may see them, the CSV download.

The browser is Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import io
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
