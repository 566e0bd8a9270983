"""Keep a referrer informed: after any change of a referral or its case, its progress event."""

from __future__ import annotations

from console.db import Tx
from dispatch import events, referrals


async def notify_referrer(tx: Tx, referral_id: int) -> referrals.Progress:
    """Emit the referral's current progress to its referrer (call after the change, same tx)."""
    row = await tx.conn.fetchrow(
        "SELECT r.referrer_id, r.case_number, r.status, r.decision_reason, r.merged_into,"
        " c.status AS case_status FROM referrals r LEFT JOIN cases c ON c.referral_id = r.id"
        " WHERE r.id = $1",
        referral_id,
    )
    status, case_status = referrals.Status(row["status"]), row["case_status"]
    if status is referrals.Status.MERGED and row["merged_into"] is not None:
        target = await tx.conn.fetchrow(
            "SELECT r.status, c.status AS case_status FROM referrals r"
            " LEFT JOIN cases c ON c.referral_id = r.id WHERE r.id = $1",
            row["merged_into"],
        )
        status, case_status = referrals.Status(target["status"]), target["case_status"]
    current = referrals.progress(status, case_status)
    reason = row["decision_reason"] if current is referrals.Progress.NOT_PERTINENT else None
    tx.emit(
        events.referral_progressed(
            row["referrer_id"], referral_id, row["case_number"], current.value, reason
        )
    )
    return current
