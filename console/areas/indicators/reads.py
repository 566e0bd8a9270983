"""Indicators for a chosen period (/indicatori): referrals by category, referrer and zone;
time to each milestone; breaches. As JSON and as a CSV download, read in one snapshot.

Definitions (docs/indicators.md): the period is a pair of days in Europe/Rome, both included
(`dispatch.indicators.Period`). Referrals count by `received_at`, under the category the room
confirmed in the assessment, else the referrer's. Time to a milestone is the real time from
`started_at` to `ended_at` of the clocks that ended `met` in the period (late ones included).
Breaches are the clocks whose `breached_at` falls in the period; still open: not yet met or
cancelled."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import asdict
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg
from pydantic import BaseModel

from console.areas.indicators.schemas import (
    Breakdown,
    CountRow,
    Indicators,
    MilestoneBreaches,
    MilestoneCompliance,
    MilestoneDurations,
    ReferralFigures,
    TrendPoint,
    Trends,
    UrgencyCompliance,
    UrgencyDurations,
)
from console.lib import errors, eventlog
from dispatch import indicators as core
from dispatch import intake, referrals, sla
from dispatch.clocks import Milestone
from dispatch.indicators import Period

URGENCY_LABELS = {"rosso": "Rosso", "giallo": "Giallo", "verde": "Verde"}


def period_asked(query: BaseModel, now: datetime) -> Period:
    """The query's period (defaults filled in), or a 422 by field."""
    asked = query.model_dump()
    period = core.period_of(asked["from"], asked["to"], now)
    problems = core.period_problems(period)
    if problems:
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(f"query.{f}", m, "period") for f, m in problems]
        )
    return period


def _label(table: dict[Any, str], value: str) -> str:
    for key, label in table.items():
        if str(key) == value:
            return label
    return value


def _breakdown(
    rows: list[asyncpg.Record], labels: dict[Any, str], order: list[str], *, zeros: bool
) -> Breakdown:
    counts = {r["key"]: r["count"] for r in rows}
    names = {r["key"]: r["label"] for r in rows if r.get("label")}
    ranked = core.ranked(counts, order, zeros=zeros)
    return Breakdown(
        total=sum(counts.values()),
        rows=[
            CountRow(key=key, label=names.get(key) or _label(labels, key), count=count)
            for key, count in ranked
        ],
    )


async def _referrals(conn: asyncpg.Connection, start: datetime, end: datetime) -> ReferralFigures:
    in_period = "r.received_at >= $1 AND r.received_at < $2"
    by_trigger = await conn.fetch(
        "SELECT coalesce(r.assessment->>'trigger', r.trigger) AS key, count(*)::int AS count"
        f" FROM referrals r WHERE {in_period} GROUP BY 1",
        start,
        end,
    )
    by_kind = await conn.fetch(
        "SELECT f.kind AS key, count(*)::int AS count FROM referrals r"
        f" JOIN referrers f ON f.id = r.referrer_id WHERE {in_period} GROUP BY 1",
        start,
        end,
    )
    by_zone = await conn.fetch(
        "SELECT r.zone_id AS key, z.name AS label, count(*)::int AS count FROM referrals r"
        f" JOIN zones z ON z.id = r.zone_id WHERE {in_period} GROUP BY 1, 2",
        start,
        end,
    )
    zone_order = [r["key"] for r in sorted(by_zone, key=lambda r: (r["label"], r["key"]))]
    triggers = _breakdown(
        by_trigger, referrals.TRIGGER_LABELS, [t.value for t in referrals.Trigger], zeros=True
    )
    return ReferralFigures(
        total=triggers.total,
        by_trigger=triggers,
        by_referrer_kind=_breakdown(
            by_kind, intake.REFERRER_KIND_LABELS, list(intake.REFERRER_KIND_LABELS), zeros=True
        ),
        by_zone=_breakdown(by_zone, {}, zone_order, zeros=False),
    )


def _milestones(seen: set[str]) -> list[str]:
    """Every milestone in workflow order, then any other stored value."""
    known = [m.value for m in Milestone]
    return known + sorted(seen - set(known))


async def _durations(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[MilestoneDurations]:
    rows = await conn.fetch(
        "SELECT milestone, urgency, started_at, ended_at FROM clocks"
        " WHERE state = 'met' AND ended_at >= $1 AND ended_at < $2 AND started_at < $2",
        start,
        end,
    )
    elapsed: dict[str, dict[str, list[timedelta]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        elapsed[r["milestone"]][r["urgency"]].append(core.elapsed(r["started_at"], r["ended_at"]))
    found = []
    for milestone in _milestones(set(elapsed)):
        by_urgency = elapsed.get(milestone, {})
        whole = core.summarize([e for values in by_urgency.values() for e in values])
        urgencies = [*sla.URGENCIES, *sorted(set(by_urgency) - set(sla.URGENCIES))]
        found.append(
            MilestoneDurations(
                milestone=milestone,
                label=_label(sla.MILESTONE_LABELS, milestone),
                count=whole.count,
                median_s=whole.median_s,
                p90_s=whole.p90_s,
                by_urgency=[
                    UrgencyDurations(
                        urgency=u,
                        label=URGENCY_LABELS.get(u, u),
                        **asdict(core.summarize(by_urgency.get(u, []))),
                    )
                    for u in urgencies
                ],
            )
        )
    return found


async def _breaches(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[MilestoneBreaches]:
    rows = await conn.fetch(
        "SELECT milestone, count(*)::int AS count,"
        " (count(*) FILTER (WHERE state = 'breached'))::int AS still_open FROM clocks"
        " WHERE breached_at >= $1 AND breached_at < $2 GROUP BY milestone",
        start,
        end,
    )
    by_milestone = {r["milestone"]: r for r in rows}
    return [
        MilestoneBreaches(
            milestone=m,
            label=_label(sla.MILESTONE_LABELS, m),
            count=by_milestone[m]["count"] if m in by_milestone else 0,
            still_open=by_milestone[m]["still_open"] if m in by_milestone else 0,
        )
        for m in _milestones(set(by_milestone))
    ]


async def _compliance(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[MilestoneCompliance]:
    """On time: met in the period without breaching; late: the target ran out in the period."""
    rows = await conn.fetch(
        "SELECT milestone, urgency, (count(*) FILTER (WHERE state = 'met'"
        " AND breached_at IS NULL AND ended_at >= $1 AND ended_at < $2))::int AS on_time,"
        " (count(*) FILTER (WHERE breached_at >= $1 AND breached_at < $2))::int AS late"
        " FROM clocks WHERE (ended_at >= $1 AND ended_at < $2)"
        " OR (breached_at >= $1 AND breached_at < $2) GROUP BY 1, 2",
        start,
        end,
    )
    counts: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for r in rows:
        counts[r["milestone"]][r["urgency"]] = (r["on_time"], r["late"])
    found = []
    for milestone in _milestones(set(counts)):
        by_urgency = counts.get(milestone, {})
        urgencies = [*sla.URGENCIES, *sorted(set(by_urgency) - set(sla.URGENCIES))]
        on_time = sum(v[0] for v in by_urgency.values())
        late = sum(v[1] for v in by_urgency.values())
        found.append(
            MilestoneCompliance(
                milestone=milestone,
                label=_label(sla.MILESTONE_LABELS, milestone),
                on_time=on_time,
                late=late,
                percent=core.compliance(on_time, late),
                by_urgency=[
                    UrgencyCompliance(
                        urgency=u,
                        label=URGENCY_LABELS.get(u, u),
                        on_time=by_urgency.get(u, (0, 0))[0],
                        late=by_urgency.get(u, (0, 0))[1],
                        percent=core.compliance(*by_urgency.get(u, (0, 0))),
                    )
                    for u in urgencies
                ],
            )
        )
    return found


_BY_DAY = "(({column}) AT TIME ZONE 'Europe/Rome')::date"


async def _trends(conn: asyncpg.Connection, period: Period, end: datetime) -> Trends:
    """Referrals received, clocks on time and late, per Rome day over the trends' year, then
    summed by week and by month."""
    weeks, months = core.trend_weeks(period.last), core.trend_months(period.last)
    start = core.start_of_day(min(weeks[0], months[0]))
    received = await conn.fetch(
        f"SELECT {_BY_DAY.format(column='received_at')} AS day, count(*)::int AS n"
        " FROM referrals WHERE received_at >= $1 AND received_at < $2 GROUP BY 1",
        start,
        end,
    )
    on_time = await conn.fetch(
        f"SELECT {_BY_DAY.format(column='ended_at')} AS day, count(*)::int AS n FROM clocks"
        " WHERE state = 'met' AND breached_at IS NULL AND ended_at >= $1 AND ended_at < $2"
        " GROUP BY 1",
        start,
        end,
    )
    late = await conn.fetch(
        f"SELECT {_BY_DAY.format(column='breached_at')} AS day, count(*)::int AS n FROM clocks"
        " WHERE breached_at >= $1 AND breached_at < $2 GROUP BY 1",
        start,
        end,
    )

    def points(starts: list[date], bucket: Any, label: Any) -> list[TrendPoint]:
        sums: dict[date, list[int]] = {first: [0, 0, 0] for first in starts}
        for i, rows in enumerate((received, on_time, late)):
            for r in rows:
                if (key := bucket(r["day"])) in sums:
                    sums[key][i] += r["n"]
        return [
            TrendPoint(
                start=first,
                label=label(first),
                referrals=n,
                on_time=ok,
                late=ko,
                percent=core.compliance(ok, ko),
            )
            for first, (n, ok, ko) in sums.items()
        ]

    return Trends(
        weeks=points(weeks, core.week_start, core.week_label),
        months=points(months, core.month_start, core.month_label),
    )


async def read(pool: asyncpg.Pool, period: Period) -> Indicators:
    """Every figure of the period, read in one repeatable-read transaction with its `as_of`."""
    start, end = period.bounds()
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        as_of = await eventlog.head(conn)
        figures = await _referrals(conn, start, end)
        durations = await _durations(conn, start, end)
        breaches = await _breaches(conn, start, end)
        compliance = await _compliance(conn, start, end)
        trends = await _trends(conn, period, end)
    return Indicators(
        first_day=period.first,
        last_day=period.last,
        starts_at=start,
        ends_at=end,
        referrals=figures,
        time_to_milestone=durations,
        breaches=breaches,
        compliance=compliance,
        trends=trends,
        as_of=as_of,
    )


CSV_COLUMNS = (
    "section",
    "key",
    "label",
    "count",
    "median_s",
    "p90_s",
    "still_open",
    "on_time",
    "late",
    "compliance_pct",
)


def _compliance_rows(found: Indicators, names: dict[str, str], pct: Any) -> list[list[Any]]:
    """The compliance and trend rows of either CSV (`names`: its section names; `pct`: how it
    writes a percentage), in the columns after `still_open`."""
    blank = ["", "", "", ""]
    rows: list[list[Any]] = []
    for m in found.compliance:
        rows.append([names["compliance"], m.milestone, m.label, *blank, m.on_time, m.late,
                     pct(m.percent)])  # fmt: skip
    for m in found.compliance:
        rows += [
            [names["compliance_by_urgency"], f"{m.milestone}/{u.urgency}", f"{m.label} · {u.label}",
             *blank, u.on_time, u.late, pct(u.percent)]
            for u in m.by_urgency
        ]  # fmt: skip
    for section, points in (("week", found.trends.weeks), ("month", found.trends.months)):
        rows += [
            [names[section], names["day"](p.start), p.label, p.referrals, "", "", "", p.on_time,
             p.late, pct(p.percent)]
            for p in points
        ]  # fmt: skip
    return rows


def csv_rows(found: Indicators) -> list[list[str]]:
    """The figures as rows of CSV_COLUMNS; text cells made safe for spreadsheets."""
    num = core.number_text
    rows: list[list[Any]] = [
        ["period", "first_day", found.first_day.isoformat()],
        ["period", "last_day", found.last_day.isoformat()],
        ["referrals", "total", "Segnalazioni ricevute", found.referrals.total],
    ]
    sections = (
        ("referrals_by_trigger", found.referrals.by_trigger),
        ("referrals_by_referrer_kind", found.referrals.by_referrer_kind),
        ("referrals_by_zone", found.referrals.by_zone),
    )
    for section, breakdown in sections:
        rows += [[section, r.key, r.label, r.count] for r in breakdown.rows]
    for m in found.time_to_milestone:
        rows.append(
            ["time_to_milestone", m.milestone, m.label, m.count, num(m.median_s), num(m.p90_s)]
        )
    for m in found.time_to_milestone:
        for u in m.by_urgency:
            rows.append(
                [
                    "time_to_milestone_by_urgency",
                    f"{m.milestone}/{u.urgency}",
                    f"{m.label} · {u.label}",
                    u.count,
                    num(u.median_s),
                    num(u.p90_s),
                ]
            )
    rows += [
        ["breaches", b.milestone, b.label, b.count, "", "", b.still_open] for b in found.breaches
    ]
    names = {
        "compliance": "sla_compliance",
        "compliance_by_urgency": "sla_compliance_by_urgency",
        "week": "trend_week",
        "month": "trend_month",
        "day": date.isoformat,
    }
    rows += _compliance_rows(found, names, num)
    padded = [row + [""] * (len(CSV_COLUMNS) - len(row)) for row in rows]
    return [
        [core.spreadsheet_safe(c) if i < 3 else str(c) for i, c in enumerate(row)] for row in padded
    ]


def csv_text(found: Indicators) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: quotes where needed, CRLF line ends
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(found))
    return out.getvalue()


def csv_filename(period: Period, *, italian: bool = False) -> str:
    name = f"indicatori-{period.first.isoformat()}-{period.last.isoformat()}"
    return f"{name}-excel.csv" if italian else f"{name}.csv"


# For Italian spreadsheets (Excel, LibreOffice in Italian): the same figures, Italian headers
# and sections, durations in minutes with a decimal comma, instants dd/mm/yyyy hh:mm in Rome.
CSV_COLUMNS_IT = (
    "sezione",
    "chiave",
    "voce",
    "numero",
    "mediana_minuti",
    "p90_minuti",
    "ancora_aperte",
    "in_tempo",
    "in_ritardo",
    "rispetto_percentuale",
)
_SECTIONS_IT = {
    "referrals": "segnalazioni",
    "referrals_by_trigger": "segnalazioni_per_categoria",
    "referrals_by_referrer_kind": "segnalazioni_per_inviante",
    "referrals_by_zone": "segnalazioni_per_zona",
    "time_to_milestone": "tempo_alla_fase",
    "time_to_milestone_by_urgency": "tempo_alla_fase_per_urgenza",
    "breaches": "violazioni",
    "compliance": "rispetto_tempi",
    "compliance_by_urgency": "rispetto_tempi_per_urgenza",
    "week": "andamento_settimanale",
    "month": "andamento_mensile",
}


def csv_rows_it(found: Indicators, generated_at: datetime) -> list[list[str]]:
    """The figures as rows of CSV_COLUMNS_IT, in the order of `csv_rows`; the period as its
    first and last instants (the end excluded) and the moment the file was made."""
    minutes = core.minutes_it
    rows: list[list[Any]] = [
        ["periodo", "inizio", core.stamp_it(found.starts_at)],
        ["periodo", "fine_esclusa", core.stamp_it(found.ends_at)],
        ["periodo", "generato", core.stamp_it(generated_at)],
        ["segnalazioni", "totale", "Segnalazioni ricevute", found.referrals.total],
    ]
    sections = (
        ("referrals_by_trigger", found.referrals.by_trigger),
        ("referrals_by_referrer_kind", found.referrals.by_referrer_kind),
        ("referrals_by_zone", found.referrals.by_zone),
    )
    for section, breakdown in sections:
        rows += [[_SECTIONS_IT[section], r.key, r.label, r.count] for r in breakdown.rows]
    for m in found.time_to_milestone:
        rows.append(
            [_SECTIONS_IT["time_to_milestone"], m.milestone, m.label, m.count,
             minutes(m.median_s), minutes(m.p90_s)]
        )  # fmt: skip
    for m in found.time_to_milestone:
        rows += [
            [_SECTIONS_IT["time_to_milestone_by_urgency"], f"{m.milestone}/{u.urgency}",
             f"{m.label} · {u.label}", u.count, minutes(u.median_s), minutes(u.p90_s)]
            for u in m.by_urgency
        ]  # fmt: skip
    rows += [
        [_SECTIONS_IT["breaches"], b.milestone, b.label, b.count, "", "", b.still_open]
        for b in found.breaches
    ]
    names: dict[str, Any] = {**_SECTIONS_IT, "day": lambda d: d.strftime("%d/%m/%Y")}
    rows += _compliance_rows(found, names, core.decimal_it)
    padded = [row + [""] * (len(CSV_COLUMNS_IT) - len(row)) for row in rows]
    return [
        [core.spreadsheet_safe(c) if i < 3 else str(c) for i, c in enumerate(row)] for row in padded
    ]


def csv_text_it(found: Indicators, generated_at: datetime) -> str:
    """UTF-8 with a byte order mark (so Excel reads the accents), `;` between cells (the comma
    is the decimal separator), quoted where needed, CRLF line ends."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";")
    writer.writerow(CSV_COLUMNS_IT)
    writer.writerows(csv_rows_it(found, generated_at))
    return out.getvalue()
