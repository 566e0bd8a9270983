"""Counting time for clocks: 24x7 and working days in Europe/Rome, holidays, Easter, DST."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from dispatch.calendars import ROME, Calendar, Kind, easter, italian_holidays

ALWAYS = Calendar()
WORKING = Calendar(kind=Kind.WORKING_DAYS)


def rome(*args: int) -> datetime:
    return datetime(*args, tzinfo=ROME)


@pytest.mark.parametrize(
    ("year", "sunday"),
    [(2000, date(2000, 4, 23)), (2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)),
     (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28)), (2038, date(2038, 4, 25))],
)  # fmt: skip
def test_easter_sunday_is_computed_for_any_year(year, sunday):
    assert easter(year) == sunday


def test_italian_public_holidays_include_easter_monday_and_the_fixed_ones():
    holidays = italian_holidays(2026)
    assert date(2026, 4, 6) in holidays  # Pasquetta
    for day in ((1, 1), (1, 6), (4, 25), (5, 1), (6, 2), (8, 15), (11, 1), (12, 8), (12, 25),
                (12, 26)):  # fmt: skip
        assert date(2026, *day) in holidays
    assert date(2026, 12, 24) not in holidays and len(holidays) == 11


def test_round_the_clock_counts_real_time_across_the_spring_dst_change():
    start = rome(2026, 3, 29, 1, 30)  # 02:00 becomes 03:00 this night
    deadline = ALWAYS.add(start, timedelta(hours=2))
    assert deadline - start == timedelta(hours=2)
    assert deadline.astimezone(ROME).hour == 4  # the wall clock skipped an hour
    assert ALWAYS.counted(start, deadline) == timedelta(hours=2)


def test_round_the_clock_counts_real_time_across_the_autumn_dst_change():
    start = rome(2026, 10, 25, 1, 30)  # 03:00 becomes 02:00 this night
    deadline = ALWAYS.add(start, timedelta(hours=2))
    assert deadline - start == timedelta(hours=2)
    assert deadline.astimezone(ROME).hour == 2


@pytest.mark.parametrize(
    ("start", "amount", "expected"),
    [
        # within one working day
        (rome(2026, 11, 23, 10, 0), timedelta(hours=2), rome(2026, 11, 23, 12, 0)),
        # before opening: counting starts at 09:00
        (rome(2026, 11, 23, 7, 0), timedelta(hours=1), rome(2026, 11, 23, 10, 0)),
        # Friday late: over the weekend to Monday
        (rome(2026, 11, 20, 16, 30), timedelta(hours=1), rome(2026, 11, 23, 9, 30)),
        # Saturday: nothing counts until Monday
        (rome(2026, 11, 21, 11, 0), timedelta(minutes=30), rome(2026, 11, 23, 9, 30)),
        # Thursday before Easter: Friday counts, the weekend and Easter Monday do not
        (rome(2026, 4, 2, 16, 0), timedelta(hours=10), rome(2026, 4, 7, 10, 0)),
        # Christmas and Santo Stefano skipped (24 Dec counts)
        (rome(2026, 12, 24, 16, 0), timedelta(hours=2), rome(2026, 12, 28, 10, 0)),
    ],
)
def test_working_days_count_only_working_hours_of_working_days(start, amount, expected):
    assert WORKING.add(start, amount) == expected
    assert WORKING.counted(start, expected) == amount


def test_working_hours_are_local_so_dst_moves_them_in_utc_but_not_in_length():
    before = WORKING.add(rome(2026, 3, 27, 8, 0), timedelta(minutes=1))  # Friday, winter time
    after = WORKING.add(rome(2026, 3, 30, 8, 0), timedelta(minutes=1))  # Monday, summer time
    assert before.astimezone(UTC).time() == time(8, 1)
    assert after.astimezone(UTC).time() == time(7, 1)
    assert WORKING.counted(rome(2026, 3, 27, 0, 0), rome(2026, 3, 31, 0, 0)) == timedelta(hours=16)


def test_end_of_next_working_day_skips_weekends_and_holidays():
    assert WORKING.end_of_working_day(rome(2026, 11, 20, 15, 0), 1) == rome(2026, 11, 23, 17, 0)
    assert WORKING.end_of_working_day(rome(2026, 4, 3, 15, 0), 1) == rome(2026, 4, 7, 17, 0)
    assert WORKING.end_of_working_day(rome(2026, 11, 23, 8, 0), 1) == rome(2026, 11, 24, 17, 0)


def test_configured_hours_and_extra_holidays_are_honoured():
    firenze = Calendar(
        kind=Kind.WORKING_DAYS,
        opens=time(8, 0),
        closes=time(14, 0),
        extra_holidays=frozenset({date(2026, 6, 24)}),
    )  # San Giovanni
    assert firenze.add(rome(2026, 6, 23, 13, 0), timedelta(hours=2)) == rome(2026, 6, 25, 9, 0)


def test_nothing_is_counted_backwards():
    assert WORKING.counted(rome(2026, 11, 23, 12), rome(2026, 11, 23, 10)) == timedelta(0)
    assert ALWAYS.add(rome(2026, 11, 23, 12), timedelta(0)) == rome(2026, 11, 23, 12)
