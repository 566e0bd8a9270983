"""Indicators against real PostgreSQL: a small seeded dataset, figures worked out by hand.

The period is 28-30 March 2026 in Rome, across the spring change: it covers the UTC instants
[2026-03-27T23:00Z, 2026-03-30T22:00Z).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import asyncpg
import pytest

from console.areas.indicators import reads as indicators_reads
from console.areas.indicators import schemas as indicators_schemas
from console.lib import errors
from console.lib.db import Database
from dispatch import indicators as indicators_core
from dispatch.indicators import Period
from tests import support

FIRENZE, PISTOIA, PRATO = "048017", "047014", "100005"
PERIOD = Period(date(2026, 3, 28), date(2026, 3, 30))
HOSTILE_ZONE = '=HYPERLINK("http://evil.example","Pratese")'


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


START, END = utc("2026-03-27T23:00:00"), utc("2026-03-30T22:00:00")


async def _referrer(conn: asyncpg.Connection, name: str) -> int:
    found: int = await conn.fetchval("SELECT id FROM referrers WHERE name = $1", name)
    return found


async def add_referral(
    conn: asyncpg.Connection,
    referrer: int,
    trigger: str,
    municipality: str,
    received_at: datetime,
    confirmed: str | None = None,
) -> int:
    referral_id = await support.make_referral(
        conn, referrer_id=referrer, trigger=trigger, municipality=municipality
    )
    assessment = json.dumps({"trigger": confirmed}) if confirmed else None
    await conn.execute(
        "UPDATE referrals SET received_at = $2, assessment = $3::text::jsonb WHERE id = $1",
        referral_id,
        received_at,
        assessment,
    )
    return referral_id


async def add_clock(
    conn: asyncpg.Connection,
    referral_id: int,
    milestone: str,
    state: str,
    started_at: datetime,
    *,
    ended_at: datetime | None = None,
    breached_at: datetime | None = None,
    urgency: str = "giallo",
) -> int:
    """A clock row as the clock machinery leaves it; each clock measures its own subject."""
    clock_id: int = await conn.fetchval(
        "INSERT INTO clocks (milestone, kind, subject_id, referral_id, case_number, zone_id,"
        " urgency, state, budget, counted, running_since, warnings, breached_at, calendar,"
        " started_at, ended_at, updated_at)"
        " SELECT $2::text, 'referral', 100000 + (SELECT count(*) FROM clocks), id, case_number,"
        " zone_id, $3::text, $4::text, interval '5 minutes', interval '0', $5::timestamptz,"
        " '{0.5,0.8}', $6::timestamptz, $9::jsonb, $7::timestamptz, $8::timestamptz,"
        " coalesce($8::timestamptz, $7::timestamptz) FROM referrals WHERE id = $1"
        " RETURNING id",
        referral_id,
        milestone,
        urgency,
        state,
        started_at if state == "running" else None,
        breached_at,
        started_at,
        ended_at,
        json.dumps({"kind": "24x7"}),
    )
    return clock_id


@pytest.fixture
async def seeded(db: Database, people: dict[str, support.Person]) -> None:
    async with db.pool.acquire() as conn:
        hospital = await _referrer(conn, "PS test")
        police = await _referrer(conn, "PM test")
        await conn.execute("UPDATE zones SET name = $1 WHERE id = 'pratese'", HOSTILE_ZONE)
        first = await add_referral(conn, hospital, "violence", FIRENZE, START)  # first instant
        await add_referral(conn, police, "violence", FIRENZE, utc("2026-03-29T12:00:00"))
        await add_referral(conn, hospital, "abandonment", PISTOIA, END - timedelta(seconds=1))
        await add_referral(
            conn,
            hospital,
            "abandonment",
            PRATO,
            utc("2026-03-28T09:00:00"),
            confirmed="poverty_homelessness",  # the room re-coded it
        )
        await add_referral(conn, police, "violence", FIRENZE, START - timedelta(seconds=1))
        await add_referral(conn, hospital, "calamity", PISTOIA, END)  # first instant after

        t = utc("2026-03-29T08:00:00")
        met = "met"
        # Presa visione met in the period: 60, 120 and 300 seconds.
        await add_clock(
            conn,
            first,
            "referral_claimed",
            met,
            t,
            ended_at=t + timedelta(seconds=60),
            urgency="rosso",
        )
        await add_clock(
            conn, first, "referral_claimed", met, t, ended_at=t + timedelta(seconds=120)
        )
        # (this one started before the period: it counts by when it ended)
        await add_clock(
            conn,
            first,
            "referral_claimed",
            met,
            START - timedelta(seconds=1),
            ended_at=START + timedelta(seconds=299),
        )
        # ... and ones that do not count: ended outside the period, cancelled, still running.
        await add_clock(
            conn, first, "referral_claimed", met, END - timedelta(minutes=1), ended_at=END
        )
        await add_clock(
            conn,
            first,
            "referral_claimed",
            met,
            START - timedelta(minutes=9),
            ended_at=START - timedelta(seconds=1),
        )
        await add_clock(
            conn, first, "referral_claimed", "cancelled", t, ended_at=t + timedelta(seconds=10)
        )
        await add_clock(conn, first, "referral_claimed", "running", t)
        # Valutazione: 900 and 1800 seconds (verde).
        for elapsed in (900, 1800):
            await add_clock(
                conn,
                first,
                "assessment_decided",
                met,
                t,
                ended_at=t + timedelta(seconds=elapsed),
                urgency="verde",
            )
        # Unità sul posto: breached after an hour, met at 90 minutes; counts in both sections.
        await add_clock(
            conn,
            first,
            "unit_on_scene",
            met,
            t,
            urgency="rosso",
            breached_at=t + timedelta(hours=1),
            ended_at=t + timedelta(minutes=90),
        )
        # Breaches: one still open, one cancelled after it, one just after the period.
        await add_clock(
            conn, first, "handover_sent", "breached", t, breached_at=utc("2026-03-30T10:00:00")
        )
        await add_clock(
            conn,
            first,
            "referral_claimed",
            "cancelled",
            t,
            breached_at=t + timedelta(minutes=5),
            ended_at=t + timedelta(minutes=20),
        )
        await add_clock(conn, first, "handover_sent", "breached", t, breached_at=END)


def rows_of(breakdown: indicators_schemas.Breakdown) -> list[tuple[str, str, int]]:
    return [(r.key, r.label, r.count) for r in breakdown.rows]


async def test_referrals_are_counted_by_category_referrer_kind_and_zone_within_the_period(
    db, seeded
):
    found = await indicators_reads.read(db.pool, PERIOD)

    assert (found.first_day, found.last_day) == (date(2026, 3, 28), date(2026, 3, 30))
    assert (found.starts_at, found.ends_at) == (START, END)
    assert found.referrals.total == 4
    assert rows_of(found.referrals.by_trigger) == [
        ("violence", "Violenza e abuso (Codice Rosa)", 2),
        ("abandonment", "Abbandono", 1),
        ("poverty_homelessness", "Povertà e senza dimora", 1),
        ("family_conflict", "Conflitto familiare e maltrattamento", 0),
        ("loss_of_self_sufficiency", "Perdita di autosufficienza", 0),
        ("dependency", "Dipendenze", 0),
        ("minors_at_risk", "Minori in grave rischio", 0),
        ("calamity", "Calamità ed emergenza climatica", 0),
    ]
    assert found.referrals.by_trigger.total == 4
    assert rows_of(found.referrals.by_referrer_kind) == [
        ("hospital", "Ospedale / pronto soccorso", 3),
        ("municipal_police", "Polizia municipale", 1),
        ("police", "Polizia di Stato", 0),
        ("carabinieri", "Carabinieri", 0),
        ("social_service", "Servizio sociale territoriale", 0),
        ("prefecture", "Prefettura", 0),
        ("municipality", "Comune", 0),
        ("other", "Altro ente competente", 0),
    ]
    assert rows_of(found.referrals.by_zone) == [
        ("firenze", "Firenze", 2),
        ("pratese", HOSTILE_ZONE, 1),  # ties by name: "=" sorts before "P"
        ("pistoiese", "Pistoiese", 1),
    ]
    assert found.referrals.by_zone.total == 4
    assert found.as_of >= 0


async def test_time_to_each_milestone_counts_the_clocks_met_in_the_period(db, seeded):
    found = await indicators_reads.read(db.pool, PERIOD)

    summary = {
        m.milestone: (m.label, m.count, m.median_s, m.p90_s) for m in found.time_to_milestone
    }
    assert summary == {
        "referral_claimed": ("Presa visione", 3, 120.0, 264.0),  # [60, 120, 300]
        "assessment_decided": ("Valutazione", 2, 1350.0, 1710.0),  # [900, 1800]
        "unit_on_scene": ("Unità sul posto", 1, 5400.0, 5400.0),  # late, still met
        "handover_sent": ("Invio passaggio in carico", 0, None, None),
        "handover_accepted": ("Risposta del servizio territoriale", 0, None, None),
        "unit_check_in": ("Check-in di sicurezza", 0, None, None),
    }
    assert [m.milestone for m in found.time_to_milestone] == list(summary)  # workflow order
    claimed = found.time_to_milestone[0]
    assert [(u.urgency, u.label, u.count, u.median_s, u.p90_s) for u in claimed.by_urgency] == [
        ("rosso", "Rosso", 1, 60.0, 60.0),
        ("giallo", "Giallo", 2, 210.0, 282.0),  # [120, 300]: 120 + 0.9 * 180
        ("verde", "Verde", 0, None, None),
    ]


async def test_breaches_count_by_when_the_target_ran_out_and_say_how_many_are_still_open(
    db, seeded
):
    found = await indicators_reads.read(db.pool, PERIOD)

    assert [(b.milestone, b.count, b.still_open) for b in found.breaches] == [
        ("referral_claimed", 1, 0),  # cancelled afterwards
        ("assessment_decided", 0, 0),
        ("unit_on_scene", 1, 0),  # met late
        ("handover_sent", 1, 1),  # the one at the period's end is outside
        ("handover_accepted", 0, 0),
        ("unit_check_in", 0, 0),
    ]


async def test_an_empty_period_has_zeros_and_no_percentiles(db, seeded):
    found = await indicators_reads.read(db.pool, Period(date(2025, 1, 1), date(2025, 1, 31)))

    assert found.referrals.total == 0
    assert found.referrals.by_zone.rows == []
    assert {r.count for r in found.referrals.by_trigger.rows} == {0}
    assert all(m.count == 0 and m.median_s is None for m in found.time_to_milestone)
    assert all(b.count == 0 for b in found.breaches)


async def test_the_csv_has_the_same_numbers_and_defuses_formulas(db, seeded):
    found = await indicators_reads.read(db.pool, PERIOD)
    text = indicators_reads.csv_text(found)
    rows = list(csv.reader(io.StringIO(text, newline="")))

    assert text.endswith("\r\n")
    assert rows[0] == [
        "section", "key", "label", "count", "median_s", "p90_s", "still_open", "on_time", "late",
        "compliance_pct",
    ]  # fmt: skip
    assert {len(row) for row in rows} == {10}
    by = {(row[0], row[1]): row[2:7] for row in rows[1:]}  # up to still_open
    full = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert by[("period", "first_day")][0] == "2026-03-28"
    assert by[("period", "last_day")][0] == "2026-03-30"
    assert by[("referrals", "total")] == ["Segnalazioni ricevute", "4", "", "", ""]
    assert by[("referrals_by_trigger", "violence")] == [
        "Violenza e abuso (Codice Rosa)",
        "2",
        "",
        "",
        "",
    ]
    assert by[("referrals_by_trigger", "calamity")][1] == "0"
    assert by[("referrals_by_referrer_kind", "hospital")][1] == "3"
    assert by[("referrals_by_zone", "firenze")] == ["Firenze", "2", "", "", ""]
    assert by[("referrals_by_zone", "pratese")] == ["'" + HOSTILE_ZONE, "1", "", "", ""]
    assert by[("time_to_milestone", "referral_claimed")] == [
        "Presa visione",
        "3",
        "120",
        "264",
        "",
    ]
    assert by[("time_to_milestone", "assessment_decided")] == [
        "Valutazione",
        "2",
        "1350",
        "1710",
        "",
    ]
    assert by[("time_to_milestone", "handover_sent")] == [
        "Invio passaggio in carico",
        "0",
        "",
        "",
        "",
    ]
    assert by[("time_to_milestone_by_urgency", "referral_claimed/giallo")] == [
        "Presa visione · Giallo",
        "2",
        "210",
        "282",
        "",
    ]
    assert by[("breaches", "handover_sent")] == ["Invio passaggio in carico", "1", "", "", "1"]
    assert by[("breaches", "unit_on_scene")] == ["Unità sul posto", "1", "", "", "0"]
    assert full[("sla_compliance", "referral_claimed")][-3:] == ["3", "1", "75"]
    assert full[("sla_compliance_by_urgency", "referral_claimed/giallo")][-3:] == ["2", "1", "66.7"]
    assert full[("sla_compliance", "handover_accepted")][-3:] == ["0", "0", ""]
    assert full[("trend_month", "2026-03-01")][:2] == ["marzo 2026", "5"]
    assert full[("trend_week", "2026-03-30")][0] == "settimana dal 30/03/2026"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert indicators_reads.csv_filename(PERIOD) == "indicatori-2026-03-28-2026-03-30.csv"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-04-02", "to": "2026-04-01"}, "query.from"),
        ({"from": "2026-01-01", "to": "2027-01-02"}, "query.to"),  # 367 days
        ({"from": "2026-02-30"}, "query.from"),
        ({"from": "2026-03-01T00:00"}, "query.from"),
        ({"to": "1767225600"}, "query.to"),
        ({"to": "1999-12-31"}, "query.to"),
        ({"da": "2026-01-01"}, "query.da"),
    ],
)
def test_a_bad_period_is_refused_by_field(params, field):
    from starlette.datastructures import QueryParams

    from console.lib.api import read_query

    class FakeRequest:
        query_params = QueryParams(params)

    with pytest.raises(errors.ValidationFailed) as refused:
        query = read_query(FakeRequest(), indicators_schemas.IndicatorsQuery)  # type: ignore[arg-type]
        indicators_reads.period_asked(query, utc("2026-05-11T08:00:00"))  # type: ignore[arg-type]
    assert [p.field for p in refused.value.problems] == [field]


def test_a_period_of_a_whole_leap_year_is_accepted_and_defaults_fill_the_rest():
    now = utc("2026-05-11T08:00:00")
    whole = indicators_schemas.IndicatorsQuery.model_validate(
        {"from": "2028-01-01", "to": "2028-12-31"}
    )
    assert indicators_reads.period_asked(whole, now) == Period(date(2028, 1, 1), date(2028, 12, 31))
    default = indicators_schemas.IndicatorsQuery.model_validate({})
    assert indicators_reads.period_asked(default, now) == Period(
        date(2026, 4, 12), date(2026, 5, 11)
    )


async def test_the_csv_for_italian_spreadsheets_has_the_same_figures_in_minutes(db, seeded):
    """Read back as Excel in Italian reads it: UTF-8 with a BOM, `;`, a decimal comma."""
    found = await indicators_reads.read(db.pool, PERIOD)
    made = datetime(2026, 4, 1, 7, 5, tzinfo=UTC)
    raw = indicators_reads.csv_text_it(found, made).encode("utf-8")
    assert raw.startswith(codecs.BOM_UTF8) and raw.endswith(b"\r\n")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0] == [
        "sezione", "chiave", "voce", "numero", "mediana_minuti", "p90_minuti", "ancora_aperte",
        "in_tempo", "in_ritardo", "rispetto_percentuale",
    ]  # fmt: skip
    assert {len(row) for row in rows} == {10}
    by = {(row[0], row[1]): row[2:7] for row in rows[1:]}  # up to still_open
    full = {(row[0], row[1]): row[2:] for row in rows[1:]}
    assert by[("periodo", "inizio")][0] == "28/03/2026 00:00"  # Rome: the clocks change on 29
    assert by[("periodo", "fine_esclusa")][0] == "31/03/2026 00:00"
    assert by[("periodo", "generato")][0] == "01/04/2026 09:05"
    assert by[("segnalazioni", "totale")][1] == "4"
    assert by[("segnalazioni_per_zona", "pratese")][:2] == ["'" + HOSTILE_ZONE, "1"]
    assert by[("tempo_alla_fase", "referral_claimed")] == ["Presa visione", "3", "2", "4,4", ""]
    assert by[("violazioni", "handover_sent")] == ["Invio passaggio in carico", "1", "", "", "1"]
    assert full[("rispetto_tempi_per_urgenza", "referral_claimed/giallo")][-3:] == [
        "2",
        "1",
        "66,7",
    ]
    assert full[("andamento_mensile", "01/03/2026")][:2] == ["marzo 2026", "5"]
    assert full[("andamento_settimanale", "30/03/2026")][0] == "settimana dal 30/03/2026"

    def minutes(cell: str) -> Decimal | None:
        return Decimal(cell.replace(",", ".")) if cell else None

    def expected(seconds: float | None) -> Decimal | None:
        if seconds is None:
            return None
        return (Decimal(str(seconds)) / 60).quantize(Decimal("0.1"), ROUND_HALF_EVEN)

    # every figure the page shows, in the Italian file
    assert [(r.key, int(by[("segnalazioni_per_categoria", r.key)][1]))
            for r in found.referrals.by_trigger.rows] == [
        (r.key, r.count) for r in found.referrals.by_trigger.rows
    ]  # fmt: skip
    for m in found.time_to_milestone:
        _, count, median, p90, _ = by[("tempo_alla_fase", m.milestone)]
        assert (int(count), minutes(median), minutes(p90)) == (
            m.count, expected(m.median_s), expected(m.p90_s)
        )  # fmt: skip
        for u in m.by_urgency:
            row = by[("tempo_alla_fase_per_urgenza", f"{m.milestone}/{u.urgency}")]
            assert (minutes(row[2]), minutes(row[3])) == (expected(u.median_s), expected(u.p90_s))
    analysts = list(csv.reader(io.StringIO(indicators_reads.csv_text(found), newline="")))
    assert len(analysts) == len(rows) - 1  # the same rows, and the moment the file was made
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert (
        indicators_reads.csv_filename(PERIOD, italian=True)
        == "indicatori-2026-03-28-2026-03-30-excel.csv"
    )


async def test_sla_compliance_counts_on_time_against_late_per_milestone_and_urgency(db, seeded):
    found = await indicators_reads.read(db.pool, PERIOD)
    by = {m.milestone: m for m in found.compliance}
    assert [m.milestone for m in found.compliance][:4] == [
        "referral_claimed", "assessment_decided", "unit_on_scene", "handover_sent"
    ]  # fmt: skip
    claimed = by["referral_claimed"]
    # met in the period without breaching: 3 (not the one met at the first instant after);
    # late: the one whose target ran out in the period, though cancelled afterwards
    assert (claimed.on_time, claimed.late, claimed.percent) == (3, 1, 75.0)
    urgencies = {u.urgency: (u.on_time, u.late, u.percent) for u in claimed.by_urgency}
    assert urgencies == {"rosso": (1, 0, 100.0), "giallo": (2, 1, 66.7), "verde": (0, 0, None)}
    assert (by["assessment_decided"].on_time, by["assessment_decided"].percent) == (2, 100.0)
    # met at 90 minutes after breaching at 60: late, never on time
    assert (by["unit_on_scene"].on_time, by["unit_on_scene"].late) == (0, 1)
    assert by["unit_on_scene"].percent == 0.0
    assert (by["handover_sent"].on_time, by["handover_sent"].late) == (0, 1)  # not the one at END
    assert by["handover_accepted"].percent is None


async def test_the_trends_sum_the_same_clocks_by_week_and_by_month_over_a_year(db, seeded):
    found = await indicators_reads.read(db.pool, PERIOD)
    weeks, months = found.trends.weeks, found.trends.months
    assert len(weeks) == 52 and len(months) == 12
    assert weeks[-1].start == date(2026, 3, 30) and weeks[-1].label == "settimana dal 30/03/2026"
    assert months[-1].start == date(2026, 3, 1) and months[-1].label == "marzo 2026"
    # the trends look back a year, whatever the period's first day: the referral received one
    # second before the period counts in March and in its week
    total = await db.pool.fetchval(
        "SELECT count(*) FROM referrals WHERE received_at >= $1 AND received_at < $2",
        utc("2025-03-31T22:00:00"),
        END,
    )
    assert sum(p.referrals for p in months) == total == sum(p.referrals for p in weeks)
    assert months[-1].referrals == found.referrals.total + 1
    on_time = sum(m.on_time for m in found.compliance)
    late = sum(m.late for m in found.compliance)
    # every clock of the period is in March; the one met at the period's start is also before it
    assert (months[-1].on_time, months[-1].late) == (on_time + 1, late)
    assert months[-1].percent == indicators_core.compliance(on_time + 1, late)
    assert all(p.referrals == p.on_time == p.late == 0 for p in months[:-1])
