"""Indicators, pure: percentiles, counting, periods in Europe/Rome, CSV cells."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from dispatch import indicators
from dispatch.indicators import Durations, Period


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([42], 42),
        ([300, 60, 120], 120),
        ([60, 120], 90),
        ([10, 20, 30, 40], 25),
        ([1, 2, 3, 4, 5], 3),
        ([5, 5, 5, 5], 5),
        ([0.5, 1.5], 1),
    ],
)
def test_the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones(values, expected):
    assert indicators.median(values) == expected


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([42], 90, 42),
        ([60, 120, 300], 90, 264),  # h = 1.8: 120 + 0.8 * 180
        ([60, 120], 90, 114),  # h = 0.9: 60 + 0.9 * 60
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90, Fraction(91, 10)),  # h = 8.1
        (list(range(1, 12)), 90, 10),  # h = 9 exactly: the 10th value
        ([10, 20, 30, 40], 0, 10),
        ([10, 20, 30, 40], 100, 40),
        ([40, 10, 30, 20], 25, Fraction(35, 2)),  # order of input does not matter
    ],
)
def test_percentiles_interpolate_linearly_between_the_closest_ranks(values, percent, expected):
    assert indicators.percentile(values, percent) == expected


def test_percentiles_are_exact_with_no_float_drift():
    assert indicators.percentile([0.1, 0.2, 0.3], 90) == Fraction(0.2) + Fraction(8, 10) * (
        Fraction(0.3) - Fraction(0.2)
    )


@pytest.mark.parametrize(("values", "percent"), [([], 50), ([1], -1), ([1], 101)])
def test_a_percentile_of_nothing_or_out_of_range_is_refused(values, percent):
    with pytest.raises(ValueError):
        indicators.percentile(values, percent)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        ([], Durations(0, None, None)),
        ([90], Durations(1, 90.0, 90.0)),
        ([60, 120, 300], Durations(3, 120.0, 264.0)),
        ([60, 120], Durations(2, 90.0, 114.0)),
        ([0.5, 1.0, 1.5, 2.0], Durations(4, 1.25, 1.85)),
    ],
)
def test_durations_are_summarized_in_seconds(seconds, expected):
    assert indicators.summarize([timedelta(seconds=s) for s in seconds]) == expected


def test_elapsed_time_is_real_time_across_the_spring_change():
    rome = indicators.ROME
    before = datetime(2026, 3, 29, 1, 30, tzinfo=rome)  # CET
    after = datetime(2026, 3, 29, 3, 30, tzinfo=rome)  # CEST: one real hour later
    assert indicators.elapsed(before, after) == timedelta(hours=1)


# ---- counting -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "order", "zeros", "expected"),
    [
        ([], [], True, []),
        (["b", "a", "b"], [], True, [("b", 2), ("a", 1)]),
        (["b", "a"], [], True, [("a", 1), ("b", 1)]),  # ties by text
        (["b", "a"], ["b", "a"], True, [("b", 1), ("a", 1)]),  # ties by the given order
        (["x"], ["b", "a"], True, [("x", 1), ("b", 0), ("a", 0)]),
        (["x"], ["b", "a"], False, [("x", 1)]),
        (["z", "a", "c", "c"], ["c", "a"], True, [("c", 2), ("a", 1), ("z", 1)]),
    ],
)
def test_counts_come_most_frequent_first_with_a_stable_order_for_ties(keys, order, zeros, expected):
    assert indicators.count_by(keys, order, zeros=zeros) == expected


def test_ranked_counts_merge_with_the_known_keys():
    counts = {"hospital": 3, "police": 3, "other": 1}
    order = ["police", "carabinieri", "hospital", "other"]
    assert indicators.ranked(counts, order) == [
        ("police", 3),
        ("hospital", 3),
        ("other", 1),
        ("carabinieri", 0),
    ]


# ---- periods --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last", "start", "end", "hours"),
    [
        # winter: Rome is UTC+1
        (date(2026, 1, 10), date(2026, 1, 10), "2026-01-09T23:00", "2026-01-10T23:00", 24),
        # the spring change (29 March 2026, 02:00 -> 03:00): a 23-hour day
        (date(2026, 3, 29), date(2026, 3, 29), "2026-03-28T23:00", "2026-03-29T22:00", 23),
        (date(2026, 3, 28), date(2026, 3, 30), "2026-03-27T23:00", "2026-03-30T22:00", 71),
        # the autumn change (25 October 2026, 03:00 -> 02:00): a 25-hour day
        (date(2026, 10, 25), date(2026, 10, 25), "2026-10-24T22:00", "2026-10-25T23:00", 25),
        (date(2026, 10, 24), date(2026, 10, 26), "2026-10-23T22:00", "2026-10-26T23:00", 73),
        # summer: Rome is UTC+2
        (date(2026, 7, 1), date(2026, 7, 31), "2026-06-30T22:00", "2026-07-31T22:00", 744),
        # a whole leap year
        (date(2028, 1, 1), date(2028, 12, 31), "2027-12-31T23:00", "2028-12-31T23:00", 8784),
    ],
)
def test_a_period_runs_from_midnight_in_rome_to_midnight_after_its_last_day(
    first, last, start, end, hours
):
    lower, upper = Period(first, last).bounds()
    assert lower == datetime.fromisoformat(start).replace(tzinfo=UTC)
    assert upper == datetime.fromisoformat(end).replace(tzinfo=UTC)
    assert lower.tzinfo is UTC and upper.tzinfo is UTC
    assert upper - lower == timedelta(hours=hours)


@pytest.mark.parametrize(
    ("now", "day"),
    [
        ("2026-03-28T22:59:59", date(2026, 3, 28)),
        ("2026-03-28T23:00:00", date(2026, 3, 29)),
        ("2026-10-24T21:59:59", date(2026, 10, 24)),
        ("2026-10-24T22:00:00", date(2026, 10, 25)),
        ("2026-10-25T22:59:59", date(2026, 10, 25)),
        ("2026-10-25T23:00:00", date(2026, 10, 26)),
    ],
)
def test_the_day_of_an_instant_is_its_day_in_rome(now, day):
    assert indicators.rome_day(datetime.fromisoformat(now).replace(tzinfo=UTC)) == day


def test_a_naive_instant_has_no_day():
    with pytest.raises(ValueError):
        indicators.rome_day(datetime(2026, 1, 1))  # noqa: DTZ001


def test_the_default_period_is_the_last_thirty_days_today_in_rome_included():
    now = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)  # already 1 April in Rome
    period = indicators.default_period(now)
    assert period == Period(date(2026, 3, 3), date(2026, 4, 1))
    assert period.days == 30


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, Period(date(2026, 4, 12), date(2026, 5, 11))),
        (date(2026, 5, 1), None, Period(date(2026, 5, 1), date(2026, 5, 11))),
        (None, date(2026, 1, 31), Period(date(2026, 1, 2), date(2026, 1, 31))),
        (date(2025, 1, 1), date(2025, 1, 1), Period(date(2025, 1, 1), date(2025, 1, 1))),
    ],
)
def test_a_missing_end_of_the_period_takes_its_default(first, last, expected):
    now = datetime(2026, 5, 11, 8, 0, tzinfo=UTC)
    assert indicators.period_of(first, last, now) == expected


@pytest.mark.parametrize(
    ("first", "last", "fields"),
    [
        (date(2026, 1, 1), date(2026, 1, 1), []),
        (date(2026, 1, 2), date(2026, 1, 1), ["from"]),
        (date(2028, 1, 1), date(2028, 12, 31), []),  # 366 days
        (date(2026, 1, 1), date(2027, 1, 1), []),  # 366 days
        (date(2026, 1, 1), date(2027, 1, 2), ["to"]),  # 367 days
    ],
)
def test_a_period_backwards_or_longer_than_a_leap_year_is_refused_by_field(first, last, fields):
    assert [f for f, _ in indicators.period_problems(Period(first, last))] == fields


# ---- CSV cells ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("Presa visione", "Presa visione"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+39 055", "'+39 055"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_spreadsheet_formulas_are_defused_with_a_leading_apostrophe(text, safe):
    assert indicators.spreadsheet_safe(text) == safe


@pytest.mark.parametrize(
    ("value", "text"), [(None, ""), (120.0, "120"), (0.0, "0"), (1.25, "1.25"), (2 / 3, "0.667")]
)
def test_numbers_in_csv_cells_drop_needless_decimals(value, text):
    assert indicators.number_text(value) == text


def test_minutes_for_an_italian_spreadsheet_have_one_decimal_after_a_comma():
    assert indicators.minutes_it(None) == ""
    assert indicators.minutes_it(720) == "12"
    assert indicators.minutes_it(810) == "13,5"
    assert indicators.minutes_it(61) == "1"  # 1.0166 minutes: 1,0 is written 1
    assert indicators.minutes_it(63) == "1"  # 1.05: half to even, 1,0
    assert indicators.minutes_it(69) == "1,2"  # 1.15: half to even, 1,2
    assert indicators.minutes_it(Fraction(1, 3)) == "0"
    assert indicators.minutes_it(-90) == "-1,5"


def test_instants_for_an_italian_spreadsheet_are_rome_days_and_minutes():
    assert indicators.stamp_it(datetime(2026, 1, 31, 23, 30, tzinfo=UTC)) == "01/02/2026 00:30"
    assert indicators.stamp_it(datetime(2026, 7, 1, 10, 5, tzinfo=UTC)) == "01/07/2026 12:05"


def test_compliance_is_the_share_on_time_with_one_decimal_and_none_without_clocks():
    assert indicators.compliance(0, 0) is None
    assert indicators.compliance(3, 0) == 100.0
    assert indicators.compliance(0, 2) == 0.0
    assert indicators.compliance(2, 1) == 66.7
    assert indicators.compliance(1, 7) == 12.5
    assert indicators.compliance(1, 15) == 6.2  # 6.25: half to even


def test_the_trends_cover_a_year_of_weeks_and_of_months_ending_with_the_period():
    weeks = indicators.trend_weeks(date(2026, 12, 3))  # a Thursday
    assert len(weeks) == 52 and weeks[-1] == date(2026, 11, 30)
    assert all(w.weekday() == 0 for w in weeks) and weeks[0] == date(2025, 12, 8)
    months = indicators.trend_months(date(2026, 3, 31))
    assert months[0] == date(2025, 4, 1) and months[-1] == date(2026, 3, 1) and len(months) == 12
    assert indicators.month_label(date(2026, 3, 1)) == "marzo 2026"
    assert indicators.week_label(date(2026, 11, 30)) == "settimana dal 30/11/2026"
