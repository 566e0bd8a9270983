"""The tablet's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from console.lib.schemas import ClockView
from console.lib.schemas import Request as RequestBody
from dispatch import basket

Latitude = Field(default=None, ge=-90, le=90)


Longitude = Field(default=None, ge=-180, le=180)


AssignmentField = Field(default=None, ge=1, description="The assignment the action is for")


class UnitState(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    vehicle: str
    base_label: str
    base_note: str | None


class AssignmentView(BaseModel):
    id: int
    case_number: str
    urgency: str
    place: dict[str, Any]
    people: dict[str, Any]
    description: str
    callback: dict[str, str]
    needs: list[str]
    need_labels: list[str]
    dispatched_at: datetime
    acknowledged_at: datetime | None
    en_route_at: datetime | None
    on_scene_at: datetime | None
    last_check_in_at: datetime | None


class NoteView(BaseModel):
    id: int
    author_name: str
    body: str
    at: datetime


class RequestView(BaseModel):
    id: int
    resource_name: str
    resource_type: str
    type_label: str
    quantity: int
    status: str
    note: str
    created_at: datetime


class TabletView(BaseModel):
    unit: UnitState
    assignment: AssignmentView | None
    notes: list[NoteView]
    requests: list[RequestView]
    clocks: list[ClockView] = Field(
        default_factory=list,
        description="The open SLA clocks of the current assignment (on scene, safety check-in):"
        " the tablet counts down from `deadline`; `clock.*` events to the unit carry the same"
        " fields",
    )


class Answer(BaseModel):
    status: int
    body: dict[str, Any]
    replayed: bool = False


class StatusIn(RequestBody):
    status: Literal["acknowledged", "en_route", "on_scene", "returning", "available", "off_duty"]
    at: AwareDatetime | None = Field(default=None, description="When it happened (tablet clock)")
    lat: float | None = Latitude
    lon: float | None = Longitude
    assignment_id: int | None = AssignmentField


class StatusOut(BaseModel):
    unit: UnitState
    assignment_id: int | None
    assignment_ended: bool


class CheckInIn(RequestBody):
    at: AwareDatetime | None = Field(default=None, description="When (tablet clock)")
    lat: float | None = Latitude
    lon: float | None = Longitude
    note: str = Field(default="", max_length=500)
    assignment_id: int | None = AssignmentField


class CheckedIn(BaseModel):
    assignment_id: int
    checked_in_at: datetime


class NoteIn(RequestBody):
    body: str = Field(min_length=1, max_length=4000, description="Free text, shown escaped")
    assignment_id: int | None = AssignmentField


class ResourceRequestIn(RequestBody):
    type: basket.ResourceType
    quantity: int = Field(default=1, ge=1, le=100)
    note: str = Field(default="", max_length=500)
    assignment_id: int | None = AssignmentField
