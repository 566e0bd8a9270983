"""Counting time for clocks: round the clock (24x7), or on working days in Europe/Rome.

A working-day calendar counts only the working hours (configurable, 09:00-17:00 by default) of
Monday to Friday that are not Italian public holidays (Easter Monday computed). Local times are
Europe/Rome, so daylight saving changes move working hours in UTC, not their length.

All arithmetic is done in UTC: Python adds a timedelta to an aware datetime on its wall clock,
so 01:30 + 2 h on the night the clocks go forward would otherwise be three real hours.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ROME = ZoneInfo("Europe/Rome")


class Kind(enum.StrEnum):
    ALWAYS = "24x7"
    WORKING_DAYS = "working_days"


def easter(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


_FIXED_HOLIDAYS = (
    (1, 1),  # Capodanno
    (1, 6),  # Epifania
    (4, 25),  # Liberazione
    (5, 1),  # Festa del lavoro
    (6, 2),  # Festa della Repubblica
    (8, 15),  # Ferragosto
    (11, 1),  # Ognissanti
    (12, 8),  # Immacolata
    (12, 25),  # Natale
    (12, 26),  # Santo Stefano
)


def italian_holidays(year: int) -> frozenset[date]:
    """National public holidays, Easter Monday included (local patron saints are extra)."""
    fixed = {date(year, month, day) for month, day in _FIXED_HOLIDAYS}
    return frozenset(fixed | {easter(year) + timedelta(days=1)})


@dataclass(frozen=True, slots=True)
class Calendar:
    kind: Kind = Kind.ALWAYS
    opens: time = time(9, 0)  # working hours, local time (working-day calendars only)
    closes: time = time(17, 0)
    extra_holidays: frozenset[date] = field(default_factory=frozenset)  # e.g. patron saints

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in italian_holidays(day.year)
            and day not in self.extra_holidays
        )

    def _window(self, day: date) -> tuple[datetime, datetime]:
        """The day's working hours as UTC instants."""
        return (
            datetime.combine(day, self.opens, ROME).astimezone(UTC),
            datetime.combine(day, self.closes, ROME).astimezone(UTC),
        )

    def counted(self, start: datetime, end: datetime) -> timedelta:
        """The time this calendar counts between two instants (zero if end <= start)."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        if end <= start:
            return timedelta(0)
        if self.kind is Kind.ALWAYS:
            return end - start
        total = timedelta(0)
        day = start.astimezone(ROME).date()
        last = end.astimezone(ROME).date()
        while day <= last:
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lo, hi = max(opens, start), min(closes, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which this calendar has counted `amount` from `start`."""
        start = start.astimezone(UTC)
        if amount <= timedelta(0):
            return start
        if self.kind is Kind.ALWAYS:
            return start + amount
        left = amount
        day = start.astimezone(ROME).date()
        for _ in range(3660):  # ten years of days: a bound, never reached by real targets
            if self.is_working_day(day):
                opens, closes = self._window(day)
                lo = max(opens, start)
                if closes > lo:
                    if lo + left <= closes:
                        return lo + left
                    left -= closes - lo
            day += timedelta(days=1)
        raise ValueError("target too far in the future for this calendar")

    def end_of_working_day(self, start: datetime, days_after: int) -> datetime:
        """Closing time of the n-th working day after the start's day (n=1: the next one)."""
        day = start.astimezone(ROME).date()
        found = 0
        for _ in range(3660):
            day += timedelta(days=1)
            if self.is_working_day(day):
                found += 1
                if found == days_after:
                    return self._window(day)[1]
        raise ValueError("no such working day")
