"""Intake's SQL shared by its writes: municipalities, references, the referral row."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from console.areas.geo.reads import PlaceCheck
from console.areas.intake.schemas import ReferralIn, municipalities
from console.lib import errors
from dispatch import access, intake, referrals


async def municipality(conn: asyncpg.Connection, field: str, text: str) -> asyncpg.Record:
    """A municipality named by code or name, with its zone (422 on `field` if unknown)."""
    code = municipalities().find(text)
    row = await conn.fetchrow(
        "SELECT m.istat_code, m.name, m.zone_id, z.name AS zone_name FROM municipalities m"
        " JOIN zones z ON z.id = m.zone_id WHERE m.istat_code = $1",
        code,
    )
    if row is None:
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(field, f"unknown municipality {text!r}", "unknown")]
        )
    return row


async def check_reference(conn: asyncpg.Connection, referrer_id: int, reference: str) -> None:
    """409 when the referrer already used this reference."""
    taken = await conn.fetchval(
        "SELECT case_number FROM referrals WHERE referrer_id = $1 AND referrer_reference = $2",
        referrer_id,
        reference,
    )
    if taken is not None:
        raise reference_taken(reference, taken)


def reference_taken(reference: str | None, number: str | None) -> errors.Conflict:
    where = f" dalla segnalazione {number}" if number else ""
    error = errors.Conflict(
        f"Il riferimento «{reference}» è già usato{where}: ogni segnalazione ha un riferimento"
        " proprio (per inviare di nuovo la stessa, usare la stessa Idempotency-Key)."
    )
    error.code = "reference_taken"
    return error


async def insert(
    conn: asyncpg.Connection,
    referral_id: int,
    number: str,
    referrer_id: int,
    body: ReferralIn,
    place: asyncpg.Record,
    residence: asyncpg.Record | None,
    entered_by: int | None,
    now: datetime,
    check: PlaceCheck,
) -> None:
    """The referral row, as received, with its place's check; the same reference at the same
    moment is a 409."""
    try:
        await conn.execute(
            "INSERT INTO referrals (id, case_number, referrer_id, referrer_reference, status,"
            " trigger, urgency_proposed, municipality_code, zone_id, address, lat, lon,"
            " residence_municipality_code, people, description, callback, entered_by,"
            " received_at, updated_at, point_municipality_code, place_warnings) VALUES ($1, $2,"
            " $3, $4, 'received', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,"
            " $17, $18, $19)",
            referral_id,
            number,
            referrer_id,
            body.reference,
            body.trigger.value,
            body.urgency.value if body.urgency else None,
            place["istat_code"],
            place["zone_id"],
            body.place.address,
            body.place.lat,
            body.place.lon,
            residence["istat_code"] if residence else None,
            body.people.model_dump(mode="json"),
            body.description,
            body.callback.model_dump(mode="json"),
            entered_by,
            now,
            check.point.istat_code if check.point else None,
            check.warnings_json("place."),
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "referrals_referrer_id_referrer_reference_key":
            raise
        raise reference_taken(body.reference, None) from None


async def lock_own(conn: asyncpg.Connection, principal: access.Principal, referral_id: int) -> None:
    """Lock the caller's own referral for a change: 404 for any other (a referrer never learns
    that another's exists), 403 for a caller that is no referrer."""
    if principal.referrer_id is None:
        raise errors.Forbidden("Solo l'ente che ha inviato la segnalazione può farlo.")
    owner = await conn.fetchval(
        "SELECT referrer_id FROM referrals WHERE id = $1 FOR UPDATE", referral_id
    )
    if owner is None or owner != principal.referrer_id:
        raise errors.NotFound("Segnalazione non trovata.")


def refused(refusal: intake.Refusal) -> errors.Conflict:
    """The core's refusal as a 409 with its own code and Italian message."""
    error = errors.Conflict(refusal.message)
    error.code = refusal.code
    return error


async def standing(conn: asyncpg.Connection, row: asyncpg.Record) -> intake.Standing:
    """What decides a withdrawal: the referral's status, its case's, whether a unit was ever
    sent, the resources asked for, the referrals merged into it. Call with the case locked."""
    case_id = row["case_id"]
    counts = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM referrals WHERE merged_into = $1) AS followers,"
        " EXISTS (SELECT FROM assignments WHERE case_id = $2) AS units_sent,"
        " (SELECT count(*) FROM bookings WHERE case_id = $2"
        "  AND status IN ('requested', 'held', 'confirmed', 'in_use')) AS open_bookings",
        row["id"],
        case_id,
    )
    return intake.Standing(
        status=referrals.Status(row["status"]),
        case_status=row["case_status"],
        units_sent=counts["units_sent"],
        open_bookings=counts["open_bookings"],
        followers=counts["followers"],
    )


async def insert_addendum(
    conn: asyncpg.Connection,
    referral_id: int,
    body: str,
    principal: access.Principal,
    now: datetime,
) -> int:
    added: int = await conn.fetchval(
        "INSERT INTO referral_addenda (referral_id, body, author_id, author_name, added_at)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        referral_id,
        body,
        principal.user_id,
        principal.name,
        now,
    )
    return added
