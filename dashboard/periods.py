"""Reporting periods: inclusive local dates, presets (the Vietnamese reporting periods among them: month, quarter,
"6 tháng", "9 tháng", year) and comparison periods (previous period, same period last year, Tết aligned)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from dashboard import config

PRESETS = (
    "today",
    "last_7_days",
    "this_week",
    "this_month",
    "last_month",
    "this_quarter",
    "year_to_date",  # before the two below: from January to June all three are the same dates
    "six_months",
    "nine_months",
    "last_year",
    "last_30_days",
    "custom",
)
COMPARISONS = ("previous_period", "same_period_last_year", "tet_aligned")
TET_WINDOW_DAYS = 35  # a period within this many days of the first day of Tết is compared Tết to Tết


@dataclass(frozen=True)
class Period:
    """Both dates inclusive, in the city's local calendar."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end:%d/%m/%Y}) before it starts ({self.start:%d/%m/%Y})")

    @property
    def start_at(self) -> datetime:
        """First instant of the period (naive local)."""
        return datetime.combine(self.start, time.min)

    @property
    def end_before(self) -> datetime:
        """First instant after the period (naive local): rows are in the period when start_at <= t < end_before."""
        return datetime.combine(self.end + timedelta(days=1), time.min)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def same_last_year(self) -> Period:
        return Period(_minus_year(self.start), _minus_year(self.end))

    def tet_aligned(self) -> Period:
        """Last year's period the same number of days from the first day of Tết (Lunar New Year), for periods
        within TET_WINDOW_DAYS of a Tết; other periods: the same dates last year."""
        for year in sorted({self.start.year, self.end.year}):
            tet = tet_day(year)
            window = Period(tet - timedelta(days=TET_WINDOW_DAYS), tet + timedelta(days=TET_WINDOW_DAYS))
            if self.start <= window.end and self.end >= window.start:
                shift = tet - tet_day(year - 1)
                return Period(self.start - shift, self.end - shift)
        return self.same_last_year()

    def compared(self, comparison: str) -> Period:
        if comparison == "same_period_last_year":
            return self.same_last_year()
        if comparison == "tet_aligned":
            return self.tet_aligned()
        if comparison == "previous_period":
            return self.previous()
        raise ValueError(f"unknown comparison {comparison!r}; expected one of {', '.join(COMPARISONS)}")


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


@functools.cache
def tet_day(year: int) -> date:
    """The first day of Tết Nguyên Đán in `year` (the `holidays` package's Vietnamese calendar)."""
    calendar = holidays.Vietnam(years=year, language="en_US")
    return min(day for day, name in calendar.items() if name == "Lunar New Year")


def local_now() -> datetime:
    """Current wall-clock time in the city, naive (the form stored in the database)."""
    return datetime.now(ZoneInfo(config.timezone())).replace(tzinfo=None)


def preset_period(preset: str, today: date) -> Period:
    """The period a preset means on `today`. Presets end today, except the closed ones: `last_month` and
    `last_year` (the previous calendar month and year), and "6 tháng" / "9 tháng" (`six_months`, `nine_months`:
    from 1 January to 30 June / 30 September, or to today while those months are not over)."""
    if preset == "today":
        return Period(today, today)
    if preset == "last_7_days":
        return Period(today - timedelta(days=6), today)
    if preset == "last_30_days":
        return Period(today - timedelta(days=29), today)
    if preset == "this_week":
        return Period(today - timedelta(days=today.weekday()), today)
    if preset == "this_month":
        return Period(today.replace(day=1), today)
    if preset == "this_quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        return Period(today.replace(month=first_month, day=1), today)
    if preset == "year_to_date":
        return Period(today.replace(month=1, day=1), today)
    if preset == "last_month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    if preset in ("six_months", "nine_months"):
        last_day = date(today.year, 6, 30) if preset == "six_months" else date(today.year, 9, 30)
        return Period(today.replace(month=1, day=1), min(today, last_day))
    if preset == "last_year":
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    raise ValueError(f"unknown period preset {preset!r}")


def parse_date(value: str) -> date:
    """Parse YYYY-MM-DD, with a message saying what was expected."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None
