"""SLA policies over HTTP: the room reads them, an admin edits them, new clocks follow the edit
and a running console fires the edited clock by itself."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from console.areas.intake.schemas import EXAMPLE
from tests import support

pytestmark = pytest.mark.asyncio

SHORT_CLAIM = {
    "calendar": "24x7",
    "warnings": [0.5, 0.8],
    "targets": {u: {"seconds": 2} for u in ("rosso", "giallo", "verde")},
    "starts_on": ["referral_received", "referral_released"],
    "stops_on": ["referral_claimed", "referral_reassigned"],
    "cancels_on": ["referral_decided"],
}


def problems(response: Any) -> dict[str, str]:
    return {p["field"]: p["message"] for p in response.json()["errors"]}


async def test_the_room_reads_the_default_policies(start_console, people):
    console = start_console()
    async with support.logged_in(console, people["operator"]) as (client, _):
        found = (await client.get("/api/v1/sla/policies")).json()
    by_milestone = {p["milestone"]: p for p in found["policies"]}
    assert list(by_milestone) == [
        "referral_claimed", "assessment_decided", "unit_on_scene", "handover_sent",
        "handover_accepted", "unit_check_in"]  # fmt: skip
    assert by_milestone["referral_claimed"]["targets"]["rosso"] == {
        "seconds": 300, "working_days": None}  # fmt: skip
    accepted = by_milestone["handover_accepted"]
    assert accepted["calendar"] == "working_days"
    assert accepted["targets"]["verde"]["working_days"] == 1
    assert found["triggers"]["referral_received"] == "segnalazione ricevuta"


async def test_an_admin_shortens_a_target_and_the_next_referral_breaches_by_itself(
    start_console, people
):
    console = start_console()
    async with (
        support.logged_in(console, people["admin"]) as (admin, admin_csrf),
        support.logged_in(console, people["operator"]) as (room, _),
    ):
        saved = await admin.put(
            "/api/v1/sla/policies/referral_claimed",
            json=SHORT_CLAIM,
            headers={"X-CSRF-Token": admin_csrf},
        )
        assert saved.status_code == 200, saved.text
        async with console.client() as referrer:
            sent = await referrer.post(
                "/api/v1/referrals",
                json=EXAMPLE,
                headers={
                    "Authorization": f"Bearer {people['referrer'].secret}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )
        assert sent.status_code == 201, sent.text
        referral_id = sent.json()["id"]

        async def claim_clock() -> dict[str, Any]:
            listed = await room.get("/api/v1/clocks", params={"referral_id": referral_id})
            (clock,) = [c for c in listed.json()["clocks"] if c["milestone"] == "referral_claimed"]
            return clock

        clock = await claim_clock()
        assert clock["budget_seconds"] == 2
        for _ in range(100):  # bounded: 10 s at most for a 2-second target
            if clock["state"] == "breached":
                break
            await asyncio.sleep(0.1)
            clock = await claim_clock()
        assert clock["state"] == "breached" and clock["breached_at"] is not None
        assert clock["warned"] == 2


async def test_a_bad_policy_is_refused_with_every_problem_by_field(start_console, people):
    console = start_console()
    bad = {
        **SHORT_CLAIM,
        "warnings": [0.5, 1.5],
        "targets": {"rosso": {"seconds": 60}, "giallo": {"working_days": 1}},
        "starts_on": ["teleported"],
        "closes": "08:00",
    }
    async with support.logged_in(console, people["admin"]) as (admin, csrf):
        refused = await admin.put(
            "/api/v1/sla/policies/referral_claimed", json=bad, headers={"X-CSRF-Token": csrf}
        )
        unknown = await admin.put(
            "/api/v1/sla/policies/coffee_break", json=SHORT_CLAIM, headers={"X-CSRF-Token": csrf}
        )
        both = await admin.put(
            "/api/v1/sla/policies/referral_claimed",
            json={**SHORT_CLAIM, "targets": {u: {"seconds": 5, "working_days": 1}
                                             for u in ("rosso", "giallo", "verde")}},
            headers={"X-CSRF-Token": csrf},
        )  # fmt: skip
        still = (await admin.get("/api/v1/sla/policies")).json()["policies"][0]
    assert refused.status_code == 422
    assert set(problems(refused)) == {
        "warnings",
        "closes",
        "targets.verde",
        "starts_on",
        "calendar",
    }
    assert "teleported" in problems(refused)["starts_on"]
    assert unknown.status_code == 404
    assert both.status_code == 422
    assert still["targets"]["rosso"]["seconds"] == 300  # nothing was saved


async def test_only_an_admin_edits_policies_and_opens_their_page(start_console, people):
    console = start_console()
    async with support.logged_in(console, people["supervisor"]) as (client, csrf):
        put = await client.put(
            "/api/v1/sla/policies/referral_claimed",
            json=SHORT_CLAIM,
            headers={"X-CSRF-Token": csrf},
        )
        page = await client.get("/tempi")
    assert put.status_code == 403 and page.status_code == 403
    async with support.logged_in(console, people["admin"]) as (client, _):
        page = await client.get("/tempi")
    assert page.status_code == 200
    assert "Tempi di servizio" in page.text and "Presa visione" in page.text


# -- versions and restore ---------------------------------------------------------------------

CLAIMED = "/api/v1/sla/policies/referral_claimed"


def claim_policy(rosso_seconds: int, warnings: list[Any]) -> dict[str, Any]:
    return {
        **SHORT_CLAIM,
        "warnings": warnings,
        "targets": {"rosso": {"seconds": rosso_seconds}, "giallo": {"seconds": 300},
                    "verde": {"seconds": 300}},
    }  # fmt: skip


async def policy_events(database_url: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT actor, audience, payload FROM events WHERE type = 'sla.policy_changed'"
            " ORDER BY seq"
        )
    finally:
        await conn.close()
    return [
        {"actor": r["actor"], "audience": r["audience"], **json.loads(r["payload"])} for r in rows
    ]


async def test_every_policy_change_is_a_version_with_who_when_before_and_after(
    start_console, people
):
    console = start_console()
    admin = people["admin"]
    async with support.logged_in(console, admin) as (client, csrf):
        first = await client.put(
            CLAIMED, json=claim_policy(9000, ["0,5", "80 %"]), headers={"X-CSRF-Token": csrf}
        )
        second = await client.put(
            CLAIMED, json=claim_policy(600, [0.5, 0.8]), headers={"X-CSRF-Token": csrf}
        )
        listed = await client.get(f"{CLAIMED}/versions")
    assert first.status_code == 200, first.text
    assert first.json()["warnings"] == [0.5, 0.8]  # as typed on the page, stored as fractions
    assert second.status_code == 200, second.text
    assert listed.status_code == 200, listed.text
    versions = listed.json()["versions"]
    # newest first: the second change, the first, and the values in force before either
    assert [v["after"]["targets"]["rosso"]["seconds"] for v in versions] == [600, 9000, 300]
    newest, older, found = versions
    assert newest["before"]["targets"]["rosso"]["seconds"] == 9000
    assert older["before"]["targets"]["rosso"]["seconds"] == 300
    assert found["before"] is None and found["changed_by"] is None
    for version in (newest, older):
        assert version["changed_by"] == admin.user_id
        assert version["changed_by_name"] == "Admin Test"
        when = datetime.fromisoformat(version["changed_at"])
        assert abs(datetime.now(UTC) - when) < timedelta(minutes=5)
        assert version["restored_from"] is None
    assert newest["changes"] == ["Obiettivo rosso: da 2 h 30 min a 10 min."]
    assert older["changes"] == [
        "Obiettivo rosso: da 5 min a 2 h 30 min.",
        "Tolto: «L'orologio è annullato quando il segnalante ritira la segnalazione».",
    ]  # the default also cancels the clock on a withdrawal; SHORT_CLAIM does not


async def test_restoring_a_version_brings_its_policy_back_as_a_new_version_and_a_change(
    start_console, people, database_url
):
    console = start_console()
    async with support.logged_in(console, people["admin"]) as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        await client.put(CLAIMED, json=claim_policy(9000, [0.25]), headers=headers)
        await client.put(CLAIMED, json=claim_policy(600, [0.5, 0.8]), headers=headers)
        versions = (await client.get(f"{CLAIMED}/versions")).json()["versions"]
        wanted = versions[1]  # the first change: 2 h 30 min, one warning at 25 %
        restored = await client.post(
            f"{CLAIMED}/restore", json={"version_id": wanted["id"]}, headers=headers
        )
        policy = (await client.get("/api/v1/sla/policies")).json()["policies"][0]
        after = (await client.get(f"{CLAIMED}/versions")).json()["versions"]
        elsewhere = await client.post(
            "/api/v1/sla/policies/assessment_decided/restore",
            json={"version_id": wanted["id"]},
            headers=headers,
        )
        unknown = await client.post(
            f"{CLAIMED}/restore", json={"version_id": 987654}, headers=headers
        )
    assert restored.status_code == 200, restored.text
    assert restored.json()["targets"]["rosso"]["seconds"] == 9000
    assert policy["milestone"] == "referral_claimed"
    assert policy["targets"]["rosso"]["seconds"] == 9000 and policy["warnings"] == [0.25]
    assert len(after) == len(versions) + 1
    assert after[0]["restored_from"] == wanted["id"]
    assert after[0]["before"]["targets"]["rosso"]["seconds"] == 600
    assert after[0]["after"] == wanted["after"]
    assert "Avvisi: da 50 % e 80 % a 25 %." in after[0]["changes"]
    assert elsewhere.status_code == 404 and unknown.status_code == 404
    events = await policy_events(database_url)
    assert len(events) == 3  # two edits and the restore: the same kind of event
    assert events[-1]["restored_from"] == wanted["id"]
    assert events[-1]["version_id"] == after[0]["id"]
    assert events[-1]["targets"]["rosso"]["seconds"] == 9000
    assert events[-1]["actor"] == f"user:{people['admin'].user_id}"
    assert "audit" in events[-1]["audience"]


async def test_a_restored_policy_is_what_the_next_clock_follows(start_console, people):
    console = start_console()
    async with (
        support.logged_in(console, people["admin"]) as (admin, csrf),
        support.logged_in(console, people["operator"]) as (room, _),
    ):
        headers = {"X-CSRF-Token": csrf}
        await admin.put(CLAIMED, json=claim_policy(7777, [0.5]), headers=headers)
        await admin.put(CLAIMED, json=claim_policy(600, [0.5]), headers=headers)
        versions = (await admin.get(f"{CLAIMED}/versions")).json()["versions"]
        restored = await admin.post(
            f"{CLAIMED}/restore", json={"version_id": versions[1]["id"]}, headers=headers
        )
        assert restored.status_code == 200, restored.text
        async with console.client() as referrer:
            sent = await referrer.post(
                "/api/v1/referrals",
                json={**EXAMPLE, "urgency": "rosso"},
                headers={
                    "Authorization": f"Bearer {people['referrer'].secret}",
                    "Idempotency-Key": str(uuid.uuid4()),
                },
            )
        assert sent.status_code == 201, sent.text
        listed = await room.get("/api/v1/clocks", params={"referral_id": sent.json()["id"]})
    (clock,) = [c for c in listed.json()["clocks"] if c["milestone"] == "referral_claimed"]
    assert clock["budget_seconds"] == 7777


async def test_only_an_admin_reads_the_versions_and_restores_one(
    start_console, people, database_url
):
    console = start_console()
    async with support.logged_in(console, people["admin"]) as (client, csrf):
        await client.put(CLAIMED, json=claim_policy(9000, [0.5]), headers={"X-CSRF-Token": csrf})
        versions = (await client.get(f"{CLAIMED}/versions")).json()["versions"]
    for role in ("supervisor", "operator"):
        async with support.logged_in(console, people[role]) as (client, csrf):
            listed = await client.get(f"{CLAIMED}/versions")
            restore = await client.post(
                f"{CLAIMED}/restore",
                json={"version_id": versions[-1]["id"]},
                headers={"X-CSRF-Token": csrf},
            )
        assert listed.status_code == 403 and restore.status_code == 403, role
    async with support.logged_in(console, people["admin"]) as (client, _):
        policy = (await client.get("/api/v1/sla/policies")).json()["policies"][0]
        assert len((await client.get(f"{CLAIMED}/versions")).json()["versions"]) == 2
    assert policy["targets"]["rosso"]["seconds"] == 9000  # nothing was restored
    assert len(await policy_events(database_url)) == 1


async def test_field_errors_stay_precise_and_say_in_italian_what_is_wrong(start_console, people):
    console = start_console()
    async with support.logged_in(console, people["admin"]) as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        typed = await client.put(
            CLAIMED, json=claim_policy(300, ["0,5", "mezzo", "150 %"]), headers=headers
        )
        typing = await client.put(
            CLAIMED,
            json={**claim_policy(300, [0.5]), "targets": {
                "rosso": {"seconds": 0}, "giallo": {"seconds": "un'ora"},
                "verde": {"seconds": 300}}},
            headers=headers,
        )  # fmt: skip
        listed = (await client.get(f"{CLAIMED}/versions")).json()["versions"]
    assert typed.status_code == 422
    assert problems(typed) == {
        "warnings.1": "Non è un numero: scrivere una frazione (0,5) o una percentuale (50%).",
        "warnings.2": "La soglia deve stare tra 0 e 1 esclusi (tra 0% e 100%): es. 0,5 o 50%.",
    }
    assert typing.status_code == 422
    found = {p["field"]: p["type"] for p in typing.json()["errors"]}
    assert found == {
        "targets.rosso.seconds": "greater_than_equal",
        "targets.giallo.seconds": "int_type",
    }
    assert listed == []  # nothing was saved, no version recorded
