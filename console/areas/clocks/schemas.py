"""The clocks' request and response models: clocks and SLA policies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from console.lib import schemas
from console.lib.schemas import ClockView


class ClockList(BaseModel):
    clocks: list[ClockView]
    as_of: int = Field(description="Last seq in the log when read: clock.* events after it follow")


class ClockQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    referral_id: int | None = Field(default=None, ge=1, description="Only this referral's")
    case_id: int | None = Field(default=None, ge=1, description="Only this case's (and its units')")
    limit: int = Field(default=500, ge=1, le=5000)


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
    warnings: list[float | str] = Field(
        default_factory=lambda: list[float | str]([0.5, 0.8]),
        max_length=5,
        description="Fractions of the target at which a warning fires, each in (0, 1): a"
        ' number (0.5), or as typed: an Italian decimal ("0,5") or a percentage ("50%",'
        ' "50 %"); stored and shown as the fraction',
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
    warnings: list[float] = Field(  # type: ignore[assignment]  # as stored: numbers only
        description="Fractions of the target, each in (0, 1)"
    )


class RestoreIO(schemas.Request):
    version_id: int = Field(ge=1, description="A version of this milestone's policy")


class VersionOut(BaseModel):
    id: int
    milestone: str
    changed_at: str = Field(description="When (ISO 8601)")
    changed_by: int | None = Field(description="The user; null: the system (the seeded policy)")
    changed_by_name: str | None = Field(description="Their name at the time")
    restored_from: int | None = Field(description="The version a restore brought back")
    before: PolicyOut | None = Field(description="null: the values in force before any change")
    after: PolicyOut
    changes: list[str] = Field(description="What changed from `before`, in Italian")


class VersionList(BaseModel):
    versions: list[VersionOut] = Field(description="Newest first")


class PolicyList(BaseModel):
    policies: list[PolicyOut]
    triggers: dict[str, str] = Field(description="Every workflow moment a rule may name")
