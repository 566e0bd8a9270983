"""SLA policies over HTTP: the room reads them, an admin edits them, new clocks follow the edit
and a running console fires the edited clock by itself."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

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
