"""Complete daily series in long format (`series_id`, `ds`, `y`) built from the database.

Counts come from SQL (`dashboard.db.forecast_queries`); this module only makes every series
cover every day from the metric's first day to its last *complete* day:
  * feedback and dossiers: a day without a row had no reports → 0 (that is the truth);
  * traffic: a day without observations, or with fewer than 90 % of a normal day's
    15-minute records, is a sensor outage → missing (NaN), never 0.
The day of the newest record is left out: it may still be filling up.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.db import forecast_queries as fq

DEFAULT_LEVELS: dict[str, tuple[str, ...]] = {
    "feedback": ("city", "category", "area"),
    "dossiers": ("city", "sector"),
    "traffic": ("city", "sensor"),
}
ZERO_FILLED = {"feedback": True, "dossiers": True, "traffic": False}
COMPLETE_DAY_SHARE = 0.9


def series_span(engine: Engine, metric: str) -> tuple[date, date] | None:
    """First day and last complete day of a metric's data (None when there is less than a day)."""
    first_at, last_at = fq.data_span(engine, metric)
    if first_at is None or last_at is None:
        return None
    first, last = pd.Timestamp(first_at).date(), pd.Timestamp(last_at).date() - timedelta(days=1)
    return (first, last) if last >= first else None


def complete_days(counts: pd.DataFrame, keys: list[str], start: date, end: date, zero_filled: bool) -> pd.DataFrame:
    """Every (key, day) between start and end: counts as given, gaps 0 (zero_filled) or NaN.

    Without zero filling, a day whose `records` fall below 90 % of the key's median day is NaN too.
    """
    days = pd.date_range(start, end, freq="D")
    grid = pd.MultiIndex.from_product([keys, days], names=["key", "ds"])
    frame = counts.assign(ds=pd.to_datetime(counts["ds"]), key=counts["key"].astype(str))
    if not zero_filled and not frame.empty:
        typical = frame.groupby("key")["records"].transform("median")
        frame.loc[frame["records"] < COMPLETE_DAY_SHARE * typical, "y"] = np.nan
    values = frame.set_index(["key", "ds"])["y"].astype(float).reindex(grid)
    if zero_filled:
        values = values.fillna(0.0)
    return values.reset_index()


def load_series(engine: Engine, metric: str, levels: tuple[str, ...] | None = None) -> pd.DataFrame:
    """All series of a metric at the given levels (default DEFAULT_LEVELS): columns series_id, ds, y."""
    span = series_span(engine, metric)
    if span is None:
        return pd.DataFrame(
            {"series_id": pd.Series(dtype=str), "ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)}
        )
    start, end = span
    frames = []
    for level in levels or DEFAULT_LEVELS[metric]:
        keys = fq.series_keys(engine, metric, level)
        counts = fq.daily_values(engine, metric, level, start, end)
        frame = complete_days(counts, keys, start, end, ZERO_FILLED[metric])
        frame.insert(
            0, "series_id", [fq.series_id(metric, level, None if level == "city" else k) for k in frame["key"]]
        )
        frames.append(frame.drop(columns="key"))
    return pd.concat(frames, ignore_index=True)


def split(long: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The long frame as one (ds, y) frame per series id, in order."""
    return {sid: group[["ds", "y"]].reset_index(drop=True) for sid, group in long.groupby("series_id", sort=True)}
