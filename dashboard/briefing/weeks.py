"""ISO weeks (Monday–Sunday, city local calendar) as reporting periods of the briefing."""

from __future__ import annotations

import re
from datetime import date, timedelta

from dashboard.periods import Period

WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{1,2})$")


class BriefingInputError(ValueError):
    """Bad input for a briefing (week, area, a week without data), explained for people."""


def weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last."""
    return date(year, 12, 28).isocalendar().week


def parse_week(text: str) -> Period:
    """ "2026-W47" → Monday 16/11/2026 … Sunday 22/11/2026."""
    match = WEEK_PATTERN.match(text.strip())
    if not match:
        raise BriefingInputError(f"{text!r} is not an ISO week; write it as YYYY-Www, e.g. 2026-W47")
    year, week = int(match[1]), int(match[2])
    if not 1 <= year <= 9998:
        raise BriefingInputError(f"{text!r}: the year {year} is out of range")
    last = weeks_in_year(year)
    if not 1 <= week <= last:
        raise BriefingInputError(f"{text!r} is not a week: {year} has ISO weeks {year}-W01 to {year}-W{last:02d}")
    monday = date.fromisocalendar(year, week, 1)
    return Period(monday, monday + timedelta(days=6))


def week_code(period: Period) -> str:
    """ "2026-W47" for the ISO week that contains the period's first day."""
    year, week, _ = period.start.isocalendar()
    return f"{year}-W{week:02d}"


def week_of(day: date) -> Period:
    """The ISO week (Monday–Sunday) that contains `day`."""
    monday = day - timedelta(days=day.weekday())
    return Period(monday, monday + timedelta(days=6))


def last_complete_week(today: date) -> Period:
    """The last Monday–Sunday week that ended before `today`."""
    return week_of(today - timedelta(days=7))


def as_week(value: str | Period) -> Period:
    """A week given as "YYYY-Www" or as a Period that is exactly one ISO week."""
    if isinstance(value, str):
        return parse_week(value)
    if value.start.weekday() != 0 or value.days != 7:
        raise BriefingInputError(f"{value.start}…{value.end} is not a Monday–Sunday week")
    return value
