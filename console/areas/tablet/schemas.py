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
    share_position: bool = Field(
        default=False, description="The crew's consent: the tablet sends its position"
    )
    last_position_at: datetime | None = None
    last_lat: float | None = Field(default=None, description="The unit's own last position")
    last_lon: float | None = None


class AssignmentView(BaseModel):
    id: int
    case_number: str
    urgency: str
    place: dict[str, Any] = Field(
        description="municipality, address, lat, lon (null when the referral gave none) and"
        " `centre`: the municipality's point {lat, lon}, for the map when there are none"
    )
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


class MessageView(BaseModel):
    """A message from the room to this unit (`unit.message_sent` carries the same fields)."""

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


class TeamUnitView(BaseModel):
    """Another unit working on the same case, and where it is in its work."""

    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    phone: str = ""


class CaseResourceView(BaseModel):
    """A resource confirmed (or in use) for the case: where it is, whom to call, when."""

    booking_id: int
    status: str
    resource_name: str
    type_label: str
    quantity: int
    provider: str
    address: str
    phone: str
    contact_hours: str


class TabletView(BaseModel):
    unit: UnitState
    assignment: AssignmentView | None
    notes: list[NoteView]
    requests: list[RequestView]
    messages: list[MessageView] = Field(
        default_factory=list,
        description="The room's messages: every one not yet acknowledged, and the last day's",
    )
    team: list[TeamUnitView] = Field(
        default_factory=list, description="The other units working on the assignment's case"
    )
    resources: list[CaseResourceView] = Field(
        default_factory=list, description="The case's confirmed resources (address, phone, hours)"
    )
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


class PositionIn(RequestBody):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    at: AwareDatetime | None = Field(default=None, description="When it was taken (tablet clock)")


class PositionOut(BaseModel):
    kept: bool = Field(description="False when the unit does not share its position")
    last_position_at: datetime | None


class SharingIn(RequestBody):
    share_position: bool


class AcknowledgedOut(BaseModel):
    id: int
    acknowledged_at: datetime


class AcknowledgeIn(RequestBody):
    """What an acknowledgement is, for its Idempotency-Key's fingerprint (no body is sent)."""

    message_id: int
