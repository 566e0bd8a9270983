"""The handovers of a zone, as the territorial service reads them."""

from __future__ import annotations

from typing import Any

from console.areas.cases import reads as cases_reads
from console.areas.handover.schemas import Handover
from dispatch import access, handover


def handover_of(row: dict[str, Any], seq: int | None = None) -> Handover:
    status = handover.Status(row["status"])
    return Handover(
        **{k: v for k, v in row.items() if k not in ("status",)},
        status=status.value,
        status_label=handover.STATUS_LABELS[status],
        seq=seq,
    )


async def zone_handovers(
    conn: Any, principal: access.Principal, *, handover_id: int | None = None, status: str = "all"
) -> list[dict[str, Any]]:
    """Only the caller's zone: a service without a zone sees none."""
    if principal.zone_id is None:
        return []
    return await cases_reads.load_handovers(
        conn,
        handover_id=handover_id,
        zone=principal.zone_id,
        status=None if status == "all" else status,
    )
