"""The demo's living room: referrals in different states, written with their events.

Rows are inserted directly (faster than going through every action) but each step emits the
same events the real actions emit, through the same constructors, so the queue, the case pages,
the tablets and the referrers' status pages show them as if they had happened. A referral is
identified by its referrer and its `DEMO-nnn` reference: a second seed adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from console.areas.intake import actions as intake_actions
from console.lib.db import Tx
from console.lib.geography import DATA_DIR
from dispatch import access, assignments, basket, intake, referrals
from dispatch import cases as case_states
from dispatch.cases import case_number
from dispatch.units import Status as UnitStatus

ROME = ZoneInfo("Europe/Rome")
ACTIVATED_STATES = frozenset({"unit_en_route", "resources_in_place"})


def specs() -> list[dict[str, Any]]:
    """The demo referrals, oldest first (so the log reads in order)."""
    data = json.loads((DATA_DIR / "demo_referrals.json").read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = data["referrals"]
    return sorted(found, key=lambda r: -int(r["minutes_ago"]))


async def seed(
    tx: Tx,
    referrer_ids: Mapping[str, int],
    user_ids: Mapping[str, int],
    unit_ids: Mapping[str, int],
) -> int:
    """Add the demo referrals that are missing; returns how many were added."""
    seen = {
        (r["referrer_id"], r["referrer_reference"])
        for r in await tx.conn.fetch(
            "SELECT referrer_id, referrer_reference FROM referrals"
            " WHERE referrer_reference LIKE 'DEMO-%'"
        )
    }
    operator = access.Principal(
        role=access.Role.OPERATOR, name="Operatrice demo", user_id=user_ids["operatrice"]
    )
    added = 0
    for spec in specs():
        referrer_id = referrer_ids[spec["referrer"]]
        if (referrer_id, spec["reference"]) in seen:
            continue
        await _referral(tx, spec, referrer_id, operator, unit_ids)
        added += 1
    return added


async def _referral(
    tx: Tx,
    spec: dict[str, Any],
    referrer_id: int,
    operator: access.Principal,
    unit_ids: Mapping[str, int],
) -> None:
    conn = tx.conn
    at = tx.now - timedelta(minutes=int(spec["minutes_ago"]))
    place = await conn.fetchrow(
        "SELECT m.name, m.zone_id, m.lat, m.lon, z.name AS zone_name, r.name AS referrer,"
        " r.kind FROM municipalities m JOIN zones z ON z.id = m.zone_id, referrers r"
        " WHERE m.istat_code = $1 AND r.id = $2",
        spec["municipality"],
        referrer_id,
    )
    zone = place["zone_id"]
    referral_id: int = await conn.fetchval(
        "SELECT nextval(pg_get_serial_sequence('referrals', 'id'))"
    )
    number = case_number(at.astimezone(ROME).year, referral_id)
    people = spec["people"]
    await conn.execute(
        "INSERT INTO referrals (id, case_number, referrer_id, referrer_reference, status, trigger,"
        " urgency_proposed, municipality_code, zone_id, address, lat, lon, people, description,"
        " callback, received_at, updated_at) VALUES ($1, $2, $3, $4, 'received', $5, $6, $7,"
        " $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        referral_id,
        number,
        referrer_id,
        spec["reference"],
        spec["trigger"],
        spec["urgency"],
        spec["municipality"],
        zone,
        spec["address"],
        place["lat"],
        place["lon"],
        people,
        spec["description"],
        spec["callback"],
        at,
    )
    received = intake.Received(
        referral_id=referral_id,
        case_number=number,
        trigger=spec["trigger"],
        urgency_proposed=spec["urgency"],
        municipality_code=spec["municipality"],
        municipality=place["name"],
        zone_id=zone,
        zone=place["zone_name"],
        people_count=people["count"],
        minors=people["minors"],
        needs_mediator=people["needs_mediator"],
        language=people["language"],
        summary=intake.summary(spec["description"]),
        referrer_id=referrer_id,
        referrer_name=place["referrer"],
        referrer_kind=place["kind"],
        channel=intake.Channel.API,
        received_at=at,
    )
    tx.emit(intake.referral_received(received, f"referrer:{referrer_id}"))
    await intake_actions.notify_referrer(tx, referral_id)
    state = spec["state"]
    if state == "received":
        return

    claimed = at + timedelta(minutes=2)
    await conn.execute(
        "UPDATE referrals SET status = 'in_assessment', holder_id = $2, claimed_at = $3,"
        " updated_at = $3 WHERE id = $1",
        referral_id,
        operator.user_id,
        claimed,
    )
    tx.emit(referrals.referral_claimed(referral_id, zone, operator, claimed))
    await intake_actions.notify_referrer(tx, referral_id)
    if state == "in_assessment":
        return

    case_id = await _decide(tx, spec, referral_id, number, zone, operator, claimed)
    await intake_actions.notify_referrer(tx, referral_id)
    if case_id is None:
        return
    unit_name = _unit_for(place["name"], unit_ids)
    if unit_name is not None:
        await _dispatch(tx, spec, case_id, number, zone, place, operator, unit_name, unit_ids)


async def _decide(
    tx: Tx,
    spec: dict[str, Any],
    referral_id: int,
    number: str,
    zone: str,
    operator: access.Principal,
    claimed: datetime,
) -> int | None:
    """The assessment's outcome; a case for the activated ones."""
    decided = claimed + timedelta(minutes=8)
    decision = {
        "not_pertinent": referrals.Decision.NOT_PERTINENT,
        "redirected": referrals.Decision.REDIRECT,
    }.get(spec["state"], referrals.Decision.ACTIVATE)
    status = referrals.DECISION_STATUS[decision]
    urgency = referrals.Urgency(spec["urgency"])
    assessed = spec.get("assessment", {})
    record = {
        "trigger": spec["trigger"],
        "urgency": urgency.value,
        "risk_factors": assessed.get("risk_factors", []),
        "people": {"count": spec["people"]["count"], "minors": spec["people"]["minors"]},
        "needs": assessed.get("needs", []),
        "skills": assessed.get("skills", []),
        "language": assessed.get("language"),
        "notes": "",
        "decision": decision.value,
        "redirect_to": spec.get("redirect_to"),
        "decided_by": operator.user_id,
        "decided_by_name": operator.name,
        "decided_at": decided.isoformat(),
    }
    await tx.conn.execute(
        "UPDATE referrals SET status = $2, urgency = $3, assessment = $4, decision_reason = $5,"
        " updated_at = $6 WHERE id = $1",
        referral_id,
        status.value,
        urgency.value,
        record,
        spec.get("reason"),
        decided,
    )
    case_id: int | None = None
    if decision is referrals.Decision.ACTIVATE:
        case_id = await tx.conn.fetchval(
            "INSERT INTO cases (referral_id, case_number, status, zone_id, urgency, owner_id,"
            " needs, skills, language, opened_at, updated_at)"
            " VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            referral_id,
            number,
            zone,
            urgency.value,
            operator.user_id,
            record["needs"],
            record["skills"],
            record["language"],
            decided,
        )
    tx.emit(
        referrals.referral_decided(
            referral_id,
            zone,
            operator,
            decided,
            decision=decision,
            reason=spec.get("reason"),
            urgency=urgency,
            case_id=case_id,
            redirect_to=spec.get("redirect_to"),
        )
    )
    if case_id is not None:
        tx.emit(
            referrals.case_opened(
                case_id,
                referral_id,
                number,
                operator,
                decided,
                zone=zone,
                urgency=urgency,
                needs=record["needs"],
                skills=record["skills"],
                language=record["language"],
            )
        )
    return case_id


def _unit_for(municipality: str, unit_ids: Mapping[str, int]) -> str | None:
    name = f"UTES {municipality} 1 (demo)"
    return name if name in unit_ids else None


async def _dispatch(
    tx: Tx,
    spec: dict[str, Any],
    case_id: int,
    number: str,
    zone: str,
    place: Any,
    operator: access.Principal,
    unit_name: str,
    unit_ids: Mapping[str, int],
) -> None:
    """A unit sent, acknowledged and on its way; for `resources_in_place` also on scene with
    its first resource confirmed."""
    unit_id = unit_ids[unit_name]
    if await tx.conn.fetchval("SELECT status FROM units WHERE id = $1", unit_id) != "available":
        return
    on_scene = spec["state"] == "resources_in_place"
    sent = tx.now - timedelta(minutes=int(spec["minutes_ago"])) + timedelta(minutes=12)
    times = [sent + timedelta(minutes=m) for m in (1, 3, 25)]  # acknowledged, en route, on scene
    assignment_id: int = await tx.conn.fetchval(
        "INSERT INTO assignments (case_id, unit_id, dispatched_by, dispatched_at,"
        " acknowledged_at, en_route_at, on_scene_at, last_check_in_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        case_id,
        unit_id,
        operator.user_id,
        sent,
        times[0],
        times[1],
        times[2] if on_scene else None,
    )
    final = UnitStatus.ON_SCENE if on_scene else UnitStatus.EN_ROUTE
    case_status = case_states.Status.ON_SCENE if on_scene else case_states.Status.UNIT_DISPATCHED
    await tx.conn.execute(
        "UPDATE units SET status = $2, status_since = $3, current_case_id = $4 WHERE id = $1",
        unit_id,
        final.value,
        times[2] if on_scene else times[1],
        case_id,
    )
    await tx.conn.execute(
        "UPDATE cases SET status = $2, updated_at = $3 WHERE id = $1",
        case_id,
        case_status.value,
        times[2] if on_scene else sent,
    )
    people = spec["people"]
    brief = assignments.Brief(
        assignment_id=assignment_id,
        case_id=case_id,
        case_number=number,
        urgency=spec["urgency"],
        municipality=place["name"],
        address=spec["address"],
        lat=place["lat"],
        lon=place["lon"],
        people_count=people["count"],
        minors=people["minors"],
        language=people["language"],
        description=spec["description"],
        callback_name=spec["callback"]["name"],
        callback_phone=spec["callback"]["phone"],
        needs=tuple(spec.get("assessment", {}).get("needs", [])),
        dispatched_at=sent,
    )
    unit = assignments.UnitRef(unit_id, unit_name)
    case = assignments.CaseRef(case_id, number, zone)
    crew = access.Principal(role=access.Role.UNIT, name=unit_name, unit_id=unit_id)
    open_, dispatched = case_states.Status.OPEN, case_states.Status.UNIT_DISPATCHED
    tx.emit(
        assignments.unit_assigned(brief, unit, zone, operator, "unità più vicina disponibile"),
        assignments.unit_status_changed(
            unit, UnitStatus.AVAILABLE, UnitStatus.ASSIGNED, sent, operator, "invio dalla sala",
            case=case, assignment_id=assignment_id,
        ),
        assignments.case_unit_dispatched(
            case, unit, assignment_id, open_, dispatched, operator,
            "unità più vicina disponibile", eta_minutes=20,
        ),
    )  # fmt: skip
    steps: Sequence[tuple[UnitStatus, UnitStatus, datetime]] = [
        (UnitStatus.ASSIGNED, UnitStatus.ACKNOWLEDGED, times[0]),
        (UnitStatus.ACKNOWLEDGED, UnitStatus.EN_ROUTE, times[1]),
    ]
    if on_scene:
        steps = [*steps, (UnitStatus.EN_ROUTE, UnitStatus.ON_SCENE, times[2])]
    for previous, status, when in steps:
        tx.emit(
            assignments.unit_status_changed(
                unit, previous, status, when, crew, "dal tablet",
                case=case, assignment_id=assignment_id,
            )
        )  # fmt: skip
    if on_scene:
        tx.emit(
            assignments.case_unit_on_scene(
                case, unit, assignment_id, dispatched, case_states.Status.ON_SCENE, crew, times[2]
            )
        )
        await intake_actions.notify_referrer(tx, await _referral_of(tx, case_id))
        if "booking" in spec:
            await _booking(tx, spec["booking"], case_id, number, zone, operator, times[2])


async def _referral_of(tx: Tx, case_id: int) -> int:
    referral_id: int = await tx.conn.fetchval(
        "SELECT referral_id FROM cases WHERE id = $1", case_id
    )
    return referral_id


async def _booking(
    tx: Tx,
    spec: dict[str, Any],
    case_id: int,
    number: str,
    zone: str,
    operator: access.Principal,
    when: datetime,
) -> None:
    """The case's first resource, held and confirmed: the case has its resources in place."""
    resource = await tx.conn.fetchrow(
        "SELECT id, name, type, capacity FROM resources WHERE zone_id = $1 AND type = $2"
        " AND active ORDER BY id LIMIT 1 FOR UPDATE",
        zone,
        spec["type"],
    )
    if resource is None or resource["capacity"] < spec["quantity"]:
        return
    held_until = when + timedelta(minutes=30)
    booking_id: int = await tx.conn.fetchval(
        "INSERT INTO bookings (case_id, resource_id, quantity, status, requested_by, held_until,"
        " note, created_at, updated_at) VALUES ($1, $2, $3, 'confirmed', $4, $5, $6, $7, $7)"
        " RETURNING id",
        case_id,
        resource["id"],
        spec["quantity"],
        f"user:{operator.user_id}",
        held_until,
        spec.get("note", ""),
        when,
    )
    taken: int = await tx.conn.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM bookings WHERE resource_id = $1"
        " AND status IN ('held', 'confirmed', 'in_use')",
        resource["id"],
    )
    left = basket.available(resource["capacity"], taken)
    actor = f"user:{operator.user_id}"
    for status, previous in ((basket.Status.HELD, basket.Status.REQUESTED),
                             (basket.Status.CONFIRMED, basket.Status.HELD)):  # fmt: skip
        facts = basket.BookingFacts(
            id=booking_id,
            case_id=case_id,
            case_number=number,
            resource_id=resource["id"],
            resource_name=resource["name"],
            resource_type=resource["type"],
            zone=zone,
            quantity=spec["quantity"],
            status=status,
            held_until=held_until,
            note=spec.get("note", ""),
        )
        tx.emit(basket.booking_event(facts, previous=previous, available=left, actor=actor))
    tx.emit(basket.availability_changed(resource["id"], zone, resource["capacity"], left, actor))
    await tx.conn.execute(
        "UPDATE cases SET status = 'resources_in_place', updated_at = $2 WHERE id = $1",
        case_id,
        when,
    )
    tx.emit(
        basket.case_moved(
            case_id,
            number,
            zone,
            case_states.Status.ON_SCENE,
            case_states.Status.RESOURCES_IN_PLACE,
            booking_id=booking_id,
            actor=actor,
        )
    )
    await intake_actions.notify_referrer(tx, await _referral_of(tx, case_id))
