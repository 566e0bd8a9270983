"""The room's actions on a referral: claim, release, reassign, decide (activate opens a case).

Each action is one transaction: lock the referral (`FOR UPDATE`), ask `dispatch.referrals`,
write the rows and their events, tell the referrer its progress. The queue, the suggestions
and the pages are in `console.queue`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from console.areas.assessment.schemas import (
    AssessmentIn,
    DecisionIn,
    DecisionOut,
    ReferralState,
)
from console.lib import errors, guard
from console.lib.db import Database, Tx
from dispatch import access, referrals
from dispatch.errors import Refused
from dispatch.events import NewEvent
from dispatch.referrals import Decision, Status


class HeldElsewhere(errors.Conflict):
    """A claim lost: the answer names who holds the referral."""

    code = "refused"

    def __init__(self, holder_id: int | None, holder_name: str | None) -> None:
        super().__init__(
            f"Segnalazione già in valutazione da {holder_name or 'un altro operatore'}."
        )
        self.holder = {"id": holder_id, "name": holder_name}

    def body(self) -> dict[str, Any]:
        return {**super().body(), "holder": self.holder}


async def _lock(tx: Tx, *ids: int) -> dict[int, dict[str, Any]]:
    """Lock referrals in id order (two merges in opposite directions cannot deadlock).

    The holder's name is read after the lock, by its own statement: a join in the locking
    statement would show the user row as it was before a concurrent claim committed.
    """
    rows = await tx.conn.fetch(
        "SELECT id, case_number, status, holder_id, zone_id FROM referrals"
        " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        sorted(set(ids)),
    )
    holders = [r["holder_id"] for r in rows if r["holder_id"] is not None]
    names = dict(
        await tx.conn.fetch("SELECT id, display_name FROM users WHERE id = ANY($1)", holders)
        if holders
        else []
    )
    return {r["id"]: {**dict(r), "holder_name": names.get(r["holder_id"])} for r in rows}


async def _lock_one(tx: Tx, referral_id: int) -> dict[str, Any]:
    row = (await _lock(tx, referral_id)).get(referral_id)
    if row is None:
        raise errors.NotFound("Segnalazione non trovata.")
    return row


def _ref(referral_id: int, row: dict[str, Any]) -> referrals.ReferralRef:
    return referrals.ReferralRef(referral_id, row["case_number"], row["zone_id"])


def _claim_of(row: dict[str, Any]) -> referrals.Claim:
    return referrals.Claim(Status(row["status"]), row["holder_id"])


async def _set_claim(tx: Tx, referral_id: int, new: referrals.Claim) -> None:
    await tx.conn.execute(
        "UPDATE referrals SET status = $2, holder_id = $3, updated_at = $4,"
        " claimed_at = CASE WHEN $3::bigint IS NULL THEN NULL ELSE $4::timestamptz END"
        " WHERE id = $1",
        referral_id,
        new.status.value,
        new.holder,
        tx.now,
    )


def _state(row: dict[str, Any], new: referrals.Claim, name: str | None, tx: Tx) -> ReferralState:
    return ReferralState(
        id=row["id"],
        case_number=row["case_number"],
        status=new.status.value,
        status_label=referrals.STATUS_LABELS[new.status],
        holder_id=new.holder,
        holder_name=name if new.holder is not None else None,
        claimed_at=tx.now if new.holder is not None else None,
        seq=tx.logged[0].seq,
    )


async def claim(
    db: Database, by: access.Principal, referral_id: int, *, now: datetime | None = None
) -> ReferralState:
    """Take a received referral into assessment: exactly one of many simultaneous claims wins."""
    async with db.action(now) as tx:
        row = await _lock_one(tx, referral_id)
        try:
            new = referrals.claim(_claim_of(row), guard.user_id_of(by))
        except Refused:
            raise HeldElsewhere(row["holder_id"], row["holder_name"]) from None
        await _set_claim(tx, referral_id, new)
        tx.emit(referrals.referral_claimed(_ref(referral_id, row), by, tx.now))
    return _state(row, new, by.name, tx)


async def release(
    db: Database, by: access.Principal, referral_id: int, reason: str | None = None
) -> ReferralState:
    """The holder gives the referral back to the queue."""
    async with db.action() as tx:
        row = await _lock_one(tx, referral_id)
        new = referrals.release(_claim_of(row), guard.user_id_of(by))
        await _set_claim(tx, referral_id, new)
        tx.emit(referrals.referral_released(_ref(referral_id, row), by, tx.now, reason))
    return _state(row, new, None, tx)


async def reassign(
    db: Database, by: access.Principal, referral_id: int, to: int, reason: str | None = None
) -> ReferralState:
    """A supervisor hands an open referral to another operator (or takes it)."""
    async with db.action() as tx:
        row = await _lock_one(tx, referral_id)
        name = await guard.room_member_name(tx.conn, to)
        current = _claim_of(row)
        new = referrals.reassign_checked(current, to)
        await _set_claim(tx, referral_id, new)
        tx.emit(
            referrals.referral_reassigned(
                _ref(referral_id, row),
                by,
                tx.now,
                from_=(row["holder_id"], row["holder_name"]),
                to=(to, name),
                reason=reason,
            )
        )
    return _state(row, new, name, tx)


async def decide(
    db: Database,
    by: access.Principal,
    referral_id: int,
    body: DecisionIn,
    *,
    now: datetime | None = None,
) -> DecisionOut:
    """The assessment's outcome. Activate opens the case in the same transaction."""
    assessed = body.assessment
    problems = referrals.decision_problems(
        body.decision,
        reason=body.reason,
        urgency=assessed.urgency,
        redirect_to=body.redirect_to,
        merge_into=body.merge_into,
        referral_id=referral_id,
    )
    if problems:
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(f, message, "missing") for f, message in problems]
        )
    merging = body.decision is Decision.MERGE
    merge_into = body.merge_into if merging else None
    async with db.action(now) as tx:
        rows = await _lock(tx, referral_id, *([merge_into] if merge_into else []))
        row = rows.get(referral_id)
        if row is None:
            raise errors.NotFound("Segnalazione non trovata.")
        status = referrals.decide(
            _claim_of(row),
            guard.user_id_of(by),
            body.decision,
            reason=body.reason,
            merge_into=merge_into,
        )
        if merge_into is not None:
            target = rows.get(merge_into)
            target_status = Status(target["status"]) if target else None
            referrals.check_merge_target(referral_id, merge_into, target_status)
        record = {
            **assessed.model_dump(mode="json"),
            "decision": body.decision.value,
            "redirect_to": body.redirect_to if body.decision is Decision.REDIRECT else None,
            "decided_by": by.user_id,
            "decided_by_name": by.name,
            "decided_at": tx.now.isoformat(),
        }
        await tx.conn.execute(
            "UPDATE referrals SET status = $2, urgency = coalesce($3, urgency), assessment = $4,"
            " decision_reason = $5, merged_into = $6, updated_at = $7 WHERE id = $1",
            referral_id,
            status.value,
            assessed.urgency.value if assessed.urgency else None,
            record,
            body.reason or None,
            merge_into,
            tx.now,
        )
        case_id = await _open_case(tx, by, row, assessed) if status is Status.ACTIVATED else None
        repointed = await _repoint_merged(tx, referral_id, merge_into) if merge_into else []
        tx.emit(
            referrals.referral_decided(
                _ref(referral_id, row),
                by,
                tx.now,
                decision=body.decision,
                reason=body.reason or None,
                urgency=assessed.urgency,
                case_id=case_id,
                merged_into=merge_into,
                redirect_to=record["redirect_to"],
                repointed=repointed,
            )
        )
        if case_id is not None:
            tx.emit(_case_opened(case_id, referral_id, row, by, tx, assessed))
    return DecisionOut(
        id=referral_id,
        status=status.value,
        decision=body.decision.value,
        case_id=case_id,
        merged_into=merge_into,
        seq=tx.logged[0].seq,
    )


async def _open_case(
    tx: Tx, by: access.Principal, row: dict[str, Any], assessed: AssessmentIn
) -> int:
    assert assessed.urgency is not None  # decision_problems required it
    case_id: int = await tx.conn.fetchval(
        "INSERT INTO cases (referral_id, case_number, status, zone_id, urgency, owner_id, needs,"
        " skills, language, opened_at, updated_at)"
        " VALUES ($1, $2, 'open', $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        row["id"],
        row["case_number"],
        row["zone_id"],
        assessed.urgency.value,
        by.user_id,
        [n.value for n in assessed.needs],
        [s.value for s in assessed.skills],
        assessed.language or None,
        tx.now,
    )
    return case_id


def _case_opened(
    case_id: int,
    referral_id: int,
    row: dict[str, Any],
    by: access.Principal,
    tx: Tx,
    assessed: AssessmentIn,
) -> NewEvent:
    assert assessed.urgency is not None
    return referrals.case_opened(
        case_id,
        referral_id,
        row["case_number"],
        by,
        tx.now,
        zone=row["zone_id"],
        urgency=assessed.urgency,
        needs=[n.value for n in assessed.needs],
        skills=[s.value for s in assessed.skills],
        language=assessed.language or None,
    )


async def _repoint_merged(tx: Tx, referral_id: int, target: int) -> list[int]:
    """Referrals merged into this one now follow the target: merges never chain."""
    rows = await tx.conn.fetch(
        "UPDATE referrals SET merged_into = $2, updated_at = $3 WHERE merged_into = $1"
        " RETURNING id",
        referral_id,
        target,
        tx.now,
    )
    return [r["id"] for r in rows]
