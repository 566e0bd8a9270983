"""The live stream's decisions (dispatch/stream.py): resume or snapshot, and missing seqs."""

import pytest

from dispatch.stream import Backfill, Snapshot, missing_range, plan_resume

LIMIT = 1000


@pytest.mark.parametrize(
    ("after", "head", "plan"),
    [
        (None, 0, Snapshot("new")),
        (None, 5000, Snapshot("new")),
        (0, 0, Backfill(0)),  # an empty log: nothing to send, go live
        (0, 10, Backfill(0)),
        (10, 10, Backfill(10)),  # up to date
        (9, 10, Backfill(9)),
        (4000, 5000, Backfill(4000)),  # exactly the backfill limit behind
        (3999, 5000, Snapshot("too_far_behind")),
        (0, 1001, Snapshot("too_far_behind")),
        (11, 10, Snapshot("ahead_of_log")),  # e.g. the database was reset
        (5, 0, Snapshot("ahead_of_log")),
    ],
)
def test_a_reconnecting_client_backfills_when_close_enough_else_gets_a_snapshot(after, head, plan):
    assert plan_resume(after, head, LIMIT) == plan


def test_the_backfill_limit_is_the_callers():
    assert plan_resume(90, 100, 10) == Backfill(90)
    assert plan_resume(89, 100, 10) == Snapshot("too_far_behind")


@pytest.mark.parametrize(
    ("delivered", "seq", "missing"),
    [
        (0, 1, None),  # the next one
        (41, 42, None),
        (42, 42, None),  # already delivered (an echo)
        (42, 7, None),
        (0, 2, (0, 1)),  # seq 1 is missing: read (0, 1]
        (41, 45, (41, 44)),
    ],
)
def test_only_a_seq_beyond_the_next_one_leaves_a_range_to_read_back(delivered, seq, missing):
    assert missing_range(delivered, seq) == missing
