"""The SLA policies page (/tempi): each milestone's form and its history of versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.routing import BaseRoute

from console.areas.clocks.reads import policy_out, policy_versions
from console.areas.clocks.schemas import PolicyOut, TargetIO, VersionOut
from console.areas.clocks.store import load
from console.lib import auth, services
from console.lib.render import page, render
from dispatch import access, policy_edits, sla
from dispatch.clocks import Milestone
from dispatch.referrals import URGENCIES, URGENCY_LABELS

HISTORY = 10  # versions shown per milestone
WARNING_SLOTS = 3  # empty warning fields offered at least (the API takes up to 5)

RULE_TITLES = [
    ("starts_on", "Avvio"),
    ("stops_on", "Obiettivo raggiunto"),
    ("cancels_on", "Annullamento"),
    ("pauses_on", "Pausa"),
    ("resumes_on", "Ripresa"),
]


@dataclass(frozen=True, slots=True)
class TargetField:
    urgency: str
    mode: str  # "time" | "days"
    hours: str
    minutes: str
    seconds: str  # only when the stored target is not whole minutes
    days: str


@dataclass(frozen=True, slots=True)
class RuleChoice:
    trigger: str
    lead: str  # "Il tempo parte quando"
    said: str  # "la segnalazione è ricevuta"
    checked: bool


def _targets(policy: PolicyOut) -> list[TargetField]:
    fields = []
    by_urgency: dict[str, TargetIO] = {str(u): t for u, t in policy.targets.items()}
    for urgency in URGENCIES:
        target = by_urgency.get(urgency)
        if target is not None and target.working_days:
            fields.append(TargetField(urgency, "days", "", "", "", str(target.working_days)))
            continue
        seconds = target.seconds if target is not None and target.seconds else 0
        hours, minutes, left = policy_edits.hours_minutes(seconds)
        fields.append(
            TargetField(urgency, "time", str(hours), str(minutes), str(left) if left else "", "")
        )
    return fields


def _rules(policy: PolicyOut) -> list[tuple[str, str, str, list[RuleChoice]]]:
    """Per rule: its field, title, the sentence's lead, and one choice per moment it may name
    (the moments of the milestone's subject, and any other the policy names)."""
    offered = [t.value for t in sla.triggers_for(Milestone(policy.milestone))]
    found = []
    for name, title in RULE_TITLES:
        chosen: list[str] = getattr(policy, name)
        lead = policy_edits.RULE_LEADS[name]
        choices = [
            RuleChoice(t, lead, policy_edits.rule_sentence(name, t)[len(lead) + 1 :], t in chosen)
            for t in offered + sorted(set(chosen) - set(offered))
        ]
        found.append((name, title, lead, choices))
    return found


def _view(policy: PolicyOut, versions: list[VersionOut]) -> dict[str, Any]:
    warnings = [policy_edits.said_fraction(w) for w in policy.warnings]
    slots = max(WARNING_SLOTS, min(5, len(warnings) + 1))
    return {
        "policy": policy,
        "targets": _targets(policy),
        "warnings": warnings + [""] * (slots - len(warnings)),
        "rules": _rules(policy),
        "versions": [(v, datetime.fromisoformat(v.changed_at)) for v in versions],
    }


async def policies_page(request: StarletteRequest, session: auth.Session) -> Response:
    principal = session.principal
    async with services.of(request).db.pool.acquire() as conn:
        found = await load(conn)
        versions = await policy_versions(conn, list(Milestone), limit=HISTORY)
    return render(
        request,
        "policies.html",
        principal=principal,
        csrf_token=session.csrf_token,
        page_title="Tempi di servizio",
        policies=[_view(policy_out(found[m]), versions[m]) for m in Milestone],
        urgency_labels={str(u): label for u, label in URGENCY_LABELS.items()},
    )


ROUTES: list[BaseRoute] = [page("/tempi", policies_page, access.Permission.EDIT_POLICIES)]
