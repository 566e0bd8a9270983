"""SQL shared inside the supervision area: escalations and shift notes as read and written."""

from __future__ import annotations

from typing import Any

import asyncpg

from dispatch import sla
from dispatch.clocks import Milestone

ESCALATION_COLUMNS = (
    "e.id, e.clock_id, e.milestone, e.referral_id, e.case_id, e.unit_id, un.name AS unit_name,"
    " e.case_number, e.zone_id, z.name AS zone_name, e.urgency, e.due_at, e.raised_at,"
    " e.acknowledged_at, e.acknowledged_by, b.display_name AS acknowledged_by_name, e.note"
)


ESCALATION_JOINS = (
    " FROM escalations e JOIN zones z ON z.id = e.zone_id LEFT JOIN units un ON un.id = e.unit_id"
    " LEFT JOIN users b ON b.id = e.acknowledged_by"
)


def _milestone_label(value: str) -> str:
    try:
        return sla.MILESTONE_LABELS[Milestone(value)]
    except ValueError:
        return value


def escalation_of(row: asyncpg.Record) -> dict[str, Any]:
    return {**dict(row), "label": _milestone_label(row["milestone"])}


NOTE_COLUMNS = (
    "n.id, n.body, n.author_id, a.display_name AS author_name, n.written_at, n.acknowledged_at,"
    " n.acknowledged_by, b.display_name AS acknowledged_by_name"
)


NOTE_JOINS = (
    " FROM shift_notes n JOIN users a ON a.id = n.author_id"
    " LEFT JOIN users b ON b.id = n.acknowledged_by"
)
