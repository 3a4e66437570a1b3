"""What the wall screen reads. Each function gathers one panel's figures from the KPI module and the
page queries (the wall shows the same numbers as the pages and `kpi`), adding only the few queries no
page needs: the newest record of each source and the feedback overdue by more than N days.

Every function takes the engine first and plain values after it, so `cache.query` can cache it, and
returns small aggregated frames or dicts (the map's points are capped at `MAX_MAP_POINTS`). The functions reading
cases take the viewer's `scope` keyword (a kiosk and the city's roles: the whole city; `cache.query` passes the
signed-in user's); traffic, freshness and forecasts are city figures.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import (
    alert_queries,
    dossier_queries,
    forecast_queries,
    map_queries,
    schema,
    traffic_queries,
)
from dashboard.db.engine import fetch_frame, fetch_one
from dashboard.db.ops import ops_engine
from dashboard.db.predicates import QueryFilter, feedback_overdue_at, in_scope
from dashboard.metrics import kpis
from dashboard.periods import Period
from dashboard.wall import rules as wall

feedback = schema.feedback.c
dossiers = schema.dossiers.c
observations = schema.traffic_observations.c

MAX_MAP_POINTS = 3_000
TOP_SENSORS = 8
FORECAST_DAYS = 7
ANOMALY_DAYS = 3  # the ticker mentions anomalies of the last three scanned days


def _whole_day(moment: datetime, scope: Scope = WHOLE_CITY) -> QueryFilter:
    return QueryFilter(Period(moment.date(), moment.date()), scope=scope)


def _window(window: wall.TimeWindow, scope: Scope = WHOLE_CITY) -> QueryFilter:
    return QueryFilter(window, scope=scope)  # a TimeWindow reads like a Period to every query (start_at / end_before)


# ---------------------------------------------------------------- freshness
def newest_records(engine: Engine) -> dict[str, datetime | None]:
    """The newest timestamp of each source: feedback and dossiers received, traffic observed."""
    statement = select(
        select(func.max(feedback.received_at)).scalar_subquery().label("feedback"),
        select(func.max(dossiers.received_at)).scalar_subquery().label("dossiers"),
        select(func.max(observations.observed_at)).scalar_subquery().label("traffic"),
    )
    row = fetch_one(engine, statement)
    return {
        source: (pd.Timestamp(row[source]).to_pydatetime() if row.get(source) is not None else None)
        for source in wall.SOURCES
    }


# ---------------------------------------------------------------- today against a typical day
def window_kpis(engine: Engine, window: wall.TimeWindow, *, scope: Scope = WHOLE_CITY) -> dict[str, dict[str, Any]]:
    """Every KPI section over one window, by the formulas of `dashboard.metrics`."""
    return {section: kpis.section_kpis(engine, section, window, scope=scope) for section in wall.SECTIONS}


def today_so_far(engine: Engine, as_of: datetime, *, scope: Scope = WHOLE_CITY) -> dict[str, Any]:
    """Today's KPIs from midnight to `as_of`, and traffic in the last complete clock hour ("now")."""
    hour = wall.last_full_hour(as_of)
    return {
        "kpis": window_kpis(engine, wall.day_so_far(as_of), scope=scope),
        "traffic_hour": kpis.section_kpis(engine, "traffic", hour),
        "hour_start": hour.start_at,
    }


def typical_day(
    engine: Engine, as_of: datetime, weeks: int = wall.TYPICAL_WEEKS, *, scope: Scope = WHOLE_CITY
) -> dict[str, Any]:
    """The typical-day medians for the same part of the day and the same last clock hour (see dashboard.wall.rules)."""
    days = [window_kpis(engine, window, scope=scope) for window in wall.typical_windows(as_of, weeks)]
    medians, counted = wall.typical_kpis(days)
    hour = wall.last_full_hour(as_of)
    hours = [
        {
            "traffic": kpis.section_kpis(
                engine,
                "traffic",
                wall.TimeWindow(hour.start_at - timedelta(weeks=k), hour.end_before - timedelta(weeks=k)),
            )
        }
        for k in range(1, weeks + 1)
    ]
    hour_medians, hour_counted = wall.typical_kpis(hours)
    return {
        "kpis": medians,
        "days": counted,
        "traffic_hour": hour_medians["traffic"],
        "hour_days": hour_counted["traffic"],
    }


# ---------------------------------------------------------------- map
def map_layers(engine: Engine, as_of: datetime, *, scope: Scope = WHOLE_CITY) -> dict[str, pd.DataFrame]:
    """Feedback received in the 24 hours before `as_of` (newest first, at most MAX_MAP_POINTS) and each
    sensor's congestion in the last complete clock hour."""
    window = wall.TimeWindow(as_of - timedelta(hours=wall.FEED_WINDOW_HOURS), as_of)
    points = map_queries.feedback_points(engine, _window(window, scope), limit=MAX_MAP_POINTS)
    located = map_queries.located_feedback_count(engine, _window(window, scope))
    sensors = traffic_queries.congestion_ranking(engine, _window(wall.last_full_hour(as_of)), group="sensor")
    return {"points": points, "located": located, "sensors": sensors}


# ---------------------------------------------------------------- traffic
def traffic_now(engine: Engine, as_of: datetime) -> dict[str, Any]:
    """Today's hourly vehicles against the typical profile, the most congested sensors in the last complete
    hour, and the sensors silent for traffic_queries.SILENCE_MINUTES before `as_of`."""
    hour = wall.last_full_hour(as_of)
    profile = traffic_queries.profile_comparison(
        engine, _whole_day(as_of), as_of.date(), until=hour.end_before, weeks=wall.TYPICAL_WEEKS
    )
    ranking = traffic_queries.congestion_ranking(engine, _window(hour), group="sensor")
    ranking = ranking[ranking["congestion_index_mean"].notna()]
    top = ranking.sort_values(["congestion_index_mean", "key"], ascending=[False, True]).head(TOP_SENSORS)
    silent = traffic_queries.silent_sensors(engine, _whole_day(as_of), as_of)
    return {
        "profile": profile,
        "top": top.reset_index(drop=True),
        "silent": silent,
        "sensor_total": forecast_queries.sensor_count(engine),
        "hour_start": hour.start_at,
    }


# ---------------------------------------------------------------- procedures
def procedures_today(engine: Engine, as_of: datetime, *, scope: Scope = WHOLE_CITY) -> dict[str, Any]:
    """Per sector: dossiers received and completed today (to `as_of`) with the on-time %, and how many are
    open and past due at `as_of`."""
    today = _window(wall.day_so_far(as_of), scope)
    sectors = dossier_queries.sector_stats(engine, today)
    extra = dossier_queries.extra_counts(engine, today, as_of)
    return {"sectors": sectors, "past_due_open": extra["past_due_open"], "late": extra["late"]}


# ---------------------------------------------------------------- forecast
def forecast_outlook(engine: Engine, as_of: datetime) -> dict[str, Any]:
    """The city forecasts of the current runs for the days after `as_of` (tomorrow first, up to a week).

    `available` is False when `python -m dashboard forecast` has never run on this database; `series`
    maps each metric to its rows (ds, yhat, yhat_lower, yhat_upper); `created_at` to its run's time.
    """
    runs = forecast_queries.current_runs(engine)
    if runs.empty:
        return {"available": False, "series": {}, "created_at": {}}
    tomorrow = as_of.date() + timedelta(days=1)
    series, created = {}, {}
    for run in runs.to_dict("records"):
        rows = forecast_queries.series_forecast(
            engine, run["run_id"], forecast_queries.series_id(run["metric"], "city")
        )
        rows["ds"] = pd.to_datetime(rows["ds"]).dt.date
        series[run["metric"]] = rows[rows["ds"] >= tomorrow].head(FORECAST_DAYS).reset_index(drop=True)
        created[run["metric"]] = run["created_at"]
    return {"available": True, "series": series, "created_at": created}


# ---------------------------------------------------------------- the ticker
def overdue_feedback(engine: Engine, as_of: datetime, days: int, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """Reports open at `as_of` whose due time passed more than `days` days before it, per agency.

    Open: received before `as_of`, not rejected, not resolved by then. Columns agency, reports (most first).
    """
    statement = (
        select(feedback.agency, func.count().label("reports"))
        .where(
            feedback_overdue_at(as_of, due_before=as_of - timedelta(days=days)),
            in_scope(scope, feedback.agency, feedback.area_code),
        )
        .group_by(feedback.agency)
    )
    frame = fetch_frame(engine, statement)
    frame["agency"] = frame["agency"].fillna("–")
    frame["reports"] = pd.to_numeric(frame["reports"]).astype("int64")
    return frame.sort_values(["reports", "agency"], ascending=[False, True]).reset_index(drop=True)


def alert_table(engine: Engine, url: str, *, scope: Scope = WHOLE_CITY) -> dict[str, Any]:
    """The worker's open alerts for the ticker (alert_queries.open_alert_rows), when its alerts job last finished
    (`last_run`) and the number of sensors."""
    ops = ops_engine(url)
    return {
        **alert_queries.open_alert_rows(ops, scope=scope),
        "last_run": alert_queries.last_done_run(ops, "alerts"),
        "sensor_total": forecast_queries.sensor_count(engine),
    }


def ticker_inputs(engine: Engine, as_of: datetime, days: int, *, scope: Scope = WHOLE_CITY) -> dict[str, Any]:
    """Silent sensors, overdue feedback and recent anomalies (empty before any forecast run)."""
    scan_end = forecast_queries.anomaly_scan_end(engine)
    anomalies = (
        forecast_queries.recent_anomalies(
            engine, scan_end - timedelta(days=ANOMALY_DAYS - 1), limit=wall.MAX_ALERT_ANOMALIES
        )
        if scan_end is not None
        else None
    )
    return {
        "silent": traffic_queries.silent_sensors(engine, _whole_day(as_of), as_of),
        "sensor_total": forecast_queries.sensor_count(engine),
        "overdue": overdue_feedback(engine, as_of, days, scope=scope),
        "anomalies": anomalies,
    }
