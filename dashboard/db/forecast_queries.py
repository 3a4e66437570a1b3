"""Queries of the forecasting feature: the daily series the models learn from, and the stored
forecasts, scores and anomalies the pages read.

A series is named `metric:level[:key]`, e.g. `feedback:city`, `feedback:category:noise`,
`feedback:area:19753`, `dossiers:sector:land`, `traffic:sensor:S01`. Counting happens in SQL,
one row per (series key, local day); `models.series` turns that into complete daily series.
Pages read forecasts only from the run of each metric whose status is `current`.

Scope (issue 19): forecasts, scores and anomalies are city figures — the models learn from every report, and a
series is a count per day, not a list of cases — so every signed-in role sees the same series. The one table
about agencies, `agency_outlook`, lists only the agencies of an officer's scope (none for a ward-only scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, func, inspect, literal, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import schema
from dashboard.db.engine import fetch_frame, fetch_one
from dashboard.db.queries import day_bucket

METRICS = ("feedback", "dossiers", "traffic")
feedback = schema.feedback.c
dossiers = schema.dossiers.c
observations = schema.traffic_observations.c
runs = schema.forecast_runs.c
forecasts = schema.forecasts.c
scores = schema.forecast_scores.c
anomalies = schema.anomalies.c


@dataclass(frozen=True)
class SeriesSource:
    """Where a metric's daily values come from."""

    table: object
    time_column: object
    value: object  # aggregate giving the day's value
    levels: dict[str, object]  # level name → grouping column ("city" has none)


def _sources() -> dict[str, SeriesSource]:
    return {
        "feedback": SeriesSource(
            schema.feedback,
            feedback.received_at,
            func.count(),
            {"city": None, "category": feedback.category, "area": feedback.area_code},
        ),
        "dossiers": SeriesSource(
            schema.dossiers, dossiers.received_at, func.count(), {"city": None, "sector": dossiers.sector}
        ),
        "traffic": SeriesSource(
            schema.traffic_observations,
            observations.observed_at,
            func.sum(observations.vehicle_count),
            {"city": None, "sensor": observations.sensor_id},
        ),
    }


SOURCES = _sources()


def series_id(metric: str, level: str, key: str | None = None) -> str:
    return f"{metric}:{level}" if key is None else f"{metric}:{level}:{key}"


def parse_series_id(value: str) -> tuple[str, str, str | None]:
    """`feedback:area:19753` → ("feedback", "area", "19753"); raises ValueError for unknown ids."""
    parts = value.split(":", 2)
    metric, level = parts[0], parts[1] if len(parts) > 1 else ""
    key = parts[2] if len(parts) > 2 else None
    if metric not in SOURCES or level not in SOURCES[metric].levels or (key is None) != (level == "city"):
        raise ValueError(f"unknown series {value!r}")
    return metric, level, key


def data_span(engine: Engine, metric: str) -> tuple[datetime | None, datetime | None]:
    """Oldest and newest timestamp of a metric's fact table (None, None when it is empty)."""
    source = SOURCES[metric]
    row = fetch_one(
        engine,
        select(
            func.min(source.time_column).label("first_at"), func.max(source.time_column).label("last_at")
        ).select_from(source.table),
    )
    return row.get("first_at"), row.get("last_at")


def daily_values(engine: Engine, metric: str, level: str, start: date, end: date) -> pd.DataFrame:
    """One row per (key, day) with data between start and end inclusive: columns key, ds, y, records.

    `records` is the number of rows behind the value (traffic: 15-minute observations, used to tell
    a complete day from a sensor outage).
    """
    source = SOURCES[metric]
    group = source.levels[level]
    day = day_bucket(source.time_column)
    key = (group if group is not None else literal("city")).label("key")
    columns = [key, day.label("ds"), source.value.label("y"), func.count().label("records")]
    statement = (
        select(*columns)
        .select_from(source.table)
        .where(
            source.time_column >= datetime.combine(start, datetime.min.time()),
            source.time_column < datetime.combine(end + timedelta(days=1), datetime.min.time()),
        )
        .group_by(*([group] if group is not None else []), day)
        .order_by(*([group] if group is not None else []), day)
    )
    if group is not None:
        statement = statement.where(group.is_not(None))
    return fetch_frame(engine, statement)


def series_keys(engine: Engine, metric: str, level: str) -> list[str]:
    """Every key of a level that has data (categories, ward codes, sectors, sensor ids)."""
    group = SOURCES[metric].levels[level]
    if group is None:
        return ["city"]
    frame = fetch_frame(engine, select(group.label("key")).where(group.is_not(None)).distinct().order_by(group))
    return [str(k) for k in frame["key"]]


def sensor_count(engine: Engine) -> int:
    return int(fetch_one(engine, select(func.count().label("n")).select_from(schema.traffic_sensors)).get("n") or 0)


def ward_category_daily(engine: Engine, start: date, end: date) -> pd.DataFrame:
    """Feedback received per ward, category and day (only non-zero cells): columns area_code, category, ds, y."""
    day = day_bucket(feedback.received_at)
    statement = (
        select(feedback.area_code, feedback.category, day.label("ds"), func.count().label("y"))
        .where(
            feedback.area_code.is_not(None),
            feedback.received_at >= datetime.combine(start, datetime.min.time()),
            feedback.received_at < datetime.combine(end + timedelta(days=1), datetime.min.time()),
        )
        .group_by(feedback.area_code, feedback.category, day)
    )
    return fetch_frame(engine, statement)


def series_actuals(engine: Engine, series: str, start: date, end: date) -> pd.DataFrame:
    """Actual daily values of one series between start and end (days with data): columns ds, y."""
    metric, level, key = parse_series_id(series)
    source = SOURCES[metric]
    group = source.levels[level]
    day = day_bucket(source.time_column)
    statement = (
        select(day.label("ds"), source.value.label("y"))
        .select_from(source.table)
        .where(
            source.time_column >= datetime.combine(start, datetime.min.time()),
            source.time_column < datetime.combine(end + timedelta(days=1), datetime.min.time()),
            *([group == key] if group is not None else []),
        )
        .group_by(day)
        .order_by(day)
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- stored results (pages read these)
def forecasts_available(engine: Engine) -> bool:
    """True when the forecast tables exist and at least one run is current."""
    if not inspect(engine).has_table(schema.forecast_runs.name):
        return False
    row = fetch_one(engine, select(func.count().label("n")).where(runs.status == "current"))
    return bool(row.get("n"))


def current_runs(engine: Engine) -> pd.DataFrame:
    """The current run of each metric: columns run_id, created_at, metric, horizon_days, holdout_days."""
    if not inspect(engine).has_table(schema.forecast_runs.name):
        return pd.DataFrame(columns=["run_id", "created_at", "metric", "horizon_days", "holdout_days"])
    statement = (
        select(runs.run_id, runs.created_at, runs.metric, runs.horizon_days, runs.holdout_days)
        .where(runs.status == "current")
        .order_by(runs.metric)
    )
    return fetch_frame(engine, statement)


def _current(run_column):
    """Rows of a current run only (a run being written or replaced is invisible)."""
    return run_column.in_(select(runs.run_id).where(runs.status == "current"))


def series_scores(engine: Engine, run_id: str) -> pd.DataFrame:
    """Scores of every series of a run, one row per series, model and kind (backtest/holdout).

    Columns series_id, model, mase, smape, coverage_80 (the calibrated band), coverage_80_raw (the model's own band;
    NULL on a database whose forecast_scores predates that column), is_holdout, chosen.
    """
    with engine.connect() as connection:
        lacking = schema.missing_columns(connection).get(schema.forecast_scores.name, [])
    raw = literal(None).label("coverage_80_raw") if "coverage_80_raw" in lacking else scores.coverage_80_raw
    statement = (
        select(
            scores.series_id,
            scores.model,
            scores.mase,
            scores.smape,
            scores.coverage_80,
            raw,
            scores.is_holdout,
            scores.chosen,
        )
        .where(scores.run_id == run_id)
        .order_by(scores.series_id, scores.model)
    )
    return fetch_frame(engine, statement)


def series_forecast(engine: Engine, run_id: str, series: str) -> pd.DataFrame:
    """The forecast of one series in a run: columns ds, yhat, yhat_lower, yhat_upper, model."""
    statement = (
        select(forecasts.ds, forecasts.yhat, forecasts.yhat_lower, forecasts.yhat_upper, forecasts.model)
        .where(forecasts.run_id == run_id, forecasts.series_id == series)
        .order_by(forecasts.ds)
    )
    return fetch_frame(engine, statement)


def forecast_totals(engine: Engine, run_id: str, metric: str, level: str, start: date, end: date) -> pd.DataFrame:
    """Forecast totals per series of one level in a run between start and end: columns series_id, yhat, yhat_lower, yhat_upper."""
    prefix = series_id(metric, level) + ("" if level == "city" else ":")
    statement = (
        select(
            forecasts.series_id,
            func.sum(forecasts.yhat).label("yhat"),
            func.sum(forecasts.yhat_lower).label("yhat_lower"),
            func.sum(forecasts.yhat_upper).label("yhat_upper"),
        )
        .where(
            forecasts.series_id.like(prefix + "%") if level != "city" else forecasts.series_id == prefix,
            forecasts.ds >= start,
            forecasts.ds <= end,
            forecasts.run_id == run_id,
        )
        .group_by(forecasts.series_id)
    )
    return fetch_frame(engine, statement)


def category_agency_shares(engine: Engine, start: date, end: date) -> pd.DataFrame:
    """Which agency handled each category's reports received between start and end.

    Columns category, agency, share (of the category's reports with an agency).
    """
    period = and_(
        feedback.received_at >= datetime.combine(start, datetime.min.time()),
        feedback.received_at < datetime.combine(end + timedelta(days=1), datetime.min.time()),
    )
    statement = (
        select(feedback.category, feedback.agency, func.count().label("reports"))
        .where(period, feedback.agency.is_not(None))
        .group_by(feedback.category, feedback.agency)
    )
    frame = fetch_frame(engine, statement)
    if frame.empty:
        return frame.assign(share=pd.Series(dtype=float))
    frame["share"] = frame["reports"] / frame.groupby("category")["reports"].transform("sum")
    return frame[["category", "agency", "share"]]


def agency_resolved_per_week(engine: Engine, start: date, end: date) -> pd.DataFrame:
    """Reports each agency resolved between start and end, per week: columns agency, resolved_per_week."""
    period = and_(
        feedback.resolved_at >= datetime.combine(start, datetime.min.time()),
        feedback.resolved_at < datetime.combine(end + timedelta(days=1), datetime.min.time()),
    )
    weeks = ((end - start).days + 1) / 7.0
    statement = (
        select(feedback.agency, (func.count() / weeks).label("resolved_per_week"))
        .where(period, feedback.agency.is_not(None))
        .group_by(feedback.agency)
    )
    return fetch_frame(engine, statement)


ANOMALY_COLUMNS = [
    "series_id",
    "area_code",
    "area_name",
    "category",
    "ds",
    "actual",
    "expected",
    "lower",
    "upper",
    "size",
]


def anomaly_rows(engine: Engine, conditions: list, order_by: list, limit: int) -> pd.DataFrame:
    """Anomalies of the current feedback run meeting `conditions`, with the ward's name; columns ANOMALY_COLUMNS.
    Empty (with the columns) when no forecast has been run yet."""
    if not inspect(engine).has_table(schema.anomalies.name):
        return pd.DataFrame(columns=ANOMALY_COLUMNS)
    areas = schema.areas.c
    statement = (
        select(*[anomalies[c] for c in ANOMALY_COLUMNS if c != "area_name"], areas.name.label("area_name"))
        .select_from(schema.anomalies.outerjoin(schema.areas, areas.code == anomalies.area_code))
        .where(_current(anomalies.run_id), *conditions)
        .order_by(*order_by)
        .limit(limit)
    )
    return fetch_frame(engine, statement)[ANOMALY_COLUMNS]


def recent_anomalies(
    engine: Engine, since: date, limit: int = 20, area_code: str | None = None, category: str | None = None
) -> pd.DataFrame:
    """Anomalies of the current feedback run on or after `since`, largest first (for the overview and the wall).

    `size` is the robust z-score of the day (see models.anomalies); optionally one ward or category.
    Columns ANOMALY_COLUMNS; empty (with the columns) when no forecast has been run yet.
    """
    conditions = [anomalies.ds >= since]
    conditions += [anomalies.area_code == area_code] if area_code else []
    conditions += [anomalies.category == category] if category else []
    return anomaly_rows(engine, conditions, [func.abs(anomalies.size).desc(), anomalies.ds.desc()], limit)


def ward_category_totals(engine: Engine, start: date, end: date) -> pd.DataFrame:
    """Feedback received per ward and category between start and end: columns area_code, category, y."""
    statement = (
        select(feedback.area_code, feedback.category, func.count().label("y"))
        .where(
            feedback.area_code.is_not(None),
            feedback.received_at >= datetime.combine(start, datetime.min.time()),
            feedback.received_at < datetime.combine(end + timedelta(days=1), datetime.min.time()),
        )
        .group_by(feedback.area_code, feedback.category)
    )
    return fetch_frame(engine, statement)


def sensor_names(engine: Engine) -> dict[str, str]:
    """Sensor id → "name (road)" for labelling traffic series."""
    s = schema.traffic_sensors.c
    frame = fetch_frame(engine, select(s.id, s.name, s.road))
    return {str(row.id): f"{row.name}" for row in frame.itertuples()}


def first_forecast_day(engine: Engine, run_id: str) -> date | None:
    """The first forecast day of a run (the day after the last complete day of its data)."""
    row = fetch_one(engine, select(func.min(forecasts.ds).label("first")).where(forecasts.run_id == run_id))
    first = row.get("first")
    return pd.Timestamp(first).date() if first is not None else None


OUTLOOK_DAYS = 28
SHARE_DAYS = 90
CAPACITY_WEEKS = 8


def agency_outlook(engine: Engine, run_id: str, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """Next four weeks of feedback per agency against what it resolved per week over the last eight.

    The per-category forecasts of a feedback run are split between agencies by each agency's
    share of the category's reports over the last 90 days. Columns agency, forecast_per_week,
    resolved_per_week, load_pct (forecast ÷ resolved × 100; None without resolved reports), largest load first.
    A restricted `scope` keeps the rows of its agencies (the split itself is the city's).
    """
    columns = ["agency", "forecast_per_week", "resolved_per_week", "load_pct"]
    first = first_forecast_day(engine, run_id)
    if first is None:
        return pd.DataFrame(columns=columns)
    totals = forecast_totals(engine, run_id, "feedback", "category", first, first + timedelta(days=OUTLOOK_DAYS - 1))
    if totals.empty:
        return pd.DataFrame(columns=columns)
    totals["category"] = totals["series_id"].str.split(":").str[-1]
    shares = category_agency_shares(engine, first - timedelta(days=SHARE_DAYS), first - timedelta(days=1))
    capacity = agency_resolved_per_week(engine, first - timedelta(days=7 * CAPACITY_WEEKS), first - timedelta(days=1))
    load = totals.merge(shares, on="category")
    load["forecast_per_week"] = load["yhat"] * load["share"] / (OUTLOOK_DAYS / 7)
    outlook = load.groupby("agency", as_index=False)["forecast_per_week"].sum().merge(capacity, on="agency", how="left")
    resolved = outlook["resolved_per_week"].astype(float)
    outlook["load_pct"] = (100 * outlook["forecast_per_week"] / resolved).where(resolved > 0)
    outlook = outlook.sort_values(["load_pct", "forecast_per_week"], ascending=False, na_position="first")
    if scope.restricted:
        outlook = outlook[outlook["agency"].isin(list(scope.agencies))]
    return outlook[columns].reset_index(drop=True)


def anomaly_scan_end(engine: Engine) -> date | None:
    """The last day the current feedback run scanned for anomalies (None before any feedback forecast)."""
    if not inspect(engine).has_table(schema.forecast_runs.name):
        return None
    first = select(func.min(forecasts.ds).label("first")).where(
        forecasts.metric == "feedback", _current(forecasts.run_id)
    )
    row = fetch_one(engine, first)
    return pd.Timestamp(row["first"]).date() - timedelta(days=1) if row.get("first") is not None else None
