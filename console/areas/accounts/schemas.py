"""Accounts' request and response models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from console.lib.schemas import Request


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
    home: str = Field(description="The user's first screen (where the login page lands)")
