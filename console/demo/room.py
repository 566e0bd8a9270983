"""The demo's living room: referrals in different states, each brought there by the real actions.

Every step is what a referrer, the room or a unit's tablet does in production (intake, assessment,
units, tablet and basket actions), run at a moment of the past hours with the demo's own users as
actors: the rows, the events, the referrers' progress and the SLA clocks are the actions' own.
The steps of all the referrals run in time order, so the log reads in order. A referral is
identified by its referrer and its `DEMO-nnn` reference: a second seed adds nothing.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import AsyncGenerator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from console.areas.assessment import actions as assessment
from console.areas.assessment.schemas import DecisionIn
from console.areas.basket import actions as basket
from console.areas.intake import actions as intake
from console.areas.intake.schemas import ReferralIn
from console.areas.tablet import actions as tablet
from console.areas.tablet.schemas import CheckInIn, StatusIn
from console.areas.units import actions as units
from console.demo import spots
from console.lib import auth
from console.lib.db import Database
from console.lib.geography import DATA_DIR
from dispatch import access
from dispatch.basket import Status as BookingStatus
from dispatch.events import actor_of

# When each step happens, in minutes after the referral was received.
CLAIMED, DECIDED, DISPATCHED, ACKNOWLEDGED, EN_ROUTE, ON_SCENE = 2, 10, 12, 13, 15, 37
HELD, CONFIRMED = 40, 42
CHECK_IN_EVERY = 25  # a unit on scene checks in this often (its clock's target is 30 minutes)
HOLD = timedelta(minutes=30)  # how long a booking is held before it must be confirmed
OPERATOR = "operatrice"  # who claims, decides, dispatches and books
DECISIONS = {"not_pertinent": "not_pertinent", "redirected": "redirect"}  # else activate

# Each referral's story yields when its next step happens, and takes it when resumed.
Story = AsyncGenerator[datetime, None]


def specs() -> list[dict[str, Any]]:
    """The demo referrals, oldest first."""
    data = json.loads((DATA_DIR / "demo_referrals.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = data["referrals"]
    return sorted(found, key=lambda r: -int(r["minutes_ago"]))


async def seed(
    db: Database,
    referrer_ids: Mapping[str, int],
    unit_ids: Mapping[str, int],
    now: datetime | None = None,
) -> int:
    """Add the demo referrals that are missing; returns how many were added."""
    found = await stories(db, referrer_ids, unit_ids, now or datetime.now(UTC))
    await play(found)
    return len(found)


async def stories(
    db: Database, referrer_ids: Mapping[str, int], unit_ids: Mapping[str, int], now: datetime
) -> list[Story]:
    """The stories of the demo referrals that are missing (not started yet)."""
    seen = {
        (r["referrer_id"], r["referrer_reference"])
        for r in await db.pool.fetch(
            "SELECT referrer_id, referrer_reference FROM referrals"
            " WHERE referrer_reference LIKE 'DEMO-%'"
        )
    }
    operator = await auth.user_principal(
        db.pool,
        await db.pool.fetchval("SELECT id FROM users WHERE lower(username) = lower($1)", OPERATOR),
    )
    return [
        _story(db, spec, referrer_ids[spec["referrer"]], operator, unit_ids, now)
        for spec in specs()
        if (referrer_ids[spec["referrer"]], spec["reference"]) not in seen
    ]


async def play(stories: list[Story]) -> None:
    """Take the stories' steps in time order, across stories."""
    due: list[tuple[datetime, int]] = []

    async def advance(i: int) -> None:
        at = await anext(stories[i], None)
        if at is not None:
            heapq.heappush(due, (at, i))

    try:
        for i in range(len(stories)):
            await advance(i)
        while due:
            await advance(heapq.heappop(due)[1])
    finally:
        for story in stories:
            await story.aclose()


async def _story(
    db: Database,
    spec: dict[str, Any],
    referrer_id: int,
    operator: access.Principal,
    unit_ids: Mapping[str, int],
    now: datetime,
) -> Story:
    """One referral, from its arrival to the state the demo leaves it in."""
    ago, state, reference = int(spec["minutes_ago"]), spec["state"], spec["reference"]

    def at(minutes: int) -> datetime:
        return min(now - timedelta(minutes=ago - minutes), now)

    place = await db.pool.fetchrow(
        "SELECT name, lat, lon FROM municipalities WHERE istat_code = $1", spec["municipality"]
    )
    referrer = access.Principal(
        role=access.Role.REFERRER, name=spec["referrer"], referrer_id=referrer_id
    )
    yield at(0)
    body = _referral(spec, place)
    submitted = await intake.submit(db, referrer, body, f"demo-{reference}", now=at(0))
    referral_id: int = submitted.response["id"]
    if state == "received":
        return
    yield at(CLAIMED)
    await assessment.claim(db, operator, referral_id, now=at(CLAIMED))
    if state == "in_assessment":
        return
    yield at(DECIDED)
    decided = await assessment.decide(db, operator, referral_id, _decision(spec), now=at(DECIDED))
    unit_id = unit_ids.get(f"UTES {place['name']} 1 (demo)")
    if decided.case_id is None or unit_id is None:
        return
    yield at(DISPATCHED)
    if await db.pool.fetchval("SELECT status FROM units WHERE id = $1", unit_id) != "available":
        return  # someone sent it elsewhere since the first seed: the case waits for a unit
    reason = "unità più vicina disponibile"
    await units.dispatch_unit(
        db, operator, decided.case_id, unit_id, reason=reason, now=at(DISPATCHED)
    )
    crew = await auth.user_principal(
        db.pool, await db.pool.fetchval("SELECT min(id) FROM users WHERE unit_id = $1", unit_id)
    )
    on_scene = state == "resources_in_place"
    steps = [("acknowledged", ACKNOWLEDGED), ("en_route", EN_ROUTE)]
    for status, minutes in [*steps, *([("on_scene", ON_SCENE)] if on_scene else [])]:
        yield at(minutes)
        report = StatusIn.model_validate_json(json.dumps({"status": status}))
        await tablet.report_status(db, crew, report, f"demo-{reference}-{status}", now=at(minutes))
    if not on_scene:
        return
    wanted = spec.get("booking")
    resource_id = wanted and await db.pool.fetchval(
        "SELECT id FROM resources WHERE zone_id = (SELECT zone_id FROM cases WHERE id = $1)"
        " AND type = $2 AND active ORDER BY id LIMIT 1",
        decided.case_id,
        wanted["type"],
    )
    if wanted and resource_id:
        yield at(HELD)
        actor, note = actor_of(operator), wanted.get("note", "")
        held = await basket.book(
            db, decided.case_id, resource_id, wanted["quantity"], note,
            actor=actor, ttl=HOLD, now=at(HELD),
        )  # fmt: skip
        if not isinstance(held, basket.Full):
            yield at(CONFIRMED)
            await basket.step(
                db, held.id, BookingStatus.CONFIRMED, actor=actor, ttl=HOLD, now=at(CONFIRMED)
            )
    for minutes in range(ON_SCENE + CHECK_IN_EVERY, ago, CHECK_IN_EVERY):
        yield at(minutes)
        key = f"demo-{reference}-check-in-{minutes}"
        await tablet.check_in(db, crew, CheckInIn.model_validate_json("{}"), key, now=at(minutes))


def _referral(spec: dict[str, Any], place: asyncpg.Record) -> ReferralIn:
    """The referral as the referrer's system sends it (JSON, validated as the API does)."""
    point = spots.spot(spec["municipality"], place["lat"], place["lon"], spec["reference"])
    body = {
        "trigger": spec["trigger"],
        "urgency": spec["urgency"],
        "place": {
            "municipality": spec["municipality"],
            "address": spec["address"],
            "lat": point[0],
            "lon": point[1],
        },
        "people": spec["people"],
        "description": spec["description"],
        "callback": spec["callback"],
        "reference": spec["reference"],
    }
    return ReferralIn.model_validate_json(json.dumps(body))


def _decision(spec: dict[str, Any]) -> DecisionIn:
    assessed = spec.get("assessment", {})
    body = {
        "decision": DECISIONS.get(spec["state"], "activate"),
        "reason": spec.get("reason"),
        "redirect_to": spec.get("redirect_to"),
        "assessment": {
            "trigger": spec["trigger"],
            "urgency": spec["urgency"],
            "risk_factors": assessed.get("risk_factors", []),
            "people": {"count": spec["people"]["count"], "minors": spec["people"]["minors"]},
            "needs": assessed.get("needs", []),
            "skills": assessed.get("skills", []),
            "language": assessed.get("language"),
        },
    }
    return DecisionIn.model_validate_json(json.dumps(body))
