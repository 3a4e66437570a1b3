"""Public holidays of the data's country as the forecasting models and the charts see them.

Built from the `holidays` package (no network) for the country `IOC_COUNTRY` names (default VN), or the country a
database's data declares (dataset_info key `country`, see `country_of`). For Vietnam, Tết is one holiday *window*: a week before the
first day of the lunar year to three weeks after it, so a model learns a separate effect for each
day of the closure and of the backlog surge that follows. The other national holidays (Hùng Kings,
30/4–1/5, 2/9, 1/1) get a day or two each; substitute and observed days off share one effect.
Other countries: each public holiday of the `holidays` package is a one-day effect of its own (no Tết window:
a North-American series gets none). Importing this module never imports Prophet.
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
DEFAULT_COUNTRY = "VN"


def normal_country(code: str | None) -> str:
    """An ISO 3166 alpha-2/alpha-3 code the `holidays` package knows, upper case; ValueError otherwise."""
    value = (code or "").strip().upper()
    if value not in holidays.list_supported_countries():
        raise ValueError(f"unknown country code {code!r} (an ISO 3166 code such as VN, US, AU)")
    return value


def country_of(info: dict[str, str] | None = None) -> str:
    """The country whose holidays the forecasts use: the data's own (dataset_info `country`, written by an import
    that declared it) when set, else the IOC_COUNTRY setting."""
    declared = (info or {}).get("country")
    if declared:
        try:
            return normal_country(declared)
        except ValueError:
            pass
    from dashboard import config

    return normal_country(config.get("IOC_COUNTRY") or DEFAULT_COUNTRY)


def _public(country: str, first_year: int, last_year: int) -> dict[date, str]:
    return dict(holidays.country_holidays(country, years=range(first_year, last_year + 1), language="en_US"))


def _key(name: str) -> str:
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())[:40] or "holiday"


def _other_country(country: str, first_year: int, last_year: int) -> list[tuple[str, pd.Timestamp, int, int]]:
    public = _public(country, first_year, last_year)
    return [(_key(name.split(";")[0]), pd.Timestamp(day), 0, 0) for day, name in sorted(public.items())]


def _names(country: str, first_year: int, last_year: int) -> dict[pd.Timestamp, str]:
    return {pd.Timestamp(day): name.split(";")[0] for day, name in _public(country, first_year, last_year).items()}


def holiday_frame(first_year: int, last_year: int, country: str = DEFAULT_COUNTRY) -> pd.DataFrame:
    """Prophet's holiday table: columns holiday, ds, lower_window, upper_window (one row per occurrence)."""
    rows: list[tuple[str, pd.Timestamp, int, int]] = []
    if normal_country(country) not in ("VN", "VNM"):
        rows = _other_country(normal_country(country), first_year, last_year)
        frame = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window"])
        return frame.sort_values("ds", ignore_index=True)
    public = _public("VN", first_year, last_year)
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


def holiday_markers(start: date, end: date, country: str = DEFAULT_COUNTRY) -> pd.DataFrame:
    """The holidays a chart marks between start and end: columns ds, holiday (first day of Tết etc.); for another
    country than Vietnam every public holiday, with its English name in a column `name`."""
    frame = holiday_frame(start.year, end.year, country)
    columns = ["ds", "holiday"]
    if normal_country(country) in ("VN", "VNM"):
        frame = frame[frame["holiday"].isin(MARKED_HOLIDAYS)]
    else:
        frame = frame.assign(name=frame["ds"].map(_names(normal_country(country), start.year, end.year)))
        columns.append("name")
    inside = (frame["ds"] >= pd.Timestamp(start)) & (frame["ds"] <= pd.Timestamp(end))
    return frame.loc[inside, columns].reset_index(drop=True)
