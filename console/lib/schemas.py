"""Request and response schemas of the JSON API (pydantic): they validate and they document."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from dispatch import intake


def single_line(text: str) -> str:
    """No control characters at all (the core's rule: dispatch.intake.has_control_characters)."""
    if intake.has_control_characters(text):
        raise PydanticCustomError("control_characters", "control characters are not allowed")
    return text


def multi_line(text: str) -> str:
    """No control characters but new lines and tabs."""
    if intake.has_control_characters(text, multiline=True):
        raise PydanticCustomError(
            "control_characters", "control characters other than new lines are not allowed"
        )
    return text


# Free text a person types: the one place the control-character rule is attached to a field.
Text = Annotated[str, AfterValidator(multi_line)]
# One line of text: a name, an address, a reference.
Line = Annotated[str, AfterValidator(single_line)]


# A day written YYYY-MM-DD (a period's bound in a query), within these years.
EARLIEST = date(2000, 1, 1)

LATEST = date(2999, 12, 31)

ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: Any) -> Any:
    """Only a day written YYYY-MM-DD (pydantic alone would also take times and timestamps)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ISO_DAY.fullmatch(value):
        raise ValueError("use a day as YYYY-MM-DD")
    return value


Day = Annotated[date | None, BeforeValidator(_iso_day)]


class Request(BaseModel):
    """Base of every request body: strict types (`true` is not a number), no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid", str_strip_whitespace=True)


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


class ClockView(BaseModel):
    clock_id: int
    milestone: str
    label: str = Field(description="The milestone in Italian")
    kind: str = Field(description="referral | case | assignment: what the clock measures")
    key: int = Field(description="The id of the referral, case or assignment measured")
    urgency: str
    state: str = Field(description="running | paused | breached (open clocks only)")
    budget_seconds: int = Field(description="The target, as time counted on its calendar")
    deadline: datetime | None = Field(description="When it breaches; null unless running")
    next_due: datetime | None = Field(description="Its next warning or breach; null unless running")
    warned: int = Field(description="How many warnings (50 %, 80 %) have fired")
    breached_at: datetime | None = Field(description="When the target was missed, if it was")
    referral_id: int | None
    case_id: int | None
    assignment_id: int | None
    unit_id: int | None
    case_number: str
    zone_id: str


class PersonRef(BaseModel):
    id: int
    name: str


class ReassignIn(Request):
    operator_id: int = Field(ge=1, description="An active operator or supervisor")
    reason: Text | None = Field(None, max_length=500)


class PlaceWarningOut(BaseModel):
    """A doubt about a place, kept with it, never a refusal: a 422 field error's shape, plus
    the sentence the pages show (the rules: dispatch/places.py)."""

    field: str = Field(description="The field it concerns, e.g. place.lat or place.municipality")
    message: str = Field(description="In English, e.g. 'the point lies outside Tuscany'")
    type: str = Field(description="outside_tuscany or outside_municipality")
    message_it: str = Field(description="The same in Italian, as the pages show it")
