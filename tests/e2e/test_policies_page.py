"""The SLA policies page (/tempi) in Chromium: targets in hours and minutes, warnings typed as
"0,5" or "50 %", rules as checkboxes, Italian errors at their fields, history and restore."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests import support

CLAIMED = "/api/v1/sla/policies/referral_claimed"
PANEL = "#policy-referral_claimed"


@contextlib.contextmanager
def as_admin(console: support.Console, admin: support.Person) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        logged = client.post(
            "/api/v1/session", json={"username": admin.username, "password": admin.password}
        )
        assert logged.status_code == 201, logged.text
        client.headers["X-CSRF-Token"] = logged.json()["csrf_token"]
        yield client


def claim_policy(client: httpx.Client) -> dict[str, Any]:
    policies = client.get("/api/v1/sla/policies").json()["policies"]
    (found,) = [p for p in policies if p["milestone"] == "referral_claimed"]
    return dict(found)


def open_page(browser: Any, contexts: list[Any], console: support.Console, admin: Any) -> Page:
    page: Page = support.new_page(browser, contexts)
    support.log_in_page(page, console, admin, "/tempi", live=False)
    return page


def test_a_warning_typed_with_a_comma_and_a_target_in_hours_and_minutes_are_saved(
    start_console, people, browser, contexts
):
    console = start_console()
    page = open_page(browser, contexts, console, people["admin"])
    panel = page.locator(PANEL)
    expect(panel.get_by_label("Rosso: ore")).to_have_value("0")
    expect(panel.get_by_label("Rosso: minuti")).to_have_value("5")
    panel.get_by_label("Rosso: ore").fill("2")
    panel.get_by_label("Rosso: minuti").fill("30")
    panel.get_by_label("Avviso 1").fill("25 %")
    panel.get_by_label("Avviso 2").fill("0,5")
    released = panel.get_by_label("Il tempo parte quando la segnalazione è rimessa in coda")
    received = panel.get_by_label("Il tempo parte quando la segnalazione è ricevuta")
    expect(released).to_be_checked()
    released.click()  # one plain click takes one moment off, and only that one
    panel.get_by_role("button", name="Salva presa visione").click()
    expect(page.locator(PANEL).locator(".policy-result")).to_have_text("Salvato.")

    page.reload()
    panel = page.locator(PANEL)
    expect(panel.get_by_label("Rosso: ore")).to_have_value("2")
    expect(panel.get_by_label("Rosso: minuti")).to_have_value("30")
    expect(panel.get_by_label("Avviso 1")).to_have_value("0,25")
    expect(panel.get_by_label("Avviso 2")).to_have_value("0,5")
    expect(panel.get_by_label("Avviso 3")).to_have_value("")
    expect(received).to_be_checked()
    expect(released).not_to_be_checked()
    latest = panel.locator(".version").first
    expect(latest).to_contain_text("Admin Test")
    expect(latest).to_contain_text("Obiettivo rosso: da 5 min a 2 h 30 min.")
    expect(latest).to_contain_text("Avvisi: da 50 % e 80 % a 25 % e 50 %.")

    with as_admin(console, people["admin"]) as client:
        saved = claim_policy(client)
    assert saved["targets"]["rosso"]["seconds"] == 9000
    assert saved["warnings"] == [0.25, 0.5]
    assert "referral_released" not in saved["starts_on"]
    assert "referral_received" in saved["starts_on"]


def test_an_invalid_target_or_warning_is_refused_in_italian_at_its_field_and_nothing_saved(
    start_console, people, browser, contexts
):
    console = start_console()
    page = open_page(browser, contexts, console, people["admin"])
    panel = page.locator(PANEL)
    panel.get_by_label("Rosso: ore").fill("0")
    panel.get_by_label("Rosso: minuti").fill("0")
    panel.get_by_label("Giallo: ore").fill("due")
    panel.get_by_label("Verde: ore").fill("")
    panel.get_by_label("Verde: minuti").fill("")
    save = panel.get_by_role("button", name="Salva presa visione")
    save.click()
    expect(panel.locator("#referral_claimed-rosso-error")).to_have_text(
        "L'obiettivo deve essere di almeno un minuto."
    )
    expect(panel.get_by_label("Rosso: ore")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#referral_claimed-giallo-error")).to_have_text(
        "Le ore vanno scritte in cifre, senza decimali (es. 2)."
    )
    expect(panel.get_by_label("Giallo: ore")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#referral_claimed-verde-error")).to_contain_text(
        "Indicare l'obiettivo in ore e minuti"
    )
    expect(panel.locator(".policy-result")).to_have_text(
        "Non salvato: correggere i campi indicati."
    )

    # the targets right, the warnings wrong: the API's Italian words, each at its field
    panel.get_by_label("Rosso: minuti").fill("5")
    panel.get_by_label("Giallo: ore").fill("0")
    panel.get_by_label("Verde: minuti").fill("5")
    panel.get_by_label("Avviso 1").fill("mezzo")
    panel.get_by_label("Avviso 2").fill("150%")
    save.click()
    expect(panel.locator("#referral_claimed-warning-0-error")).to_have_text(
        "Non è un numero: scrivere una frazione (0,5) o una percentuale (50%)."
    )
    expect(panel.locator("#referral_claimed-warning-1-error")).to_have_text(
        "La soglia deve stare tra 0 e 1 esclusi (tra 0% e 100%): es. 0,5 o 50%."
    )
    expect(panel.get_by_label("Avviso 1")).to_have_attribute("aria-invalid", "true")
    expect(panel.locator("#referral_claimed-rosso-error")).to_be_hidden()
    expect(panel.locator(".policy-result")).to_have_text(
        "Non salvato: correggere i campi indicati."
    )
    page_text = panel.inner_text()
    assert "Input should" not in page_text and "warnings.0" not in page_text

    with as_admin(console, people["admin"]) as client:
        policy = claim_policy(client)
        versions = client.get(f"{CLAIMED}/versions").json()["versions"]
    assert policy["targets"]["rosso"]["seconds"] == 300 and policy["warnings"] == [0.5, 0.8]
    assert versions == []


def test_restoring_an_earlier_version_from_the_page_brings_back_its_values(
    start_console, people, browser, contexts
):
    console = start_console()
    with as_admin(console, people["admin"]) as client:
        policy = claim_policy(client)
        body = {k: v for k, v in policy.items() if k not in ("milestone", "label")}
        targets = {u: {"seconds": t["seconds"]} for u, t in body["targets"].items()}
        first = {**body, "targets": {**targets, "rosso": {"seconds": 9000}}}
        first["warnings"] = [0.25, 0.5]
        assert client.put(CLAIMED, json=first).status_code == 200
        second = {**first, "targets": {**first["targets"], "rosso": {"seconds": 600}}}
        second["warnings"] = [0.5, 0.8]
        assert client.put(CLAIMED, json=second).status_code == 200
        wanted = client.get(f"{CLAIMED}/versions").json()["versions"][1]["id"]

    page = open_page(browser, contexts, console, people["admin"])
    panel = page.locator(PANEL)
    expect(panel.get_by_label("Rosso: minuti")).to_have_value("10")
    versions = panel.locator(".version")
    expect(versions).to_have_count(3)  # the second change, the first, the values before
    expect(versions.first).to_contain_text("In vigore")
    earlier = panel.locator(f'.version[data-version="{wanted}"]')
    expect(earlier).to_contain_text("Obiettivo rosso: da 5 min a 2 h 30 min.")
    earlier.get_by_role("button", name="Ripristina questa versione").click()

    panel = page.locator(PANEL)
    expect(panel.locator(".policy-result")).to_have_text(f"Versione {wanted} ripristinata.")
    expect(panel.get_by_label("Rosso: ore")).to_have_value("2")
    expect(panel.get_by_label("Rosso: minuti")).to_have_value("30")
    expect(panel.get_by_label("Avviso 1")).to_have_value("0,25")
    expect(panel.locator(".version")).to_have_count(4)
    expect(panel.locator(".version").first).to_contain_text(f"ripristino della versione {wanted}")

    page.reload()
    expect(page.locator(PANEL).get_by_label("Rosso: ore")).to_have_value("2")
    with as_admin(console, people["admin"]) as client:
        restored = claim_policy(client)
    assert restored["targets"]["rosso"]["seconds"] == 9000
    assert restored["warnings"] == [0.25, 0.5]
