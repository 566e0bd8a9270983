"""Supervision's request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from console.lib.schemas import ClockView, Text
from console.lib.schemas import Request as RequestModel


class ReferralQueue(BaseModel):
    state: str = Field(description="received | in_assessment")
    state_label: str
    urgency: str = Field(description="rosso | giallo | verde | none (no code, no proposal)")
    count: int
    oldest_received_at: datetime = Field(description="When the longest-waiting one came in")


class CaseQueue(BaseModel):
    status: str
    status_label: str
    urgency: str
    count: int
    oldest_updated_at: datetime = Field(description="The least recently moved case's update")


class UnitOnBoard(BaseModel):
    id: int
    name: str
    status: str
    status_label: str
    status_since: datetime
    zones: list[str]
    current_case_id: int | None
    current_case_number: str | None


class ZoneBoard(BaseModel):
    zone_id: str | None = Field(description="The units' first zone; null: no zone")
    zone_name: str
    units: list[UnitOnBoard]


class OnShift(BaseModel):
    user_id: int
    name: str
    role: str
    role_label: str
    since: datetime = Field(description="Login time of the oldest live session")
    last_seen_at: datetime
    sessions: int


class EscalationView(BaseModel):
    id: int
    clock_id: int
    milestone: str
    label: str = Field(description="The milestone in Italian")
    referral_id: int | None
    case_id: int | None
    unit_id: int | None
    unit_name: str | None
    case_number: str
    zone_id: str
    zone_name: str
    urgency: str
    due_at: datetime = Field(description="When the target was missed")
    raised_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: int | None = None
    acknowledged_by_name: str | None = None
    note: str | None = None


class ShiftNoteView(BaseModel):
    id: int
    body: str
    author_id: int
    author_name: str
    written_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    acknowledged_by_name: str | None


class WorkItem(BaseModel):
    kind: str = Field(description="referral | case")
    id: int
    case_number: str
    status: str
    status_label: str
    urgency: str
    holder_id: int | None = Field(description="The referral's holder or the case's owner")
    holder_name: str | None


class Supervision(BaseModel):
    as_of: int = Field(description="Log head the snapshot was read at: apply events after it")
    now: datetime = Field(description="Server time of the read (for waiting times)")
    referral_queues: list[ReferralQueue]
    case_queues: list[CaseQueue]
    clocks: list[ClockView] = Field(description="Breached, then running with a warning fired")
    zones: list[ZoneBoard]
    on_shift: list[OnShift]
    escalations: list[EscalationView] = Field(description="Unacknowledged, oldest due first")
    shift_notes: list[ShiftNoteView] = Field(description="The latest 20, newest first")
    work: list[WorkItem] = Field(description="Open referrals and cases (for reassigning)")


class AcknowledgeIn(RequestModel):
    note: Text | None = Field(None, max_length=2000, description="What the supervisor did")


class AcknowledgedEscalation(EscalationView):
    seq: int = Field(description="Seq of the event that recorded it")


class ShiftNoteIn(RequestModel):
    body: Text = Field(min_length=1, max_length=8000, description="The note (rendered escaped)")


class ShiftNoteOut(ShiftNoteView):
    seq: int = Field(description="Seq of the event that recorded it")


class CaseReassigned(BaseModel):
    id: int
    case_number: str
    owner_id: int
    owner_name: str
    seq: int
