"""Devices' request and response models."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from console.lib.schemas import Line
from console.lib.schemas import Request as RequestBody


class PairingCodeOut(BaseModel):
    id: int
    unit_id: int
    unit_name: str
    code: str = Field(description="8 characters (no I, O, 0, 1); shown once, stored hashed")
    code_display: str = Field(description='Grouped to read aloud: "ABCD-EFGH"')
    url: str = Field(description="The pairing page with the code: what the QR code encodes")
    qr_svg: str = Field(description="The QR code of `url`, an SVG document")
    expires_at: datetime
    ttl_minutes: int


class TabletOut(BaseModel):
    id: int = Field(description="The device token's id (never the token)")
    label: str
    created_at: datetime
    last_seen_at: datetime | None = Field(description="Last activity of a session it opened")
    live_sessions: int


class UnitTablets(BaseModel):
    id: int
    name: str
    tablets: list[TabletOut] = Field(description="Live device tokens of the unit")
    pending_codes: int = Field(description="Codes issued, not used and not expired")


class DeviceLogEntry(BaseModel):
    seq: int
    at: datetime
    type: str
    unit_id: int | None
    text: str = Field(description="In Italian")


class TabletsBoard(BaseModel):
    units: list[UnitTablets]
    log: list[DeviceLogEntry] = Field(description="The last pairing events, newest first")
    as_of: int = Field(description="Seq of the log this was read at")


class RevokeIn(RequestBody):
    token_id: int | None = Field(
        default=None, ge=1, description="One tablet (device token); none: every tablet"
    )
    reason: Line | None = Field(default=None, max_length=300)


class Revoked(BaseModel):
    unit_id: int
    token_ids: list[int]
    sessions_ended: int
    codes_cancelled: int


class PairingIn(RequestBody):
    code: Line = Field(min_length=1, max_length=40, description='As typed: "abcd-efgh" is fine')


class Paired(BaseModel):
    unit_id: int
    unit_name: str
    device_token: str = Field(description="The tablet's device token (Bearer), shown only here")
    csrf_token: str = Field(description="Of the session opened with it (cookie)")
    home: str
