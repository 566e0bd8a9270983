"""Handover to the territorial service: dossier, routing, accept or reject."""

from __future__ import annotations

from typing import Any

from console.areas.cases import reads as cases_reads
from console.areas.handover.reads import handover_of
from console.areas.handover.schemas import Handover
from console.lib import errors
from console.lib.db import Database, Tx
from dispatch import access, cases, handover


async def build_dossier(tx: Tx, case: Any) -> handover.Dossier:
    """Who, what happened, what was done, what was booked, what is still needed."""
    conn = tx.conn
    referral = await cases_reads.load_referral(conn, case["referral_id"])
    done = [
        line
        for e in await cases_reads.case_events(
            conn, case["id"], case["referral_id"], frozenset({access.ROOM}), limit=1000
        )
        if (line := cases.done_line(e["type"], e["payload"] or {}, e["at"])) is not None
    ]
    bookings = [
        {
            "type": b["resource_type"],
            "type_label": b["type_label"],
            "name": b["resource_name"],
            "provider": b["provider"],
            "status": b["status"],
            "quantity": b["quantity"],
        }
        for b in await cases_reads.load_bookings(conn, case["id"])
    ]
    return handover.dossier(
        case_number=case["case_number"],
        people=referral["people"] or {},
        what_happened=referral["description"],
        trigger=referral["trigger_label"],
        urgency=case["urgency"],
        place={
            "municipality": referral["municipality"]["name"],
            "zone": referral["zone"]["name"],
            "address": referral["address"],
        },
        timeline=done,
        bookings=bookings,
        needs=list(case["needs"]),
    )


async def send(db: Database, principal: access.Principal, case_id: int) -> Handover:
    """Send the case to the competent zone's service: residence first, else where found."""
    async with db.action() as tx:
        case = await tx.conn.fetchrow(
            "SELECT c.id, c.referral_id, c.case_number, c.status, c.zone_id, c.urgency, c.needs,"
            " rm.zone_id AS residence_zone FROM cases c JOIN referrals r ON r.id = c.referral_id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " WHERE c.id = $1 FOR UPDATE OF c",
            case_id,
        )
        if case is None:
            raise errors.NotFound("Caso non trovato.")
        status = cases.advance(cases.Status(case["status"]), cases.Status.HANDOVER_SENT)
        zone = handover.competent_zone(case["residence_zone"], case["zone_id"])
        zone_name = await tx.conn.fetchval("SELECT name FROM zones WHERE id = $1", zone)
        dossier = await build_dossier(tx, case)
        handover_id: int = await tx.conn.fetchval(
            "INSERT INTO handovers (case_id, zone_id, status, dossier, sent_at, sent_by)"
            " VALUES ($1, $2, 'sent', $3, $4, $5) RETURNING id",
            case_id,
            zone,
            dossier.as_dict(),
            tx.now,
            principal.user_id,
        )
        await tx.conn.execute(
            "UPDATE cases SET status = $2, flagged = false, updated_at = $3 WHERE id = $1",
            case_id,
            status.value,
            tx.now,
        )
        tx.emit(
            handover.sent(handover_id, case_id, zone, dossier, principal),
            handover.case_handover_sent(
                handover_id,
                case_id,
                case["case_number"],
                case["zone_id"],
                zone,
                zone_name,
                principal,
            ),
        )
        [row] = await cases_reads.load_handovers(tx.conn, handover_id=handover_id)
    return handover_of(row, tx.logged[-1].seq)


async def decide(
    db: Database,
    principal: access.Principal,
    handover_id: int,
    outcome: handover.Status,
    reason: str | None = None,
) -> Handover:
    """The zone's service accepts (its part is closed) or rejects (the room gets it, flagged)."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT h.status, h.zone_id, h.case_id, c.referral_id, c.case_number,"
            " c.status AS case_status FROM handovers h JOIN cases c ON c.id = h.case_id"
            " WHERE h.id = $1 FOR UPDATE",
            handover_id,
        )
        if row is None or principal.zone_id is None or row["zone_id"] != principal.zone_id:
            raise errors.NotFound("Passaggio non trovato.")
        handover.decide(handover.Status(row["status"]), outcome)
        rejected = outcome is handover.Status.REJECTED
        reason = handover.reject_reason(reason) if rejected else None
        target = cases.Status.HANDOVER_REJECTED if rejected else cases.Status.HANDOVER_ACCEPTED
        status = cases.advance(cases.Status(row["case_status"]), target)
        await tx.conn.execute(
            "UPDATE handovers SET status = $2, decided_at = $3, decided_by = $4, reason = $5"
            " WHERE id = $1",
            handover_id,
            outcome.value,
            tx.now,
            principal.user_id,
            reason,
        )
        await tx.conn.execute(
            "UPDATE cases SET status = $2, flagged = $3, updated_at = $4 WHERE id = $1",
            row["case_id"],
            status.value,
            rejected,
            tx.now,
        )
        tx.emit(
            handover.decided(
                handover_id,
                row["case_id"],
                row["case_number"],
                row["zone_id"],
                outcome,
                principal,
                reason,
            )
        )
        [found] = await cases_reads.load_handovers(tx.conn, handover_id=handover_id)
    return handover_of(found, tx.logged[-1].seq)
