"""`--demo` on a real database: complete, idempotent, every credential it writes works, and its
history (a few weeks here, a year once) is the real actions' work at historical moments."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from console.app import database
from console.areas.accounts import reads as accounts_reads
from console.areas.indicators import reads as indicators_reads
from console.areas.search.reads import search
from console.areas.search.schemas import SearchQuery
from console.demo import history as demo_history
from console.demo import room as demo_room
from console.demo import seed as demo
from console.lib import auth, geo
from console.lib.db import Database, create_pool
from dispatch import access, demo_year
from dispatch import units as units_core
from dispatch.calendars import ROME
from dispatch.indicators import default_period
from dispatch.referrals import ReferrerKind

HISTORY_DAYS = 10  # the shared demo database's history: weeks, not a year (one test has a year)

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
    "handovers",
    "clocks",
    "escalations",
    "events",
)


async def counts(db: Database) -> dict[str, int]:
    return {t: await db.pool.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}


async def _seed(dsn: str, data_dir: Path, days: int) -> tuple[dict[str, Any], datetime]:
    """Seed as `run.py --demo` does (its pool of two); returns the credentials and a moment
    just before the seed began."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    started = datetime.now(UTC)
    try:
        path = await demo.seed(database(pool), data_dir, history_days=days, dsn=dsn)
    finally:
        await pool.close()
    credentials: dict[str, Any] = json.loads(path.read_text())
    return credentials, started


@pytest.fixture(scope="module")
def seeded_dsn(
    fresh_database: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, Any], datetime]]:
    """One demo database for the tests that only read it (argon2 and the history make seeding
    cost seconds)."""
    with fresh_database() as dsn:
        credentials, started = asyncio.run(
            _seed(dsn, tmp_path_factory.mktemp("demo"), HISTORY_DAYS)
        )
        yield dsn, credentials, started


@pytest.fixture
async def seeded(
    seeded_dsn: tuple[str, dict[str, Any], datetime],
) -> AsyncIterator[tuple[Database, dict[str, Any]]]:
    pool = await create_pool(seeded_dsn[0], min_size=1, max_size=4)
    try:
        yield database(pool), seeded_dsn[1]
    finally:
        await pool.close()


async def _room_referrals(db: Database) -> list[int]:
    rows = await db.pool.fetch("SELECT id FROM referrals WHERE referrer_reference LIKE 'DEMO-%'")
    return [r["id"] for r in rows]


async def test_seeding_twice_adds_nothing_and_keeps_the_credentials(db, tmp_path):
    path = await demo.seed(db, tmp_path, history_days=3)
    credentials = json.loads(path.read_text())
    first = await counts(db)
    assert await db.pool.fetchval(
        "SELECT count(*) FROM referrals WHERE referrer_reference LIKE 'STORIA-%'"
    )
    assert await demo.seed(db, tmp_path, history_days=3) == path
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
        " WHERE u.status = 'en_route' AND a.done_at IS NULL"
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
    everything = await db.pool.fetch(
        "SELECT seq, type, subject, zone, actor, at FROM events WHERE type <> 'demo.seeded'"
        " ORDER BY seq"
    )
    # The steps run in time order: the log reads in order in every zone (the history's lanes
    # play different zones side by side), and across zones within the lanes' pace.
    zone_of = {
        r["subject"]: r["zone"]
        for r in await db.pool.fetch(
            "SELECT 'referral:' || id AS subject, zone_id AS zone FROM referrals"
            " UNION ALL SELECT 'unit:' || id, zones[1] FROM units"
        )
    }
    last_in: dict[str | None, Any] = {}
    for e in everything:
        zone = e["zone"] or zone_of.get(e["subject"])  # (a referrer's, a unit's name none)
        before = last_in.get(zone)
        assert before is None or before["at"] <= e["at"], (dict(before), dict(e))
        last_in[zone] = e
    latest = everything[0]["at"]
    for e in everything:
        assert e["at"] >= latest - demo_history.PACE, e
        latest = max(latest, e["at"])
    first = await db.pool.fetchval(
        "SELECT min(received_at) FROM referrals WHERE referrer_reference LIKE 'DEMO-%'"
    )
    log = [e for e in everything if e["at"] >= first]  # the room's hours: no history steps
    oldest = max(int(s["minutes_ago"]) for s in demo_room.specs())
    assert log[-1]["at"] - log[0]["at"] >= timedelta(minutes=oldest - 10)
    referrals = await db.pool.fetch("SELECT id, referrer_id, received_at FROM referrals")
    received = {e["subject"]: e for e in everything if e["type"] == "referral.received"}
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
        " WHERE r.referrer_reference LIKE 'DEMO-%' ORDER BY r.received_at"
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
    room = await _room_referrals(db)
    clocks = await db.pool.fetch(
        "SELECT k.milestone, k.state, k.started_at, k.ended_at, k.budget, k.breached_at,"
        " r.status, r.received_at, r.claimed_at FROM clocks k"
        " JOIN referrals r ON r.id = k.referral_id WHERE k.kind = 'referral' AND r.id = ANY($1)",
        room,
    )
    assert len(clocks) == 2 * len(room)  # claimed and decided, per referral
    seeded_at = await db.pool.fetchval("SELECT max(at) FROM events WHERE type <> 'demo.seeded'")
    for clock in clocks:
        assert clock["started_at"] == clock["received_at"]
        waiting = clock["status"] == "received" or (
            clock["status"] == "in_assessment" and clock["milestone"] == "assessment_decided"
        )
        if not waiting:
            assert clock["state"] in ("met", "breached") and clock["ended_at"] is not None
        elif clock["started_at"] + clock["budget"] <= seeded_at:  # late by the end of the seed
            assert clock["state"] == "breached", dict(clock)
            assert clock["breached_at"] == clock["started_at"] + clock["budget"]
        else:
            assert clock["state"] == "running", dict(clock)
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
        " AND referral_id = ANY($1)",
        room,
    )
    assert cases == await db.pool.fetchval(
        "SELECT count(*) FROM cases WHERE referral_id = ANY($1)", room
    )
    started = await db.pool.fetchval("SELECT count(*) FROM events WHERE type = 'clock.started'")
    assert started == await db.pool.fetchval("SELECT count(*) FROM clocks")


# ---- the history ------------------------------------------------------------------------------


async def test_the_history_is_weeks_of_referrals_in_the_active_zones_at_their_own_moments(
    seeded, seeded_dsn
):
    db, _ = seeded
    started = seeded_dsn[2]
    rows = await db.pool.fetch(
        "SELECT r.zone_id, r.received_at, f.kind FROM referrals r"
        " JOIN referrers f ON f.id = r.referrer_id WHERE r.referrer_reference LIKE 'STORIA-%'"
    )
    assert len(rows) >= HISTORY_DAYS * 2000 / 365 * 0.8
    assert {r["zone_id"] for r in rows} <= set(demo_year.ACTIVE_ZONES)
    moments = [r["received_at"] for r in rows]
    assert started - timedelta(days=HISTORY_DAYS, minutes=5) <= min(moments)
    assert max(moments) < started - demo_year.QUIET + timedelta(minutes=5)
    assert max(moments) - min(moments) > timedelta(days=HISTORY_DAYS - 3)
    oldest = await db.pool.fetchval("SELECT min(at) FROM events WHERE type = 'referral.received'")
    assert oldest == min(moments), "events carry the moment they happened, not the seed's"
    names = {r["display_name"] for r in await db.pool.fetch(
        "SELECT DISTINCT u.display_name FROM referrals r JOIN users u ON u.id = r.holder_id"
        " WHERE r.referrer_reference LIKE 'STORIA-%'"
    )}  # fmt: skip
    assert len(names) >= 3, "operators on shift, with names"
    acks = await db.pool.fetch(
        "SELECT DISTINCT u.role FROM escalations e JOIN users u ON u.id = e.acknowledged_by"
    )
    assert [r["role"] for r in acks] == ["supervisor"]


async def test_the_indicators_show_real_medians_and_some_breaches(seeded):
    db, _ = seeded
    found = await indicators_reads.read(db.pool, default_period(datetime.now(UTC)))
    assert found.referrals.total >= 20
    kinds = {r.key: r.count for r in found.referrals.by_referrer_kind.rows}
    assert sum(kinds.values()) == found.referrals.total
    medians = {m.milestone: m for m in found.time_to_milestone}
    for milestone in ("referral_claimed", "assessment_decided", "unit_on_scene",
                      "handover_sent", "handover_accepted", "unit_check_in"):  # fmt: skip
        assert medians[milestone].count > 0, milestone
        assert medians[milestone].median_s and medians[milestone].median_s > 0, milestone
    assert 30 <= medians["referral_claimed"].median_s <= 5 * 60  # minutes
    assert 5 * 60 <= medians["assessment_decided"].median_s <= 60 * 60  # tens of minutes
    assert 10 * 60 <= medians["unit_on_scene"].median_s <= 2 * 3600  # within hours
    assert 3600 <= medians["handover_accepted"].median_s <= 4 * 86400  # a day or two
    assert sum(b.count for b in found.breaches) > 0


async def test_every_demo_territorial_service_has_handovers_waiting_with_their_clocks(seeded):
    db, credentials = seeded
    services = [u["username"] for u in credentials["users"] if u["role"] == "territorial_service"]
    assert services
    for username in services:
        zone = await db.pool.fetchval("SELECT zone_id FROM users WHERE username = $1", username)
        waiting = await db.pool.fetch(
            "SELECT h.sent_at, k.started_at, k.state FROM handovers h"
            " JOIN clocks k ON k.case_id = h.case_id AND k.milestone = 'handover_accepted'"
            " AND k.ended_at IS NULL WHERE h.zone_id = $1 AND h.status = 'sent'",
            zone,
        )
        assert waiting, username
        for h in waiting:
            assert h["started_at"] == h["sent_at"] and h["state"] in ("running", "breached")


async def test_open_work_has_clocks_started_at_its_real_moments_and_nothing_old_is_left_to_fire(
    seeded, seeded_dsn
):
    db, _ = seeded
    started = seeded_dsn[2]
    open_referrals = await db.pool.fetch(
        "SELECT r.received_at, k.started_at FROM referrals r JOIN clocks k ON k.referral_id = r.id"
        " WHERE r.status IN ('received', 'in_assessment') AND k.kind = 'referral'"
    )
    assert open_referrals
    assert all(r["started_at"] == r["received_at"] for r in open_referrals)
    # Every warning and breach of the history fired when it fell due: none waits for the first
    # start, and old escalations were acknowledged by a supervisor on shift.
    assert not await db.pool.fetchval(
        "SELECT count(*) FROM clocks WHERE state = 'running' AND due_at < $1", started
    )
    late = await db.pool.fetch(
        "SELECT e.due_at, e.raised_at, e.acknowledged_at, k.breached_at FROM escalations e"
        " JOIN clocks k ON k.id = e.clock_id"
    )
    assert late
    assert all(e["raised_at"] == e["due_at"] == e["breached_at"] for e in late)
    assert all(e["acknowledged_at"] for e in late if e["raised_at"] < started - timedelta(hours=1))


QUARTER = 91  # a year takes most of a minute (docs/operations.md): a quarter runs the same code


async def _figures(dsn: str, days: int) -> tuple[Any, int]:
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        found = await indicators_reads.read(pool, default_period(datetime.now(UTC), days=days))
        zones: int = await pool.fetchval("SELECT count(*) FROM zones")
    finally:
        await pool.close()
    return found, zones


async def _closed_last_month_found_with_a_typo(dsn: str) -> tuple[str, str, list[str]]:
    """A case of the history closed last month, a word of its description with one letter
    dropped, and the case numbers the room's search finds for that word in last month."""
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        today = datetime.now(ROME).date()
        last = today.replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
        row = await pool.fetchrow(
            "SELECT c.case_number, r.description FROM cases c JOIN referrals r"
            " ON r.id = c.referral_id WHERE c.status = 'closed' AND r.received_at >= $1"
            " AND r.received_at < $2 ORDER BY c.id LIMIT 1 OFFSET 7",
            datetime.combine(first, time(), ROME),
            datetime.combine(last + timedelta(days=1), time(), ROME),
        )
        word = max(re.findall(r"[a-zà-ù]+", row["description"].lower()), key=len)
        typo = word[:2] + word[3:]
        operator_id = await pool.fetchval("SELECT id FROM users WHERE username = 'operatore'")
        operator = access.Principal(access.Role.OPERATOR, "Operatore", user_id=operator_id)
        query = {"q": typo, "from": first.isoformat(), "to": last.isoformat(), "limit": 100}
        async with pool.acquire() as conn, conn.transaction():
            found = await search(conn, operator, SearchQuery.model_validate(query))
    finally:
        await pool.close()
    return row["case_number"], typo, [r.case_number for r in found.results]


def test_a_quarter_of_history_has_the_published_shape(fresh_database, tmp_path):
    """A quarter of the year, once: about 500 referrals, hospitals first, 18 of 28 zones; a
    case closed last month is found by a word of its description with a typo."""
    with fresh_database() as dsn:
        asyncio.run(_seed(dsn, tmp_path, QUARTER))
        found, zones = asyncio.run(_figures(dsn, QUARTER))
        number, typo, numbers = asyncio.run(_closed_last_month_found_with_a_typo(dsn))
    assert number in numbers, (typo, numbers)
    expected = demo_year.PER_YEAR * QUARTER / 365
    assert 0.9 * expected <= found.referrals.total <= 1.1 * expected
    kinds = found.referrals.by_referrer_kind.rows
    assert kinds[0].key == "hospital" and kinds[0].count > 1.2 * kinds[1].count
    assert abs(kinds[0].count / found.referrals.total - 804 / 2000) < 0.08  # 2024's share
    assert len(found.referrals.by_zone.rows) == 18 and zones == 28
    triggers = {r.key: r.count for r in found.referrals.by_trigger.rows}
    assert "family_conflict" in sorted(triggers, key=triggers.__getitem__)[-2:]  # 2021: first
    assert triggers["calamity"] < triggers["minors_at_risk"] < triggers["violence"]
    medians = {m.milestone: m.median_s for m in found.time_to_milestone}
    assert all(medians.values()), medians


def test_the_history_length_comes_from_the_call_else_the_environment_else_a_year(monkeypatch):
    monkeypatch.delenv(demo_history.HISTORY_ENV, raising=False)
    assert demo_history.days_asked() == 365
    monkeypatch.setenv(demo_history.HISTORY_ENV, "12")
    assert demo_history.days_asked() == 12
    assert demo_history.days_asked(5) == 5
    monkeypatch.setenv(demo_history.HISTORY_ENV, "0")
    assert demo_history.days_asked() == 0
    monkeypatch.setenv(demo_history.HISTORY_ENV, "un anno")
    with pytest.raises(ValueError, match="SEUS_DEMO_HISTORY"):
        demo_history.days_asked()


async def test_each_history_referral_comes_from_the_nearest_referrer_of_its_kind(seeded):
    db, _ = seeded
    towns = {r["istat_code"]: (r["lat"], r["lon"]) for r in await db.pool.fetch(
        "SELECT istat_code, lat, lon FROM municipalities"
    )}  # fmt: skip
    homes = {name: (kind.value, towns[home]) for name, kind, home in demo.REFERRERS}
    rows = await db.pool.fetch(
        "SELECT f.name, r.municipality_code FROM referrals r"
        " JOIN referrers f ON f.id = r.referrer_id WHERE r.referrer_reference LIKE 'STORIA-%'"
    )
    assert rows
    for row in rows:
        kind, (lat, lon) = homes[row["name"]]
        here = towns[row["municipality_code"]]
        nearest = min(units_core.distance_km(*here, *at) for k, at in homes.values() if k == kind)
        assert units_core.distance_km(*here, lat, lon) == nearest, dict(row)
    used = {r["name"] for r in rows}
    assert len(used) >= 8, "referrers from across the region"


async def test_demo_referrals_are_spread_on_the_map_each_inside_its_own_municipality(seeded):
    """A map of the demo shows referrals where they are, not one pin per town centre."""
    db, _ = seeded
    rows = await db.pool.fetch(
        "SELECT municipality_code, lat, lon FROM referrals WHERE lat IS NOT NULL"
    )
    assert len(rows) > 30
    locator = geo.locator()
    outside = [
        r for r in rows if locator.municipality(r["lat"], r["lon"]) != r["municipality_code"]
    ]
    assert outside == []
    points = {(r["lat"], r["lon"]) for r in rows}
    assert len(points) > len(rows) * 0.9, "a point of their own, not their town's centre"
