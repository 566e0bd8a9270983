"""Indicators for a period: the period's bounds, counts by key, medians and 90th percentiles.

A period is a pair of days in Europe/Rome, both included. It covers the UTC instants from
00:00 Rome of its first day (included) to 00:00 Rome of the day after its last (excluded), so
a day is 23 or 25 hours long when the clocks change.

Percentiles use linear interpolation between the closest ranks: numpy's default ("linear"),
R's type 7, Excel's PERCENTILE.INC. For n sorted values x[0..n-1] and a percent p, h is
(n - 1) * p / 100 and the result is x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] -
x[floor(h)]). The median is the 50th percentile: the middle value of an odd count, the mean of
the two middle ones of an even count. Arithmetic is exact (fractions); one value is its own
median and percentile; no values have none.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import TypeVar

from dispatch.calendars import ROME

DEFAULT_DAYS = 30  # the default period: the last 30 days, today included
MAX_DAYS = 366  # the longest period one may ask for: a leap year


# ---- periods --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Days in Europe/Rome, both included."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """The UTC instants [start, end) the period covers."""
        return start_of_day(self.first), start_of_day(self.last + timedelta(days=1))


def start_of_day(day: date) -> datetime:
    """00:00 in Rome of `day`, as a UTC instant (midnight exists every day in Rome)."""
    return datetime.combine(day, time(0), tzinfo=ROME).astimezone(UTC)


def rome_day(instant: datetime) -> date:
    """The day in Rome an aware instant falls on."""
    if instant.tzinfo is None:
        raise ValueError("a naive datetime has no place in time")
    return instant.astimezone(ROME).date()


def default_period(now: datetime, days: int = DEFAULT_DAYS) -> Period:
    """The last `days` days up to today in Rome, today included."""
    last = rome_day(now)
    return Period(last - timedelta(days=days - 1), last)


def period_of(first: date | None, last: date | None, now: datetime) -> Period:
    """The period asked for; a missing end is today (Rome), a missing start the default span."""
    last = last if last is not None else rome_day(now)
    first = first if first is not None else last - timedelta(days=DEFAULT_DAYS - 1)
    return Period(first, last)


def period_problems(period: Period) -> list[tuple[str, str]]:
    """What is wrong with a period, by field ("from", "to"), in Italian."""
    if period.first > period.last:
        return [("from", "la data iniziale è successiva a quella finale")]
    if period.days > MAX_DAYS:
        return [("to", f"il periodo supera {MAX_DAYS} giorni ({period.days})")]
    return []


# ---- counting -------------------------------------------------------------------------------

K = TypeVar("K", bound=Hashable)


def ranked(
    counts: Mapping[K, int], order: Sequence[K] = (), *, zeros: bool = True
) -> list[tuple[K, int]]:
    """Counts by key, most frequent first.

    Ties keep `order`'s order, then keys not in `order` by their text; with `zeros`, every key
    of `order` is listed even when it has no count. The same counts always give the same list.
    """
    merged: dict[K, int] = dict.fromkeys(order, 0) if zeros else {}
    for key, count in counts.items():
        merged[key] = merged.get(key, 0) + count
    rank = {key: i for i, key in enumerate(order)}
    return sorted(
        merged.items(),
        key=lambda item: (-item[1], rank.get(item[0], len(rank)), str(item[0])),
    )


def count_by(
    keys: Iterable[K], order: Sequence[K] = (), *, zeros: bool = True
) -> list[tuple[K, int]]:
    """How many times each key occurs, ordered as `ranked` orders counts."""
    counts: dict[K, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return ranked(counts, order, zeros=zeros)


# ---- percentiles ----------------------------------------------------------------------------


def percentile(values: Sequence[int | float | Fraction], percent: int) -> Fraction:
    """The `percent`-th percentile by linear interpolation (numpy's default, R type 7)."""
    if not values:
        raise ValueError("no values: no percentile")
    if not 0 <= percent <= 100:
        raise ValueError(f"percent out of 0..100: {percent}")
    ordered = sorted(Fraction(v) for v in values)
    h = Fraction((len(ordered) - 1) * percent, 100)
    low = int(h)  # floor: h is not negative
    if low + 1 >= len(ordered):
        return ordered[low]
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])


def median(values: Sequence[int | float | Fraction]) -> Fraction:
    return percentile(values, 50)


def seconds(elapsed: timedelta) -> Fraction:
    """A duration in seconds, exactly (to the microsecond)."""
    return Fraction(elapsed // timedelta(microseconds=1), 1_000_000)


@dataclass(frozen=True, slots=True)
class Durations:
    """How many durations, their median and 90th percentile in seconds (None when none)."""

    count: int
    median_s: float | None
    p90_s: float | None


def summarize(elapsed: Sequence[timedelta]) -> Durations:
    if not elapsed:
        return Durations(0, None, None)
    values = [seconds(e) for e in elapsed]
    return Durations(len(values), float(median(values)), float(percentile(values, 90)))


def elapsed(started_at: datetime, ended_at: datetime) -> timedelta:
    """Real time between two aware instants (UTC arithmetic: DST changes do not count)."""
    return ended_at.astimezone(UTC) - started_at.astimezone(UTC)


# ---- CSV cells ------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet will not run as a formula: a leading = + - @ (or tab, CR) gets '."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def number_text(value: float | None) -> str:
    """A number for a CSV cell: integral values without decimals, none as an empty cell."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return repr(round(float(value), 3))


# ---- for Italian spreadsheets ------------------------------------------------------------------


def minutes_it(seconds_: float | None) -> str:
    """Seconds as minutes for an Italian spreadsheet: one decimal, a decimal comma ("13,5");
    integral minutes without one ("12"); none as an empty cell."""
    if seconds_ is None:
        return ""
    tenths = round(Fraction(seconds_) / 6)  # tenths of a minute, half to even
    whole, tenth = divmod(abs(tenths), 10)
    sign = "-" if tenths < 0 else ""
    return f"{sign}{whole}" if tenth == 0 else f"{sign}{whole},{tenth}"


def decimal_it(value: float | None) -> str:
    """A number with a decimal comma ("66,7"); integral values without one; none as empty."""
    if value is None:
        return ""
    return number_text(value).replace(".", ",")


def stamp_it(instant: datetime) -> str:
    """An instant as an Italian spreadsheet reads it: dd/mm/yyyy hh:mm in Europe/Rome."""
    return instant.astimezone(ROME).strftime("%d/%m/%Y %H:%M")


# ---- SLA compliance and trends ----------------------------------------------------------------

TREND_WEEKS = 52  # the weekly trend: the year of weeks that ends with the period's last one
TREND_MONTHS = 12  # the monthly trend: the year of months that ends with the period's last one


def compliance(on_time: int, late: int) -> float | None:
    """The share of clocks that met their target, in percent with one decimal (half to even):
    on time / (on time + late); none when no clock reached either outcome."""
    total = on_time + late
    if total == 0:
        return None
    return float(round(Fraction(on_time * 1000, total)) / 10)


def week_start(day: date) -> date:
    """The Monday of the ISO week of `day`."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def trend_weeks(last: date, weeks: int = TREND_WEEKS) -> list[date]:
    """The Mondays of the `weeks` weeks that end with the week of `last`, oldest first."""
    end = week_start(last)
    return [end - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def trend_months(last: date, months: int = TREND_MONTHS) -> list[date]:
    """The first days of the `months` months that end with the month of `last`, oldest first."""
    found = []
    year, month = last.year, last.month
    for _ in range(months):
        found.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]


MONTH_NAMES = (
    "gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno",
    "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre",
)  # fmt: skip


def month_label(first: date) -> str:
    return f"{MONTH_NAMES[first.month - 1]} {first.year}"


def week_label(monday: date) -> str:
    """ "settimana dal 02/11/2026" (Rome days)."""
    return f"settimana dal {monday.strftime('%d/%m/%Y')}"
