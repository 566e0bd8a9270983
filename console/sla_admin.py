"""The SLA policy API and page: the room reads the policies, admins edit them."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import BaseRoute

from console import auth, errors, pages, schemas, services
from console.api import operation
from console.policies import RULE_FIELDS, load, save
from dispatch import access, sla
from dispatch.calendars import Calendar, Kind
from dispatch.clocks import Milestone, Policy, Rules, Target
from dispatch.events import NewEvent, actor_of

URGENCY_NAMES = ("rosso", "giallo", "verde")


class TargetIO(schemas.Request):
    seconds: int | None = Field(
        default=None, ge=1, le=30 * 86400, description="Time counted on the calendar"
    )
    working_days: int | None = Field(
        default=None, ge=1, le=30, description="Or: the end of the n-th next working day"
    )

    @model_validator(mode="after")
    def exactly_one(self) -> TargetIO:
        if (self.seconds is None) == (self.working_days is None):
            raise ValueError("give either seconds or working_days")
        return self


class PolicyIO(schemas.Request):
    calendar: Literal["24x7", "working_days"]
    opens: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field(default="17:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    extra_holidays: list[str] = Field(
        default_factory=list, max_length=50, description="Local holidays (YYYY-MM-DD)"
    )
    warnings: list[float] = Field(
        default_factory=lambda: [0.5, 0.8],
        max_length=5,
        description="Fractions of the target at which a warning fires, each in (0, 1)",
    )
    targets: dict[Literal["rosso", "giallo", "verde"], TargetIO]
    starts_on: list[str] = Field(max_length=20)
    pauses_on: list[str] = Field(default_factory=list, max_length=20)
    resumes_on: list[str] = Field(default_factory=list, max_length=20)
    stops_on: list[str] = Field(max_length=20)
    cancels_on: list[str] = Field(default_factory=list, max_length=20)


class PolicyOut(PolicyIO):
    milestone: str
    label: str


class PolicyList(BaseModel):
    policies: list[PolicyOut]
    triggers: dict[str, str] = Field(description="Every workflow moment a rule may name")


def _out(policy: Policy) -> PolicyOut:
    return PolicyOut(
        milestone=policy.milestone.value,
        label=sla.MILESTONE_LABELS[policy.milestone],
        calendar=policy.calendar.kind.value,
        opens=policy.calendar.opens.strftime("%H:%M"),
        closes=policy.calendar.closes.strftime("%H:%M"),
        extra_holidays=sorted(d.isoformat() for d in policy.calendar.extra_holidays),
        warnings=list(policy.warnings),
        targets={
            u: TargetIO(
                seconds=int(t.duration.total_seconds()) if t.duration is not None else None,
                working_days=t.working_days,
            )
            for u, t in policy.targets.items()
            if u in URGENCY_NAMES
        },
        **{name: sorted(getattr(policy.rules, name)) for name in RULE_FIELDS},
    )


def policy_of(milestone: Milestone, body: PolicyIO) -> Policy:
    """A valid policy from the request, or ValidationFailed with every problem by field."""
    problems: list[errors.FieldProblem] = []
    holidays: set[date] = set()
    for i, raw in enumerate(body.extra_holidays):
        try:
            holidays.add(date.fromisoformat(raw))
        except ValueError:
            problems.append(errors.FieldProblem(f"extra_holidays.{i}", "data non valida"))
    if any(not 0 < w < 1 for w in body.warnings) or len(set(body.warnings)) != len(body.warnings):
        problems.append(errors.FieldProblem("warnings", "soglie tra 0 e 1, tutte diverse"))
    opens, closes = time.fromisoformat(body.opens), time.fromisoformat(body.closes)
    if opens >= closes:
        problems.append(errors.FieldProblem("closes", "l'orario di chiusura segue l'apertura"))
    missing = [u for u in URGENCY_NAMES if u not in body.targets]
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
        warnings=tuple(sorted(body.warnings)),
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
        policies=[_out(found[m]) for m in Milestone],
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
    milestone = _milestone(request)
    policy = policy_of(milestone, body)
    async with services.of(request).db.action() as tx:
        await save(tx.conn, policy, by=principal.user_id, at=tx.now)
        tx.emit(
            NewEvent(
                type="sla.policy_changed",
                subject=f"sla_policy:{milestone.value}",
                audience=frozenset({access.AUDIT, access.SUPERVISORS}),
                payload=_out(policy).model_dump(mode="json"),
                actor=actor_of(principal),
            )
        )
    return _out(policy)


def _minutes(target: TargetIO | None) -> str:
    if target is None or target.seconds is None:
        return ""
    return f"{target.seconds / 60:g}"


async def policies_page(request: StarletteRequest, session: auth.Session) -> Response:
    principal = session.principal
    async with services.of(request).db.pool.acquire() as conn:
        found = await load(conn)
    return pages.render(
        request,
        "policies.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Tempi di servizio",
        policies=[_out(found[m]) for m in Milestone],
        triggers=[(t.value, sla.TRIGGER_LABELS[t]) for t in sla.Trigger
                  if t is not sla.Trigger.URGENCY_CHANGED],
        rule_fields=[("starts_on", "Avviato da"), ("stops_on", "Fermato (rispettato) da"),
                     ("cancels_on", "Annullato da"), ("pauses_on", "Messo in pausa da"),
                     ("resumes_on", "Ripreso da")],
        urgencies=URGENCY_NAMES,
        minutes=_minutes,
    )  # fmt: skip


page_routes: list[BaseRoute] = [
    pages.page("/tempi", policies_page, access.Permission.EDIT_POLICIES)
]
