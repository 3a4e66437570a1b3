"""Reporting periods: inclusive local dates, presets and comparison periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dashboard import config

PRESETS = ("today", "last_7_days", "this_week", "this_month", "this_quarter", "year_to_date", "last_30_days", "custom")
COMPARISONS = ("previous_period", "same_period_last_year")


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

    def compared(self, comparison: str) -> Period:
        if comparison == "same_period_last_year":
            return self.same_last_year()
        if comparison == "previous_period":
            return self.previous()
        raise ValueError(f"unknown comparison {comparison!r}; expected one of {', '.join(COMPARISONS)}")


def _minus_year(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def local_now() -> datetime:
    """Current wall-clock time in the city, naive (the form stored in the database)."""
    return datetime.now(ZoneInfo(config.timezone())).replace(tzinfo=None)


def preset_period(preset: str, today: date) -> Period:
    """The period a preset means on `today` (every preset ends today)."""
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
    raise ValueError(f"unknown period preset {preset!r}")


def parse_date(value: str) -> date:
    """Parse YYYY-MM-DD, with a message saying what was expected."""
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None
