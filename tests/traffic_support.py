"""Shared by the traffic-page tests: the timestamp helper of the hand-made tables and the demo's last 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta


def apr(day, hour, minute=0):
    return datetime(2026, 4, day, hour, minute)


def last_30_days(now: datetime) -> dict[str, str]:
    return {"from": (now.date() - timedelta(days=29)).isoformat(), "to": now.date().isoformat()}
