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


class CrewMemberOut(BaseModel):
    name: str
    user_id: int | None = Field(description="The console's user; none: a volunteer's name")


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
    crew: list[CrewMemberOut] = Field(default_factory=list, description="Who is on board")
    phone: str = Field(default="", description="The unit's phone ('' when none)")


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
    eta_minutes: int | None = Field(description="None when the unit's position is unknown")
    position_source: str = Field(
        description='Where the estimate starts: "position" (the last one the tablet sent, fresh'
        ' enough), "base", "town" (the base municipality\'s centre) or "unknown"'
    )
    position_age_seconds: int | None = Field(description="The age of a reported position")
    position_label: str = Field(description='In Italian: "dalla posizione di 3 min fa", ...')
    lat: float | None = Field(default=None, description="Where the estimate starts (the map)")
    lon: float | None = Field(default=None, description="Null when the position is unknown")
    reasons: list[str] = Field(description="Why, in Italian, for the operator")
    load: int = Field(description="Active assignments")
    zones: list[str]
    skills: list[str]
    languages: list[str]
    base_label: str
    base_note: str | None
    crew: list[CrewMemberOut] = Field(default_factory=list)
    phone: str = ""


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


class UnitMessageIn(RequestBody):
    """A message from the room: to one unit (`unit_id`) or to every unit working on a case
    (`case_id`); exactly one of the two."""

    body: str = Field(max_length=4000, description="Free text, shown escaped; 1 to 1000 chars")
    unit_id: int | None = Field(default=None, ge=1)
    case_id: int | None = Field(default=None, ge=1)


class UnitMessageOut(BaseModel):
    id: int
    batch: int
    unit_id: int
    unit_name: str
    case_id: int | None
    case_number: str | None
    body: str
    author_name: str
    sent_at: datetime
    acknowledged_at: datetime | None


class UnitMessagesSent(BaseModel):
    batch: int
    messages: list[UnitMessageOut] = Field(description="One per unit it went to")


class UnitMessageList(BaseModel):
    messages: list[UnitMessageOut]
    as_of: int = Field(description="Follow /ws?after=as_of for unit.message_* events")
