"""Referral intake: the domain's rules on what a referral may say, and the event it records.

Types and ranges are the schema's business (console/intake_schemas.py); the rules here are the
domain's: places are Tuscan municipalities, coordinates are a point on Earth (whether it lies in
Tuscany and in the stated municipality is a warning: dispatch/places.py), minors are among the
people counted, a phone number is a phone number, free text carries no control characters.
"""

from __future__ import annotations

import difflib
import enum
import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dispatch import access
from dispatch.events import NewEvent
from dispatch.referrals import OPEN, TRANSITIONS, Progress, Status
from dispatch.states import move


class AgeBand(enum.StrEnum):
    MINOR = "minor"
    AGE_18_29 = "18_29"
    AGE_30_64 = "30_64"
    OVER_65 = "over_65"
    UNKNOWN = "unknown"


AGE_BAND_LABELS = {
    AgeBand.MINOR: "Minorenne",
    AgeBand.AGE_18_29: "18-29 anni",
    AgeBand.AGE_30_64: "30-64 anni",
    AgeBand.OVER_65: "Oltre 65 anni",
    AgeBand.UNKNOWN: "Non nota",
}


class Sex(enum.StrEnum):
    FEMALE = "f"
    MALE = "m"
    OTHER = "other"
    UNKNOWN = "unknown"


SEX_LABELS = {Sex.FEMALE: "F", Sex.MALE: "M", Sex.OTHER: "Altro", Sex.UNKNOWN: "Non noto"}


class Channel(enum.StrEnum):
    """How a referral came in."""

    API = "api"  # a referrer's system, with its API key
    WEB = "web"  # a referrer's web user, through the form
    PHONE = "phone"  # an operator who took it by phone


CHANNEL_REASONS = {
    Channel.API: "ricevuta dal sistema dell'ente",
    Channel.WEB: "ricevuta dal modulo web dell'ente",
    Channel.PHONE: "ricevuta per telefono in centrale",
}


REFERRER_KIND_LABELS = {
    "police": "Polizia di Stato",
    "carabinieri": "Carabinieri",
    "municipal_police": "Polizia municipale",
    "hospital": "Ospedale / pronto soccorso",
    "social_service": "Servizio sociale territoriale",
    "prefecture": "Prefettura",
    "municipality": "Comune",
    "other": "Altro ente competente",
}

STATUS_LABELS = {
    "received": "Ricevuta",
    "in_assessment": "In valutazione",
    "activated": "Attivata",
    "not_pertinent": "Non pertinente",
    "redirected": "Reindirizzata",
    "merged": "Unita a un'altra segnalazione",
    "withdrawn": "Ritirata dal segnalante",
}

# What a WGS84 point can be at all; whether it lies in Tuscany is dispatch.places' warning.
LAT_RANGE = (-90.0, 90.0)
LON_RANGE = (-180.0, 180.0)

PEOPLE_MAX = 500
DESCRIPTION_MAX = 4000
ADDENDUM_MAX = 2000
WITHDRAWAL_REASON_MAX = 500
SUMMARY_MAX = 200


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a referral: the dotted field, an English message, a type code."""

    field: str
    message: str
    type: str = "value_error"


# -- free text -----------------------------------------------------------------------------------


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    """True when `text` holds a control character (newline and tab allowed in long text)."""
    allowed = "\n\r\t" if multiline else ""
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in text)


def summary(text: str, limit: int = SUMMARY_MAX) -> str:
    """The first words of a description, on one line, for the queue."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def phone_problem(text: str) -> str | None:
    """Why `text` is not a phone number we can call back (digits, spaces, a leading +)."""
    if not text or len(text) > 40:
        return "a phone number has 1 to 40 characters"
    if any(c not in "0123456789 +" for c in text):
        return "a phone number has only digits, spaces and +"
    if "+" in text[1:]:
        return "+ may only lead a phone number"
    if sum(c.isdigit() for c in text) < 3:
        return "a phone number needs at least 3 digits"
    return None


# -- places --------------------------------------------------------------------------------------


def name_key(name: str) -> str:
    """A municipality name as it is compared: case-insensitive, one kind of apostrophe, spaces,
    accents composed or not (NFC: "ò" typed as o + U+0300 is still "ò")."""
    text = unicodedata.normalize("NFC", name)
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'")
    return " ".join(text.casefold().split())


def is_istat_code(text: str) -> bool:
    return len(text) == 6 and text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Municipalities:
    """The municipalities a referral may name: ISTAT code -> name, and name key -> code."""

    names: Mapping[str, str]
    by_key: Mapping[str, str]

    @classmethod
    def of(cls, names: Mapping[str, str]) -> Municipalities:
        return cls(dict(names), {name_key(name): code for code, name in names.items()})

    def find(self, text: str) -> str | None:
        """The ISTAT code for a code or a name (exact, case-insensitive), else None."""
        text = text.strip()
        if is_istat_code(text):
            return text if text in self.names else None
        return self.by_key.get(name_key(text))

    def problem(self, text: str) -> str | None:
        """Why `text` names no municipality, with the nearest names when some are close."""
        if self.find(text) is not None:
            return None
        if is_istat_code(text.strip()):
            return f"no Tuscan municipality has the ISTAT code {text.strip()!r}"
        close = difflib.get_close_matches(name_key(text), list(self.by_key), n=3, cutoff=0.75)
        hint = ", ".join(self.names[self.by_key[key]] for key in close)
        hint = f"; did you mean {hint}?" if hint else ""
        return (
            f"unknown municipality {text.strip()!r}: give its ISTAT code (6 digits) or its"
            f" exact name{hint}"
        )


def coordinate_problems(lat: float | None, lon: float | None) -> list[Problem]:
    """Both coordinates or neither, each a finite number within its range (fields: lat, lon).
    A point outside Tuscany is no problem here: it is kept, with a warning (dispatch.places)."""
    if lat is None and lon is None:
        return []
    if lat is None or lon is None:
        missing = "lat" if lat is None else "lon"
        return [Problem(missing, "give both lat and lon, or neither", "missing")]
    found = []
    for field, value, (low, high) in (("lat", lat, LAT_RANGE), ("lon", lon, LON_RANGE)):
        if not (math.isfinite(value) and low <= value <= high):
            found.append(Problem(field, f"{field} must be a number from {low:g} to {high:g}"))
    return found


# -- people --------------------------------------------------------------------------------------


def people_problems(count: int, minors: int, age_band: AgeBand) -> list[Problem]:
    """Minors are among the people counted; an age band of minor means at least one minor."""
    if minors > count:
        return [Problem("minors", f"minors ({minors}) cannot exceed count ({count})")]
    if age_band is AgeBand.MINOR and minors == 0:
        return [Problem("minors", "age_band is minor: minors must be at least 1")]
    return []


# ISO 639-1, every code.
ISO_639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy"
    " da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht"
    " hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky"
    " la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny"
    " oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss"
    " st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo"
    " za zh zu".split()
)

# The languages met most often, by code: the Italian name first, then other accepted names.
LANGUAGES: dict[str, tuple[str, ...]] = {
    "it": ("italiano", "italian"),
    "en": ("inglese", "english"),
    "fr": ("francese", "french"),
    "es": ("spagnolo", "spanish"),
    "de": ("tedesco", "german"),
    "pt": ("portoghese", "portuguese"),
    "ro": ("rumeno", "romeno", "romanian"),
    "sq": ("albanese", "albanian"),
    "ar": ("arabo", "arabic"),
    "zh": ("cinese", "chinese", "mandarino", "mandarin"),
    "uk": ("ucraino", "ukrainian"),
    "ru": ("russo", "russian"),
    "pl": ("polacco", "polish"),
    "ur": ("urdu",),
    "bn": ("bengalese", "bengali", "bangla"),
    "pa": ("punjabi", "panjabi"),
    "hi": ("hindi",),
    "wo": ("wolof",),
    "ff": ("fula", "fulani", "peul", "pulaar"),
    "tl": ("tagalog", "filippino", "filipino"),
    "ti": ("tigrino", "tigrinya"),
    "am": ("amarico", "amharic"),
    "so": ("somalo", "somali"),
    "fa": ("persiano", "farsi", "persian"),
    "ps": ("pashto", "pashtu"),
    "ku": ("curdo", "kurdish"),
    "tr": ("turco", "turkish"),
    "sr": ("serbo", "serbian"),
    "hr": ("croato", "croatian"),
    "bs": ("bosniaco", "bosnian"),
    "mk": ("macedone", "macedonian"),
    "bg": ("bulgaro", "bulgarian"),
    "el": ("greco", "greek"),
    "ka": ("georgiano", "georgian"),
    "hy": ("armeno", "armenian"),
    "ha": ("hausa",),
    "yo": ("yoruba",),
    "ig": ("igbo",),
    "ln": ("lingala",),
    "sw": ("swahili",),
    "ta": ("tamil",),
    "si": ("singalese", "sinhala", "cingalese"),
    "ne": ("nepalese", "nepali"),
    "vi": ("vietnamita", "vietnamese"),
    "th": ("thailandese", "thai"),
    "ja": ("giapponese", "japanese"),
    "ko": ("coreano", "korean"),
    "nl": ("olandese", "dutch"),
    "ml": ("malayalam",),
    "id": ("indonesiano", "indonesian"),
    "he": ("ebraico", "hebrew"),
    "hu": ("ungherese", "hungarian"),
    "cs": ("ceco", "czech"),
    "sk": ("slovacco", "slovak"),
    "sl": ("sloveno", "slovenian"),
    "uz": ("uzbeko", "uzbek"),
    "az": ("azero", "azerbaijani"),
    "be": ("bielorusso", "belarusian"),
    "mn": ("mongolo", "mongolian"),
}

_LANGUAGE_BY_NAME = {name: code for code, names in LANGUAGES.items() for name in names}


def language_code(text: str) -> str | None:
    """The ISO 639-1 code for a code or a known name (Italian or English), else None."""
    key = " ".join(text.casefold().split())
    if key in ISO_639_1:
        return key
    return _LANGUAGE_BY_NAME.get(key)


def language_label(code: str | None) -> str:
    """The Italian name of a language code, or the code itself."""
    if not code:
        return ""
    names = LANGUAGES.get(code)
    return names[0] if names else code


# -- the event -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    """What the room's queue needs to know of a referral the moment it arrives."""

    referral_id: int
    case_number: str
    trigger: str
    urgency_proposed: str | None
    municipality_code: str
    municipality: str
    zone_id: str
    zone: str
    people_count: int
    minors: int
    needs_mediator: bool
    language: str | None
    summary: str
    referrer_id: int
    referrer_name: str
    referrer_kind: str
    channel: Channel
    received_at: datetime
    entered_by: str | None = None  # the operator who took it by phone


def referral_received(referral: Received, actor: str) -> NewEvent:
    """A referral entered the room's queue (full detail: the room only)."""
    return NewEvent(
        type="referral.received",
        subject=f"referral:{referral.referral_id}",
        audience=frozenset({access.ROOM}),
        zone=referral.zone_id,
        actor=actor,
        payload={
            "id": referral.referral_id,
            "case_number": referral.case_number,
            "status": "received",
            "trigger": referral.trigger,
            "urgency_proposed": referral.urgency_proposed,
            "municipality_code": referral.municipality_code,
            "municipality": referral.municipality,
            "zone_id": referral.zone_id,
            "zone": referral.zone,
            "people": {
                "count": referral.people_count,
                "minors": referral.minors,
                "needs_mediator": referral.needs_mediator,
                "language": referral.language,
            },
            "summary": referral.summary,
            "referrer": {
                "id": referral.referrer_id,
                "name": referral.referrer_name,
                "kind": referral.referrer_kind,
            },
            "channel": referral.channel.value,
            "entered_by": referral.entered_by,
            "received_at": referral.received_at.isoformat(),
            "reason": CHANNEL_REASONS[referral.channel],
        },
    )


# -- after sending: the referrer adds to its referral, or withdraws it ---------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a referrer may not do something now: a code for the API, a message in Italian."""

    code: str
    message: str


# What a referrer can no longer add to: the referral is over for the room.
_ENDED = {
    Progress.CLOSED: Refusal(
        "referral_closed",
        "La segnalazione è chiusa: non si possono aggiungere informazioni. Per una situazione"
        " nuova inviare una nuova segnalazione.",
    ),
    Progress.NOT_PERTINENT: Refusal(
        "referral_closed",
        "La segnalazione è stata chiusa dalla centrale operativa: non si possono aggiungere"
        " informazioni. Per una situazione nuova inviare una nuova segnalazione.",
    ),
    Progress.WITHDRAWN: Refusal(
        "referral_withdrawn",
        "La segnalazione è stata ritirata: non si possono aggiungere informazioni.",
    ),
}


def addendum_refusal(progress: Progress) -> Refusal | None:
    """May the referrer add information to its referral, whose progress (its target's, when
    merged) is `progress`? None when it may: until the referral is closed, not pertinent or
    withdrawn."""
    return _ENDED.get(progress)


@dataclass(frozen=True, slots=True)
class Standing:
    """What decides whether a referral may still be withdrawn."""

    status: Status
    case_status: str | None = None  # its case's, once activated
    units_sent: bool = False  # a unit was ever dispatched to its case
    open_bookings: int = 0  # resources requested, held, confirmed or in use for its case
    followers: int = 0  # other referrals merged into this one


_CONTACT = " Per comunicazioni contattare la centrale operativa."


def withdrawal_refusal(standing: Standing) -> Refusal | None:
    """May the referrer withdraw its referral? Yes until a unit is sent to its case: while it
    waits, while it is assessed, and once activated while the case is only open (no unit sent,
    no resource asked for). Never a referral the room has closed or joined to another, nor one
    other referrals were joined to (their referrers count on it)."""
    status = standing.status
    if status is Status.WITHDRAWN:
        return Refusal("already_withdrawn", "La segnalazione è già stata ritirata.")
    if status in (Status.NOT_PERTINENT, Status.REDIRECTED):
        return Refusal(
            "referral_closed",
            "La segnalazione è già stata chiusa dalla centrale operativa: non si può ritirare.",
        )
    if status is Status.MERGED:
        return Refusal(
            "referral_merged",
            "La segnalazione è stata unita a un'altra già seguita dalla centrale operativa:"
            " non si può ritirare." + _CONTACT,
        )
    if standing.followers:
        return Refusal(
            "referral_followed",
            "Altre segnalazioni sono state unite a questa: non si può ritirare." + _CONTACT,
        )
    if status in OPEN:
        return None
    if standing.units_sent:
        return Refusal(
            "unit_dispatched",
            "Un'unità è già stata inviata: la segnalazione non si può più ritirare." + _CONTACT,
        )
    if standing.case_status not in (None, "open"):
        return Refusal(
            "case_in_progress",
            "La presa in carico è già avviata: la segnalazione non si può più ritirare." + _CONTACT,
        )
    if standing.open_bookings:
        return Refusal(
            "resources_booked",
            "Sono già state richieste risorse per la persona: la segnalazione non si può più"
            " ritirare." + _CONTACT,
        )
    return None


def withdrawn_status(current: Status) -> Status:
    """The referral's status once withdrawn (an illegal move raises, as every move does)."""
    return move("referral", TRANSITIONS, current, Status.WITHDRAWN)


@dataclass(frozen=True, slots=True)
class About:
    """The referral an addendum or a withdrawal is about, as the room's events name it."""

    id: int
    case_number: str
    zone: str
    referrer_name: str
    case_id: int | None = None  # its case, or its target's when merged
    merged_into: int | None = None


def _about(about: About) -> dict[str, object]:
    return {
        "id": about.id,
        "case_number": about.case_number,
        "referrer_name": about.referrer_name,
        "case_id": about.case_id,
        "merged_into": about.merged_into,
    }


def addendum_added(
    about: About, addendum_id: int, body: str, by: access.Principal, actor: str, at: datetime
) -> NewEvent:
    """The referrer added information: the room sees it (queue, assessment, the case's
    timeline through `case_id`)."""
    return NewEvent(
        type="referral.addendum_added",
        subject=f"referral:{about.id}",
        audience=frozenset({access.ROOM}),
        zone=about.zone,
        actor=actor,
        payload={
            **_about(about),
            "addendum_id": addendum_id,
            "body": body,
            "author_name": by.name,
            "at": at.isoformat(),
        },
    )


def withdrawn(
    about: About, previous: Status, reason: str, by: access.Principal, actor: str, at: datetime
) -> NewEvent:
    """The referrer withdrew its referral: it leaves the queue, its clocks stop."""
    return NewEvent(
        type="referral.withdrawn",
        subject=f"referral:{about.id}",
        audience=frozenset({access.ROOM}),
        zone=about.zone,
        actor=actor,
        payload={
            **_about(about),
            "previous": previous.value,
            "status": Status.WITHDRAWN.value,
            "reason": reason,
            "author_name": by.name,
            "at": at.isoformat(),
        },
    )
