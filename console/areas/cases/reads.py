"""What the case screens read: the open cases with their units, a case's file (referral,
assessment, units, bookings, notes, handovers) and its timeline.

Plain queries on one connection; the callers read them in one repeatable-read transaction so
that the file and its `as_of` seq agree. Shared by the case page and the handover.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from console.areas.cases.schemas import CaseUnit, RoomCase
from console.lib import errors
from console.lib.schemas import PersonRef
from dispatch import access, basket, cases, handover, intake, referrals, units


def require_case_reader(principal: access.Principal) -> None:
    """The case file: whoever may see full referrals or manage cases (the room)."""
    if not access.allows(principal, access.READ_CASES):
        raise errors.Forbidden()


async def room_cases(conn: asyncpg.Connection, *, include_closed: bool) -> list[RoomCase]:
    """The room's list: flagged first (with the rejection's reason), then urgency, then age."""
    rows = await conn.fetch(
        "SELECT c.id, c.case_number, c.status, c.urgency, c.zone_id, z.name AS zone_name,"
        " m.name AS municipality, r.trigger, c.owner_id, o.display_name AS owner_name,"
        " c.flagged, c.opened_at, c.updated_at,"
        " (SELECT h.reason FROM handovers h WHERE h.case_id = c.id AND h.status = 'rejected'"
        "  ORDER BY h.decided_at DESC LIMIT 1) AS flag_reason"
        " FROM cases c JOIN referrals r ON r.id = c.referral_id"
        " JOIN zones z ON z.id = c.zone_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code"
        " LEFT JOIN users o ON o.id = c.owner_id"
        " WHERE $1 OR c.status <> 'closed'"
        " ORDER BY c.flagged DESC, array_position(ARRAY['rosso','giallo','verde'], c.urgency),"
        " c.opened_at, c.id LIMIT 1000",
        include_closed,
    )
    on_case = await active_units(conn, [r["id"] for r in rows])
    found = []
    for r in rows:
        status = cases.Status(r["status"])
        found.append(
            RoomCase(
                id=r["id"],
                case_number=r["case_number"],
                status=status.value,
                status_label=cases.STATUS_LABELS[status],
                urgency=r["urgency"],
                zone_id=r["zone_id"],
                zone_name=r["zone_name"],
                municipality=r["municipality"],
                trigger=r["trigger"],
                trigger_label=label_of(referrals.TRIGGER_LABELS, referrals.Trigger, r["trigger"]),
                owner=PersonRef(id=r["owner_id"], name=r["owner_name"]) if r["owner_id"] else None,
                flagged=r["flagged"],
                flag_reason=r["flag_reason"] if r["flagged"] else None,
                units=on_case.get(r["id"], []),
                opened_at=r["opened_at"],
                updated_at=r["updated_at"],
            )
        )
    return found


async def active_units(conn: asyncpg.Connection, case_ids: list[int]) -> dict[int, list[CaseUnit]]:
    """The units on each case now: its active assignments, in dispatch order."""
    rows = await conn.fetch(
        "SELECT a.case_id, u.id, u.name, u.status FROM assignments a"
        " JOIN units u ON u.id = a.unit_id WHERE a.case_id = ANY($1::bigint[])"
        " AND a.done_at IS NULL AND a.cancelled_at IS NULL ORDER BY a.id",
        case_ids,
    )
    found: dict[int, list[CaseUnit]] = {}
    for r in rows:
        found.setdefault(r["case_id"], []).append(
            CaseUnit(
                id=r["id"],
                name=r["name"],
                status=r["status"],
                status_label=label_of(units.STATUS_LABELS, units.Status, r["status"]),
            )
        )
    return found


def label_of(table: dict[Any, str], enum: type, value: str | None) -> str:
    if value is None:
        return ""
    try:
        return table[enum(value)]
    except ValueError:
        return value


async def actor_names(conn: asyncpg.Connection, actors: Iterable[str | None]) -> dict[str, str]:
    """Display names of event actors: "user:5" -> "Maria Rossi", "unit:2" -> "UTES 2"."""
    ids: dict[str, set[int]] = {"user": set(), "unit": set(), "referrer": set()}
    for actor in actors:
        kind, _, raw = (actor or "").partition(":")
        if kind in ids and raw.isdigit():
            ids[kind].add(int(raw))
    names: dict[str, str] = {"system": "sistema"}
    for kind, table, column in (
        ("user", "users", "display_name"),
        ("unit", "units", "name"),
        ("referrer", "referrers", "name"),
    ):
        if ids[kind]:
            rows = await conn.fetch(
                f"SELECT id, {column} AS name FROM {table} WHERE id = ANY($1::bigint[])",
                sorted(ids[kind]),
            )
            names.update({f"{kind}:{r['id']}": r["name"] for r in rows})
    return names


def _person(user_id: int | None, name: str | None) -> dict[str, Any] | None:
    return None if user_id is None else {"id": user_id, "name": name or ""}


async def load_case(conn: asyncpg.Connection, case_id: int) -> dict[str, Any] | None:
    """The whole file of a case as plain data (None when there is no such case)."""
    row = await conn.fetchrow(
        "SELECT c.id, c.referral_id, c.case_number, c.status, c.zone_id, z.name AS zone_name,"
        " c.urgency, c.owner_id, o.display_name AS owner_name, c.needs, c.skills, c.language,"
        " c.flagged, c.opened_at, c.updated_at, c.closed_at, c.competent_zone_id"
        " FROM cases c JOIN zones z ON z.id = c.zone_id LEFT JOIN users o ON o.id = c.owner_id"
        " WHERE c.id = $1",
        case_id,
    )
    if row is None:
        return None
    status = cases.Status(row["status"])
    referral = await load_referral(conn, row["referral_id"])
    residence = referral["residence_municipality"] or {}
    competence = handover.Competence(
        row["zone_id"], residence.get("code"), residence.get("zone_id"), row["competent_zone_id"]
    )
    to_zone = competence.zone
    to_zone_name = await conn.fetchval("SELECT name FROM zones WHERE id = $1", to_zone)
    return {
        "id": row["id"],
        "case_number": row["case_number"],
        "status": status.value,
        "status_label": cases.STATUS_LABELS[status],
        "allowed": sorted(s.value for s in cases.TRANSITIONS.get(status, frozenset())),
        "urgency": row["urgency"],
        "zone_id": row["zone_id"],
        "zone_name": row["zone_name"],
        "competent_zone": {
            "id": to_zone,
            "name": to_zone_name or to_zone,
            "source": competence.source,  # corrected, residence or found
        },
        "owner": _person(row["owner_id"], row["owner_name"]),
        "needs": list(row["needs"]),
        "need_labels": [label_of(basket.TYPE_LABELS, basket.ResourceType, n) for n in row["needs"]],
        "skills": list(row["skills"]),
        "language": row["language"],
        "flagged": row["flagged"],
        "opened_at": row["opened_at"],
        "updated_at": row["updated_at"],
        "closed_at": row["closed_at"],
        "referral": referral,
        "assessment": referral.pop("assessment"),
        "assignments": await load_assignments(conn, case_id),
        "bookings": await load_bookings(conn, case_id),
        "notes": await load_notes(conn, case_id),
        "handovers": await load_handovers(conn, case_id=case_id),
    }


async def load_referral(conn: asyncpg.Connection, referral_id: int) -> dict[str, Any]:
    r = await conn.fetchrow(
        "SELECT r.*, f.name AS referrer_name, f.kind AS referrer_kind,"
        " m.name AS municipality_name, z.name AS zone_name,"
        " rm.name AS residence_name, rm.zone_id AS residence_zone,"
        " h.display_name AS holder_name, e.display_name AS entered_by_name"
        " FROM referrals r JOIN referrers f ON f.id = r.referrer_id"
        " JOIN municipalities m ON m.istat_code = r.municipality_code"
        " JOIN zones z ON z.id = r.zone_id"
        " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
        " LEFT JOIN users h ON h.id = r.holder_id LEFT JOIN users e ON e.id = r.entered_by"
        " WHERE r.id = $1",
        referral_id,
    )
    residence = None
    if r["residence_municipality_code"] is not None:
        residence = {
            "code": r["residence_municipality_code"],
            "name": r["residence_name"],
            "zone_id": r["residence_zone"],
        }
    return {
        "id": r["id"],
        "case_number": r["case_number"],
        "status": r["status"],
        "referrer": {
            "id": r["referrer_id"],
            "name": r["referrer_name"],
            "kind": r["referrer_kind"],
        },
        "referrer_reference": r["referrer_reference"],
        "trigger": r["trigger"],
        "trigger_label": label_of(referrals.TRIGGER_LABELS, referrals.Trigger, r["trigger"]),
        "urgency_proposed": r["urgency_proposed"],
        "urgency": r["urgency"],
        "municipality": {"code": r["municipality_code"], "name": r["municipality_name"]},
        "zone": {"id": r["zone_id"], "name": r["zone_name"]},
        "address": r["address"],
        "lat": r["lat"],
        "lon": r["lon"],
        "place_warnings": r["place_warnings"],
        "residence_municipality": residence,
        "people": r["people"],
        "description": r["description"],
        "callback": r["callback"],
        "holder": _person(r["holder_id"], r["holder_name"]),
        "claimed_at": r["claimed_at"],
        "decision_reason": r["decision_reason"],
        "merged_into": r["merged_into"],
        "entered_by": _person(r["entered_by"], r["entered_by_name"]),
        "received_at": r["received_at"],
        "updated_at": r["updated_at"],
        "assessment": r["assessment"],
    }


async def load_assignments(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT a.id, a.unit_id, u.name AS unit_name, u.status AS unit_status,"
        " u.crew AS unit_crew, u.phone AS unit_phone,"
        " a.dispatched_by, d.display_name AS dispatched_by_name, a.dispatched_at,"
        " a.acknowledged_at, a.en_route_at, a.on_scene_at, a.last_check_in_at, a.done_at,"
        " a.cancelled_at FROM assignments a JOIN units u ON u.id = a.unit_id"
        " LEFT JOIN users d ON d.id = a.dispatched_by WHERE a.case_id = $1 ORDER BY a.id",
        case_id,
    )
    return [
        {
            **{k: r[k] for k in r.keys() if k not in ("dispatched_by", "dispatched_by_name")},
            "unit_status_label": label_of(units.STATUS_LABELS, units.Status, r["unit_status"]),
            "dispatched_by": _person(r["dispatched_by"], r["dispatched_by_name"]),
            "active": r["done_at"] is None and r["cancelled_at"] is None,
        }
        for r in rows
    ]


async def load_bookings(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT b.id, b.resource_id, s.name AS resource_name, s.type AS resource_type,"
        " s.provider, s.zone_id, b.quantity, b.status, b.held_until, b.note, b.requested_by,"
        " b.created_at, b.updated_at FROM bookings b JOIN resources s ON s.id = b.resource_id"
        " WHERE b.case_id = $1 ORDER BY b.id",
        case_id,
    )
    return [
        {
            **dict(r),
            "type_label": label_of(basket.TYPE_LABELS, basket.ResourceType, r["resource_type"]),
            "active": r["status"] in basket.COUNTS_AGAINST_CAPACITY,
        }
        for r in rows
    ]


async def load_notes(conn: asyncpg.Connection, case_id: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT id, author, author_name, body, at, for_handover FROM notes WHERE case_id = $1"
        " ORDER BY at, id",
        case_id,
    )
    return [dict(r) for r in rows]


async def load_handovers(
    conn: asyncpg.Connection,
    *,
    case_id: int | None = None,
    handover_id: int | None = None,
    zone: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Handovers of one case, or one handover, or a zone's (optionally by status), newest first."""
    rows = await conn.fetch(
        "SELECT h.id, h.case_id, c.case_number, h.zone_id, z.name AS zone_name, h.status,"
        " h.dossier, h.sent_at, h.sent_by, s.display_name AS sent_by_name, h.decided_at,"
        " h.decided_by, d.display_name AS decided_by_name, h.reason,"
        " h.reply, h.replied_at, h.replied_by, y.display_name AS replied_by_name,"
        " to_jsonb(p) AS previous"
        " FROM handovers h JOIN cases c ON c.id = h.case_id JOIN zones z ON z.id = h.zone_id"
        " LEFT JOIN users s ON s.id = h.sent_by LEFT JOIN users d ON d.id = h.decided_by"
        " LEFT JOIN users y ON y.id = h.replied_by"
        # the rejection this handover follows, with the room's reply: its service reads both
        " LEFT JOIN LATERAL (SELECT e.id, e.zone_id, ez.name AS zone_name, e.reason,"
        "  e.decided_at, e.reply, e.replied_at FROM handovers e JOIN zones ez ON ez.id = e.zone_id"
        "  WHERE e.case_id = h.case_id AND e.status = 'rejected' AND e.id < h.id"
        "  ORDER BY e.id DESC LIMIT 1) p ON true"
        " WHERE ($1::bigint IS NULL OR h.case_id = $1) AND ($2::bigint IS NULL OR h.id = $2)"
        " AND ($3::text IS NULL OR h.zone_id = $3) AND ($4::text IS NULL OR h.status = $4)"
        " ORDER BY h.sent_at DESC, h.id DESC",
        case_id,
        handover_id,
        zone,
        status,
    )
    return [
        {
            **{k: r[k] for k in r.keys() if not k.endswith("_name") or k == "zone_name"},
            "sent_by": _person(r["sent_by"], r["sent_by_name"]),
            "decided_by": _person(r["decided_by"], r["decided_by_name"]),
            "replied_by": _person(r["replied_by"], r["replied_by_name"]),
        }
        for r in rows
    ]


async def case_events(
    conn: asyncpg.Connection,
    case_id: int,
    referral_id: int,
    tags: frozenset[str],
    *,
    after: int = 0,
    limit: int = 500,
) -> list[asyncpg.Record]:
    """The case's events that `tags` may see, oldest first.

    An event belongs to the case when its subject is the case or its referral, or its payload
    names the case (`case_id`): see docs/cases.md. Only the timeline's lines
    (dispatch.cases.in_timeline): each step once, no clock bookkeeping.
    """
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT seq, type, subject, payload, actor, at FROM events"
        " WHERE (subject = ANY($1::text[]) OR payload->>'case_id' = $2)"
        " AND audience && $3::text[] AND seq > $4 AND NOT (type = ANY($6::text[]))"
        " ORDER BY seq LIMIT $5",
        [f"case:{case_id}", f"referral:{referral_id}"],
        str(case_id),
        sorted(tags),
        after,
        limit,
        sorted(cases.QUIET_CLOCK_EVENTS),
    )
    return [r for r in rows if cases.in_timeline(r["type"], r["payload"] or {})]


async def timeline(
    conn: asyncpg.Connection,
    case_id: int,
    referral_id: int,
    tags: frozenset[str],
    *,
    after: int = 0,
    limit: int = 500,
) -> list[dict[str, Any]]:
    """The case's history in words: when, who, what, why."""
    rows = await case_events(conn, case_id, referral_id, tags, after=after, limit=limit)
    names = await actor_names(conn, (r["actor"] for r in rows))
    entries = []
    for r in rows:
        payload = r["payload"] or {}
        entries.append(
            {
                "seq": r["seq"],
                "at": r["at"],
                "type": r["type"],
                "what": cases.event_label(r["type"], payload),
                "who": names.get(r["actor"] or "system", r["actor"] or "sistema"),
                "why": cases.timeline_reason(r["type"], payload),
                "detail": cases.event_detail(payload),
            }
        )
    return entries


def labels() -> dict[str, dict[str, str]]:
    """The Italian labels the case and handover pages show for the API's codes."""
    tables: dict[str, Mapping[Any, str]] = {
        "trigger": referrals.TRIGGER_LABELS,
        "risk": referrals.RISK_LABELS,
        "urgency": referrals.URGENCY_LABELS,
        "referral_status": referrals.STATUS_LABELS,
        "decision": referrals.DECISION_LABELS,
        "referrer_kind": intake.REFERRER_KIND_LABELS,
        "age_band": intake.AGE_BAND_LABELS,
        "sex": intake.SEX_LABELS,
        "resource": basket.TYPE_LABELS,
        "booking": basket.STATUS_LABELS,
        "skill": units.SKILL_LABELS,
        "unit": units.STATUS_LABELS,
        "language": units.LANGUAGE_LABELS,
        "case": cases.STATUS_LABELS,
        "handover": handover.STATUS_LABELS,
    }
    return {name: {str(k): v for k, v in table.items()} for name, table in tables.items()}
