"""Hostile referrals: properties of intake's validation, in process (fast, many examples) and
through a running console (fewer, end to end: stored and read back, or refused and not kept).

The pure layer is `console.lib.api.parse_body` (the JSON reading every operation uses) with
`ReferralIn` (console/areas/intake/schemas.py, whose rules are dispatch/intake.py's).
"""

from __future__ import annotations

import asyncio
import copy
import json
import unicodedata
import uuid
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import console.app  # noqa: F401 - registers every API operation
from console.areas.intake.schemas import EXAMPLE, ReferralIn, municipalities
from console.lib import api, errors


def checked(examples: int) -> settings:
    """Repeatable: derandomized, no example database kept in the repository."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Every field a referral may carry, by JSON type (optional ones included).
INTEGERS = ["people.count", "people.minors", "referrer_id"]
NUMBERS = ["place.lat", "place.lon"]
BOOLEANS = ["people.needs_mediator"]
STRINGS = [
    "trigger",
    "urgency",
    "place.municipality",
    "place.address",
    "residence_municipality",
    "people.age_band",
    "people.sex",
    "people.language",
    "description",
    "callback.name",
    "callback.role",
    "callback.phone",
    "reference",
]
OBJECTS = ["place", "people", "callback"]
# Free text: (field, max length, new lines allowed, may be empty).
TEXTS = [
    ("description", 4000, True, False),
    ("place.address", 300, False, False),
    ("callback.name", 120, False, False),
    ("callback.role", 120, False, True),
    ("reference", 100, False, False),
]
# Strings with a maximum length (the free text, and the names and codes).
LIMITED = [(field, limit) for field, limit, *_ in TEXTS] + [
    ("place.municipality", 100),
    ("residence_municipality", 100),
    ("people.language", 40),
    ("callback.phone", 40),
]


def valid() -> dict[str, Any]:
    return copy.deepcopy(EXAMPLE)


def put(body: dict[str, Any], field: str, value: Any) -> dict[str, Any]:
    *parents, leaf = field.split(".")
    node = body
    for parent in parents:
        node = node[parent]
    node[leaf] = value
    return body


def get(body: Any, field: str) -> Any:
    for part in field.split("."):
        body = getattr(body, part)
    return body


def parse(raw: bytes) -> ReferralIn | dict[str, str]:
    """The referral, or its problems by field (a 422)."""
    try:
        parsed = api.parse_body(raw, ReferralIn)
    except errors.ValidationFailed as exc:
        assert exc.status == 422 and exc.problems
        return {p.field: p.type for p in exc.problems}
    assert isinstance(parsed, ReferralIn)
    return parsed


def encoded(body: Any) -> bytes:
    """JSON as a client sends it: non-ASCII escaped, so a lone surrogate travels as \\ud800."""
    return json.dumps(body, ensure_ascii=True).encode()


# -- wrong types: `true` is not a number ------------------------------------------------------

JUNK_OBJECTS = st.one_of(st.just({}), st.just({"a": 1}), st.just([]), st.just([1, "x"]))
NOT_AN_INTEGER = st.one_of(
    st.booleans(), st.just("5"), st.just(5.5), st.just(None), st.just("uno"), JUNK_OBJECTS
)
NOT_A_NUMBER = st.one_of(st.booleans(), st.just("43.9"), st.just("NaN"), JUNK_OBJECTS)
NOT_A_BOOLEAN = st.one_of(st.just(0), st.just(1), st.just("true"), st.just("sì"), JUNK_OBJECTS)
NOT_A_STRING = st.one_of(
    st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
    JUNK_OBJECTS,
)  # fmt: skip
WRONG = (
    [(f, NOT_AN_INTEGER) for f in INTEGERS]
    + [(f, NOT_A_NUMBER) for f in NUMBERS]
    + [(f, NOT_A_BOOLEAN) for f in BOOLEANS]
    + [(f, NOT_A_STRING) for f in STRINGS]
    + [(f, st.one_of(st.booleans(), st.integers(), st.just("x"), st.just([{}]))) for f in OBJECTS]
)


@st.composite
def wrong_types(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A valid referral with 1 to 5 fields of the wrong JSON type."""
    chosen = draw(
        st.lists(st.sampled_from(WRONG), min_size=1, max_size=5, unique_by=lambda w: w[0])
    )
    # A field inside a replaced object is gone with it.
    fields = {f for f, _ in chosen}
    chosen = [(f, s) for f, s in chosen if f.split(".")[0] not in fields or "." not in f]
    body = valid()
    for field, strategy in chosen:
        value = draw(strategy)
        if value is None and field in ("referrer_id", "people.language"):
            value = 0  # null is their default
        put(body, field, value)
    return body, {f for f, _ in chosen}


@checked(400)
@given(wrong_types())
def test_a_value_of_the_wrong_type_is_a_422_naming_exactly_the_fields_that_have_one(case):
    body, bad = case
    found = parse(encoded(body))
    assert isinstance(found, dict), f"accepted: {body}"
    assert set(found) == bad, (found, bad)


@checked(50)
@given(st.sampled_from(INTEGERS + NUMBERS), st.booleans())
def test_true_and_false_are_not_numbers(field, flag):
    assert parse(encoded(put(valid(), field, flag))) == {
        field: "int_type" if field in INTEGERS else "float_type"
    }


# -- text: unicode edge cases, kept exactly or refused ----------------------------------------

SPECIAL = [
    "\x00",  # NUL: PostgreSQL cannot store it
    "\ud800",  # a lone high surrogate (sent as the JSON escape \ud800)
    "\udfff",  # a lone low surrogate
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u0301",  # a combining acute accent
    "e\u0301",  # é, not NFC
    "\u1e9b\u0323",  # not NFC, not NFKC
    "😀",
    "👩‍👩‍👧",  # emoji joined by ZWJ
    "\ufeff",  # byte order mark
    "\u2028",  # line separator
    "\x7f",  # DEL (a control character)
    "\x85",  # NEL (a control character)
    "\n",
    "\r\n",
    "\t",
    " ",
    "\u00a0",  # no-break space
    "\u3000",  # ideographic space
    "ﷺ",  # one character, wide
    "\U0010ffff",  # the last code point
]
TEXT = st.lists(
    st.one_of(
        st.characters(codec=None, exclude_categories=()),  # surrogates included
        st.sampled_from(SPECIAL),
    ),
    max_size=30,
).map("".join)


# Unicode's White_Space, what the schemas strip around text (Python's str.strip() also takes
# the separators U+001C-U+001F, which are control characters here and refused).
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)


def refusal(text: str, limit: int, multiline: bool, may_be_empty: bool) -> str | None:
    """What the API says of this text in this field (None: it is kept). A lone surrogate is
    refused as such; the other checks see it as U+FFFD."""
    cleaned = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    stripped = cleaned.strip(WHITE_SPACE)
    allowed = "\n\r\t" if multiline else ""
    if not stripped and not may_be_empty:
        return "string_too_short"
    if len(stripped) > limit:
        return "string_too_long"
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in stripped):
        return "control_characters"  # NUL among them
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "string_unstorable"
    return None


@checked(600)
@given(st.sampled_from(TEXTS), TEXT)
def test_free_text_is_kept_exactly_as_sent_or_refused_by_field_never_mangled(where, text):
    field = where[0]
    found = parse(encoded(put(valid(), field, text)))
    expected = refusal(text, *where[1:])
    if expected is None:
        assert isinstance(found, ReferralIn), found
        # Kept as sent: not normalized, not re-encoded; only the surrounding spaces go.
        assert get(found, field) == text.strip(WHITE_SPACE)
        get(found, field).encode("utf-8")  # storable and sendable as UTF-8 (or it raises)
    else:
        assert found == {field: expected}


def test_a_municipality_written_with_decomposed_accents_is_the_same_municipality():
    towns = municipalities()
    for code, name in towns.names.items():
        for form in ("NFD", "NFKD", "NFC"):
            assert towns.find(unicodedata.normalize(form, name)) == code, (form, name)
    nfd = put(valid(), "place.municipality", unicodedata.normalize("NFD", "Castel San Niccolò"))
    found = parse(encoded(nfd))
    assert isinstance(found, ReferralIn), found


# -- huge strings ---------------------------------------------------------------------------


@checked(120)
@given(
    st.sampled_from(LIMITED),
    st.integers(1, 5000),
    st.sampled_from(["x", "è", "😀", "e\u0301", "9"]),
)
def test_a_string_over_its_fields_maximum_is_a_422_naming_that_field(where, extra, unit):
    field, limit = where
    text = (unit * (limit + extra))[: limit + extra]
    assert parse(encoded(put(valid(), field, text))) == {field: "string_too_long"}


# -- nested junk -----------------------------------------------------------------------------


@checked(60)
@given(st.sampled_from(STRINGS + INTEGERS + NUMBERS + BOOLEANS), st.integers(1, 200))
def test_arrays_and_objects_nested_where_a_scalar_belongs_are_a_422_naming_the_field(field, depth):
    junk: Any = "x"
    for level in range(depth):
        junk = [junk] if level % 2 else {"a": junk}
    assert set(parse(encoded(put(valid(), field, junk)))) == {field}


@checked(20)
@given(st.integers(1_000, 30_000), st.sampled_from(["[", '{"a":']))
def test_json_nested_deeper_than_the_parser_goes_is_a_422_not_a_crash(depth, opener):
    closer = "]" if opener == "[" else "}"
    deep = (opener * depth + "1" + closer * depth).encode()
    found = parse(encoded(put(valid(), "description", "@@")).replace(b'"@@"', deep))
    assert isinstance(found, dict)
    assert set(found) in ({"body"}, {"description"})


@checked(100)
@given(
    st.sampled_from(["trigger", "place.address", "people.count", "callback.phone", "place"]),
    st.sampled_from(["first", "second"]),
)
def test_a_key_sent_twice_is_a_422_naming_it_whichever_value_is_valid(field, valid_one):
    *parents, leaf = field.split(".")
    body = valid()
    node = body
    for parent in parents:
        node = node[parent]
    good = node[leaf]
    bad: Any = 12 if isinstance(good, str) else "dodici"
    values = (good, bad) if valid_one == "first" else (bad, good)
    # Rebuild the object holding `leaf` with the key twice (json.dumps cannot).
    inner = json.dumps({k: v for k, v in node.items() if k != leaf})[1:-1]
    twice = ", ".join(f"{json.dumps(leaf)}: {json.dumps(v)}" for v in values)
    holder = "{" + twice + (", " + inner if inner else "") + "}"
    if parents:
        rest = json.dumps({k: v for k, v in body.items() if k != parents[0]})[1:-1]
        raw = "{" + f"{json.dumps(parents[0])}: {holder}, {rest}" + "}"
    else:
        raw = holder
    found = parse(raw.encode())
    assert isinstance(found, dict)
    assert found[field] == "duplicate_key"


def test_numbers_that_are_no_json_numbers_or_beyond_their_type_are_refused():
    for raw_value, field in [
        ("NaN", "place.lat"),
        ("Infinity", "place.lon"),
        ("1e400", "place.lat"),
        ("-1e400", "place.lon"),
        ("9223372036854775808", "referrer_id"),
    ]:
        body = encoded(put(valid(), field, "@@"))
        found = parse(body.replace(b'"@@"', raw_value.encode()))
        assert isinstance(found, dict) and set(found) <= {field, "body"}, (raw_value, found)


# -- end to end: stored exactly, or refused and nothing kept ----------------------------------


async def _counts(dsn: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM referrals) AS referrals,"
            " (SELECT count(*) FROM idempotency_keys) AS keys,"
            " (SELECT seq FROM event_head) AS head"
        )
        return row["referrals"], row["keys"], row["head"]
    finally:
        await conn.close()


HOSTILE_BODY = st.one_of(
    st.tuples(st.sampled_from(TEXTS), TEXT).map(
        lambda t: ("text", put(valid(), t[0][0], t[1]), t[0])
    ),
    wrong_types().map(lambda t: ("types", t[0], t[1])),
)


def test_over_http_a_referral_is_stored_exactly_as_sent_or_refused_and_nothing_is_kept(
    start_console, people, database_url
):
    console = start_console()
    with (
        httpx.Client(base_url=console.url, timeout=10) as room,
        httpx.Client(
            base_url=console.url,
            timeout=10,
            headers={"Authorization": f"Bearer {people['referrer'].secret}"},
        ) as referrer,
    ):
        operator = people["operator"]
        logged = room.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        assert logged.status_code == 201
        outcomes = fuzz_intake(room, referrer, database_url)
    assert outcomes["stored"] and outcomes["refused"], outcomes
    assert console.process.poll() is None


def fuzz_intake(room: httpx.Client, referrer: httpx.Client, database_url: str) -> dict[str, int]:
    outcomes = {"stored": 0, "refused": 0}

    @checked(40)
    @given(HOSTILE_BODY)
    def send(case: tuple[str, dict[str, Any], Any]) -> None:
        kind, body, what = case
        before = asyncio.run(_counts(database_url))
        answer = referrer.post(
            "/api/v1/referrals",
            content=encoded(body),
            headers={"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())},
        )
        assert answer.status_code in (201, 409, 422), answer.text
        if answer.status_code == 409:  # a reference the referrer used already
            assert answer.json()["error"] == "reference_taken" and what[0] == "reference"
            assert asyncio.run(_counts(database_url)) == before
            return
        if answer.status_code == 422:
            outcomes["refused"] += 1
            named = {p["field"] for p in answer.json()["errors"]}
            if kind == "types":
                assert named == what
            else:
                assert named == {what[0]}
            assert asyncio.run(_counts(database_url)) == before  # nothing kept, no event
            return
        outcomes["stored"] += 1
        assert kind == "text", body
        field = what[0]
        stored = room.get(f"/api/v1/referrals/{answer.json()['id']}").json()
        sent = get_json(body, field)
        assert read_back(stored, field) == sent.strip(WHITE_SPACE)

    send()
    return outcomes


def get_json(body: dict[str, Any], field: str) -> Any:
    node: Any = body
    for part in field.split("."):
        node = node[part]
    return node


def read_back(view: dict[str, Any], field: str) -> Any:
    """The field as the room reads it back (`GET /api/v1/referrals/{id}`)."""
    if field == "place.address":
        return view["place"]["address"]
    return get_json(view, field)
