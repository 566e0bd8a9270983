"""The resources page at 1920 px, in Chromium: the table fits with long texts readable, and an
admin edits a resource in a form of its own, each error in Italian next to its field."""

from __future__ import annotations

import asyncio
import concurrent.futures

import asyncpg
from playwright.sync_api import expect

from tests import fleet_support, support

WIDTH, HEIGHT = 1920, 1080
CONDITIONS = (
    "Accesso per persone maggiorenni senza dimora, segnalate dai servizi sociali o dalla"
    " centrale operativa; ammessi animali di piccola taglia; ingresso entro le 21:00, uscita"
    " entro le 8:30; documento di identità se disponibile, altrimenti autocertificazione."
)


def test_the_table_fits_and_an_admin_edits_a_resource_in_a_form(
    start_console, people, database_url, browser, contexts
):
    console = start_console()

    async def resources() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            first = await fleet_support.add_resource(conn, name="Dormitorio San Paolino")
            await conn.execute(
                "UPDATE resources SET conditions = $2, contact_hours = 'Tutti i giorni 8-20',"
                " max_duration = '30 notti', phone = '+39 055 0000000' WHERE id = $1",
                first,
                CONDITIONS,
            )
            for n in range(6):
                await fleet_support.add_resource(
                    conn, name=f"Accoglienza notturna della Misericordia di Firenze {n + 1}"
                )
            return first
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this one
        resource_id = pool.submit(asyncio.run, resources()).result(timeout=30)

    page = support.new_page(browser, contexts, viewport=(WIDTH, HEIGHT))
    support.log_in_page(page, console, people["admin"], "/risorse")
    page.get_by_label("Zona-distretto").select_option("firenze")
    row = page.locator(f'#basket-rows tr[data-id="{resource_id}"]')
    expect(row).to_contain_text("Dormitorio San Paolino")
    # the table fits the screen: no sideways scrolling, the long conditions wrap in their cell
    assert page.evaluate(
        "(() => { const s = document.querySelector('.basket-scroll');"
        " return s.scrollWidth <= s.clientWidth; })()"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    expect(row.locator("td").nth(5)).to_have_text(CONDITIONS)

    # the edit form: labelled fields, Italian messages next to the field, nothing saved on Esc
    row.get_by_role("button", name="Modifica Dormitorio San Paolino").click()
    dialog = page.get_by_role("dialog", name="Modifica: Dormitorio San Paolino")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Condizioni di accesso")).to_have_value(CONDITIONS)
    dialog.get_by_label("Capacità (posti o unità)").fill("12,5")
    dialog.get_by_label("Nome").fill("")
    dialog.get_by_role("button", name="Salva").click()
    expect(dialog.locator("#edit-capacity-error")).to_have_text(
        "Scrivi un numero intero, senza decimali (per esempio 12)."
    )
    expect(dialog.get_by_label("Capacità (posti o unità)")).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(dialog.locator("#edit-name-error")).to_have_text("Campo obbligatorio.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row.locator("td").nth(3)).to_have_text("10")

    row.get_by_role("button", name="Modifica Dormitorio San Paolino").click()
    expect(dialog.get_by_label("Nome")).to_have_value("Dormitorio San Paolino")  # as saved
    dialog.get_by_label("Capacità (posti o unità)").fill("7")
    dialog.get_by_label("Orari di contatto").fill("Lun-ven 9-18")
    dialog.get_by_role("button", name="Salva").click()
    expect(dialog).to_be_hidden()
    expect(row.locator("td").nth(3)).to_have_text("7")
    expect(row.locator("td").nth(7)).to_have_text("Lun-ven 9-18")
    expect(page.locator("#live-announcer")).to_contain_text("modifiche salvate")
