"""The live map's request and response models (GET /api/v1/map and its partial reads, the
layers a user shows)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from console.lib import schemas

# The map's layers, in the order the page lists them.
Layer = Literal["zones", "referrals", "units", "bases", "resources"]
LAYERS: tuple[Layer, ...] = ("zones", "referrals", "units", "bases", "resources")


class ZoneOut(BaseModel):
    id: str
    name: str
    open_referrals: int = Field(description="Referrals in the queue and open cases in the zone")
    breached: int = Field(description="SLA clocks of the zone past their deadline, still open")


class ReferralOut(BaseModel):
    id: int = Field(description="The referral")
    case_id: int | None = Field(description="Its case, once activated (an open case)")
    number: str = Field(description="The case number, e.g. SEUS-2026-0012")
    urgency: str = Field(description="rosso, giallo or verde: the case's, else the queue's")
    status: str = Field(description="The case's status, else the referral's")
    status_label: str
    zone: str
    zone_name: str
    municipality: str
    lat: float
    lon: float
    approximate: bool = Field(
        description="True: no coordinates were given, the point is the municipality's centre"
    )
    since: datetime = Field(description="Received (a referral), opened (a case)")
    breached: bool = Field(description="One of its SLA clocks is past its deadline")
    href: str = Field(description="Its page: /casi/{case_id}, else /coda/{id}")


class UnitOut(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    vehicle: str
    zone: str | None = Field(description="Home zone: its base's")
    zones: list[str] = Field(description="Zones it covers")
    case_id: int | None
    case_number: str | None
    lat: float | None = Field(description="Where to draw it; None when nothing is known")
    lon: float | None
    position_source: str = Field(
        description='"position" (its last reported one, at most SEUS_POSITION_MAX_AGE_MINUTES'
        ' old), "base", "town" (its base municipality\'s centre) or "unknown"'
    )
    position_at: datetime | None = Field(description="When the drawn position was reported")
    position_age_seconds: int | None
    position_label: str = Field(
        description='In Italian: "posizione di 3 min fa", "alla base (nessuna posizione recente)"'
    )
    place: str | None = Field(description="The municipality the drawn point lies in")
    base_label: str
    base_note: str | None = Field(description='"sede demo (non verificata)" for a demo base')


class BaseOut(BaseModel):
    kind: Literal["unit_base", "operations_room"]
    label: str
    lat: float
    lon: float
    zone: str | None
    units: list[str] = Field(description="The units based there")
    note: str | None


class ResourceOut(BaseModel):
    id: int
    name: str
    type: str
    type_label: str
    provider: str
    zone: str
    zone_name: str
    capacity: int
    available: int
    lat: float
    lon: float
    href: str = Field(description="Its row on /risorse")


class MapSnapshot(BaseModel):
    as_of: int = Field(description="Follow /ws?after=as_of")
    now: datetime
    position_max_age_seconds: int
    zones: list[ZoneOut]
    referrals: list[ReferralOut]
    units: list[UnitOut]
    bases: list[BaseOut]
    resources: list[ResourceOut]


class MapUnits(BaseModel):
    as_of: int
    now: datetime
    units: list[UnitOut] = Field(description="Those asked that exist")


class MapReferrals(BaseModel):
    as_of: int
    now: datetime
    referrals: list[ReferralOut] = Field(
        description="Those asked that are still open (one missing has left the map)"
    )
    zones: list[ZoneOut] = Field(description="Every zone with its counts now")


IDS = r"^[1-9][0-9]{0,11}(,[1-9][0-9]{0,11}){0,99}$"


class UnitsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: str | None = Field(
        default=None, pattern=IDS, description="Unit ids, comma separated (at most 100)"
    )


class ReferralsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: str | None = Field(default=None, pattern=IDS, description="Referral ids")
    cases: str | None = Field(default=None, pattern=IDS, description="Case ids")


def ids_of(text: str | None) -> list[int]:
    return sorted({int(part) for part in text.split(",")}) if text else []


class LayersIn(schemas.Request):
    layers: list[Layer] = Field(max_length=len(LAYERS), description="The layers shown")


class LayersOut(BaseModel):
    layers: list[Layer]
    updated_at: datetime | None = Field(description="None: never chosen (every layer shown)")
