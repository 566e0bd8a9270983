"""Crews' request and response models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from console.lib.schemas import Request as RequestBody


class CrewMemberIn(RequestBody):
    user_id: int | None = Field(default=None, ge=1, description="A user of the console")
    name: str | None = Field(default=None, max_length=400, description="A volunteer's name")


class CrewIn(RequestBody):
    crew: list[CrewMemberIn] = Field(max_length=50, description="In order; at most 8 people")
    phone: str = Field(default="", max_length=200, description='e.g. "+39 333 000 0001"')


class CrewMember(BaseModel):
    name: str
    user_id: int | None


class UnitCrew(BaseModel):
    unit_id: int
    unit_name: str
    crew: list[CrewMember]
    phone: str


class CrewCandidate(BaseModel):
    id: int
    name: str
    role_label: str


class CrewCandidates(BaseModel):
    users: list[CrewCandidate] = Field(description="Active users who may be on a crew")
