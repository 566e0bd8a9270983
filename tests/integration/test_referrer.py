"""What a referrer sees and does after sending, against real PostgreSQL: the status sequence its
referral goes through (only what happened), addenda the room sees, a withdrawal and its limits."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from console.areas.assessment import actions as assessment_actions
from console.areas.assessment import schemas as assessment_schemas
from console.areas.cases import actions as cases_actions
from console.areas.cases import reads as cases_reads
from console.areas.handover import actions as handover_actions
from console.areas.intake import actions as intake_actions
from console.areas.intake import reads as intake_reads
from console.areas.intake.schemas import EXAMPLE, AddendumIn, ReferralIn, ReferralsQuery
from console.areas.tablet import actions as tablet_actions
from console.areas.tablet import schemas as tablet_schemas
from console.areas.units import actions as units_actions
from console.lib import errors, eventlog
from console.lib.db import Database
from dispatch import access, handover
from tests import fleet_support, support

pytestmark = pytest.mark.asyncio


@dataclass
class World:
    db: Database
    conn: asyncpg.Connection
    referrer: access.Principal  # PS test's system, with its API key
    other: access.Principal  # another referrer
    operator: access.Principal
    supervisor: access.Principal
    crew: access.Principal
    unit_id: int
    territorial: access.Principal  # the service of zone pistoiese (where EXAMPLE happens)

    async def send(self, **changes: Any) -> int:
        body = copy.deepcopy(EXAMPLE) | changes
        sent = await intake_actions.submit(
            self.db, self.referrer, ReferralIn.model_validate_json(json.dumps(body)), new_key()
        )
        return int(sent.response["id"])

    async def activate(self, referral_id: int) -> int:
        await assessment_actions.claim(self.db, self.operator, referral_id)
        out = await assessment_actions.decide(
            self.db,
            self.operator,
            referral_id,
            decision({"decision": "activate", "assessment": {"urgency": "giallo"}}),
        )
        assert out.case_id is not None
        return out.case_id

    async def told(self, referral_id: int, after: int = 0) -> list[str]:
        """The statuses the referrer's screen showed for this referral, in order: each
        `referral.progressed` it was sent (one repeating the status on screen changes nothing
        there, so consecutive repeats count once)."""
        found = await eventlog.read_range(self.conn, after, await eventlog.head(self.conn))
        shown: list[str] = []
        for e in found:
            if e.type == "referral.progressed" and e.payload["id"] == referral_id:
                if not shown or shown[-1] != e.payload["status"]:
                    shown.append(e.payload["status"])
        return shown

    async def shown(self, referral_id: int) -> str:
        """The status the referrer reads now (GET /api/v1/referrals/{id})."""
        row = await intake_reads.one(self.conn, referral_id)
        assert row is not None
        return intake_reads.status_view(row).status.value

    async def listed(self, referral_id: int) -> str:
        """The status GET /api/v1/referrals (the referrer's list) gives this referral now."""
        views = await intake_reads.list_referrals(self.conn, self.referrer, ReferralsQuery())
        [view] = [v for v in views if v.id == referral_id]
        return view.status.value

    async def step(self, referral_id: int, mark: list[int]) -> tuple[str, list[str]]:
        """After one action: what the referrer's list says of the referral, and the statuses
        of the `referral.progressed` events it was sent since the previous step (all of them,
        repeats included); `mark` holds the log's position between calls."""
        head = await eventlog.head(self.conn)
        found = await eventlog.read_range(self.conn, mark[0], head)
        mark[0] = head
        sent = [
            e.payload["status"]
            for e in found
            if e.type == "referral.progressed" and e.payload["id"] == referral_id
        ]
        return await self.listed(referral_id), sent

    async def unit_status(self, status: str) -> None:
        body = tablet_schemas.StatusIn.model_validate_json(json.dumps({"status": status}))
        await tablet_actions.report_status(self.db, self.crew, body, new_key())


def new_key() -> str:
    return uuid.uuid4().hex


def decision(body: dict[str, Any]) -> assessment_schemas.DecisionIn:
    return assessment_schemas.DecisionIn.model_validate_json(json.dumps(body))


def addendum(text: str) -> AddendumIn:
    return AddendumIn.model_validate_json(json.dumps({"text": text}))


@pytest.fixture
async def world(db: Database, people: dict[str, support.Person]) -> AsyncIterator[World]:
    async with db.pool.acquire() as conn:
        ps = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        pm = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PM test'")
        unit_id = await fleet_support.unit_id_of(conn, people["unit"])
        await fleet_support.place_unit(conn, unit_id, municipality="047014", zones=["pistoiese"])
        territorial = await conn.fetchval(
            "INSERT INTO users (username, display_name, role, zone_id) VALUES"
            " ('sst-pistoia', 'SST Pistoia', 'territorial_service', 'pistoiese') RETURNING id"
        )
        yield World(
            db=db,
            conn=conn,
            referrer=access.Principal(access.Role.REFERRER, "PS test", referrer_id=ps),
            other=access.Principal(access.Role.REFERRER, "PM test", referrer_id=pm),
            operator=fleet_support.operator(people["operator"]),
            supervisor=access.Principal(
                access.Role.SUPERVISOR, "Supervisor", user_id=people["supervisor"].user_id
            ),
            crew=fleet_support.unit(people["unit"], unit_id),
            unit_id=unit_id,
            territorial=access.Principal(
                access.Role.TERRITORIAL_SERVICE,
                "SST Pistoia",
                user_id=territorial,
                zone_id="pistoiese",
            ),
        )


# -- the status sequences a referrer sees ---------------------------------------------------


async def test_a_normal_flow_tells_the_referrer_each_step_once_and_in_order(world: World):
    referral_id = await world.send()
    case_id = await world.activate(referral_id)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit_id)
    await world.unit_status("acknowledged")
    await world.unit_status("en_route")
    assert await world.shown(referral_id) == "activated"  # sent is not there yet
    await world.unit_status("on_scene")
    sent = await handover_actions.send(world.db, world.operator, case_id)
    await handover_actions.decide(world.db, world.territorial, sent.id, handover.Status.ACCEPTED)
    await cases_actions.close_case(world.db, world.operator, case_id, "Presa in carico conclusa")

    told = await world.told(referral_id)
    assert told == [
        "received",
        "in_assessment",
        "activated",
        "unit_on_scene",
        "handed_over",
        "closed",
    ]
    assert await world.shown(referral_id) == "closed"


async def test_a_merged_referral_follows_its_target_once_the_target_is_decided(world: World):
    target = await world.send(description="Uomo senza dimora alla stazione di Pistoia.")
    merged = await world.send(description="Stesso uomo segnalato di nuovo alla stazione.")
    await assessment_actions.claim(world.db, world.operator, merged)
    await assessment_actions.decide(
        world.db, world.operator, merged, decision({"decision": "merge", "merge_into": target})
    )
    assert await world.shown(merged) == "received"  # the target waits: so does the merged one

    case_id = await world.activate(target)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit_id)
    for step in ("acknowledged", "en_route", "on_scene"):
        await world.unit_status(step)

    # each of the target's steps reached the merged referral's referrer too, live
    assert await world.told(merged) == [
        "received",
        "in_assessment",
        "received",  # merged into a referral still waiting
        "in_assessment",
        "activated",
        "unit_on_scene",
    ]
    assert await world.shown(merged) == "unit_on_scene"


async def test_a_direct_handover_with_no_unit_never_shows_a_unit_on_scene(world: World):
    referral_id = await world.send()
    case_id = await world.activate(referral_id)
    sent = await handover_actions.send(world.db, world.operator, case_id)
    assert await world.shown(referral_id) == "activated"
    rejected = await handover_actions.decide(
        world.db, world.territorial, sent.id, handover.Status.REJECTED, "Non di nostra competenza"
    )
    assert rejected.status == "rejected"
    assert await world.shown(referral_id) == "activated"
    again = await handover_actions.send(world.db, world.operator, case_id)
    await handover_actions.decide(world.db, world.territorial, again.id, handover.Status.ACCEPTED)

    told = await world.told(referral_id)
    assert "unit_on_scene" not in told
    assert told[-1] == "handed_over"
    assert await world.shown(referral_id) == "handed_over"


# Step by step: after each action, (what the referrer's list says, the statuses of the
# `referral.progressed` events that action sent it). An event may repeat the status already
# shown (the case moved, the referrer's status did not); a status that did not happen is never
# read nor told.


async def test_step_by_step_a_merged_referral_reads_and_is_told_its_targets_progress(
    world: World,
):
    mark = [await eventlog.head(world.conn)]
    target = await world.send(description="Uomo senza dimora alla stazione di Pistoia.")
    merged = await world.send(description="Stesso uomo segnalato di nuovo alla stazione.")
    steps = [("inviata", await world.step(merged, mark))]
    await assessment_actions.claim(world.db, world.operator, merged)
    steps.append(("presa in carico", await world.step(merged, mark)))
    await assessment_actions.decide(
        world.db, world.operator, merged, decision({"decision": "merge", "merge_into": target})
    )
    steps.append(("unita a una in attesa", await world.step(merged, mark)))
    case_id = await world.activate(target)  # the target claimed and activated
    steps.append(("la principale attivata", await world.step(merged, mark)))
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit_id)
    steps.append(("unità inviata", await world.step(merged, mark)))
    for status in ("acknowledged", "en_route"):
        await world.unit_status(status)
    steps.append(("unità in viaggio", await world.step(merged, mark)))
    await world.unit_status("on_scene")
    steps.append(("unità sul posto", await world.step(merged, mark)))
    sent = await handover_actions.send(world.db, world.operator, case_id)
    steps.append(("passaggio proposto", await world.step(merged, mark)))
    await handover_actions.decide(world.db, world.territorial, sent.id, handover.Status.ACCEPTED)
    steps.append(("passaggio accettato", await world.step(merged, mark)))
    await cases_actions.close_case(world.db, world.operator, case_id, "Presa in carico conclusa")
    steps.append(("caso chiuso", await world.step(merged, mark)))

    assert steps == [
        ("inviata", ("received", ["received"])),
        ("presa in carico", ("in_assessment", ["in_assessment"])),
        ("unita a una in attesa", ("received", ["received"])),
        ("la principale attivata", ("activated", ["in_assessment", "activated"])),
        ("unità inviata", ("activated", ["activated"])),
        ("unità in viaggio", ("activated", [])),
        ("unità sul posto", ("unit_on_scene", ["unit_on_scene"])),
        ("passaggio proposto", ("unit_on_scene", ["unit_on_scene"])),
        ("passaggio accettato", ("handed_over", ["handed_over"])),
        ("caso chiuso", ("closed", ["closed"])),
    ]
    assert await world.shown(merged) == "closed"  # GET /api/v1/referrals/{id} agrees


async def test_step_by_step_a_direct_handover_never_reads_or_tells_a_unit_on_scene(
    world: World,
):
    mark = [await eventlog.head(world.conn)]
    referral_id = await world.send()
    steps = [("inviata", await world.step(referral_id, mark))]
    await assessment_actions.claim(world.db, world.operator, referral_id)
    steps.append(("presa in carico", await world.step(referral_id, mark)))
    await assessment_actions.decide(
        world.db,
        world.operator,
        referral_id,
        decision({"decision": "activate", "assessment": {"urgency": "giallo"}}),
    )
    case_id = await world.conn.fetchval("SELECT id FROM cases WHERE referral_id = $1", referral_id)
    steps.append(("attivata", await world.step(referral_id, mark)))
    first = await handover_actions.send(world.db, world.operator, case_id)
    steps.append(("passaggio proposto", await world.step(referral_id, mark)))
    await handover_actions.decide(
        world.db, world.territorial, first.id, handover.Status.REJECTED, "Non di competenza"
    )
    steps.append(("passaggio respinto", await world.step(referral_id, mark)))
    again = await handover_actions.send(world.db, world.operator, case_id)
    steps.append(("riproposto", await world.step(referral_id, mark)))
    await handover_actions.decide(world.db, world.territorial, again.id, handover.Status.ACCEPTED)
    steps.append(("passaggio accettato", await world.step(referral_id, mark)))
    await cases_actions.close_case(world.db, world.operator, case_id, "Presa in carico conclusa")
    steps.append(("caso chiuso", await world.step(referral_id, mark)))

    assert steps == [
        ("inviata", ("received", ["received"])),
        ("presa in carico", ("in_assessment", ["in_assessment"])),
        ("attivata", ("activated", ["activated"])),
        ("passaggio proposto", ("activated", ["activated"])),
        ("passaggio respinto", ("activated", ["activated"])),
        ("riproposto", ("activated", ["activated"])),
        ("passaggio accettato", ("handed_over", ["handed_over"])),
        ("caso chiuso", ("closed", ["closed"])),
    ]
    assert await world.shown(referral_id) == "closed"


# -- addenda -----------------------------------------------------------------------------------


async def test_an_addendum_reaches_the_room_and_the_case_timeline_and_only_its_referrer_adds(
    world: World,
):
    referral_id = await world.send()
    case_id = await world.activate(referral_id)
    head = await eventlog.head(world.conn)

    added = await intake_actions.add_addendum(
        world.db, world.referrer, referral_id, addendum("Ora è in sala d'attesa."), new_key()
    )
    assert added.response["text"] == "Ora è in sala d'attesa."

    logged = await eventlog.read_range(world.conn, head, await eventlog.head(world.conn))
    event = next(e for e in logged if e.type == "referral.addendum_added")
    assert event.audience == frozenset({access.ROOM})
    assert event.payload["body"] == "Ora è in sala d'attesa."
    assert event.payload["case_id"] == case_id
    assert not [e for e in logged if e.type == "referral.progressed"]  # no status changed
    timeline = await cases_reads.timeline(world.conn, case_id, referral_id, frozenset({"room"}))
    line = timeline[-1]
    assert line["what"] == "Informazioni aggiunte dal segnalante"
    assert line["detail"] == "Ora è in sala d'attesa."
    assert [a.text for a in await intake_reads.addenda_for_room(world.conn, referral_id)] == [
        "Ora è in sala d'attesa."
    ]

    with pytest.raises(errors.NotFound):  # another referrer: as if it did not exist
        await intake_actions.add_addendum(
            world.db, world.other, referral_id, addendum("x"), new_key()
        )
    with pytest.raises(errors.NotFound):
        await intake_actions.add_addendum(
            world.db, world.referrer, 987654, addendum("x"), new_key()
        )


async def test_the_same_idempotency_key_adds_one_addendum(world: World):
    referral_id = await world.send()
    key = new_key()
    first = await intake_actions.add_addendum(
        world.db, world.referrer, referral_id, addendum("Una volta sola"), key
    )
    again = await intake_actions.add_addendum(
        world.db, world.referrer, referral_id, addendum("Una volta sola"), key
    )
    assert (again.replayed, again.response) == (True, first.response)
    with pytest.raises(errors.Conflict):
        await intake_actions.add_addendum(
            world.db, world.referrer, referral_id, addendum("Altro testo"), key
        )
    count = await world.conn.fetchval(
        "SELECT count(*) FROM referral_addenda WHERE referral_id = $1", referral_id
    )
    assert count == 1


async def test_an_addendum_to_a_merged_referral_lands_on_its_targets_case(world: World):
    target = await world.send()
    merged = await world.send()
    await assessment_actions.claim(world.db, world.operator, merged)
    await assessment_actions.decide(
        world.db, world.operator, merged, decision({"decision": "merge", "merge_into": target})
    )
    case_id = await world.activate(target)
    await intake_actions.add_addendum(
        world.db, world.referrer, merged, addendum("Notizia sul doppione"), new_key()
    )
    timeline = await cases_reads.timeline(world.conn, case_id, target, frozenset({"room"}))
    assert timeline[-1]["detail"] == "Notizia sul doppione"
    assert [a.text for a in await intake_reads.addenda_for_room(world.conn, target)] == [
        "Notizia sul doppione"
    ]


async def test_a_closed_or_withdrawn_referral_refuses_addenda_with_a_409(world: World):
    referral_id = await world.send()
    await intake_actions.withdraw(world.db, world.referrer, referral_id, "Risolto")
    with pytest.raises(errors.Conflict) as refused:
        await intake_actions.add_addendum(
            world.db, world.referrer, referral_id, addendum("x"), new_key()
        )
    assert refused.value.code == "referral_withdrawn"

    other = await world.send()
    await assessment_actions.claim(world.db, world.operator, other)
    await assessment_actions.decide(
        world.db,
        world.operator,
        other,
        decision({"decision": "not_pertinent", "reason": "Competenza sanitaria"}),
    )
    with pytest.raises(errors.Conflict) as closed:
        await intake_actions.add_addendum(world.db, world.referrer, other, addendum("x"), new_key())
    assert closed.value.code == "referral_closed"


# -- withdrawal --------------------------------------------------------------------------------


async def test_a_withdrawal_leaves_the_queue_cancels_the_clocks_and_shows_ritirata(world: World):
    referral_id = await world.send()
    await assessment_actions.claim(world.db, world.operator, referral_id)
    running = await world.conn.fetchval(
        "SELECT count(*) FROM clocks WHERE referral_id = $1 AND state = 'running'", referral_id
    )
    assert running == 1  # the assessment's clock
    head = await eventlog.head(world.conn)

    view = await intake_actions.withdraw(
        world.db, world.referrer, referral_id, "La persona è tornata a casa"
    )

    assert (view.status.value, view.status_label) == ("withdrawn", "Ritirata")
    assert view.reason == "La persona è tornata a casa"
    logged = await eventlog.read_range(world.conn, head, await eventlog.head(world.conn))
    types = [e.type for e in logged]
    assert "referral.withdrawn" in types
    told = [e.payload for e in logged if e.type == "referral.progressed"]
    assert [(p["status"], p["reason"]) for p in told] == [
        ("withdrawn", "La persona è tornata a casa")  # its page keeps showing its own reason
    ]
    states = await world.conn.fetch(
        "SELECT milestone, state FROM clocks WHERE referral_id = $1", referral_id
    )
    assert {r["state"] for r in states} == {"met", "cancelled"}  # claimed in time, then ended
    assert {r["milestone"]: r["state"] for r in states}["assessment_decided"] == "cancelled"
    queued = await world.conn.fetchval(
        "SELECT count(*) FROM referrals WHERE id = $1 AND status IN ('received', 'in_assessment')",
        referral_id,
    )
    assert queued == 0


async def test_an_activated_referral_is_withdrawn_until_a_unit_is_sent_then_refused(world: World):
    referral_id = await world.send()
    case_id = await world.activate(referral_id)
    await intake_actions.withdraw(world.db, world.referrer, referral_id, "Ricoverato")
    case = await world.conn.fetchrow("SELECT status FROM cases WHERE id = $1", case_id)
    assert case["status"] == "closed"
    clocks = await world.conn.fetch(
        "SELECT state FROM clocks WHERE kind = 'case' AND subject_id = $1", case_id
    )
    assert clocks and {r["state"] for r in clocks} == {"cancelled"}

    dispatched = await world.send()
    case_id = await world.activate(dispatched)
    await units_actions.dispatch_unit(world.db, world.operator, case_id, world.unit_id)
    head = await eventlog.head(world.conn)
    with pytest.raises(errors.Conflict) as refused:
        await intake_actions.withdraw(world.db, world.referrer, dispatched, "Troppo tardi")
    assert refused.value.code == "unit_dispatched"
    assert await eventlog.head(world.conn) == head  # nothing changed
    assert await world.shown(dispatched) == "activated"


async def test_only_its_own_referrer_withdraws_a_referral(world: World):
    referral_id = await world.send()
    with pytest.raises(errors.NotFound):
        await intake_actions.withdraw(world.db, world.other, referral_id, "Non mia")
    with pytest.raises(errors.Forbidden):
        await intake_actions.withdraw(world.db, world.operator, referral_id, "Sala")
    assert await world.shown(referral_id) == "received"
