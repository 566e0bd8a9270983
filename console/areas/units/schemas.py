"""Units' request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from console.lib.schemas import Request as RequestBody


class CaseSummary(BaseModel):
    id: int
    case_number: str
    status: str
    urgency: str
    municipality: str | None


class UnitOut(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    zone: str | None = Field(description="Home zone: its base's")
    zone_name: str | None
    zones: list[str] = Field(description="Zones it covers")
    skills: list[str]
    languages: list[str]
    vehicle: str
    base_label: str
    base_municipality: str | None
    synthetic: bool
    base_note: str | None = Field(description='"sede demo (non verificata)" for a demo base')
    last_lat: float | None
    last_lon: float | None
    assignment_id: int | None
    current_case: CaseSummary | None


class ZoneOut(BaseModel):
    id: str
    name: str


class UnitBoard(BaseModel):
    units: list[UnitOut]
    zones: list[ZoneOut]
    read_at: datetime


class DispatchIn(RequestBody):
    unit_id: int = Field(ge=1)
    reason: str | None = Field(default=None, max_length=500, description="Why this unit")


class Dispatched(BaseModel):
    assignment_id: int
    case_id: int
    case_number: str
    case_status: str
    unit_id: int
    unit_name: str
    unit_status: str
    dispatched_at: datetime
    eta_minutes: int | None


class RecallIn(RequestBody):
    reason: str | None = Field(default=None, max_length=500, description="Why it is recalled")


class Recalled(BaseModel):
    assignment_id: int
    case_id: int
    case_status: str
    unit_id: int
    unit_status: str
    cancelled_at: datetime


class Origin(BaseModel):
    lat: float
    lon: float
    source: str = Field(description='"referral" (its coordinates) or "municipality" (centroid)')
    municipality: str


class RecommendationOut(BaseModel):
    unit_id: int
    name: str
    status: str
    status_label: str
    eligible: bool
    eta_minutes: int | None
    reasons: list[str] = Field(description="Why, in Italian, for the operator")
    load: int = Field(description="Active assignments")
    zones: list[str]
    skills: list[str]
    languages: list[str]
    base_label: str
    base_note: str | None


class Recommendations(BaseModel):
    case_id: int
    case_number: str
    case_status: str
    zone: str
    needed_skills: list[str]
    language: str | None
    origin: Origin
    road_factor: float
    speed_kmh: float
    units: list[RecommendationOut] = Field(description="Eligible first, best first")
