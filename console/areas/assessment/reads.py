"""The room's queue, a referral as the assessment page shows it, merge suggestions, operators.

Reads that a page follows live come with `as_of`, the log's head read in the same
repeatable-read transaction: the page applies the events after it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from console.areas.assessment.schemas import Candidate, Candidates, QueueEntry, QueueOut
from console.areas.intake import reads as intake_reads
from console.lib import errors, eventlog
from dispatch import referrals, similarity
from dispatch.referrals import Status, Urgency

SUMMARY_CHARS = 160


_REFERRAL_COLUMNS = (
    "r.id, r.case_number, r.status, r.trigger, r.urgency, r.urgency_proposed, r.zone_id,"
    " z.name AS zone_name, r.municipality_code, m.name AS municipality_name, r.address, r.lat,"
    " r.lon, r.people, r.description, r.callback, r.received_at, r.holder_id,"
    " h.display_name AS holder_name, r.claimed_at, f.name AS referrer_name, f.kind AS"
    " referrer_kind, r.referrer_reference"
)


_REFERRAL_JOINS = (
    " FROM referrals r JOIN municipalities m ON m.istat_code = r.municipality_code"
    " JOIN zones z ON z.id = r.zone_id JOIN referrers f ON f.id = r.referrer_id"
    " LEFT JOIN users h ON h.id = r.holder_id"
)


def int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _urgency(value: str | None) -> Urgency | None:
    return Urgency(value) if value else None


def trigger_label(value: str) -> str:
    try:
        return referrals.TRIGGER_LABELS[referrals.Trigger(value)]
    except ValueError:
        return value


def _summary(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1] + "…"


# Only what an entry shows: the queue reads every open referral on every refresh.
_QUEUE_COLUMNS = (
    "r.id, r.case_number, r.status, r.trigger, r.urgency, r.urgency_proposed, r.zone_id,"
    " z.name AS zone_name, m.name AS municipality_name, r.people->'count' AS people_count,"
    " r.people->'minors' AS minors, r.description, r.received_at, r.holder_id,"
    " h.display_name AS holder_name, r.claimed_at, f.name AS referrer_name"
)


def queue_entry(row: asyncpg.Record, now: datetime) -> QueueEntry:
    assessed, proposed = _urgency(row["urgency"]), _urgency(row["urgency_proposed"])
    source = "assessment" if assessed else "proposal" if proposed else "default"
    status = Status(row["status"])
    # Built from PostgreSQL's own typed columns: nothing to validate (model_construct is
    # several times faster for a queue of thousands).
    return QueueEntry.model_construct(
        id=row["id"],
        case_number=row["case_number"],
        status=status.value,
        status_label=referrals.STATUS_LABELS[status],
        urgency=referrals.queue_urgency(assessed, proposed).value,
        urgency_source=source,
        trigger=row["trigger"],
        trigger_label=trigger_label(row["trigger"]),
        municipality_name=row["municipality_name"],
        zone_id=row["zone_id"],
        zone_name=row["zone_name"],
        people_count=int_or_none(row["people_count"]),
        minors=int_or_none(row["minors"]),
        summary=_summary(row["description"]),
        referrer_name=row["referrer_name"],
        received_at=row["received_at"],
        waited_seconds=max(0, int((now - row["received_at"]).total_seconds())),
        holder_id=row["holder_id"],
        holder_name=row["holder_name"],
        claimed_at=row["claimed_at"],
    )


def _queue_key(entry: QueueEntry) -> tuple[int, float, int]:
    rank, received = referrals.queue_key(Urgency(entry.urgency), entry.received_at.timestamp())
    return (rank, received, entry.id)


async def read_queue(pool: asyncpg.Pool, now: datetime | None = None) -> QueueOut:
    """The open referrals in the room's order, and the log head they agree with."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        rows = await conn.fetch(
            f"SELECT {_QUEUE_COLUMNS}{_REFERRAL_JOINS}"
            " WHERE r.status IN ('received', 'in_assessment')"
        )
    now = now or datetime.now(UTC)
    entries = sorted((queue_entry(r, now) for r in rows), key=_queue_key)
    return QueueOut(entries=entries, as_of=as_of, now=now)


async def read_referral(pool: asyncpg.Pool, referral_id: int) -> tuple[dict[str, Any], int]:
    """Everything the room sees of one referral, and the log head it agrees with: with
    `addenda`, what its referrer (and those of referrals merged into it) added since, oldest
    first, `withdrawn_at` / `withdrawal_reason` once its referrer withdrew it, and
    `place_warnings`: the doubts about its point found at intake (dispatch/places.py)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        row = await conn.fetchrow(
            f"SELECT {_REFERRAL_COLUMNS}, r.assessment, r.decision_reason, r.merged_into,"
            " r.withdrawn_at, r.withdrawal_reason, r.point_municipality_code, r.place_warnings,"
            " t.case_number AS merged_into_number, c.id AS case_id,"
            " rm.name AS residence_name, e.display_name AS entered_by_name"
            f"{_REFERRAL_JOINS} LEFT JOIN referrals t ON t.id = r.merged_into"
            " LEFT JOIN cases c ON c.referral_id = r.id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " LEFT JOIN users e ON e.id = r.entered_by WHERE r.id = $1",
            referral_id,
        )
        if row is None:
            raise errors.NotFound("Segnalazione non trovata.")
        addenda = await intake_reads.addenda_for_room(conn, referral_id)
    return dict(row) | {"addenda": addenda}, as_of


_SIGHTING_COLUMNS = (
    "r.id, r.case_number, r.status, r.trigger, r.municipality_code, m.name AS"
    " municipality_name, r.address, r.lat, r.lon, m.lat AS town_lat, m.lon AS town_lon,"
    " r.people, r.callback, r.description, r.received_at"
)
_SIGHTING_JOINS = " FROM referrals r JOIN municipalities m ON m.istat_code = r.municipality_code"
TOWN_POINT_M = 10.0  # a point this close to its municipality's is the municipality's


async def merge_candidates(pool: asyncpg.Pool, referral_id: int, now: datetime) -> Candidates:
    """The possible duplicates of a referral (`dispatch.similarity`), likeliest first."""
    subject = await pool.fetchrow(
        f"SELECT {_SIGHTING_COLUMNS}{_SIGHTING_JOINS} WHERE r.id = $1", referral_id
    )
    if subject is None:
        raise errors.NotFound("Segnalazione non trovata.")
    rows = await pool.fetch(
        f"SELECT {_SIGHTING_COLUMNS}{_SIGHTING_JOINS} WHERE r.id <> $1"
        " AND r.status NOT IN ('merged', 'withdrawn') AND r.received_at >= $2"
        " ORDER BY r.received_at DESC LIMIT 2000",
        referral_id,
        now - similarity.WINDOW,
    )
    by_id = {r["id"]: r for r in rows}
    found = similarity.candidates(_sighting(subject), map(_sighting, rows), now)
    return Candidates(
        candidates=[_candidate(by_id[c.id], c) for c in found],
    )


def _candidate(row: asyncpg.Record, found: similarity.Candidate) -> Candidate:
    return Candidate(
        id=row["id"],
        case_number=row["case_number"],
        status=row["status"],
        status_label=referrals.STATUS_LABELS[Status(row["status"])],
        trigger_label=trigger_label(row["trigger"]),
        municipality_name=row["municipality_name"],
        address=row["address"],
        received_at=row["received_at"],
        summary=_summary(row["description"]),
        score=found.score,
        reasons=list(found.reasons),
        differences=list(found.differences),
    )


def _sighting(row: asyncpg.Record) -> similarity.Sighting:
    """A referral row as the comparison reads it; a point only when it is the place's own."""
    callback = row["callback"] if isinstance(row["callback"], dict) else {}
    people = row["people"] if isinstance(row["people"], dict) else {}
    point = None
    if row["lat"] is not None and row["lon"] is not None:
        own, town = (row["lat"], row["lon"]), (row["town_lat"], row["town_lon"])
        point = own if similarity.distance_m(own, town) > TOWN_POINT_M else None
    language = people.get("language")
    return similarity.Sighting(
        id=row["id"],
        status=Status(row["status"]),
        received_at=row["received_at"],
        municipality_code=row["municipality_code"],
        municipality_name=row["municipality_name"],
        address=row["address"] or "",
        point=point,
        description=row["description"],
        phone=str(callback.get("phone") or ""),
        age_band=str(people.get("age_band") or "unknown"),
        sex=str(people.get("sex") or "unknown"),
        language=language if isinstance(language, str) and language else None,
    )
