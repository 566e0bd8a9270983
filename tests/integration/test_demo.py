"""`--demo` on a real database: complete, idempotent, and every credential it writes works."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from console.app import database
from console.areas.accounts import reads as accounts_reads
from console.demo import room as demo_room
from console.demo import seed as demo
from console.lib import auth
from console.lib.db import Database, create_pool
from dispatch import access
from dispatch.referrals import ReferrerKind

TABLES = (
    "users",
    "referrers",
    "api_keys",
    "device_tokens",
    "units",
    "resources",
    "referrals",
    "cases",
    "assignments",
    "bookings",
    "events",
)


async def counts(db: Database) -> dict[str, int]:
    return {t: await db.pool.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def _seed(dsn: str, data_dir: Path) -> dict[str, Any]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        path = await demo.seed(database(pool), data_dir)
    finally:
        await pool.close()
    credentials: dict[str, Any] = json.loads(path.read_text())
    return credentials


@pytest.fixture(scope="module")
def seeded_dsn(
    fresh_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any]]]:
    """One demo database for the tests that only read it (argon2 makes seeding cost ~1 s)."""
    with fresh_database() as dsn:
        yield dsn, asyncio.run(_seed(dsn, tmp_path_factory.mktemp("demo")))


@pytest.fixture
async def seeded(
    seeded_dsn: tuple[str, dict[str, Any]],
) -> AsyncIterator[tuple[Database, dict[str, Any]]]:
    pool = await create_pool(seeded_dsn[0], min_size=1, max_size=4)
    try:
        yield database(pool), seeded_dsn[1]
    finally:
        await pool.close()


async def test_seeding_twice_adds_nothing_and_keeps_the_credentials(db, tmp_path):
    path = await demo.seed(db, tmp_path)
    credentials = json.loads(path.read_text())
    first = await counts(db)
    assert await demo.seed(db, tmp_path) == path
    assert await counts(db) == first
    assert json.loads(path.read_text()) == credentials
    assert path.stat().st_mode & 0o777 == 0o600


async def test_every_zone_has_a_demo_unit_and_a_basket(seeded):
    db, _ = seeded
    zones = [r["id"] for r in await db.pool.fetch("SELECT id FROM zones")]
    assert len(zones) == 28
    for zone in zones:
        units = await db.pool.fetch(
            "SELECT name, base_label, synthetic, skills, languages, zones FROM units"
            " WHERE zones[1] = $1",
            zone,
        )
        assert units, zone
        for unit in units:
            assert unit["synthetic"] and unit["name"].endswith("(demo)")
            assert "demo" in unit["base_label"] and unit["skills"] and "it" in unit["languages"]
        basket = await db.pool.fetch(
            "SELECT type, capacity, provider FROM resources WHERE zone_id = $1", zone
        )
        types = {r["type"] for r in basket}
        assert {"shelter_bed", "meals", "interpreter", "hotel_room"} <= types, zone
        assert all("(demo)" in r["provider"] for r in basket)
        [beds] = [r["capacity"] for r in basket if r["type"] == "shelter_bed"]
        assert 2 <= beds <= 20
    assert not await db.pool.fetchval("SELECT count(*) FROM units WHERE name LIKE '%Pistoia)%'")


async def test_referrers_of_every_kind_exist_each_with_a_key(seeded):
    db, credentials = seeded
    kinds = {r["kind"] for r in await db.pool.fetch("SELECT kind FROM referrers")}
    assert kinds == {k.value for k in ReferrerKind}
    names = {r["name"] for r in credentials["referrers"]}
    assert names == {r["name"] for r in await db.pool.fetch("SELECT name FROM referrers")}


async def test_the_credentials_file_has_the_design_shape_and_every_credential_works(seeded):
    db, credentials = seeded
    assert set(credentials) == {"users", "referrers", "units"}
    assert all(set(u) == {"username", "password", "role"} for u in credentials["users"])
    assert all(set(r) == {"name", "api_key"} for r in credentials["referrers"])
    assert all(set(u) == {"name", "token"} for u in credentials["units"])
    for referrer in credentials["referrers"]:
        principal = await auth.from_api_key(db.pool, referrer["api_key"])
        assert principal is not None and principal.name == referrer["name"]
        assert accounts_reads.me(principal).role == "referrer"
    for unit in credentials["units"]:
        principal = await auth.from_device_token(db.pool, unit["token"])
        assert principal is not None and accounts_reads.me(principal).role == "unit"
        assert principal.unit_id is not None and principal.name == unit["name"]
    zones = await db.pool.fetchval("SELECT count(DISTINCT zones[1]) FROM units")
    assert len(credentials["units"]) >= zones == 28
    one_per_role = {u["role"]: u for u in credentials["users"]}
    assert set(one_per_role) == {r.value for r in access.Role}
    for user in one_per_role.values():
        assert await auth.check_password(db.pool, user["username"], user["password"]), user
    territorial = [u for u in credentials["users"] if u["role"] == "territorial_service"]
    assert len(territorial) >= 3


async def test_the_demo_room_is_alive_with_referrals_in_different_states_and_their_events(
    seeded,
):
    db, _ = seeded
    statuses = {r["status"] for r in await db.pool.fetch("SELECT status FROM referrals")}
    assert {"received", "in_assessment", "activated", "not_pertinent", "redirected"} <= statuses
    assert await db.pool.fetchval(
        "SELECT count(*) FROM referrals WHERE status = 'not_pertinent' AND decision_reason <> ''"
    )
    en_route = await db.pool.fetchrow(
        "SELECT c.status, u.status AS unit_status FROM cases c"
        " JOIN assignments a ON a.case_id = c.id JOIN units u ON u.id = a.unit_id"
        " WHERE u.status = 'en_route'"
    )
    assert en_route["status"] == "unit_dispatched"
    in_place = await db.pool.fetchrow(
        "SELECT c.status, b.status AS booking FROM cases c JOIN bookings b ON b.case_id = c.id"
    )
    assert dict(in_place) == {"status": "resources_in_place", "booking": "confirmed"}

    referrals = await db.pool.fetchval("SELECT count(*) FROM referrals")
    received = await db.pool.fetch(
        "SELECT audience, payload FROM events WHERE type = 'referral.received'"
    )
    assert len(received) == referrals
    assert all(e["audience"] == [access.ROOM] for e in received)
    progressed = await db.pool.fetch(
        "SELECT audience FROM events WHERE type = 'referral.progressed'"
    )
    assert progressed and all(
        len(e["audience"]) == 1 and e["audience"][0].startswith("referrer:") for e in progressed
    )
    types = {r["type"] for r in await db.pool.fetch("SELECT DISTINCT type FROM events")}
    assert {
        "referral.claimed",
        "referral.decided",
        "case.opened",
        "unit.assigned",
        "case.unit_dispatched",
        "booking.confirmed",
        "case.status_changed",
    } <= types


async def test_the_demo_room_is_written_by_the_actions_with_real_actors_over_the_past_hours(
    seeded,
):
    db, _ = seeded
    log = await db.pool.fetch(
        "SELECT seq, type, subject, actor, at FROM events WHERE type <> 'demo.seeded' ORDER BY seq"
    )
    moments = [e["at"] for e in log]
    assert moments == sorted(moments), "the steps run in time order: the log reads in order"
    oldest = max(int(s["minutes_ago"]) for s in demo_room.specs())
    assert moments[-1] - moments[0] >= timedelta(minutes=oldest - 10)
    referrals = await db.pool.fetch("SELECT id, referrer_id, received_at FROM referrals")
    received = {e["subject"]: e for e in log if e["type"] == "referral.received"}
    for r in referrals:
        event = received[f"referral:{r['id']}"]
        assert event["actor"] == f"referrer:{r['referrer_id']}"
        assert event["at"] == r["received_at"]
    operator = await db.pool.fetchval("SELECT id FROM users WHERE username = 'operatrice'")
    room_steps = {"referral.claimed", "referral.decided", "case.opened", "unit.assigned"}
    room_steps |= {"case.unit_dispatched", "booking.held", "booking.confirmed"}
    assert {e["actor"] for e in log if e["type"] in room_steps} == {f"user:{operator}"}
    crews = {
        f"user:{r['id']}"
        for r in await db.pool.fetch(
            "SELECT u.id FROM users u JOIN assignments a ON a.unit_id = u.unit_id"
        )
    }
    by_crew = [e["type"] for e in log if e["actor"] in crews]
    # acknowledged and en route twice, on scene once, two safety check-ins
    assert sorted(by_crew) == sorted(
        ["unit.status_changed"] * 5 + ["case.unit_on_scene"] + ["unit.checked_in"] * 2
    )


async def test_the_demo_cases_units_and_bookings_carry_the_moments_of_their_steps(seeded):
    db, _ = seeded
    rows = await db.pool.fetch(
        "SELECT r.received_at, c.opened_at, a.dispatched_at, a.acknowledged_at, a.en_route_at,"
        " a.on_scene_at, a.last_check_in_at, u.status AS unit_status, u.status_since"
        " FROM referrals r JOIN cases c ON c.referral_id = r.id"
        " JOIN assignments a ON a.case_id = c.id JOIN units u ON u.id = a.unit_id"
        " ORDER BY r.received_at"
    )
    assert len(rows) == 2
    for row in rows:
        steps = [row["received_at"], row["opened_at"], row["dispatched_at"]]
        steps += [row["acknowledged_at"], row["en_route_at"]]
        assert steps == sorted(steps) and len(set(steps)) == len(steps)
    on_scene, en_route = rows
    assert en_route["unit_status"] == "en_route" and on_scene["unit_status"] == "on_scene"
    assert en_route["status_since"] == en_route["en_route_at"]
    assert on_scene["status_since"] == on_scene["on_scene_at"] < on_scene["last_check_in_at"]
    booking = await db.pool.fetchrow("SELECT created_at, updated_at FROM bookings")
    assert on_scene["on_scene_at"] < booking["created_at"] < booking["updated_at"]


async def test_the_demo_clocks_are_the_ones_the_actions_started_and_stopped(seeded):
    db, _ = seeded
    clocks = await db.pool.fetch(
        "SELECT k.milestone, k.state, k.started_at, k.ended_at, r.status, r.received_at,"
        " r.claimed_at FROM clocks k JOIN referrals r ON r.id = k.referral_id"
        " WHERE k.kind = 'referral'"
    )
    referrals = await db.pool.fetchval("SELECT count(*) FROM referrals")
    assert len(clocks) == 2 * referrals  # claimed and decided, per referral
    for clock in clocks:
        assert clock["started_at"] == clock["received_at"]
        waiting = clock["status"] == "received" or (
            clock["status"] == "in_assessment" and clock["milestone"] == "assessment_decided"
        )
        assert clock["state"] == ("running" if waiting else "met"), dict(clock)
        if clock["milestone"] == "referral_claimed" and not waiting:
            assert clock["ended_at"] == clock["claimed_at"]
    open_ = await db.pool.fetch(
        "SELECT k.milestone, k.started_at, a.dispatched_at, a.last_check_in_at FROM clocks k"
        " JOIN assignments a ON a.id = k.assignment_id WHERE k.state = 'running'"
    )
    by_milestone = {c["milestone"]: c for c in open_}
    assert set(by_milestone) == {"unit_on_scene", "unit_check_in"}
    on_the_way, on_scene = by_milestone["unit_on_scene"], by_milestone["unit_check_in"]
    assert on_the_way["started_at"] == on_the_way["dispatched_at"]
    assert on_scene["started_at"] == on_scene["last_check_in_at"]  # the last check-in's
    cases = await db.pool.fetchval(
        "SELECT count(*) FROM clocks WHERE milestone = 'handover_sent' AND state = 'running'"
    )
    assert cases == await db.pool.fetchval("SELECT count(*) FROM cases")
    started = await db.pool.fetchval("SELECT count(*) FROM events WHERE type = 'clock.started'")
    assert started == await db.pool.fetchval("SELECT count(*) FROM clocks")
