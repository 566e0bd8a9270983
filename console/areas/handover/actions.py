"""Handover to the territorial service: dossier, routing, accept or reject."""

from __future__ import annotations

from typing import Any

from console.areas.cases import actions as cases_actions
from console.areas.cases import reads as cases_reads
from console.areas.handover.reads import handover_of
from console.areas.handover.schemas import Competence, Handover
from console.lib import errors
from console.lib.db import Database, Tx
from dispatch import access, cases, handover


async def build_dossier(tx: Tx, case: Any) -> handover.Dossier:
    """Who, what happened, the risks, the notes marked for it, what was done, what the person
    has and what is still needed."""
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
    residence = referral["residence_municipality"]
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
        assessment=referral["assessment"],
        residence=residence["name"] if residence else None,
        notes=await cases_reads.load_notes(conn, case["id"]),
    )


async def send(db: Database, principal: access.Principal, case_id: int) -> Handover:
    """Send the case to the competent zone's service: as corrected, else residence, else found."""
    async with db.action() as tx:
        case = await tx.conn.fetchrow(
            "SELECT c.id, c.referral_id, c.case_number, c.status, c.zone_id, c.urgency, c.needs,"
            " c.competent_zone_id, rm.zone_id AS residence_zone"
            " FROM cases c JOIN referrals r ON r.id = c.referral_id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " WHERE c.id = $1 FOR UPDATE OF c",
            case_id,
        )
        if case is None:
            raise errors.NotFound("Caso non trovato.")
        status = cases.advance(cases.Status(case["status"]), cases.Status.HANDOVER_SENT)
        zone = handover.competent_zone(
            case["residence_zone"], case["zone_id"], case["competent_zone_id"]
        )
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


async def reply(
    db: Database, principal: access.Principal, handover_id: int, message: str
) -> Handover:
    """The room answers a rejection, once: the service that rejected it reads the answer, and
    so does each service the case goes to afterwards (with the handover it receives)."""
    async with db.action() as tx:
        row = await tx.conn.fetchrow(
            "SELECT h.status, h.zone_id, h.case_id, h.reply, c.case_number, c.status AS case_status"
            " FROM handovers h JOIN cases c ON c.id = h.case_id WHERE h.id = $1 FOR UPDATE OF h",
            handover_id,
        )
        if row is None:
            raise errors.NotFound("Passaggio non trovato.")
        cases_actions.require_open(row["case_status"], "non si risponde più")
        refusal = handover.reply_refusal(handover.Status(row["status"]), row["reply"] is not None)
        if refusal:
            raise errors.Conflict(refusal)
        later = await tx.conn.fetch(
            "SELECT DISTINCT zone_id FROM handovers WHERE case_id = $1 AND id > $2",
            row["case_id"],
            handover_id,
        )
        await tx.conn.execute(
            "UPDATE handovers SET reply = $2, replied_at = $3, replied_by = $4 WHERE id = $1",
            handover_id,
            message,
            tx.now,
            principal.user_id,
        )
        tx.emit(
            handover.replied(
                handover_id,
                row["case_id"],
                row["case_number"],
                row["zone_id"],
                message,
                principal,
                [r["zone_id"] for r in later],
            )
        )
        [found] = await cases_reads.load_handovers(tx.conn, handover_id=handover_id)
    return handover_of(found, tx.logged[-1].seq)


async def correct_competence(
    db: Database,
    principal: access.Principal,
    case_id: int,
    *,
    residence_municipality: str | None,
    zone: str | None,
    reason: str,
) -> Competence:
    """Correct the person's residence or the competent zone, with a reason: kept in
    competence_corrections (who, when, from what to what, why) and on the case's timeline."""
    residence_municipality = (residence_municipality or "").strip() or None
    zone = (zone or "").strip() or None
    if (residence_municipality is None) == (zone is None):
        message = "Indicare il comune di residenza oppure la zona competente (uno dei due)."
        raise errors.ValidationFailed(
            message,
            problems=[
                errors.FieldProblem("residence_municipality", message, "one_of"),
                errors.FieldProblem("zone", message, "one_of"),
            ],
        )
    async with db.action() as tx:
        conn = tx.conn
        case = await conn.fetchrow(
            "SELECT c.id, c.referral_id, c.case_number, c.status, c.zone_id, c.competent_zone_id,"
            " r.residence_municipality_code AS residence, rm.name AS residence_name,"
            " rm.zone_id AS residence_zone FROM cases c JOIN referrals r ON r.id = c.referral_id"
            " LEFT JOIN municipalities rm ON rm.istat_code = r.residence_municipality_code"
            " WHERE c.id = $1 FOR UPDATE OF c, r",
            case_id,
        )
        if case is None:
            raise errors.NotFound("Caso non trovato.")
        refusal = handover.correction_refusal(case["status"])
        if refusal:
            raise errors.Conflict(refusal)
        before = handover.Competence(
            case["zone_id"], case["residence"], case["residence_zone"], case["competent_zone_id"]
        )
        if residence_municipality is not None:
            place = await conn.fetchrow(
                "SELECT istat_code, name, zone_id FROM municipalities"
                " WHERE istat_code = $1 OR lower(name) = lower($1) ORDER BY istat_code LIMIT 1",
                residence_municipality,
            )
            if place is None:
                raise errors.ValidationFailed(
                    "Comune di residenza non trovato.",
                    problems=[
                        errors.FieldProblem(
                            "residence_municipality",
                            "Comune toscano non trovato: scrivere il nome o il codice ISTAT.",
                            "unknown_municipality",
                        )
                    ],
                )
            field = handover.Field.RESIDENCE
            value, value_zone = place["istat_code"], place["zone_id"]
            previous = (
                {"code": case["residence"], "name": case["residence_name"]}
                if case["residence"]
                else None
            )
            shown = {"code": place["istat_code"], "name": place["name"]}
        else:
            target = await conn.fetchrow("SELECT id, name FROM zones WHERE id = $1", zone)
            if target is None:
                raise errors.ValidationFailed(
                    "Zona non trovata.",
                    problems=[errors.FieldProblem("zone", "Zona non trovata.", "unknown_zone")],
                )
            field = handover.Field.ZONE
            value = value_zone = target["id"]
            was = await conn.fetchval("SELECT name FROM zones WHERE id = $1", before.zone)
            previous = {"id": before.zone, "name": was}
            shown = {"id": target["id"], "name": target["name"]}
        after = handover.correct(before, field, value, value_zone)
        if after is None:
            raise errors.Conflict(
                "Niente da correggere: la residenza è già questa."
                if field is handover.Field.RESIDENCE
                else "Niente da correggere: la zona competente è già questa."
            )
        if field is handover.Field.RESIDENCE:
            await conn.execute(
                "UPDATE referrals SET residence_municipality_code = $2 WHERE id = $1",
                case["referral_id"],
                value,
            )
        await conn.execute(
            "UPDATE cases SET competent_zone_id = $2, updated_at = $3 WHERE id = $1",
            case_id,
            after.corrected_zone,
            tx.now,
        )
        await conn.execute(
            "INSERT INTO competence_corrections (case_id, field, previous, value, zone_before,"
            " zone_after, reason, by_user, by_name, at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            case_id,
            field.value,
            before.residence if field is handover.Field.RESIDENCE else before.zone,
            value,
            before.zone,
            after.zone,
            reason,
            principal.user_id,
            principal.name,
            tx.now,
        )
        zone_name: str = await conn.fetchval("SELECT name FROM zones WHERE id = $1", after.zone)
        tx.emit(
            handover.competence_corrected(
                case_id,
                case["case_number"],
                case["zone_id"],
                field,
                previous,
                shown,
                before,
                after,
                zone_name,
                reason,
                principal,
            )
        )
        residence = None
        if after.residence is not None:
            row = await conn.fetchrow(
                "SELECT istat_code, name, zone_id FROM municipalities WHERE istat_code = $1",
                after.residence,
            )
            residence = {"code": row["istat_code"], "name": row["name"], "zone_id": row["zone_id"]}
    return Competence(
        case_id=case_id,
        competent_zone={"id": after.zone, "name": zone_name, "source": after.source},
        residence_municipality=residence,
        seq=tx.logged[-1].seq,
    )
