"""SLA clocks at the edge: kept in step with every action, fired exactly once when due.

`track` runs inside every action's transaction (`Database.action`), after the action and
before its events are appended: the workflow moments its events record start, pause, resume,
stop, cancel or re-target clocks, and the clock changes commit with the action or not at all.

`fire_due` claims the clocks whose next warning or breach is due (`FOR UPDATE SKIP LOCKED`):
two instances never fire the same clock, and a clock fired is moved on in the same
transaction as its events, so each warning and breach is on the log exactly once. A breach
also raises an escalation for the supervisors. `Runner` wakes an instance at the next due
instant with APScheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from console.areas.clocks import store
from console.areas.clocks.reads import policy_out
from console.areas.clocks.store import COLUMNS, OPEN_STATES, tracked_of
from console.lib import metrics
from dispatch import access, clocks, sla, supervision
from dispatch.clocks import Milestone, State
from dispatch.events import Event, NewEvent
from dispatch.sla import Kind, Tracked

if TYPE_CHECKING:
    from console.lib.db import Database, Tx


log = logging.getLogger("seus.clocks")


_OPEN = ", ".join(f"'{state}'" for state in OPEN_STATES)
_CONTEXT = ("referral_id", "case_id", "assignment_id", "unit_id", "case_number", "zone_id")


def _context(row: Any) -> dict[str, Any]:
    return {name: row[name] for name in _CONTEXT}


_NULLS = ", ".join(["NULL"] * 8)  # a subject's row has none of a clock's own columns
# In one round trip, for the subjects the action's moments name ($1 referrals, $2 cases, $3
# assignments): their open clocks, locked ('clock' rows, COLUMNS); what a clock needs to know
# of each subject, its urgency and where it belongs (a row of its kind); the SLA policies'
# version ('policies', store.VERSION). The open states are written out as the index on open
# clocks says them (migration 0012): a parameter would hide from a generic plan that it applies.
_READ = (
    f"WITH open AS (SELECT {COLUMNS} FROM clocks WHERE state IN ({_OPEN}) AND ("
    " (kind = 'referral' AND subject_id = ANY($1)) OR (kind = 'case' AND subject_id = ANY($2))"
    " OR (kind = 'assignment' AND subject_id = ANY($3))) ORDER BY id FOR UPDATE)"
    f" SELECT 'clock' AS source, {COLUMNS}, NULL AS policies FROM open"
    " UNION ALL SELECT 'referral', id, NULL, NULL, NULL, id, NULL, NULL, NULL, case_number,"
    f" zone_id, coalesce(urgency, urgency_proposed), {_NULLS}, NULL"
    " FROM referrals WHERE id = ANY($1::bigint[])"
    " UNION ALL SELECT 'case', id, NULL, NULL, NULL, referral_id, id, NULL, NULL, case_number,"
    f" zone_id, urgency, {_NULLS}, NULL FROM cases WHERE id = ANY($2::bigint[])"
    " UNION ALL SELECT 'assignment', a.id, NULL, NULL, NULL, c.referral_id, a.case_id, a.id,"
    f" a.unit_id, c.case_number, c.zone_id, c.urgency, {_NULLS}, NULL FROM assignments a"
    " JOIN cases c ON c.id = a.case_id WHERE a.id = ANY($3::bigint[])"
    " UNION ALL SELECT 'policies', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    f" NULL, {_NULLS}, {store.VERSION}"
)


async def _read(
    conn: asyncpg.Connection, keys: dict[Kind, set[int]]
) -> tuple[list[Any], dict[tuple[Kind, int], dict[str, Any]], str]:
    """The open clocks of the subjects (locked, by id), the subjects found (by kind and id),
    and the policies' version."""
    clocks_: list[Any] = []
    found: dict[tuple[Kind, int], dict[str, Any]] = {}
    version = ""
    rows = await conn.fetch(
        _READ, *(sorted(keys[kind]) for kind in (Kind.REFERRAL, Kind.CASE, Kind.ASSIGNMENT))
    )
    for row in rows:
        if row["source"] == "clock":
            clocks_.append(row)
        elif row["source"] == "policies":
            version = row["policies"]
        else:
            found[(Kind(row["source"]), row["id"])] = {**_context(row), "urgency": row["urgency"]}
    return sorted(clocks_, key=lambda r: r["id"]), found, version


def _state_values(tracked: Tracked, now: datetime) -> tuple[Any, ...]:
    """The columns a clock's state is kept in, in the order `_UPDATE` takes them ($2...)."""
    clock, calendar = tracked.clock, tracked.calendar
    due = clocks.next_due(clock, calendar)
    return (
        tracked.urgency,
        clock.state.value,
        clock.budget,
        clock.counted,
        clock.running_since,
        list(clock.warnings),
        clock.warned,
        clock.breached_at,
        clocks.deadline(clock, calendar),
        due.at if due else None,
        now if clock.state in (State.MET, State.CANCELLED) else None,
        now,
    )


_UPDATE = (
    "UPDATE clocks SET urgency = $2, state = $3, budget = $4, counted = $5,"
    " running_since = $6, warnings = $7, warned = $8, breached_at = $9, deadline = $10,"
    " due_at = $11, ended_at = coalesce(ended_at, $12), updated_at = $13 WHERE id = $1"
)


async def _save(
    conn: asyncpg.Connection, tracked: Tracked, context: dict[str, Any], now: datetime
) -> int:
    state_values = _state_values(tracked, now)
    if tracked.id is not None:
        await conn.execute(_UPDATE, tracked.id, *state_values)
        return tracked.id
    clock_id: int = await conn.fetchval(
        "INSERT INTO clocks (urgency, state, budget, counted, running_since, warnings, warned,"
        " breached_at, deadline, due_at, ended_at, updated_at, milestone, kind, subject_id,"
        " referral_id, case_id, assignment_id, unit_id, case_number, zone_id, calendar,"
        " started_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,"
        " $16, $17, $18, $19, $20, $21, $22, $12) RETURNING id",
        *state_values,
        tracked.clock.milestone.value,
        tracked.kind.value,
        tracked.key,
        *(context[name] for name in _CONTEXT),
        store.calendar_to_json(tracked.calendar),
    )
    return clock_id


def _event(action: str, tracked: Tracked, context: dict[str, Any], **extra: Any) -> NewEvent:
    unit_id = context["unit_id"] if tracked.kind is Kind.ASSIGNMENT else None
    return sla.clock_event(action, tracked, context, extra=extra, unit_id=unit_id)


async def track(tx: Tx) -> None:
    """Move the clocks the action's events concern (called by `Database.action`)."""
    moments = [m for e in tx.pending if (m := sla.moment_of(e)) is not None]
    if not moments:
        return
    conn = tx.conn
    keys = sla.keys_of(moments)
    open_rows, subjects, version = await _read(conn, keys)
    contexts = {(Milestone(r["milestone"]), r["subject_id"]): _context(r) for r in open_rows}
    urgency_of = {key: s["urgency"] for key, s in subjects.items() if s["urgency"]}
    changes = sla.plan(
        moments,
        await store.current(conn, version),
        [tracked_of(r) for r in open_rows],
        urgency_of,
        tx.now,
    )
    ids: dict[tuple[Milestone, int], int] = {}
    for change in changes:
        tracked = change.tracked
        slot = (tracked.milestone, tracked.key)
        if tracked.id is None and slot in ids and change.action != "started":
            tracked = replace(tracked, id=ids[slot])
        context = contexts.get(slot) or subjects.get((tracked.kind, tracked.key))
        if context is None:
            continue  # a subject that does not exist: nothing to measure
        clock_id = await _save(conn, tracked, context, tx.now)
        ids[slot] = clock_id
        contexts[slot] = context
        tx.emit(_event(change.action, replace(tracked, id=clock_id), context,
                       trigger=change.trigger.value))  # fmt: skip


BATCH = 500


async def fire_due(
    db: Database,
    now: datetime | None = None,
    batch: int = BATCH,
    zones: Sequence[str] | None = None,
) -> int:
    """Fire what is due in one transaction; returns how many clocks it moved. `zones`: only
    the clocks of these zones (the demo's history, played by zone in two lanes)."""
    only = "" if zones is None else " AND zone_id = ANY($3::text[])"
    async with db.action(now) as tx:
        rows = await tx.conn.fetch(
            f"SELECT {COLUMNS} FROM clocks WHERE due_at <= $1 AND state = 'running'{only}"
            " ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED",
            tx.now,
            batch,
            *(() if zones is None else (list(zones),)),
        )
        updates = []
        breaches: list[tuple[Tracked, dict[str, Any], datetime]] = []
        for row in rows:
            tracked = tracked_of(row)
            context = _context(row)
            clock, fired = clocks.fire(tracked.clock, tracked.calendar, tx.now)
            tracked = replace(tracked, clock=clock)
            updates.append((tracked.id, *_state_values(tracked, tx.now)))
            for due in fired:
                late = sla.late_by(due.at, tx.now)
                metrics.CLOCK_LATENESS.observe(late.total_seconds())
                action = "warned" if due.kind == "warning" else "breached"
                extra = {"fraction": due.fraction, "due_at": due.at.isoformat()}
                tx.emit(_event(action, tracked, context, **extra))
                if due.kind == "breach":
                    breaches.append((tracked, context, due.at))
        # A few round trips per batch, not a few per clock (asyncpg pipelines executemany).
        if updates:
            await tx.conn.executemany(_UPDATE, updates)
        await _escalate(tx, breaches)
    return len(rows)


async def _escalate(tx: Tx, breaches: list[tuple[Tracked, dict[str, Any], datetime]]) -> None:
    """One escalation per breached clock (a clock that already has one keeps it)."""
    if not breaches:
        return
    columns = list(
        zip(
            *(
                (
                    tracked.id,
                    tracked.milestone.value,
                    context["referral_id"],
                    context["case_id"],
                    context["unit_id"],
                    context["case_number"],
                    context["zone_id"],
                    tracked.urgency,
                    due_at,
                )
                for tracked, context, due_at in breaches
            ),
            strict=True,
        )
    )
    raised = await tx.conn.fetch(
        "INSERT INTO escalations (clock_id, milestone, referral_id, case_id, unit_id, case_number,"
        " zone_id, urgency, due_at, raised_at) SELECT *, $10::timestamptz FROM unnest("
        " $1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[],"
        " $7::text[], $8::text[], $9::timestamptz[])"
        " ON CONFLICT (clock_id) DO NOTHING RETURNING id, clock_id",
        *(list(column) for column in columns),
        tx.now,
    )
    escalated = {r["clock_id"]: r["id"] for r in raised}
    for tracked, context, due_at in breaches:
        if tracked.id in escalated:
            tx.emit(supervision.escalation_raised(escalated[tracked.id], tracked, context, due_at))


async def next_due(pool: asyncpg.Pool) -> datetime | None:
    value: datetime | None = await pool.fetchval(
        "SELECT min(due_at) FROM clocks WHERE due_at IS NOT NULL AND state = 'running'"
    )
    return value


class Runner:
    """Wakes this instance when the next clock is due (APScheduler, in-memory job store).

    Every instance runs one; they race for due clocks and `fire_due` lets each clock go to
    exactly one of them. New clocks anywhere reach every instance's hub as `clock.*` events
    and bring the wake-up forward; a resync every few seconds covers anything else (an
    instance that died holding the next wake-up, a clock edited by hand).
    """

    JOB = "sla_fire"

    def __init__(
        self, db: Database, scheduler: AsyncIOScheduler, resync_seconds: float = 5
    ) -> None:
        self.db = db
        self.scheduler = scheduler
        self.resync_seconds = resync_seconds
        self.wake: datetime | None = None
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self.scheduler.add_job(
            self.run,
            "interval",
            seconds=self.resync_seconds,
            id="sla_resync",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),  # at start-up: what fell during the downtime
        )

    def observe(self, events: Iterable[Event]) -> None:
        """A hub watcher: a clock started or moved somewhere may be due sooner."""
        for event in events:
            if event.type.startswith("clock.") and (due := event.payload.get("next_due")):
                self.wake_at(datetime.fromisoformat(due))

    def wake_at(self, when: datetime) -> None:
        if self.wake is not None and self.wake <= when:
            return
        self.wake = when
        self.scheduler.add_job(
            self.run,
            "date",
            run_date=when,
            id=self.JOB,
            replace_existing=True,
            misfire_grace_time=None,  # late is better than never
            coalesce=True,
        )

    async def run(self) -> None:
        async with self._lock:
            try:
                while await fire_due(self.db) >= BATCH:
                    pass
                upcoming = await next_due(self.db.pool)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("clocks: PostgreSQL unavailable, retrying", extra={"error": repr(exc)})
                return
            self.wake = None
            if upcoming is not None:
                # Another instance may hold a due clock: look again shortly, never spin.
                self.wake_at(max(upcoming, datetime.now(UTC) + timedelta(milliseconds=50)))


async def _change_policy(
    tx: Tx,
    by: access.Principal,
    policy: clocks.Policy,
    shown: dict[str, Any],
    restored_from: int | None = None,
) -> int:
    """Write the policy and its version (before, after, who, when) and emit the change; the
    first change of a milestone with no history first records the policy it found."""
    conn, milestone = tx.conn, policy.milestone
    row = await store.lock_policy(conn, milestone)
    before = policy_out((await store.load(conn))[milestone]).model_dump(mode="json")
    await store.save(conn, policy, by=by.user_id, at=tx.now)  # first: a version names its row
    if not await store.has_versions(conn, milestone):
        await store.add_version(
            conn,
            milestone,
            before=None,
            after=before,
            at=row["updated_at"] if row else tx.now,
            by=row["updated_by"] if row else None,
            by_name=row["updated_by_name"] if row else None,
        )
    version_id = await store.add_version(
        conn,
        milestone,
        before=before,
        after=shown,
        at=tx.now,
        by=by.user_id,
        by_name=by.name,
        restored_from=restored_from,
    )
    extra = {"version_id": version_id, "restored_from": restored_from}
    tx.emit(sla.policy_changed(milestone.value, {**shown, **extra}, by))
    return version_id


async def replace_policy(
    db: Database, by: access.Principal, policy: clocks.Policy, shown: dict[str, Any]
) -> int:
    """Save a milestone's new policy (`shown`: as the API shows it, for its version and the
    event); returns the new version's id."""
    async with db.action() as tx:
        return await _change_policy(tx, by, policy, shown)


async def restore_policy(
    db: Database, by: access.Principal, milestone: Milestone, version_id: int
) -> dict[str, Any] | None:
    """Bring back the policy a version of this milestone recorded (its `after`), as a new
    version; None when the milestone has no such version. Returns the policy as shown."""
    async with db.action() as tx:
        found = await store.version(tx.conn, version_id)
        if found is None or found["milestone"] != milestone.value:
            return None
        policy = store.policy_from_json(milestone, found["after"])
        shown = policy_out(policy).model_dump(mode="json")
        await _change_policy(tx, by, policy, shown, restored_from=version_id)
        return shown
