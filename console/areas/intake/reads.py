"""Referrals as read: all of one for the room, its status for its referrer."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import asyncpg

from console.areas.intake.schemas import (
    Addendum,
    ReferralsQuery,
    ReferralStatus,
    ReferralView,
)
from console.lib import errors
from dispatch import access, intake, referrals
from dispatch.referrals import Progress, Status

_P = access.Permission


def is_room(principal: access.Principal) -> bool:
    """True for the room (all of every referral); False for a referrer (its own, status only)."""
    if access.can(principal, _P.VIEW_REFERRALS):
        return True
    if access.can(principal, _P.VIEW_OWN_REFERRALS) and principal.referrer_id is not None:
        return False
    raise errors.Forbidden()


async def list_referrals(
    conn: asyncpg.Connection, principal: access.Principal, query: ReferralsQuery
) -> list[ReferralStatus]:
    """Newest first: all of every referral for the room, a referrer's own status views."""
    room = is_room(principal)
    rows = await page(
        conn,
        referrer_id=None if room else principal.referrer_id,
        status=query.status,
        limit=query.limit,
        after_id=query.after_id,
    )
    return [room_view(row) if room else status_view(row) for row in rows]


_ARRIVED = "SELECT FROM assignments a WHERE a.case_id = {case}.id AND a.on_scene_at IS NOT NULL"
SELECT = (
    "SELECT r.*, rf.name AS referrer_name, rf.kind AS referrer_kind,"
    " m.name AS municipality_name, z.name AS zone_name, rm.name AS residence_name,"
    " rm.zone_id AS residence_zone_id, eu.display_name AS entered_by_name,"
    " hu.display_name AS holder_name, c.id AS case_id, c.status AS case_status,"
    " t.status AS target_status, tc.status AS target_case_status, tc.id AS target_case_id,"
    f" EXISTS ({_ARRIVED.format(case='c')}) AS unit_arrived,"
    f" EXISTS ({_ARRIVED.format(case='tc')}) AS target_unit_arrived,"
    " GREATEST(r.updated_at, c.updated_at, t.updated_at, tc.updated_at) AS changed_at"
    " FROM referrals r JOIN referrers rf ON rf.id = r.referrer_id"
    " JOIN municipalities m ON m.istat_code = r.municipality_code"
    " JOIN zones z ON z.id = r.zone_id"
    " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
    " LEFT JOIN users eu ON eu.id = r.entered_by LEFT JOIN users hu ON hu.id = r.holder_id"
    " LEFT JOIN cases c ON c.referral_id = r.id"
    " LEFT JOIN referrals t ON t.id = r.merged_into LEFT JOIN cases tc ON tc.referral_id = t.id"
)


# What a referrer is told of the referrals an action moved, in one round trip: the moved ones
# (by id, or by the id of their case: $1, $2) and those merged into them, each with what its
# progress is computed from (`progress_of`, `reason_of`). `case_id` says which case a row is.
TOLD = (
    "WITH moved AS (SELECT array(SELECT unnest($1::bigint[])"
    " UNION SELECT referral_id FROM cases WHERE id = ANY($2::bigint[])) AS ids)"
    " SELECT r.id, r.referrer_id, r.case_number, r.status, r.decision_reason,"
    " r.withdrawal_reason, c.id AS case_id, c.status AS case_status, t.status AS target_status,"
    " tc.status AS target_case_status,"
    " (SELECT count(*) > 0 FROM assignments a WHERE a.case_id = c.id"
    " AND a.on_scene_at IS NOT NULL) AS unit_arrived,"
    " (SELECT count(*) > 0 FROM assignments a WHERE a.case_id = tc.id"
    " AND a.on_scene_at IS NOT NULL) AS target_unit_arrived"
    " FROM moved, referrals r LEFT JOIN cases c ON c.referral_id = r.id"
    " LEFT JOIN referrals t ON t.id = r.merged_into LEFT JOIN cases tc ON tc.referral_id = t.id"
    " WHERE r.id = ANY(moved.ids) OR r.merged_into = ANY(moved.ids)"
)


def progress_of(row: asyncpg.Record) -> Progress:
    status, case_status = Status(row["status"]), row["case_status"]
    arrived = row["unit_arrived"]
    if status is Status.MERGED and row["target_status"] is not None:
        status, case_status = Status(row["target_status"]), row["target_case_status"]
        arrived = row["target_unit_arrived"]
    return referrals.progress(status, case_status, unit_arrived=arrived)


def reason_of(row: asyncpg.Record, current: Progress) -> str | None:
    """The reason a referrer is shown: the room's when not pertinent, its own when withdrawn."""
    if current is Progress.NOT_PERTINENT:
        return row["decision_reason"]  # type: ignore[no-any-return]
    if current is Progress.WITHDRAWN:
        return row["withdrawal_reason"]  # type: ignore[no-any-return]
    return None


SUMMARY_WORDS = 90  # characters of the description a referrer's list shows


def status_view(row: asyncpg.Record) -> ReferralStatus:
    current = progress_of(row)
    trigger = referrals.Trigger(row["trigger"])
    return ReferralStatus(
        id=row["id"],
        case_number=row["case_number"],
        reference=row["referrer_reference"],
        status=current,
        status_label=referrals.PROGRESS_LABELS[current],
        reason=reason_of(row, current),
        received_at=row["received_at"],
        updated_at=row["changed_at"],
        trigger=trigger,
        trigger_label=referrals.TRIGGER_LABELS[trigger],
        summary=intake.summary(row["description"], SUMMARY_WORDS),
    )


def _label(labels: Mapping[Any, str], kind: type[enum.StrEnum], value: object) -> str:
    try:
        return labels[kind(str(value))]
    except (KeyError, ValueError):
        return "Non nota"


def sent_view(row: asyncpg.Record) -> dict[str, Any]:
    """What the referrer sent, for its own detail page (never the room's assessment)."""
    people = row["people"] or {}
    residence = row["residence_name"]
    return {
        "trigger_label": referrals.TRIGGER_LABELS[referrals.Trigger(row["trigger"])],
        "urgency_label": referrals.URGENCY_LABELS.get(row["urgency_proposed"], "—")
        if row["urgency_proposed"]
        else "—",
        "municipality": row["municipality_name"],
        "address": row["address"],
        "residence": residence,
        "people": {
            "count": people.get("count"),
            "minors": people.get("minors", 0),
            "age_band": _label(intake.AGE_BAND_LABELS, intake.AgeBand, people.get("age_band")),
            "sex": _label(intake.SEX_LABELS, intake.Sex, people.get("sex")),
            "language": intake.language_label(people.get("language")),
            "needs_mediator": bool(people.get("needs_mediator")),
        },
        "description": row["description"],
        "callback": row["callback"] or {},
        "by_phone": row["entered_by"] is not None,
    }


async def addenda(conn: asyncpg.Connection, referral_ids: list[int]) -> list[Addendum]:
    """The information added to these referrals after they were sent, oldest first."""
    rows = await conn.fetch(
        "SELECT a.id, a.referral_id, r.case_number, a.body, a.author_name, a.added_at"
        " FROM referral_addenda a JOIN referrals r ON r.id = a.referral_id"
        " WHERE a.referral_id = ANY($1::bigint[]) ORDER BY a.id",
        referral_ids,
    )
    return [
        Addendum(
            id=r["id"],
            referral_id=r["referral_id"],
            case_number=r["case_number"],
            text=r["body"],
            author_name=r["author_name"],
            added_at=r["added_at"],
        )
        for r in rows
    ]


async def addenda_for_room(conn: asyncpg.Connection, referral_id: int) -> list[Addendum]:
    """What the referrers added to this referral and to those merged into it, oldest first:
    what the assessment page lists."""
    ids = [referral_id] + [
        r["id"]
        for r in await conn.fetch("SELECT id FROM referrals WHERE merged_into = $1", referral_id)
    ]
    found = await addenda(conn, ids)
    return sorted(found, key=lambda a: a.id)


def _person(user_id: int | None, name: str | None) -> dict[str, Any] | None:
    return {"id": user_id, "name": name} if user_id is not None else None


def room_view(row: asyncpg.Record) -> ReferralView:
    """All of a referral, for the room."""
    residence = None
    if row["residence_municipality_code"]:
        residence = {
            "municipality_code": row["residence_municipality_code"],
            "municipality": row["residence_name"],
            "zone_id": row["residence_zone_id"],
        }
    case = None
    if row["case_id"] is not None:
        case = {"id": row["case_id"], "status": row["case_status"]}
    return ReferralView.model_validate(
        status_view(row).model_dump()
        | {
            "referral_status": row["status"],
            "referral_status_label": intake.STATUS_LABELS[row["status"]],
            "urgency_proposed": row["urgency_proposed"],
            "urgency": row["urgency"],
            "place": {
                "municipality_code": row["municipality_code"],
                "municipality": row["municipality_name"],
                "zone_id": row["zone_id"],
                "zone": row["zone_name"],
                "address": row["address"],
                "lat": row["lat"],
                "lon": row["lon"],
                "point_municipality_code": row["point_municipality_code"],
            },
            "place_warnings": row["place_warnings"],
            "residence": residence,
            "people": row["people"],
            "description": row["description"],
            "callback": row["callback"],
            "referrer": {
                "id": row["referrer_id"],
                "name": row["referrer_name"],
                "kind": row["referrer_kind"],
                "kind_label": intake.REFERRER_KIND_LABELS.get(row["referrer_kind"], ""),
            },
            "channel": "phone" if row["entered_by"] is not None else "referrer",
            "entered_by": _person(row["entered_by"], row["entered_by_name"]),
            "holder": _person(row["holder_id"], row["holder_name"]),
            "claimed_at": row["claimed_at"],
            "assessment": row["assessment"],
            "decision_reason": row["decision_reason"],
            "merged_into": row["merged_into"],
            "case": case,
        }
    )


async def one(conn: asyncpg.Connection, referral_id: int) -> asyncpg.Record | None:
    return await conn.fetchrow(SELECT + " WHERE r.id = $1", referral_id)


async def page(
    conn: asyncpg.Connection,
    *,
    referrer_id: int | None,
    status: Progress | None,
    limit: int,
    after_id: int | None,
) -> list[asyncpg.Record]:
    """Newest first, after `after_id`, of one referrer (or all), in the given progress status.

    Progress is computed in Python (dispatch.referrals.progress), so a filtered page is read
    in batches until it is full.
    """
    found: list[asyncpg.Record] = []
    cursor, batch = after_id, limit if status is None else 200
    while len(found) < limit:
        rows = await conn.fetch(
            SELECT + " WHERE ($1::bigint IS NULL OR r.referrer_id = $1)"
            " AND ($2::bigint IS NULL OR r.id < $2) ORDER BY r.id DESC LIMIT $3",
            referrer_id,
            cursor,
            batch,
        )
        for row in rows:
            cursor = row["id"]
            if status is None or progress_of(row) is status:
                found.append(row)
                if len(found) == limit:
                    break
        if len(rows) < batch:
            break
    return found
