"""Choices the overview page makes, as plain functions (tested without Streamlit)."""

from __future__ import annotations

from datetime import timedelta

from dashboard.periods import Period

# Map indicator → whether a higher value is better (None: neither; colours then run light → dark).
MAP_METRICS: dict[str, bool | None] = {
    "feedback.received_per_10k": None,
    "feedback.received_per_km2": None,
    "feedback.resolved_on_time_pct": True,
    "feedback.open_backlog": False,
    "dossiers.received_per_10k": None,
    "dossiers.completed_on_time_pct": True,
    "dossiers.online_pct": True,
}

MIN_TREND_DAYS = 30


def trend_window(period: Period) -> Period:
    """The days the trend chart shows: the period itself, or the 30 days ending with it when shorter."""
    if period.days >= MIN_TREND_DAYS:
        return period
    return Period(period.end - timedelta(days=MIN_TREND_DAYS - 1), period.end)
