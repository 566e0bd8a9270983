"""Handover's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from console.lib.schemas import PersonRef, Text
from console.lib.schemas import Request as RequestModel


class Handover(BaseModel):
    id: int
    case_id: int
    case_number: str
    zone_id: str = Field(description="The competent territorial service's zone")
    zone_name: str
    status: str = Field(description="sent | accepted | rejected")
    status_label: str
    dossier: dict[str, Any] = Field(description="The curated extract, not the whole file")
    sent_at: datetime
    sent_by: PersonRef | None
    decided_at: datetime | None
    decided_by: PersonRef | None
    reason: str | None = Field(description="Why it was rejected")
    seq: int | None = Field(default=None, description="Seq of the event an action recorded")


class HandoverList(BaseModel):
    handovers: list[Handover]
    as_of: int


class HandoverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["sent", "accepted", "rejected", "all"] = "all"


class HandoverRejectIn(RequestModel):
    reason: Text = Field(min_length=1, max_length=2000, description="Why the service refuses it")
