"""The events on the pages' time charts and the "Sự kiện" page's reads and writes. Events live in the operational
store (dashboard.db.ops), so these functions reach it through the data URL; `cache.query` passes the data engine
first, which the reads use only to learn the data's years for the holidays."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.events import add_event_markers
from dashboard.db import event_queries
from dashboard.web import audit, cache

TTL_SECONDS = 30


def chart_events(engine, url: str, start: date, end: date, areas: tuple[str, ...] = ()) -> pd.DataFrame:
    return event_queries.chart_events(engine, url, start, end, areas)


def all_events(_engine, url: str, start: date | None, end: date | None, kinds: tuple[str, ...]) -> pd.DataFrame:
    return event_queries.list_events(url, start=start, end=end, kinds=kinds)


def mark(figure: go.Figure, start: date, end: date, areas: Sequence[str] | None = (), *, daily: bool = True):
    """`figure` with the events from `start` to `end` of the page's wards marked (bands, lines, short labels)."""
    url = cache.current_url()
    events = cache.query(chart_events, url, start, end, tuple(areas or ()), ttl=TTL_SECONDS)
    return add_event_markers(figure, events, start, end, daily=daily)


def clear() -> None:
    """Forget the cached event reads after a write (the page's own TTL bucket only)."""
    cache._cached(TTL_SECONDS).clear()


def add(url: str, **fields) -> int:
    new_id = event_queries.add_event(url, created_by="admin", now=datetime.now().replace(microsecond=0), **fields)
    audit.log("event_change", str(new_id), change="add", **fields)
    return new_id


def update(url: str, event_id: int, **fields) -> bool:
    changed = event_queries.update_event(url, event_id, **fields)
    if changed:
        audit.log("event_change", str(event_id), change="update", **fields)
    return changed


def delete(url: str, event_id: int) -> bool:
    deleted = event_queries.delete_event(url, event_id)
    if deleted:
        audit.log("event_change", str(event_id), change="delete")
    return deleted
