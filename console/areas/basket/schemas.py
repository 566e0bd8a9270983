"""The basket's request and response models: resources and bookings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from console.lib import schemas
from console.lib.schemas import Text
from dispatch import basket
from dispatch.basket import Status


class BookingIn(schemas.Request):
    resource_id: int = Field(ge=1)
    quantity: int = Field(default=1, ge=1, le=1000)
    note: Text = Field(default="", max_length=1000)


class BookingStep(schemas.Request):
    reason: Text | None = Field(default=None, max_length=500, description="Why (for the log)")


class BookingOut(BaseModel):
    id: int
    case_id: int
    case_number: str
    resource_id: int
    resource_name: str
    resource_type: basket.ResourceType
    resource_zone: str
    provider: str
    quantity: int
    status: Status
    status_label: str
    held_until: datetime | None
    note: str
    requested_by: str
    created_at: datetime
    updated_at: datetime
    available: int = Field(description="What the resource has left now")


class BookingList(BaseModel):
    bookings: list[BookingOut]


class ResourceOut(BaseModel):
    id: int
    zone_id: str
    zone_name: str
    type: basket.ResourceType
    type_label: str
    name: str
    provider: str
    capacity: int
    available: int = Field(description="Capacity minus held, confirmed and in-use quantities")
    held: int
    confirmed: int
    in_use: int
    conditions: str
    max_duration: str
    contact_hours: str
    phone: str
    address: str = Field(description="Where it is (shown to the units of a case it serves)")
    lat: float | None = Field(default=None, description="Its point on the map (with lon)")
    lon: float | None = None
    active: bool
    updated_at: datetime


class ResourceList(BaseModel):
    as_of: int = Field(description="Seq of the log these numbers are read at; newer events apply")
    resources: list[ResourceOut]


class ResourcesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zone: str | None = Field(default=None, max_length=80, description="Zone id, e.g. pistoiese")
    type: basket.ResourceType | None = None


class ResourceIn(schemas.Request):
    zone_id: str = Field(min_length=1, max_length=80)
    type: basket.ResourceType
    name: Text = Field(min_length=1, max_length=200)
    provider: Text = Field(min_length=1, max_length=200)
    capacity: int = Field(ge=0, le=100_000)
    conditions: Text = Field(default="", max_length=2000, description="Conditions of access")
    max_duration: Text = Field(default="", max_length=200)
    contact_hours: Text = Field(default="", max_length=200)
    phone: Text = Field(default="", max_length=50)
    address: Text = Field(default="", max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90, description="Both or neither")
    lon: float | None = Field(default=None, ge=-180, le=180, description="Both or neither")
    active: bool = True


class ResourcePatch(schemas.Request):
    """Only the fields sent change; the zone of a resource does not."""

    name: Text | None = Field(default=None, min_length=1, max_length=200)
    provider: Text | None = Field(default=None, min_length=1, max_length=200)
    capacity: int | None = Field(default=None, ge=0, le=100_000)
    conditions: Text | None = Field(default=None, max_length=2000)
    max_duration: Text | None = Field(default=None, max_length=200)
    contact_hours: Text | None = Field(default=None, max_length=200)
    phone: Text | None = Field(default=None, max_length=50)
    address: Text | None = Field(default=None, max_length=300)
    lat: float | None = Field(
        default=None, ge=-90, le=90, description="With lon: both numbers, or both null to clear"
    )
    lon: float | None = Field(default=None, ge=-180, le=180)
    active: bool | None = None
    reason: Text | None = Field(default=None, max_length=500, description="Why (for the log)")
