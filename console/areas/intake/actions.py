"""Intake's writes: receiving a referral; a referrer's progress event after any change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from console.areas.geo import reads as geo_reads
from console.areas.intake import reads, store
from console.areas.intake.schemas import (
    Addendum,
    AddendumIn,
    ReferralIn,
    ReferralReceived,
    ReferralStatus,
)
from console.lib import errors, idempotency
from console.lib.db import Database, Tx
from dispatch import access, cases, events, intake, referrals
from dispatch.calendars import ROME
from dispatch.cases import case_number


@dataclass(frozen=True, slots=True)
class Submitted:
    response: dict[str, Any]
    replayed: bool


def _who_refers(principal: access.Principal, body: ReferralIn) -> tuple[int, intake.Channel]:
    """The referrer a referral is from, and how it came: the caller's own, or an operator's."""
    if principal.role is access.Role.REFERRER:
        if body.referrer_id is not None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("referrer_id", "only operators send it", "forbidden")]
            )
        assert principal.referrer_id is not None
        channel = intake.Channel.WEB if principal.user_id is not None else intake.Channel.API
        return principal.referrer_id, channel
    if body.referrer_id is None:
        raise errors.ValidationFailed(
            problems=[
                errors.FieldProblem(
                    "referrer_id", "an operator entering a referral names its referrer", "missing"
                )
            ]
        )
    return body.referrer_id, intake.Channel.PHONE


def _received(
    referral_id: int,
    number: str,
    body: ReferralIn,
    place: asyncpg.Record,
    referrer: asyncpg.Record,
    channel: intake.Channel,
    principal: access.Principal,
    now: datetime,
) -> intake.Received:
    return intake.Received(
        referral_id=referral_id,
        case_number=number,
        trigger=body.trigger.value,
        urgency_proposed=body.urgency.value if body.urgency else None,
        municipality_code=place["istat_code"],
        municipality=place["name"],
        zone_id=place["zone_id"],
        zone=place["zone_name"],
        people_count=body.people.count,
        minors=body.people.minors,
        needs_mediator=body.people.needs_mediator,
        language=body.people.language,
        summary=intake.summary(body.description),
        referrer_id=referrer["id"],
        referrer_name=referrer["name"],
        referrer_kind=referrer["kind"],
        channel=channel,
        received_at=now,
        entered_by=principal.name if channel is intake.Channel.PHONE else None,
    )


async def submit(
    db: Database,
    principal: access.Principal,
    body: ReferralIn,
    key: str,
    *,
    now: datetime | None = None,
) -> Submitted:
    """Receive one referral: its case number, its row, its events, its idempotency record."""
    referrer_id, channel = _who_refers(principal, body)
    scope = f"referrer:{referrer_id}"
    request_hash = idempotency.fingerprint(body.model_dump(mode="json"))
    stated = geo_reads.stated_town(body.place.municipality, "place.municipality")
    check = await geo_reads.check_place(body.place.lat, body.place.lon, stated)
    async with db.action(now) as tx:
        replay = await idempotency.claim(tx.conn, scope, key, request_hash, tx.now)
        if replay is not None:
            return Submitted(replay.response, replayed=True)
        referrer = await tx.conn.fetchrow(
            "SELECT id, name, kind FROM referrers WHERE id = $1", referrer_id
        )
        if referrer is None:
            raise errors.ValidationFailed(
                problems=[errors.FieldProblem("referrer_id", "unknown referrer", "unknown")]
            )
        place = await store.municipality(tx.conn, "place.municipality", body.place.municipality)
        residence = None
        if body.residence_municipality is not None:
            residence = await store.municipality(
                tx.conn, "residence_municipality", body.residence_municipality
            )
        if body.reference is not None:
            await store.check_reference(tx.conn, referrer_id, body.reference)
        # The id first, so that the case number is part of the insert.
        referral_id: int = await tx.conn.fetchval(
            "SELECT nextval(pg_get_serial_sequence('referrals', 'id'))"
        )
        number = case_number(tx.now.astimezone(ROME).year, referral_id)
        by_phone = channel is intake.Channel.PHONE
        entered_by = principal.user_id if by_phone else None
        await store.insert(
            tx.conn,
            referral_id,
            number,
            referrer_id,
            body,
            place,
            residence,
            entered_by,
            tx.now,
            check,
        )
        received = _received(referral_id, number, body, place, referrer, channel, principal, tx.now)
        tx.emit(intake.referral_received(received, events.actor_of(principal)))
        current = referrals.Progress.RECEIVED  # told by tell_referrers
        response = ReferralReceived(
            id=referral_id,
            case_number=number,
            reference=body.reference,
            status=current,
            status_label=referrals.PROGRESS_LABELS[current],
            received_at=tx.now,
            warnings=check.warnings_json("place."),
        ).model_dump(mode="json")
        await idempotency.record(tx.conn, scope, key, 201, response)
    return Submitted(response, replayed=False)


def _about(row: asyncpg.Record) -> intake.About:
    """The referral as the room's events name it; a merged one's case is its target's."""
    case_id = row["case_id"]
    if case_id is None and row["merged_into"] is not None:
        case_id = row["target_case_id"]
    return intake.About(
        id=row["id"],
        case_number=row["case_number"],
        zone=row["zone_id"],
        referrer_name=row["referrer_name"],
        case_id=case_id,
        merged_into=row["merged_into"],
    )


async def add_addendum(
    db: Database,
    principal: access.Principal,
    referral_id: int,
    body: AddendumIn,
    key: str,
    *,
    now: datetime | None = None,
) -> Submitted:
    """The referrer adds information to its own referral, until the referral is over
    (dispatch.intake.addendum_refusal); the room sees it at once, on its case's timeline too."""
    assert principal.referrer_id is not None or principal.role is not access.Role.REFERRER
    scope = f"referrer:{principal.referrer_id}"
    request_hash = idempotency.fingerprint({"addendum_to": referral_id, **body.model_dump()})
    async with db.action(now) as tx:
        await store.lock_own(tx.conn, principal, referral_id)
        replay = await idempotency.claim(tx.conn, scope, key, request_hash, tx.now)
        if replay is not None:
            return Submitted(replay.response, replayed=True)
        row = await reads.one(tx.conn, referral_id)
        assert row is not None
        refusal = intake.addendum_refusal(reads.progress_of(row))
        if refusal is not None:
            raise store.refused(refusal)
        added = await store.insert_addendum(tx.conn, referral_id, body.text, principal, tx.now)
        actor = events.actor_of(principal)
        tx.emit(intake.addendum_added(_about(row), added, body.text, principal, actor, tx.now))
        response = Addendum(
            id=added,
            referral_id=referral_id,
            case_number=row["case_number"],
            text=body.text,
            author_name=principal.name,
            added_at=tx.now,
        ).model_dump(mode="json")
        await idempotency.record(tx.conn, scope, key, 201, response)
    return Submitted(response, replayed=False)


async def withdraw(
    db: Database,
    principal: access.Principal,
    referral_id: int,
    reason: str,
    *,
    now: datetime | None = None,
) -> ReferralStatus:
    """The referrer withdraws its own referral, until a unit is sent to its case
    (dispatch.intake.withdrawal_refusal): it leaves the room's queue, its clocks are cancelled,
    and a case opened for it (still only open) is closed with the referrer's reason."""
    async with db.action(now) as tx:
        await store.lock_own(tx.conn, principal, referral_id)
        row = await reads.one(tx.conn, referral_id)
        assert row is not None
        case_id = row["case_id"]
        if case_id is not None:  # lock order: referral -> case; a dispatch waits for us
            await tx.conn.execute("SELECT 1 FROM cases WHERE id = $1 FOR UPDATE", case_id)
            row = await reads.one(tx.conn, referral_id)
            assert row is not None
        refusal = intake.withdrawal_refusal(await store.standing(tx.conn, row))
        if refusal is not None:
            raise store.refused(refusal)
        previous = referrals.Status(row["status"])
        await tx.conn.execute(
            "UPDATE referrals SET status = $2, withdrawn_at = $3, withdrawal_reason = $4,"
            " updated_at = $3 WHERE id = $1",
            referral_id,
            intake.withdrawn_status(previous).value,
            tx.now,
            reason,
        )
        actor = events.actor_of(principal)
        tx.emit(intake.withdrawn(_about(row), previous, reason, principal, actor, tx.now))
        if case_id is not None:
            case_previous = cases.Status(row["case_status"])
            cases.advance(case_previous, cases.Status.CLOSED)
            await tx.conn.execute(
                "UPDATE cases SET status = 'closed', flagged = false, closed_at = $2,"
                " updated_at = $2 WHERE id = $1",
                case_id,
                tx.now,
            )
            why = f"Segnalazione ritirata dal segnalante: {reason}"
            zone = await tx.conn.fetchval("SELECT zone_id FROM cases WHERE id = $1", case_id)
            tx.emit(cases.closed(case_id, row["case_number"], zone, case_previous, why, principal))
        done = await reads.one(tx.conn, referral_id)
        assert done is not None
    return reads.status_view(done)


async def tell_referrers(tx: Tx) -> None:
    """Before every commit: the referrer of each referral the action moved
    (dispatch.referrals.to_tell) is told its progress, once, after the action's own events;
    then, by id, the referrer of each referral merged into one of them (a merged referral
    shows the progress of the one it was merged into). One round trip (reads.TOLD)."""
    told = referrals.to_tell(tx.pending)
    if not told:
        return
    rows = await tx.conn.fetch(
        reads.TOLD,
        [key for kind, key in told if kind == "referral"],
        [key for kind, key in told if kind == "case"],
    )
    by_id = {row["id"]: row for row in rows}
    of_case = {row["case_id"]: row["id"] for row in rows if row["case_id"] is not None}
    ids = list(dict.fromkeys(key if kind == "referral" else of_case[key] for kind, key in told))
    ids += sorted(by_id.keys() - set(ids))
    for referral_id in ids:
        row = by_id[referral_id]
        current = reads.progress_of(row)  # as GET /api/v1/referrals/{id} says it
        reason = reads.reason_of(row, current)  # the room's if not pertinent, its own if withdrawn
        tx.emit(
            events.referral_progressed(
                row["referrer_id"], referral_id, row["case_number"], current.value, reason
            )
        )
