"""Shared by the procedures-page tests: the page, the hand-made period of the tiny table, and the demo period."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dashboard.navigation import PAGES
from dashboard.periods import Period

PAGE = next(spec for spec in PAGES if spec.key == "procedures")

# Period of the tiny table: Monday 2 March – Sunday 15 March 2026; the past-due list is taken at 16/03 00:00.
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 15))
AS_OF = datetime(2026, 3, 16)


def at(day: int, hour: int = 8, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour)


NAMES = {"P1": "Đăng ký khai sinh", "P2": "Đăng ký biến động quyền sử dụng đất", "P3": "Đăng ký hộ kinh doanh"}
SECTORS = {"P1": "civil_status", "P2": "land", "P3": "business"}


def demo_period(demo_now: datetime, days: int = 60) -> Period:
    # Ends on the demo's last day, which is over by now, so the past-due list is taken at the end of that day.
    return Period(demo_now.date() - timedelta(days=days - 1), demo_now.date())
