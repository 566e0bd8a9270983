"""Request and response schemas of the JSON API (pydantic): they validate and they document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Request(BaseModel):
    """Base of every request body: strict types (`true` is not a number), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


class Credentials(Request):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    name: str
    role: str
    role_label: str
    permissions: list[str]
    user_id: int | None = None
    unit_id: int | None = None
    referrer_id: int | None = None
    zone_id: str | None = None


class SessionOpened(BaseModel):
    user: Me
    csrf_token: str = Field(description="Send it as X-CSRF-Token on state-changing calls")


class RoomMessageIn(Request):
    body: str = Field(min_length=1, max_length=2000, description="Text shown to the room")

    @field_validator("body")
    @classmethod
    def printable(cls, value: str) -> str:
        if any(ord(c) < 32 and c not in "\n\t" for c in value):
            raise ValueError("control characters are not allowed")
        return value


class RoomMessage(BaseModel):
    id: int
    body: str
    author: str
    posted_at: datetime
    seq: int = Field(description="Seq of the event that recorded it")


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    after: int = Field(default=0, ge=0, description="Return events with a greater seq")
    limit: int = Field(default=100, ge=1, le=1000)


class EventOut(BaseModel):
    seq: int
    type: str
    subject: str
    zone: str | None
    payload: dict[str, Any]
    actor: str | None
    at: datetime


class EventPage(BaseModel):
    events: list[EventOut]
    head: int = Field(description="Last seq in the log when read")


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)
