"""Intake's request and response schemas: strict, documented, with the domain's rules attached.

Types and ranges are pydantic's; the domain's rules (dispatch/intake.py) run as validators so
that one 422 lists every problem by field, the unknown municipality included."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from console.lib import geography
from console.lib.schemas import Line, PlaceWarningOut, Request, Text, single_line
from dispatch import intake
from dispatch.intake import AgeBand, Sex
from dispatch.referrals import Progress, Status, Trigger, Urgency


@functools.cache
def municipalities() -> intake.Municipalities:
    """Tuscany's municipalities as shipped (the database is loaded from the same file)."""
    return intake.Municipalities.of({m.istat_code: m.name for m in geography.municipalities()})


def _raise(problems: list[intake.Problem], title: str) -> None:
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(
                    type=PydanticCustomError(p.type, p.message), loc=(p.field,), input=None
                )
                for p in problems
            ],
        )


def _municipality(text: str) -> str:
    problem = municipalities().problem(single_line(text))
    if problem:
        raise PydanticCustomError("unknown_municipality", problem)
    return text


def _language(text: str) -> str:
    code = intake.language_code(single_line(text))
    if code is None:
        raise PydanticCustomError(
            "unknown_language", "unknown language: give its ISO 639-1 code (e.g. ar) or its name"
        )
    return code


def _phone(text: str) -> str:
    problem = intake.phone_problem(text)
    if problem:
        raise PydanticCustomError("phone_invalid", problem)
    return text


MunicipalityRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="ISTAT code (6 digits, e.g. 047014) or exact name (any case, e.g. Pistoia)",
    ),
    AfterValidator(_municipality),
]


class PlaceIn(Request):
    municipality: MunicipalityRef
    address: Line = Field(min_length=1, max_length=300, description="Street and number, or place")
    lat: float | None = Field(
        default=None,
        description="WGS84 latitude (-90 to 90). A point outside Tuscany or outside the stated"
        " municipality is kept, with a warning in the answer",
    )
    lon: float | None = Field(default=None, description="WGS84 longitude (-180 to 180)")

    @model_validator(mode="after")
    def coordinates(self) -> PlaceIn:
        _raise(intake.coordinate_problems(self.lat, self.lon), "PlaceIn")
        return self


class PeopleIn(Request):
    count: int = Field(ge=1, le=intake.PEOPLE_MAX, description="How many people are involved")
    minors: int = Field(default=0, ge=0, le=intake.PEOPLE_MAX, description="Of whom minors")
    age_band: AgeBand = Field(default=AgeBand.UNKNOWN, description="Age band of the main person")
    sex: Sex = Field(default=Sex.UNKNOWN, description="Sex of the main person")
    language: Annotated[str, Field(max_length=40), AfterValidator(_language)] | None = Field(
        default=None,
        description="Language spoken: ISO 639-1 code or name (stored as the code)",
    )
    needs_mediator: bool = Field(default=False, description="A cultural mediator is needed")

    @model_validator(mode="after")
    def consistent(self) -> PeopleIn:
        _raise(intake.people_problems(self.count, self.minors, self.age_band), "PeopleIn")
        return self


class CallbackIn(Request):
    name: Line = Field(min_length=1, max_length=120, description="Who to call back")
    role: Annotated[str, Field(max_length=120), AfterValidator(single_line)] | None = Field(
        default=None, description="Their role"
    )
    phone: Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_phone)] = Field(
        description="Digits, spaces and a leading +; 1 to 40 characters"
    )


class ReferralIn(Request):
    """A referral (segnalazione) as a referrer sends it."""

    trigger: Trigger = Field(description="The service's trigger category")
    urgency: Urgency | None = Field(default=None, description="The referrer's urgency proposal")
    place: PlaceIn = Field(description="Where the person is")
    residence_municipality: MunicipalityRef | None = Field(
        default=None, description="Where the person lives (code or name), when known"
    )
    people: PeopleIn
    description: Text = Field(
        min_length=1, max_length=intake.DESCRIPTION_MAX, description="What happened"
    )
    callback: CallbackIn
    reference: (
        Annotated[str, Field(min_length=1, max_length=100), AfterValidator(single_line)] | None
    ) = Field(default=None, description="The referrer's own reference, unique per referrer")
    referrer_id: int | None = Field(
        default=None,
        ge=1,
        description="Operators entering a referral taken by phone: the referrer. Referrers"
        " must not send it.",
    )


EXAMPLE: dict[str, Any] = {
    "trigger": "poverty_homelessness",
    "urgency": "giallo",
    "place": {
        "municipality": "047014",
        "address": "Piazza Giovanni XXIII, 15 (pronto soccorso)",
        "lat": 43.9305,
        "lon": 10.9076,
    },
    "people": {
        "count": 1,
        "minors": 0,
        "age_band": "30_64",
        "sex": "m",
        "language": "ar",
        "needs_mediator": True,
    },
    "description": "Uomo senza dimora dimesso dal pronto soccorso, senza un posto dove dormire"
    " stanotte. Parla poco italiano.",
    "callback": {"name": "Infermiera di turno", "role": "triage", "phone": "+39 0573 000000"},
}


class ReferralReceived(BaseModel):
    id: int
    case_number: str = Field(description="The number to read on the phone, e.g. SEUS-2026-000123")
    reference: str | None
    status: Progress
    status_label: str
    received_at: datetime
    warnings: list[PlaceWarningOut] = Field(
        default_factory=list,
        description="Doubts about the place, kept with the referral (never a refusal): the"
        " point lies outside Tuscany (`outside_tuscany`, field place.lat) or in another"
        " municipality than the one stated (`outside_municipality`, field place.municipality)."
        " Empty when the point agrees, or there is no point. A replay answers the same.",
    )


class ReferralStatus(BaseModel):
    """What a referrer sees of its referral: its status, never the assessment or notes."""

    id: int
    case_number: str
    reference: str | None = Field(description="The referrer's own reference")
    status: Progress = Field(description="Progress: what the referrer may know")
    status_label: str = Field(description="The status in Italian")
    reason: str | None = Field(
        description="Why, when not pertinent (the room's reason) or withdrawn (the referrer's)"
    )
    received_at: datetime
    updated_at: datetime
    trigger: Trigger | None = Field(default=None, description="The category it was sent with")
    trigger_label: str | None = Field(default=None, description="The category in Italian")
    summary: str | None = Field(
        default=None, description="The first words of the description it was sent with"
    )


class Person(BaseModel):
    id: int
    name: str


_ROOM_ONLY = "Room roles only (absent for referrers)"


class ReferralView(ReferralStatus):
    """A referral: referrers get only the status fields; room roles get all of it."""

    referral_status: Status | None = Field(default=None, description=_ROOM_ONLY)
    referral_status_label: str | None = Field(default=None, description=_ROOM_ONLY)
    urgency_proposed: Urgency | None = Field(default=None, description=_ROOM_ONLY)
    urgency: Urgency | None = Field(default=None, description=f"{_ROOM_ONLY}: the assessed urgency")
    place: dict[str, Any] | None = Field(
        default=None,
        description=f"{_ROOM_ONLY}: municipality_code, municipality, zone_id, zone, address,"
        " lat, lon, point_municipality_code (where the point lies; null without a point or"
        " outside Tuscany)",
    )
    place_warnings: list[PlaceWarningOut] | None = Field(
        default=None,
        description=f"{_ROOM_ONLY}: the warnings the place was received with (outside_tuscany,"
        " outside_municipality)",
    )
    residence: dict[str, Any] | None = Field(default=None, description=_ROOM_ONLY)
    people: dict[str, Any] | None = Field(default=None, description=_ROOM_ONLY)
    description: str | None = Field(default=None, description=_ROOM_ONLY)
    callback: dict[str, Any] | None = Field(default=None, description=_ROOM_ONLY)
    referrer: dict[str, Any] | None = Field(default=None, description=_ROOM_ONLY)
    channel: str | None = Field(default=None, description=f"{_ROOM_ONLY}: referrer or phone")
    entered_by: Person | None = Field(
        default=None, description=f"{_ROOM_ONLY}: the operator who took it by phone"
    )
    holder: Person | None = Field(
        default=None, description=f"{_ROOM_ONLY}: the operator assessing it"
    )
    claimed_at: datetime | None = Field(default=None, description=_ROOM_ONLY)
    assessment: dict[str, Any] | None = Field(default=None, description=_ROOM_ONLY)
    decision_reason: str | None = Field(default=None, description=_ROOM_ONLY)
    merged_into: int | None = Field(default=None, description=_ROOM_ONLY)
    case: dict[str, Any] | None = Field(
        default=None, description=f"{_ROOM_ONLY}: id and status of its case"
    )


class ReferralsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Progress | None = Field(default=None, description="Only referrals in this status")
    limit: int = Field(default=50, ge=1, le=200)
    after_id: int | None = Field(
        default=None, ge=1, description="Newest first: the last id of the previous page"
    )


class ReferralPage(BaseModel):
    referrals: list[ReferralView] = Field(
        description="Newest first: all of each (the room), or only the status (referrers)"
    )
    next_after_id: int | None = Field(description="Pass as after_id for the next page")


def _not_blank(text: str) -> str:
    if not text.strip():
        raise PydanticCustomError("blank", "the text is blank: write something")
    return text


class AddendumIn(Request):
    """New information on a referral already sent, from its referrer."""

    text: Annotated[Text, AfterValidator(_not_blank)] = Field(
        min_length=1,
        max_length=intake.ADDENDUM_MAX,
        description="What the referrer adds (1-2000 characters; new lines allowed)",
    )


class WithdrawalIn(Request):
    """The referrer withdraws its referral."""

    reason: Annotated[Text, AfterValidator(_not_blank)] = Field(
        min_length=1,
        max_length=intake.WITHDRAWAL_REASON_MAX,
        description="Why the referral is withdrawn (1-500 characters), told to the room",
    )


class Addendum(BaseModel):
    """Information a referrer added to its referral after sending it."""

    id: int
    referral_id: int
    case_number: str
    text: str
    author_name: str = Field(description="Who added it: the web user, or the referrer")
    added_at: datetime
