"""The room's request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from console.lib.schemas import Request, Text


class RoomMessageIn(Request):
    body: Text = Field(min_length=1, max_length=2000, description="Text shown to the room")


class RoomMessage(BaseModel):
    id: int
    body: str
    author: str
    posted_at: datetime
    seq: int = Field(description="Seq of the event that recorded it")
