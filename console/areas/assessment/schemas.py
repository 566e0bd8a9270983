"""Assessment's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from console.lib.schemas import Request as RequestBody
from console.lib.schemas import Text
from dispatch.basket import ResourceType
from dispatch.referrals import Decision, RiskFactor, Trigger, Urgency
from dispatch.units import Skill


class QueueEntry(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str = Field(description="What the queue orders by (see urgency_source)")
    urgency_source: str = Field(description="assessment, proposal or default (giallo)")
    trigger: str
    trigger_label: str
    municipality_name: str
    zone_id: str
    zone_name: str
    people_count: int | None
    minors: int | None
    summary: str = Field(description="The start of what happened (plain text)")
    referrer_name: str
    received_at: datetime
    waited_seconds: int
    holder_id: int | None
    holder_name: str | None
    claimed_at: datetime | None


class QueueOut(BaseModel):
    entries: list[QueueEntry] = Field(description="Most urgent first, then longest waiting")
    as_of: int = Field(description="Log head the queue was read at: apply events after it")
    now: datetime = Field(description="Server time of the read (for waiting clocks)")


class Candidate(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    trigger_label: str
    municipality_name: str
    address: str = Field(description="As the referrer gave it; may be empty")
    received_at: datetime
    summary: str
    score: float = Field(description="Higher is likelier the same situation")
    reasons: list[str] = Field(description="Why it may be the same situation (Italian)")
    differences: list[str] = Field(
        description="What speaks against it: another sex, age band or language (Italian)"
    )


class Candidates(BaseModel):
    candidates: list[Candidate] = Field(description="Likeliest first, at most 10")


class Operator(BaseModel):
    id: int
    name: str
    role: str


class Operators(BaseModel):
    operators: list[Operator]


class ReleaseIn(RequestBody):
    reason: Text | None = Field(None, max_length=500, description="Why it goes back to the queue")


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
    language: Text | None = Field(None, max_length=60, description="For a cultural mediator")
    notes: Text = Field("", max_length=4000)

    @field_validator("risk_factors", "needs", "skills")
    @classmethod
    def once_each(cls, values: list[Any]) -> list[Any]:
        return list(dict.fromkeys(values))


class DecisionIn(RequestBody):
    decision: Decision
    reason: Text | None = Field(None, max_length=2000, description="Required unless activate/merge")
    redirect_to: Text | None = Field(None, max_length=300, description="For redirect: to whom")
    merge_into: int | None = Field(None, ge=1, description="For merge: the referral's id")
    assessment: AssessmentIn = Field(default_factory=AssessmentIn)


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
