"""The clocks' JSON operations: the open clocks, the SLA policies (read by the room, edited by
admins)."""

from __future__ import annotations

from datetime import date, time, timedelta

from starlette.requests import Request
from starlette.requests import Request as StarletteRequest

from console.areas.clocks.actions import replace_policy, restore_policy
from console.areas.clocks.reads import open_clocks, policy_out, policy_versions
from console.areas.clocks.schemas import (
    ClockList,
    ClockQuery,
    PolicyIO,
    PolicyList,
    PolicyOut,
    RestoreIO,
    VersionList,
)
from console.areas.clocks.store import RULE_FIELDS, load
from console.lib import errors, eventlog, services
from console.lib.api import operation
from dispatch import access, policy_edits, sla
from dispatch.calendars import Calendar, Kind
from dispatch.clocks import Milestone, Policy, Rules, Target
from dispatch.referrals import URGENCIES


@operation(
    "GET",
    "/api/v1/clocks",
    summary="Open SLA clocks (running, paused, breached): breached first, then by deadline",
    query=ClockQuery,
    response=ClockList,
    permission=access.Permission.VIEW_ROOM,
    errors=(403,),
    tag="clocks",
    description="Read in one repeatable-read transaction with `as_of`; `clock.*` events after"
    " it carry the same fields. Countdowns are computed by the client from `deadline`.",
)
async def list_clocks(
    request: Request, principal: access.Principal, _: None, query: ClockQuery
) -> ClockList:
    pool = services.of(request).db.pool
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        found = await open_clocks(
            conn, referral_id=query.referral_id, case_id=query.case_id, limit=query.limit
        )
    return ClockList(clocks=found, as_of=as_of)


def policy_of(milestone: Milestone, body: PolicyIO) -> Policy:
    """A valid policy from the request, or ValidationFailed with every problem by field."""
    problems: list[errors.FieldProblem] = []
    holidays: set[date] = set()
    for i, raw in enumerate(body.extra_holidays):
        try:
            holidays.add(date.fromisoformat(raw))
        except ValueError:
            problems.append(errors.FieldProblem(f"extra_holidays.{i}", "data non valida"))
    warnings: list[float] = []
    for i, typed in enumerate(body.warnings):
        read = policy_edits.fraction(typed) if isinstance(typed, str) else typed
        if isinstance(read, policy_edits.Refused):
            problems.append(errors.FieldProblem(f"warnings.{i}", read.message))
        else:
            warnings.append(read)
    if any(not 0 < w < 1 for w in warnings) or len(set(warnings)) != len(warnings):
        problems.append(
            errors.FieldProblem("warnings", "Soglie tra 0 e 1 esclusi (0% e 100%), tutte diverse.")
        )
    opens, closes = time.fromisoformat(body.opens), time.fromisoformat(body.closes)
    if opens >= closes:
        problems.append(errors.FieldProblem("closes", "l'orario di chiusura segue l'apertura"))
    missing = [u for u in URGENCIES if u not in body.targets]
    for urgency in missing:
        problems.append(errors.FieldProblem(f"targets.{urgency}", "obiettivo mancante"))
    rules = Rules(**{name: frozenset(getattr(body, name)) for name in RULE_FIELDS})
    problems += [errors.FieldProblem(f, m) for f, m in sla.rule_problems(milestone, rules)]
    if body.calendar == "24x7" and any(t.working_days for t in body.targets.values()):
        problems.append(
            errors.FieldProblem("calendar", "i giorni lavorativi richiedono il calendario feriale")
        )
    if problems:
        raise errors.ValidationFailed(problems=problems)
    return Policy(
        milestone=milestone,
        targets={
            u: Target(duration=timedelta(seconds=t.seconds))
            if t.seconds is not None
            else Target(working_days=t.working_days)
            for u, t in body.targets.items()
        },
        calendar=Calendar(Kind(body.calendar), opens, closes, frozenset(holidays)),
        warnings=tuple(sorted(warnings)),
        rules=rules,
    )


def _milestone(request: StarletteRequest) -> Milestone:
    try:
        return Milestone(request.path_params["milestone"])
    except ValueError:
        raise errors.NotFound("Traguardo sconosciuto.") from None


@operation(
    "GET",
    "/api/v1/sla/policies",
    summary="The SLA policies: targets by urgency, calendar, warnings and rules per milestone",
    response=PolicyList,
    permission=access.Permission.VIEW_ROOM,
    errors=(403,),
    tag="clocks",
)
async def get_policies(
    request: StarletteRequest, principal: access.Principal, _: None, __: None
) -> PolicyList:
    async with services.of(request).db.pool.acquire() as conn:
        found = await load(conn)
    return PolicyList(
        policies=[policy_out(found[m]) for m in Milestone],
        triggers={t.value: sla.TRIGGER_LABELS[t] for t in sla.Trigger},
    )


@operation(
    "PUT",
    "/api/v1/sla/policies/{milestone}",
    summary="Replace one milestone's SLA policy (admins)",
    body=PolicyIO,
    response=PolicyOut,
    permission=access.Permission.EDIT_POLICIES,
    errors=(404, 422),
    tag="clocks",
    description="Applies to clocks started from now on; running clocks keep the target they"
    " started with (a change of urgency re-targets them with the policy of that moment).",
    example={
        "calendar": "24x7",
        "warnings": [0.5, 0.8],
        "targets": {"rosso": {"seconds": 300}, "giallo": {"seconds": 300},
                    "verde": {"seconds": 300}},
        "starts_on": ["referral_received", "referral_released"],
        "stops_on": ["referral_claimed", "referral_reassigned"],
        "cancels_on": ["referral_decided"],
    },
)  # fmt: skip
async def put_policy(
    request: StarletteRequest, principal: access.Principal, body: PolicyIO, _: None
) -> PolicyOut:
    policy = policy_of(_milestone(request), body)
    shown = policy_out(policy)
    await replace_policy(services.of(request).db, principal, policy, shown.model_dump(mode="json"))
    return shown


@operation(
    "GET",
    "/api/v1/sla/policies/{milestone}/versions",
    summary="One milestone's policy versions, newest first: who, when, before, after (admins)",
    response=VersionList,
    permission=access.Permission.EDIT_POLICIES,
    errors=(403, 404),
    tag="clocks",
    description="Every change is a version, a restore too (`restored_from`). The oldest,"
    " with `before` null, holds the values in force before the first change recorded.",
)
async def get_policy_versions(
    request: StarletteRequest, principal: access.Principal, _: None, __: None
) -> VersionList:
    milestone = _milestone(request)
    async with services.of(request).db.pool.acquire() as conn:
        found = await policy_versions(conn, [milestone], limit=200)
    return VersionList(versions=found[milestone])


@operation(
    "POST",
    "/api/v1/sla/policies/{milestone}/restore",
    summary="Bring back the policy an earlier version recorded (admins)",
    body=RestoreIO,
    response=PolicyOut,
    permission=access.Permission.EDIT_POLICIES,
    errors=(404, 422),
    tag="clocks",
    description="The version's `after` becomes the policy again, recorded as a new version"
    " and announced as any change (`sla.policy_changed`); like an edit, it applies to clocks"
    " started from now on. 404 when the milestone has no such version.",
    example={"version_id": 1},
)
async def restore_policy_version(
    request: StarletteRequest, principal: access.Principal, body: RestoreIO, _: None
) -> PolicyOut:
    milestone = _milestone(request)
    shown = await restore_policy(services.of(request).db, principal, milestone, body.version_id)
    if shown is None:
        raise errors.NotFound("Versione non trovata per questo traguardo.")
    return PolicyOut.model_validate(shown)
