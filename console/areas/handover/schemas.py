"""Handover's request and response models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

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
    reply: str | None = Field(default=None, description="The room's reply to the rejection")
    replied_at: datetime | None = None
    replied_by: PersonRef | None = None
    previous: dict[str, Any] | None = Field(
        default=None,
        description="The rejection this handover follows (id, zone_id, zone_name, reason,"
        " decided_at, reply, replied_at), or null",
    )
    seq: int | None = Field(default=None, description="Seq of the event an action recorded")


class HandoverList(BaseModel):
    handovers: list[Handover]
    as_of: int


class HandoverQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["sent", "accepted", "rejected", "all"] = "all"


class HandoverRejectIn(RequestModel):
    reason: Text = Field(min_length=1, max_length=2000, description="Why the service refuses it")


def _written(text: str) -> str:
    value = text.strip()
    if not value:
        raise PydanticCustomError("blank", "write something, not only spaces")
    return value


Written = Annotated[Text, AfterValidator(_written)]


class HandoverReplyIn(RequestModel):
    message: Written = Field(
        min_length=1, max_length=2000, description="The room's answer to the rejection"
    )


class CompetenceIn(RequestModel):
    """Exactly one of `residence_municipality` and `zone`, and why."""

    residence_municipality: str | None = Field(
        default=None,
        max_length=100,
        description="The person's residence: ISTAT code or name of a Tuscan municipality",
    )
    zone: str | None = Field(default=None, max_length=60, description="The competent zone's id")
    reason: Written = Field(min_length=1, max_length=2000, description="Why it is corrected")


class Competence(BaseModel):
    case_id: int
    competent_zone: dict[str, str] = Field(
        description="id, name, source (corrected, residence or found)"
    )
    residence_municipality: dict[str, str] | None = Field(description="code, name, zone_id")
    seq: int = Field(description="Seq of the event that recorded the correction")
