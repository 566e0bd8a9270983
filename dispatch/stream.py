"""The live stream's decisions: resume or snapshot, and which events are new to a client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backfill:
    """Send the events after `after` (those the client may see), then go live."""

    after: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Send the current state as of a seq, then go live from there."""

    reason: str  # "new" | "too_far_behind" | "ahead_of_log"


def plan_resume(after: int | None, head: int, backfill_limit: int) -> Backfill | Snapshot:
    """Decide how a (re)connecting client catches up with the log whose last seq is `head`."""
    if after is None:
        return Snapshot("new")
    if after > head:
        return Snapshot("ahead_of_log")  # a log it never came from, e.g. a reset database
    if head - after > backfill_limit:
        return Snapshot("too_far_behind")
    return Backfill(after)


def missing_range(delivered: int, seq: int) -> tuple[int, int] | None:
    """Seqs to read from the log before `seq` can be delivered after `delivered`.

    Seqs are allocated in commit order, so once `seq` is committed every seq below it is too:
    the range (delivered, seq) can always be read back in full.
    """
    if seq <= delivered + 1:
        return None
    return (delivered, seq - 1)
