"""Request and response schemas of the room's actions on a referral (see console.assessment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from console.schemas import Request as RequestBody
from dispatch.basket import ResourceType
from dispatch.referrals import Decision, RiskFactor, Trigger, Urgency
from dispatch.units import Skill


def _printable(value: str | None) -> str | None:
    if value is not None and any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("control characters are not allowed")
    return value


class ReleaseIn(RequestBody):
    reason: str | None = Field(None, max_length=500, description="Why it goes back to the queue")
    _text = field_validator("reason")(_printable)


class ReassignIn(RequestBody):
    operator_id: int = Field(ge=1, description="An active operator or supervisor")
    reason: str | None = Field(None, max_length=500)
    _text = field_validator("reason")(_printable)


class AssessedPeopleIn(RequestBody):
    count: int = Field(ge=1, le=100_000)
    minors: int = Field(0, ge=0, le=100_000)


class AssessmentIn(RequestBody):
    trigger: Trigger | None = Field(None, description="The category the room confirms")
    urgency: Urgency | None = Field(None, description="Required to activate")
    risk_factors: list[RiskFactor] = Field(default_factory=list, max_length=len(RiskFactor))
    people: AssessedPeopleIn | None = None
    needs: list[ResourceType] = Field(default_factory=list, max_length=len(ResourceType))
    skills: list[Skill] = Field(default_factory=list, max_length=len(Skill))
    language: str | None = Field(None, max_length=60, description="For a cultural mediator")
    notes: str = Field("", max_length=4000)

    _text = field_validator("language", "notes")(_printable)

    @field_validator("risk_factors", "needs", "skills")
    @classmethod
    def once_each(cls, values: list[Any]) -> list[Any]:
        return list(dict.fromkeys(values))


class DecisionIn(RequestBody):
    decision: Decision
    reason: str | None = Field(None, max_length=2000, description="Required unless activate/merge")
    redirect_to: str | None = Field(None, max_length=300, description="For redirect: to whom")
    merge_into: int | None = Field(None, ge=1, description="For merge: the referral's id")
    assessment: AssessmentIn = Field(default_factory=AssessmentIn)

    _text = field_validator("reason", "redirect_to")(_printable)


class ReferralState(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    holder_id: int | None
    holder_name: str | None
    claimed_at: datetime | None
    seq: int = Field(description="Seq of the event that recorded the change")


class DecisionOut(BaseModel):
    id: int
    status: str
    decision: str
    case_id: int | None = None
    merged_into: int | None = None
    seq: int
