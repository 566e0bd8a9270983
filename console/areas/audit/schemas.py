"""The audit's request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from console.lib.audit import Subject


class FileOpeningsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject | None = Field(None, description="Only openings of this kind of file.")
    subject_id: int | None = Field(None, ge=1, le=2**62, description="Only this file.")
    actor: str | None = Field(
        None, max_length=40, description="Only this reader: user:N, unit:N or referrer:N."
    )
    before_id: int | None = Field(None, ge=1, le=2**62, description="Page: ids below this one.")
    limit: int = Field(100, ge=1, le=1000)


class FileOpening(BaseModel):
    id: int
    at: datetime
    subject: Subject
    subject_id: int
    role: str
    actor: str
    actor_name: str
    zone_id: str | None


class FileOpeningList(BaseModel):
    openings: list[FileOpening]
