"""Vietnamese public holidays as the forecasting models and the charts see them.

Built from the `holidays` package (no network). Tết is one holiday *window*: a week before the
first day of the lunar year to three weeks after it, so a model learns a separate effect for each
day of the closure and of the backlog surge that follows. The other national holidays (Hùng Kings,
30/4–1/5, 2/9, 1/1) get a day or two each; substitute and observed days off share one effect.
Importing this module never imports Prophet.
"""

from __future__ import annotations

from datetime import date

import holidays
import pandas as pd

TET_DAYS_BEFORE = 7
TET_DAYS_AFTER = 21

# holiday key → (name in the `holidays` package, days before, days after)
_ANCHORED = {
    "tet": ("Lunar New Year", TET_DAYS_BEFORE, TET_DAYS_AFTER),
    "hung_kings": ("Hung Kings' Commemoration Day", 0, 0),
    "reunification": ("Liberation Day/Reunification Day", 0, 1),  # 30/4 and 1/5
    "new_year": ("New Year's Day", 0, 0),
}
# Names already covered by a window above (Tết days, Labour Day after 30/4).
_COVERED = (
    "Lunar New Year",
    "29 of Lunar New Year",
    "Second Day",
    "Third Day",
    "Fourth Day",
    "Fifth Day",
    "International Labor Day",
)

MARKED_HOLIDAYS = ("tet", "hung_kings", "reunification", "national_day", "new_year")


def _vietnam(first_year: int, last_year: int) -> dict[date, str]:
    return dict(holidays.Vietnam(years=range(first_year, last_year + 1), language="en_US"))


def holiday_frame(first_year: int, last_year: int) -> pd.DataFrame:
    """Prophet's holiday table: columns holiday, ds, lower_window, upper_window (one row per occurrence)."""
    rows: list[tuple[str, pd.Timestamp, int, int]] = []
    public = _vietnam(first_year, last_year)
    national_years: set[int] = set()
    for day, name in sorted(public.items()):
        for key, (anchor, before, after) in _ANCHORED.items():
            if name == anchor:
                rows.append((key, pd.Timestamp(day), -before, after))
                break
        else:
            if name == "National Day":
                if day.year not in national_years:  # 2/9 with the day before and after
                    national_years.add(day.year)
                    rows.append(("national_day", pd.Timestamp(date(day.year, 9, 2)), -1, 1))
            elif not any(part in name for part in _COVERED):
                rows.append(("day_off", pd.Timestamp(day), 0, 0))
    frame = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window"])
    return frame.sort_values("ds", ignore_index=True)


def holiday_markers(start: date, end: date) -> pd.DataFrame:
    """The holidays a chart marks between start and end: columns ds, holiday (first day of Tết etc.)."""
    frame = holiday_frame(start.year, end.year)
    frame = frame[frame["holiday"].isin(MARKED_HOLIDAYS)]
    inside = (frame["ds"] >= pd.Timestamp(start)) & (frame["ds"] <= pd.Timestamp(end))
    return frame.loc[inside, ["ds", "holiday"]].reset_index(drop=True)
