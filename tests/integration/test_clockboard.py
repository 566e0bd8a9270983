"""Reading clocks for screens against real PostgreSQL: one assignment's open clocks, as the
unit's tablet gets them."""

from __future__ import annotations

import json
import uuid

import pytest

from console.areas.clocks import reads as clocks_reads
from console.areas.tablet import actions as tablet_actions
from console.areas.tablet import reads as tablet_reads
from console.areas.tablet import schemas as tablet_schemas
from console.areas.units import actions as units_actions
from console.lib.db import Database
from dispatch import access
from tests import fleet_support, support

pytestmark = pytest.mark.asyncio


async def report(db: Database, crew: access.Principal, status: str) -> None:
    body = tablet_schemas.StatusIn.model_validate_json(json.dumps({"status": status}))
    await tablet_actions.report_status(db, crew, body, uuid.uuid4().hex)


async def test_an_assignment_shows_its_arrival_clock_then_its_check_in_clock_and_none_at_the_end(
    db: Database, people: dict[str, support.Person]
):
    async with db.pool.acquire() as conn:
        referrer_id = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        unit1 = await fleet_support.unit_id_of(conn, people["unit"])
        unit2 = await fleet_support.unit_id_of(conn, people["unit2"])
        await fleet_support.place_unit(conn, unit1)
        await fleet_support.place_unit(conn, unit2)
        _, case1 = await support.make_case(conn, referrer_id=referrer_id, urgency="rosso")
        _, case2 = await support.make_case(conn, referrer_id=referrer_id)
    operator = fleet_support.operator(people["operator"])
    crew = fleet_support.unit(people["unit"], unit1)
    mine = (await units_actions.dispatch_unit(db, operator, case1, unit1)).assignment_id
    other = (await units_actions.dispatch_unit(db, operator, case2, unit2)).assignment_id

    async with db.pool.acquire() as conn:
        [arrival] = await clocks_reads.open_clocks_of_assignment(conn, mine)
        assert (arrival.milestone, arrival.state, arrival.urgency) == (
            "unit_on_scene",
            "running",
            "rosso",
        )
        assert (arrival.assignment_id, arrival.unit_id, arrival.case_id) == (mine, unit1, case1)
        assert arrival.kind == "assignment" and arrival.key == mine
        assert arrival.deadline is not None and arrival.label == "Unità sul posto"
        [theirs] = await clocks_reads.open_clocks_of_assignment(conn, other)
        assert theirs.assignment_id == other and theirs.clock_id != arrival.clock_id
        assert (await tablet_reads.view(conn, unit1)).clocks == [arrival]

    for status in ("acknowledged", "en_route", "on_scene"):
        await report(db, crew, status)
    async with db.pool.acquire() as conn:
        [check_in] = await clocks_reads.open_clocks_of_assignment(conn, mine)
        assert (check_in.milestone, check_in.state) == ("unit_check_in", "running")
        assert (await tablet_reads.view(conn, unit1)).clocks == [check_in]
        assert await clocks_reads.open_clocks(conn, case_id=case1) == [check_in]  # the room's

    await report(db, crew, "returning")  # the assignment ends: its clocks stop with it
    async with db.pool.acquire() as conn:
        assert await clocks_reads.open_clocks_of_assignment(conn, mine) == []
        assert (await tablet_reads.view(conn, unit1)).clocks == []
        assert await clocks_reads.open_clocks_of_assignment(conn, 999_999) == []
