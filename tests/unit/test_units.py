"""Field units (dispatch/units.py, dispatch/assignments.py): every status move, the ranking, what
an assignment does to its case, and who each event is for."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import access, assignments, cases
from dispatch.errors import IllegalTransition, Refused
from dispatch.units import (
    BUSY,
    TRANSITIONS,
    Candidate,
    Fix,
    RankingPolicy,
    Source,
    Status,
    advance,
    age_words,
    assign,
    base_note,
    estimate,
    fix_phrase,
    language_label,
    locate,
    needed_language,
    position,
    rank,
    report,
    reported_at,
    travel_minutes,
)

S = Status
ALLOWED = {
    (S.OFF_DUTY, S.AVAILABLE),
    (S.AVAILABLE, S.ASSIGNED),
    (S.AVAILABLE, S.OFF_DUTY),
    (S.ASSIGNED, S.ACKNOWLEDGED),
    (S.ASSIGNED, S.AVAILABLE),
    (S.ACKNOWLEDGED, S.EN_ROUTE),
    (S.ACKNOWLEDGED, S.AVAILABLE),
    (S.EN_ROUTE, S.ON_SCENE),
    (S.EN_ROUTE, S.AVAILABLE),
    (S.ON_SCENE, S.RETURNING),
    (S.ON_SCENE, S.AVAILABLE),
    (S.RETURNING, S.AVAILABLE),
    (S.RETURNING, S.OFF_DUTY),
}
EVERY_PAIR = list(itertools.product(Status, Status))
NOW = datetime(2026, 1, 15, 21, 0, tzinfo=UTC)


# ---- status moves --------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), EVERY_PAIR)
def test_a_unit_moves_only_along_the_table(current, target):
    if (current, target) in ALLOWED:
        assert advance(current, target) is target
    else:
        with pytest.raises(IllegalTransition) as raised:
            advance(current, target)
        assert (raised.value.current, raised.value.target) == (current.value, target.value)


def test_the_table_is_the_one_the_design_draws():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize(("current", "target"), EVERY_PAIR)
def test_a_tablet_reports_every_allowed_move_but_the_assignment_itself(current, target):
    if target is S.ASSIGNED:
        with pytest.raises(Refused):
            report(current, target)
    elif (current, target) in ALLOWED:
        assert report(current, target) is target
    else:
        with pytest.raises(IllegalTransition):
            report(current, target)


@pytest.mark.parametrize("current", list(Status))
def test_only_an_available_unit_can_be_dispatched_and_a_refusal_says_why(current):
    if current is S.AVAILABLE:
        assert assign(current) is S.ASSIGNED
        return
    with pytest.raises(Refused) as raised:
        assign(current)
    words = "fuori servizio" if current is S.OFF_DUTY else "unità già impegnata"
    assert words in str(raised.value)


def test_busy_units_are_those_working_on_a_case():
    assert {S.ASSIGNED, S.ACKNOWLEDGED, S.EN_ROUTE, S.ON_SCENE} == BUSY


# ---- what an assignment does to its case ---------------------------------------------------

C = cases.Status


@pytest.mark.parametrize(
    ("case", "others", "expected"),
    [
        (C.OPEN, 0, C.UNIT_DISPATCHED),
        (C.UNIT_DISPATCHED, 1, None),  # a second unit: the case does not move again
        (C.ON_SCENE, 1, None),  # joining a unit already on scene
        (C.ON_SCENE, 0, C.UNIT_DISPATCHED),
        (C.RESOURCES_IN_PLACE, 0, C.UNIT_DISPATCHED),
        (C.HANDOVER_REJECTED, 0, C.UNIT_DISPATCHED),
    ],
)
def test_a_dispatch_moves_the_case_only_when_it_was_waiting(case, others, expected):
    assert assignments.case_after_dispatch(case, others) is expected


@pytest.mark.parametrize("case", [C.HANDOVER_SENT, C.HANDOVER_ACCEPTED, C.CLOSED])
def test_a_case_past_its_field_work_refuses_units(case):
    with pytest.raises(IllegalTransition):
        assignments.case_after_dispatch(case, 0)


@pytest.mark.parametrize("case", list(cases.Status))
def test_arrival_moves_only_a_case_waiting_for_a_unit(case):
    expected = C.ON_SCENE if case is C.UNIT_DISPATCHED else None
    assert assignments.case_after_arrival(case) is expected


@pytest.mark.parametrize(("case", "others"), list(itertools.product(cases.Status, (0, 1))))
def test_a_case_left_without_units_before_any_arrived_goes_back_to_open(case, others):
    expected = C.OPEN if case is C.UNIT_DISPATCHED and others == 0 else None
    assert assignments.case_after_release(case, others) is expected


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (None, NOW),
        (NOW - timedelta(minutes=5), NOW - timedelta(minutes=5)),  # sent late, kept its time
        (NOW + timedelta(minutes=5), NOW),  # a clock ahead: not in the future
        (NOW - timedelta(days=1), NOW - timedelta(hours=1)),  # never before the last status
    ],
)
def test_a_reported_time_is_the_tablets_within_bounds(client, expected):
    assert reported_at(client, NOW, not_before=NOW - timedelta(hours=1)) == expected


# ---- ranking -------------------------------------------------------------------------------

FIRENZE = (43.78012, 11.24488)
PRATO = (43.87797, 11.09749)
AREZZO = (43.46276, 11.88068)


def unit(id_: int, at: tuple[float, float], **kw: object) -> Candidate:
    options: dict[str, object] = {
        "name": f"UTES {id_}",
        "status": S.AVAILABLE,
        "zones": frozenset({"firenze"}),
        "skills": frozenset(),
    }
    options.update(kw)
    return Candidate(id=id_, lat=at[0], lon=at[1], **options)  # type: ignore[arg-type]


def ranked(*units: Candidate, skills: frozenset[str] = frozenset(), language: str | None = None):
    return rank(*FIRENZE, "firenze", skills, language, units)


def test_the_nearest_available_unit_comes_first():
    result = ranked(unit(1, AREZZO), unit(2, FIRENZE), unit(3, PRATO))
    assert [r.unit_id for r in result] == [2, 3, 1]
    assert result[0].eta_minutes == 1  # at the door: never "~0 min"
    assert result[1].eta_minutes < result[2].eta_minutes


def test_road_factor_and_speed_set_the_estimated_arrival():
    prato = unit(1, PRATO)
    base = rank(*FIRENZE, "firenze", frozenset(), None, [prato])[0].eta_minutes
    slow = rank(*FIRENZE, "firenze", frozenset(), None, [prato], RankingPolicy(speed_kmh=25))
    long = rank(*FIRENZE, "firenze", frozenset(), None, [prato], RankingPolicy(road_factor=2.6))
    assert slow[0].eta_minutes == pytest.approx(2 * base, abs=1)
    assert long[0].eta_minutes == pytest.approx(2 * base, abs=1)
    assert "km su strada" in slow[0].reasons[0]


LAST, BASE, CENTRE = (43.80, 11.20), (43.77, 11.25), (43.76, 11.26)


@pytest.mark.parametrize(
    ("last", "base", "centre", "expected"),
    [
        (LAST, BASE, CENTRE, LAST),  # the last known position first
        ((None, None), BASE, CENTRE, BASE),  # else the base
        ((None, None), (None, None), CENTRE, CENTRE),  # else its municipality's centre
        ((43.80, None), BASE, CENTRE, BASE),  # half a position is no position
        ((None, None), (None, 11.25), CENTRE, CENTRE),
        ((None, None), (None, None), (None, None), (None, None)),  # nowhere: no estimate
    ],
)
def test_a_unit_is_taken_to_be_at_its_last_position_else_its_base_else_its_towns_centre(
    last, base, centre, expected
):
    assert position(last, base, centre) == expected


def test_the_ranking_and_a_dispatch_estimate_the_same_arrival_from_the_same_position():
    policy = RankingPolicy(road_factor=1.5, speed_kmh=40)
    unit = Candidate(1, "A", Status.AVAILABLE, *LAST, frozenset({"z"}), frozenset())
    [ranked] = rank(*BASE, "z", frozenset(), None, [unit], policy)
    assert ranked.eta_minutes == estimate(*LAST, *BASE, policy)
    assert ranked.eta_minutes == round(travel_minutes(*LAST, *BASE, policy))
    assert travel_minutes(*LAST, *LAST, policy) == 0
    assert estimate(*LAST, *LAST, policy) == 1


def test_a_unit_covering_the_zone_beats_a_slightly_nearer_one_from_another_zone():
    near_other_zone = unit(1, FIRENZE, zones=frozenset({"pratese"}))
    covering = unit(2, (43.80, 11.22))  # a few km away
    result = ranked(near_other_zone, covering)
    assert [r.unit_id for r in result] == [2, 1]
    assert "copre la zona" in result[0].reasons
    assert "fuori dalla sua zona" in result[1].reasons


def test_needed_skills_count_and_are_named():
    skills = frozenset({"minors", "codice_rosa"})
    skilled = unit(1, PRATO, skills=skills)
    unskilled = unit(2, FIRENZE)
    result = ranked(skilled, unskilled, skills=skills)
    assert [r.unit_id for r in result] == [1, 2]
    assert "competenze: Codice Rosa, minori" in result[0].reasons
    assert "manca: Codice Rosa, minori" in result[1].reasons


def test_the_persons_language_counts_and_is_said_in_italian():
    speaker = unit(1, (43.80, 11.22), languages=frozenset({"ar"}))
    other = unit(2, FIRENZE)
    result = ranked(speaker, other, language="ar")
    assert [r.unit_id for r in result] == [1, 2]
    assert "parla arabo" in result[0].reasons
    assert "non parla arabo" in result[1].reasons


def test_a_unit_already_following_cases_ranks_below_a_free_one_nearby():
    loaded = unit(1, FIRENZE, load=2)
    free = unit(2, (43.80, 11.22))
    result = ranked(loaded, free)
    assert [r.unit_id for r in result] == [2, 1]
    assert "segue già 2 casi" in result[1].reasons
    assert "segue già 1 caso" in ranked(unit(3, FIRENZE, load=1))[0].reasons


def test_units_not_available_come_last_with_their_reason_first():
    result = ranked(
        unit(1, FIRENZE, status=S.EN_ROUTE),
        unit(2, AREZZO),
        unit(3, FIRENZE, status=S.OFF_DUTY),
    )
    assert [(r.unit_id, r.eligible) for r in result] == [(2, True), (1, False), (3, False)]
    assert result[1].reasons[0] == "non disponibile (in viaggio)"
    assert result[2].reasons[0] == "non disponibile (fuori servizio)"


def test_every_reason_is_in_words():
    result = ranked(
        unit(1, PRATO, zones=frozenset({"pratese"}), load=1),
        skills=frozenset({"minors"}),
        language="uk",
    )
    assert all(r and not r.startswith(("minors", "uk")) for r in result[0].reasons)
    assert "non parla ucraino" in result[0].reasons


@pytest.mark.parametrize(
    ("given", "needed"),
    [(None, None), ("", None), ("it", None), ("Italiano", None), ("AR", "ar"), (" uk ", "uk")],
)
def test_italian_needs_no_mediator(given, needed):
    assert needed_language(given) == needed


def test_languages_and_demo_bases_are_named_for_people():
    assert language_label("ro") == "rumeno"
    assert language_label("xx") == "xx"
    assert base_note(True) == "sede demo (non verificata)"
    assert base_note(False) is None


# ---- events: what each audience gets -------------------------------------------------------

OPERATOR = access.Principal(access.Role.OPERATOR, "Operatrice", user_id=3)
CREW = access.Principal(access.Role.UNIT, "Equipaggio", user_id=9, unit_id=7)
UNIT = assignments.UnitRef(7, "UTES 7")
CASE = assignments.CaseRef(41, "SEUS-2026-000041", "firenze")
BRIEF = assignments.Brief(
    assignment_id=5,
    case_id=41,
    case_number="SEUS-2026-000041",
    urgency="rosso",
    municipality="Firenze",
    address="Via Roma 1",
    lat=43.77,
    lon=11.25,
    people_count=2,
    minors=1,
    language="ar",
    description="Donna con un bambino, senza alloggio.",
    callback_name="Ispettore Rossi",
    callback_phone="+39 055 1234567",
    needs=("shelter_bed",),
    dispatched_at=NOW,
)


def test_the_assigned_unit_alone_gets_its_brief_with_who_and_why():
    event = assignments.unit_assigned(BRIEF, UNIT, "firenze", OPERATOR, "la più vicina")
    assert event.type == "unit.assigned"
    assert event.audience == {access.unit_tag(7)}
    assert event.actor == "user:3"
    assert event.payload["place"] == {
        "municipality": "Firenze", "address": "Via Roma 1", "lat": 43.77, "lon": 11.25,
    }  # fmt: skip
    assert event.payload["people"]["language_label"] == "arabo"
    assert event.payload["callback"] == {"name": "Ispettore Rossi", "phone": "+39 055 1234567"}
    assert (event.payload["by"], event.payload["reason"]) == ("Operatrice", "la più vicina")
    assert event.payload["dispatched_at"] == NOW.isoformat()


def test_room_events_go_to_the_room_and_unit_events_to_the_unit_as_well():
    changed = assignments.unit_status_changed(
        UNIT, S.EN_ROUTE, S.ON_SCENE, NOW, CREW, "dichiarato", case=CASE, assignment_id=5
    )
    dispatched = assignments.case_unit_dispatched(
        CASE, UNIT, 5, C.OPEN, C.UNIT_DISPATCHED, OPERATOR, "vicina", 12
    )
    on_scene = assignments.case_unit_on_scene(
        CASE, UNIT, 5, C.UNIT_DISPATCHED, C.ON_SCENE, CREW, NOW
    )
    released = assignments.case_unit_released(
        CASE, UNIT, 5, C.UNIT_DISPATCHED, C.OPEN, OPERATOR, "no", recalled=True
    )
    checked = assignments.unit_checked_in(CASE, UNIT, 5, NOW, CREW, position_at=None, note="")
    recalled = assignments.unit_recalled(UNIT, 5, CASE, OPERATOR, "no")
    note = assignments.case_note_added(CASE, 1, "testo", "UTES 7", NOW, CREW, [7, 8])

    assert changed.audience == {access.ROOM, "unit:7"}
    assert (changed.payload["previous"], changed.payload["status"]) == ("en_route", "on_scene")
    assert dispatched.audience == on_scene.audience == released.audience == {access.ROOM}
    assert checked.audience == {access.ROOM}
    assert recalled.audience == {"unit:7"}
    assert note.audience == {access.ROOM, "unit:7", "unit:8"}
    assert dispatched.payload["status"] == "unit_dispatched"
    assert released.payload["how"] == "recalled" and released.payload["status"] == "open"
    for event in (changed, dispatched, on_scene, released, checked, recalled, note):
        assert event.zone == "firenze" and event.actor in ("user:3", "user:9")
        assert event.payload["case_id"] == 41  # the case timeline finds it
        assert "by" in event.payload or "author_name" in event.payload


# ---- positions: fresh, stale, none -------------------------------------------------------------

T0 = datetime(2026, 12, 5, 21, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=30)


def located(last_at: datetime | None, *, last=LAST, base=BASE, town=CENTRE) -> Fix:
    return locate(last, last_at, base, town, now=T0, max_age=MAX_AGE)


def test_a_fresh_position_is_used_with_its_age():
    fix = located(T0 - timedelta(minutes=3, seconds=20))
    assert (fix.lat, fix.lon, fix.source, fix.age_seconds) == (*LAST, Source.POSITION, 200)
    assert fix_phrase(fix) == "dalla posizione di 3 min fa"


@pytest.mark.parametrize(
    "last_at",
    [
        T0 - timedelta(minutes=30, seconds=1),  # older than the configured age
        None,  # a position with no time cannot be judged fresh
        T0 + timedelta(minutes=10),  # from the future, beyond clock skew
    ],
)
def test_a_stale_or_undated_position_falls_back_to_the_base(last_at):
    fix = located(last_at)
    assert (fix.lat, fix.lon, fix.source) == (*BASE, Source.BASE)
    assert fix_phrase(fix) == "dalla sede"


def test_with_no_base_the_towns_centre_and_with_nothing_an_unknown_place():
    assert located(None, base=(None, None)).source is Source.TOWN
    nowhere = located(None, last=(None, None), base=(None, None), town=(None, None))
    assert not nowhere.known and fix_phrase(nowhere) == "posizione sconosciuta"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "meno di un minuto"), (59, "meno di un minuto"), (60, "1 min"), (3900, "1 h 05 min")],
)
def test_ages_are_said_in_italian(seconds, words):
    assert age_words(seconds) == words


def test_the_ranking_says_where_each_estimate_starts_from():
    near_stale = unit(1, FIRENZE, where="dalla sede")
    moving = unit(2, (43.80, 11.22), where="dalla posizione di 2 min fa")
    result = ranked(near_stale, moving)
    assert result[0].reasons[0].endswith("(dalla sede)")
    assert result[1].reasons[0].endswith("(dalla posizione di 2 min fa)")
