"""The audit trail: no change without its events, no file read without its record, and neither
record can be rewritten.

The console runs as a real process on this test's database, under the same role the tests
connect with (the tables' owner: the strongest role the application could have). A test-only
trigger makes the audit tables refuse inserts on demand, as a full disk or a broken audit
would; each action of the flow must then change nothing at all.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from console.lib.db import Database
from dispatch.events import room_message_posted
from tests import support
from tests.fleet_support import operator as operator_principal

FIRENZE = "048017"
DESCRIPTION = "Donna con due figli, riservato: via delle Ortensie 4."
REFERRAL = {
    "trigger": "violence",
    "urgency": "rosso",
    "place": {"municipality": FIRENZE, "address": "Via Roma 1"},
    "people": {"count": 3, "minors": 2, "age_band": "30_64", "sex": "f"},
    "description": DESCRIPTION,
    "callback": {"name": "Agente di turno", "phone": "112"},
}

FAULT_SQL = """
CREATE TABLE test_audit_fault (audit_table text PRIMARY KEY, armed boolean NOT NULL);
INSERT INTO test_audit_fault VALUES ('events', false), ('file_openings', false);
CREATE FUNCTION test_audit_fault() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT armed FROM test_audit_fault WHERE audit_table = TG_TABLE_NAME) THEN
        RAISE EXCEPTION 'audit table % unavailable (test fault)', TG_TABLE_NAME;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER test_audit_fault BEFORE INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION test_audit_fault();
CREATE TRIGGER test_audit_fault BEFORE INSERT ON file_openings
    FOR EACH ROW EXECUTE FUNCTION test_audit_fault();
"""

# Rows that change without being the application's data: the login sessions' last-seen time,
# the reads' own record, the schema's bookkeeping, the fault switch itself.
NOT_DATA = {"sessions", "file_openings", "schema_migrations", "test_audit_fault"}


async def snapshot(conn: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """Every data table's row count and a digest of all its rows."""
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    found = {}
    for (name,) in tables:
        if name in NOT_DATA:
            continue
        found[name] = tuple(
            await conn.fetchrow(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), ''))"
                f' FROM "{name}" t'
            )
        )
    return found


@asynccontextmanager
async def audit_down(conn: asyncpg.Connection, table: str) -> AsyncIterator[None]:
    await conn.execute("UPDATE test_audit_fault SET armed = true WHERE audit_table = $1", table)
    try:
        yield
    finally:
        await conn.execute(
            "UPDATE test_audit_fault SET armed = false WHERE audit_table = $1", table
        )


def bearer(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


# -- the tables cannot be rewritten --------------------------------------------------------------


async def test_the_event_log_and_the_file_openings_refuse_update_delete_and_truncate(
    db: Database, people
):
    """Connected as the application connects (here the tables' owner), nothing can rewrite
    the audit: every UPDATE, DELETE and TRUNCATE is refused and the rows stay as written."""
    async with db.action() as tx:
        tx.emit(
            room_message_posted(1, "Messaggio di prova", operator_principal(people["operator"]))
        )
    async with db.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO file_openings (at, subject, subject_id, role, actor, actor_name)"
            " VALUES (now(), 'case', 1, 'operator', 'user:1', 'Operator Test')"
        )
        before = await snapshot(conn), await conn.fetch("SELECT * FROM file_openings")
        for statement in (
            "UPDATE events SET payload = '{}'",
            "UPDATE events SET actor = 'user:999' WHERE seq = 1",
            "DELETE FROM events",
            "DELETE FROM events WHERE seq = 1",
            "TRUNCATE events",
            "UPDATE file_openings SET actor = 'user:999'",
            "DELETE FROM file_openings",
            "TRUNCATE file_openings",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        after = await snapshot(conn), await conn.fetch("SELECT * FROM file_openings")
    assert after == before
    assert before[0]["events"][0] == 1


# -- no change without its events ---------------------------------------------------------------


async def _place_unit_and_resource(database_url: str, people) -> tuple[int, int]:
    conn = await asyncpg.connect(database_url)
    try:
        unit_id = await conn.fetchval(
            "SELECT unit_id FROM users WHERE id = $1", people["unit"].user_id
        )
        await conn.execute(
            "UPDATE units SET status = 'available', zones = '{firenze}', base_lat = 43.78,"
            " base_lon = 11.24, base_label = 'Misericordia di Firenze (demo)' WHERE id = $1",
            unit_id,
        )
        resource_id = await conn.fetchval(
            "INSERT INTO resources (zone_id, type, name, provider, capacity)"
            " VALUES ('firenze', 'shelter_bed', 'Albergo popolare', 'Comune di Firenze', 5)"
            " RETURNING id"
        )
        await conn.execute(FAULT_SQL)
        return unit_id, resource_id
    finally:
        await conn.close()


async def test_no_action_of_the_flow_changes_anything_unless_its_events_are_written_with_it(
    start_console, people, database_url
):
    """With the event log refusing writes, each action from intake to accepted handover fails
    and leaves every table exactly as it was; once the log is back, the same call (the same
    idempotency key where it has one) succeeds and its events are in the log."""
    unit_id, resource_id = await _place_unit_and_resource(database_url, people)
    console = start_console()
    ids: dict[str, Any] = {}
    async with (
        support.logged_in(console, people["operator"]) as (room, room_csrf),
        support.logged_in(console, people["supervisor"]) as (sup, sup_csrf),
        support.logged_in(console, people["territorial"]) as (sst, sst_csrf),
        console.client() as outside,
    ):
        in_room = {"X-CSRF-Token": room_csrf}
        intake_key, tablet_key = uuid.uuid4().hex, uuid.uuid4().hex

        steps: list[tuple[str, Callable[[], Awaitable[httpx.Response]], str]] = [
            (
                "intake",
                lambda: outside.post(
                    "/api/v1/referrals",
                    headers=bearer(people["referrer"].secret, **{"Idempotency-Key": intake_key}),
                    json=REFERRAL,
                ),
                "referral.received",
            ),
            (
                "claim",
                lambda: room.post(f"/api/v1/referrals/{ids['referral']}/claim", headers=in_room),
                "referral.claimed",
            ),
            (
                "decision",
                lambda: room.post(
                    f"/api/v1/referrals/{ids['referral']}/decision",
                    headers=in_room,
                    json={
                        "decision": "activate",
                        "assessment": {
                            "urgency": "rosso",
                            "risk_factors": ["violence_ongoing"],
                            "needs": ["shelter_bed"],
                            "notes": "Valutazione.",
                        },
                    },
                ),
                "case.opened",
            ),
            (
                "dispatch",
                lambda: room.post(
                    f"/api/v1/cases/{ids['case']}/dispatch",
                    headers=in_room,
                    json={"unit_id": unit_id},
                ),
                "case.unit_dispatched",
            ),
            *(
                (
                    f"tablet {status}",
                    lambda status=status: outside.post(
                        "/api/v1/tablet/status",
                        headers=bearer(
                            people["unit"].secret, **{"Idempotency-Key": f"{tablet_key}-{status}"}
                        ),
                        json={"status": status, "assignment_id": ids["assignment"]},
                    ),
                    "unit.status_changed",
                )
                for status in ("acknowledged", "en_route", "on_scene")
            ),
            (
                "note",
                lambda: room.post(
                    f"/api/v1/cases/{ids['case']}/notes",
                    headers=in_room,
                    json={"body": "Richiamare il PS."},
                ),
                "case.note_added",
            ),
            (
                "urgency",
                lambda: room.post(
                    f"/api/v1/cases/{ids['case']}/urgency",
                    headers=in_room,
                    json={"urgency": "giallo", "reason": "Situazione stabilizzata."},
                ),
                "case.urgency_changed",
            ),
            (
                "booking",
                lambda: room.post(
                    f"/api/v1/cases/{ids['case']}/bookings",
                    headers=in_room,
                    json={"resource_id": resource_id, "quantity": 1},
                ),
                "booking.held",
            ),
            (
                "room message",
                lambda: room.post("/api/v1/room/messages", headers=in_room, json={"body": "Ok"}),
                "room.message_posted",
            ),
            (
                "shift note",
                lambda: sup.post(
                    "/api/v1/shift-notes",
                    headers={"X-CSRF-Token": sup_csrf},
                    json={"body": "Turno di notte: attenzione al caso."},
                ),
                "shift_note.written",
            ),
            (
                "handover",
                lambda: room.post(f"/api/v1/cases/{ids['case']}/handover", headers=in_room),
                "case.handover_sent",
            ),
            (
                "accept",
                lambda: sst.post(
                    f"/api/v1/handovers/{ids['handover']}/accept",
                    headers={"X-CSRF-Token": sst_csrf},
                ),
                "handover.accepted",
            ),
        ]
        conn = await asyncpg.connect(database_url)
        try:
            for name, call, event_type in steps:
                before = await snapshot(conn)
                async with audit_down(conn, "events"):
                    refused = await call()
                    assert refused.status_code == 500, f"{name}: {refused.text}"
                    assert refused.json()["error"] == "internal_error"
                    assert await snapshot(conn) == before, f"{name} changed data without events"
                head = await conn.fetchval("SELECT seq FROM event_head")
                done = await call()
                assert done.status_code in (200, 201), f"{name}: {done.text}"
                written = await conn.fetch("SELECT type FROM events WHERE seq > $1", head)
                assert event_type in [r["type"] for r in written], (name, written)
                assert await snapshot(conn) != before, f"{name} changed nothing"
                body = done.json()
                if name == "intake":
                    ids["referral"] = body["id"]
                elif name == "decision":
                    ids["case"] = body["case_id"]
                elif name == "dispatch":
                    ids["assignment"] = body["assignment_id"]
                elif name == "handover":
                    ids["handover"] = body["id"]
            # the retried intake and tablet keys made one referral and one status change
            assert await conn.fetchval("SELECT count(*) FROM referrals") == 1
            assert (
                await conn.fetchval(
                    "SELECT count(*) FROM events WHERE type = 'unit.status_changed'"
                    " AND payload->>'status' = 'acknowledged'"
                )
                == 1
            )
        finally:
            await conn.close()


# -- no file read without its record ------------------------------------------------------------


async def test_every_opening_of_a_persons_file_is_recorded_and_no_record_means_no_file(
    start_console, people, database_url
):
    unit_id, _ = await _place_unit_and_resource(database_url, people)
    console = start_console()
    async with (
        support.logged_in(console, people["operator"]) as (room, room_csrf),
        support.logged_in(console, people["admin"]) as (admin, _),
        support.logged_in(console, people["territorial"]) as (sst, _),
        console.client() as outside,
    ):
        in_room = {"X-CSRF-Token": room_csrf}
        sent = await outside.post(
            "/api/v1/referrals",
            headers=bearer(people["referrer"].secret, **{"Idempotency-Key": uuid.uuid4().hex}),
            json=REFERRAL,
        )
        assert sent.status_code == 201, sent.text
        referral_id = sent.json()["id"]
        await room.post(f"/api/v1/referrals/{referral_id}/claim", headers=in_room)
        decided = await room.post(
            f"/api/v1/referrals/{referral_id}/decision",
            headers=in_room,
            json={
                "decision": "activate",
                "assessment": {"urgency": "rosso", "risk_factors": [], "needs": []},
            },
        )
        assert decided.status_code == 200, decided.text
        case_id = decided.json()["case_id"]
        dispatched = await room.post(
            f"/api/v1/cases/{case_id}/dispatch", headers=in_room, json={"unit_id": unit_id}
        )
        assignment_id = dispatched.json()["assignment_id"]
        for status in ("acknowledged", "en_route", "on_scene"):
            moved = await outside.post(
                "/api/v1/tablet/status",
                headers=bearer(people["unit"].secret, **{"Idempotency-Key": uuid.uuid4().hex}),
                json={"status": status, "assignment_id": assignment_id},
            )
            assert moved.status_code == 200, moved.text
        handover = await room.post(f"/api/v1/cases/{case_id}/handover", headers=in_room)
        assert handover.status_code == 201, handover.text
        handover_id = handover.json()["id"]

        async def openings() -> list[dict[str, Any]]:
            listed = await admin.get("/api/v1/audit/file-openings")
            assert listed.status_code == 200, listed.text
            return [
                {k: o[k] for k in ("subject", "subject_id", "role", "actor_name")}
                for o in reversed(listed.json()["openings"])
            ]

        assert await openings() == []
        reads = [
            (room, f"/api/v1/referrals/{referral_id}", ("referral", referral_id, "operator")),
            (room, "/api/v1/referrals", ("referral", referral_id, "operator")),
            (room, f"/api/v1/cases/{case_id}", ("case", case_id, "operator")),
            (room, f"/api/v1/cases/{case_id}/timeline", ("case", case_id, "operator")),
            (
                sst,
                f"/api/v1/handovers/{handover_id}",
                ("handover", handover_id, "territorial_service"),
            ),
            (sst, "/api/v1/handovers", ("handover", handover_id, "territorial_service")),
        ]
        expected = []
        for client, path, (subject, subject_id, role) in reads:
            answered = await client.get(path)
            assert answered.status_code == 200, (path, answered.text)
            expected.append(
                {
                    "subject": subject,
                    "subject_id": subject_id,
                    "role": role,
                    "actor_name": "Operator Test" if role == "operator" else "Territorial Test",
                }
            )
        tablet = await outside.get("/api/v1/tablet", headers=bearer(people["unit"].secret))
        assert tablet.json()["assignment"]["id"] == assignment_id
        expected.append(
            {
                "subject": "assignment",
                "subject_id": assignment_id,
                "role": "unit",
                "actor_name": "Unit Test",
            }
        )
        # a referrer reading its own referral's status opens no file
        status = await outside.get(
            f"/api/v1/referrals/{referral_id}", headers=bearer(people["referrer"].secret)
        )
        assert status.status_code == 200
        assert await openings() == expected

        # only the audit's readers may read the record
        assert (await room.get("/api/v1/audit/file-openings")).status_code == 403

        # the record cannot be written: the file is not shown
        conn = await asyncpg.connect(database_url)
        try:
            async with audit_down(conn, "file_openings"):
                for client, path, _ in reads:
                    refused = await client.get(path)
                    assert refused.status_code == 500, (path, refused.status_code)
                    assert refused.json()["error"] == "internal_error"
                    assert "Ortensie" not in refused.text
                refused = await outside.get("/api/v1/tablet", headers=bearer(people["unit"].secret))
                assert refused.status_code == 500
                assert refused.json()["error"] == "internal_error"
                assert "Ortensie" not in refused.text
        finally:
            await conn.close()
        assert await openings() == expected
