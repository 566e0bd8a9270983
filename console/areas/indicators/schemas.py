"""The indicators' request and response models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, create_model

from console.lib.schemas import EARLIEST, LATEST, Day

# `from` is a Python keyword, hence a model made by name (its fields are `from` and `to`).
IndicatorsQuery: type[BaseModel] = create_model(
    "IndicatorsQuery",
    __config__=ConfigDict(extra="forbid"),
    **{
        "from": (
            Day,
            Field(
                default=None,
                ge=EARLIEST,
                le=LATEST,
                description="First day (YYYY-MM-DD, Europe/Rome), included;"
                " default: 29 days before `to`",
            ),
        ),
        "to": (
            Day,
            Field(
                default=None,
                ge=EARLIEST,
                le=LATEST,
                description="Last day (YYYY-MM-DD, Europe/Rome), included; default: today in Rome",
            ),
        ),
    },
)


class CountRow(BaseModel):
    key: str
    label: str = Field(description="In Italian")
    count: int


class Breakdown(BaseModel):
    total: int
    rows: list[CountRow] = Field(description="Most frequent first; ties in a fixed order")


class ReferralFigures(BaseModel):
    total: int = Field(description="Referrals received in the period")
    by_trigger: Breakdown = Field(
        description="By category: the one the room confirmed in the assessment, else the"
        " referrer's; every category listed, zeros included"
    )
    by_referrer_kind: Breakdown = Field(description="By kind of referrer; every kind listed")
    by_zone: Breakdown = Field(description="By zone of the place; only zones with referrals")


class UrgencyDurations(BaseModel):
    urgency: str
    label: str
    count: int
    median_s: float | None = Field(description="Median, seconds; null when count is 0")
    p90_s: float | None = Field(description="90th percentile, seconds; null when count is 0")


class MilestoneDurations(BaseModel):
    milestone: str
    label: str
    count: int = Field(description="Clocks that ended met in the period")
    median_s: float | None
    p90_s: float | None
    by_urgency: list[UrgencyDurations] = Field(description="By the clock's urgency when it ended")


class MilestoneBreaches(BaseModel):
    milestone: str
    label: str
    count: int = Field(description="Clocks whose target ran out in the period")
    still_open: int = Field(description="Of those, how many are still neither met nor cancelled")


class UrgencyCompliance(BaseModel):
    urgency: str
    label: str
    on_time: int = Field(description="Clocks met in the period without breaching")
    late: int = Field(description="Clocks whose target ran out in the period")
    percent: float | None = Field(
        description="on_time / (on_time + late), percent, one decimal; null when both are 0"
    )


class MilestoneCompliance(UrgencyCompliance):
    milestone: str
    urgency: str = "all"
    by_urgency: list[UrgencyCompliance]


class TrendPoint(BaseModel):
    start: date = Field(description="First day of the week (a Monday) or of the month, Rome")
    label: str = Field(description="In Italian")
    referrals: int = Field(description="Referrals received")
    on_time: int
    late: int
    percent: float | None = Field(description="SLA compliance of every milestone together")


class Trends(BaseModel):
    weeks: list[TrendPoint] = Field(description="The 52 weeks that end with the period's last")
    months: list[TrendPoint] = Field(description="The 12 months that end with the period's last")


class Indicators(BaseModel):
    first_day: date = Field(description="The period's first day (Europe/Rome), included")
    last_day: date = Field(description="The period's last day (Europe/Rome), included")
    starts_at: datetime = Field(description="00:00 Rome of the first day, UTC")
    ends_at: datetime = Field(description="00:00 Rome of the day after the last, UTC (excluded)")
    referrals: ReferralFigures
    time_to_milestone: list[MilestoneDurations] = Field(
        description="Real time from start to end of the clocks that ended met in the period:"
        " count, median and 90th percentile (linear interpolation), every milestone listed"
    )
    breaches: list[MilestoneBreaches] = Field(description="Every milestone listed")
    compliance: list[MilestoneCompliance] = Field(
        description="SLA compliance per milestone and urgency: the clocks met in the period"
        " without breaching (on time) against those whose target ran out in it (late); every"
        " milestone listed"
    )
    trends: Trends = Field(
        description="Referrals and SLA compliance by week and by month, over the year that"
        " ends with the period (independent of the period's first day)"
    )
    as_of: int = Field(description="Last seq in the log when read")
