"""Period presets and comparison periods on a fixed 'today'."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from dashboard.periods import Period, parse_date, preset_period
from dashboard.web.overview import trend_window

TODAY = date(2026, 11, 19)  # a Thursday


@pytest.mark.parametrize(
    ("preset", "start"),
    [
        ("today", date(2026, 11, 19)),
        ("last_7_days", date(2026, 11, 13)),
        ("this_week", date(2026, 11, 16)),
        ("this_month", date(2026, 11, 1)),
        ("this_quarter", date(2026, 10, 1)),
        ("year_to_date", date(2026, 1, 1)),
        ("last_30_days", date(2026, 10, 21)),
    ],
)
def test_presets_end_today(preset, start):
    assert preset_period(preset, TODAY) == Period(start, TODAY)


def test_period_bounds_are_inclusive_local_days():
    period = Period(date(2026, 3, 1), date(2026, 3, 7))
    assert period.start_at == datetime(2026, 3, 1)
    assert period.end_before == datetime(2026, 3, 8)
    assert period.days == 7


def test_comparison_periods():
    period = Period(date(2026, 3, 1), date(2026, 3, 7))
    assert period.previous() == Period(date(2026, 2, 22), date(2026, 2, 28))
    assert period.compared("same_period_last_year") == Period(date(2025, 3, 1), date(2025, 3, 7))
    assert Period(date(2028, 2, 29), date(2028, 2, 29)).same_last_year() == Period(date(2027, 2, 28), date(2027, 2, 28))
    with pytest.raises(ValueError, match="unknown comparison"):
        period.compared("yesterday")


def test_bad_periods_and_dates_say_what_was_expected():
    with pytest.raises(ValueError, match="before it starts"):
        Period(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_date("31/12/2026")


def test_trend_window_is_at_least_thirty_days():
    assert trend_window(Period(TODAY, TODAY)) == Period(date(2026, 10, 21), TODAY)
    long = Period(date(2026, 1, 1), TODAY)
    assert trend_window(long) == long


def test_trend_line_starts_with_a_full_seven_day_mean():
    import pandas as pd

    from dashboard.charts import daily_trend

    days = pd.date_range("2026-03-01", "2026-03-20", freq="D")
    daily = pd.DataFrame({"day": days, "received": [10 if d.day < 7 else 20 for d in days]})
    figure = daily_trend(daily, title="x", display_start=date(2026, 3, 7))
    bars, line = figure.data
    assert pd.Timestamp(bars.x[0]) == pd.Timestamp("2026-03-07")
    assert pd.Timestamp(line.x[0]) == pd.Timestamp("2026-03-07")
    assert line.y[0] == round((6 * 10 + 20) / 7, 1)  # 1–6 March (10 a day) and 7 March (20)


def test_vietnamese_reporting_presets():
    from dashboard.periods import preset_period

    on = date(2026, 12, 5)
    assert preset_period("last_month", on) == Period(date(2026, 11, 1), date(2026, 11, 30))
    assert preset_period("last_month", date(2026, 1, 15)) == Period(date(2025, 12, 1), date(2025, 12, 31))
    assert preset_period("six_months", on) == Period(date(2026, 1, 1), date(2026, 6, 30))
    assert preset_period("nine_months", on) == Period(date(2026, 1, 1), date(2026, 9, 30))
    assert preset_period("six_months", date(2026, 5, 10)) == Period(date(2026, 1, 1), date(2026, 5, 10))
    assert preset_period("nine_months", date(2026, 9, 30)) == Period(date(2026, 1, 1), date(2026, 9, 30))
    assert preset_period("last_year", on) == Period(date(2025, 1, 1), date(2025, 12, 31))


def test_a_link_names_the_preset_year_to_date_while_it_equals_six_months():
    from dashboard.web.url_state import matching_preset

    assert matching_preset(Period(date(2026, 1, 1), date(2026, 5, 10)), date(2026, 5, 10)) == "year_to_date"
    assert matching_preset(Period(date(2026, 1, 1), date(2026, 6, 30)), date(2026, 12, 5)) == "six_months"


def test_tet_aligned_comparison():
    from dashboard.periods import tet_day

    # First days of Tết: 29 Jan 2025, 17 Feb 2026, 6 Feb 2027 (Vietnamese calendar of the holidays package).
    assert (tet_day(2025), tet_day(2026), tet_day(2027)) == (date(2025, 1, 29), date(2026, 2, 17), date(2027, 2, 6))
    week_around = Period(date(2026, 2, 14), date(2026, 2, 20))  # Tết 2026 −3 … +3 days
    assert week_around.compared("tet_aligned") == Period(date(2025, 1, 26), date(2025, 2, 1))  # Tết 2025 −3 … +3
    assert week_around.compared("same_period_last_year") == Period(date(2025, 2, 14), date(2025, 2, 20))
    january = Period(date(2027, 1, 1), date(2027, 1, 31))  # within 35 days of Tết 2027: shifted by 354 days
    assert january.compared("tet_aligned") == Period(date(2026, 1, 12), date(2026, 2, 11))
    june = Period(date(2026, 6, 1), date(2026, 6, 30))  # far from Tết: the same dates last year
    assert june.compared("tet_aligned") == june.same_last_year()
