"""Cases' request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from console.lib.schemas import PersonRef, Text
from console.lib.schemas import Request as RequestModel


class CaseUnit(BaseModel):
    id: int
    name: str
    status: str
    status_label: str


class RoomCase(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str
    zone_id: str
    zone_name: str
    municipality: str
    trigger: str
    trigger_label: str
    owner: PersonRef | None
    flagged: bool
    flag_reason: str | None = Field(description="Why the last handover was rejected, if flagged")
    units: list[CaseUnit] = Field(description="Units on the case now (active assignments)")
    opened_at: datetime
    updated_at: datetime


class RoomCaseList(BaseModel):
    cases: list[RoomCase]
    as_of: int = Field(description="Last seq in the log when read")


class RoomCaseQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["open", "all"] = Field(default="open", description="open: not closed")


class CaseDetail(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    allowed: list[str] = Field(description="Statuses the case may move to from here")
    urgency: str
    zone_id: str
    zone_name: str
    competent_zone: dict[str, str] = Field(description="Where a handover would go: id, name")
    owner: PersonRef | None
    needs: list[str]
    need_labels: list[str]
    skills: list[str]
    language: str | None
    flagged: bool
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    referral: dict[str, Any] = Field(description="Every field of the referral")
    assessment: dict[str, Any] | None
    assignments: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    handovers: list[dict[str, Any]]
    as_of: int = Field(description="Last seq in the log when read: events after it follow")


class CaseTimelineEntry(BaseModel):
    seq: int
    at: datetime
    type: str
    what: str = Field(description="What happened, in Italian")
    who: str = Field(description="Who did it (display name), or 'sistema'")
    why: str | None = Field(description="The reason recorded with it")
    detail: str | None = Field(description="Its object: a unit, a resource, a note's text")


class CaseTimeline(BaseModel):
    entries: list[CaseTimelineEntry]
    as_of: int


class CaseTimelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0, description="Only entries with a greater seq")
    limit: int = Field(default=500, ge=1, le=1000)


class CaseNoteIn(RequestModel):
    body: Text = Field(min_length=1, max_length=4000, description="The note (rendered escaped)")


class CaseNote(BaseModel):
    id: int
    case_id: int
    author: str
    author_name: str
    body: str
    at: datetime
    for_handover: bool = Field(
        default=False, description="Marked by the room for the handover's dossier"
    )
    seq: int = Field(description="Seq of the event that recorded it")


class CaseNoteMarkIn(RequestModel):
    note_id: int = Field(ge=1, description="A note of this case")
    for_handover: bool = Field(description="true: it goes in the handover's dossier")


class CaseCloseIn(RequestModel):
    reason: Text = Field(min_length=1, max_length=2000, description="Why the case is closed")


class CaseUrgencyIn(RequestModel):
    urgency: Literal["rosso", "giallo", "verde"] = Field(description="The new urgency code")
    reason: Text = Field(min_length=1, max_length=2000, description="Why the code changes")


class CaseState(BaseModel):
    id: int
    case_number: str
    status: str
    status_label: str
    flagged: bool
    seq: int = Field(description="Seq of the last event the action recorded")
