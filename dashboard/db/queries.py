"""The shared queries: each section's KPI counts (for the city or by area), the daily series, the areas, the
data coverage and the dataset's description, as SQLAlchemy Core with bound parameters. The other modules of
`dashboard.db` named `*_queries` hold the queries of one page or part each (feedback, dossiers, traffic, map,
forecast, quality, briefing, import); the wall's are in `dashboard.wall.data`.

Queries return *counts and aggregates*; the KPI formulas that turn them into
percentages live in `dashboard.metrics`. Each KPI query can be grouped by area so the
city figure and the per-ward map use the same SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Date,
    Double,
    and_,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Engine

from dashboard.db import rollups, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import matches, restrict
from dashboard.periods import Period

feedback = schema.feedback.c
dossiers = schema.dossiers.c
sensors = schema.traffic_sensors.c
observations = schema.traffic_observations.c
feedback_rollup = schema.rollup_feedback_daily.c
dossier_rollup = schema.rollup_dossiers_daily.c
traffic_rollup = schema.rollup_traffic_hourly.c


# Portable expressions (DuckDB and PostgreSQL render these the same way).
def hours_between(start, end):
    return func.extract("epoch", end - start) / 3600.0


def hour_bucket(column):
    return func.date_trunc(literal_column("'hour'"), column)


_TRUNCATION_UNITS = {unit: literal_column(f"'{unit}'") for unit in ("day", "week", "month")}  # fixed names, not input


def time_bucket(column, grain: str, allowed: tuple[str, ...] = ("day", "week", "month")):
    """date_trunc(grain, column) for a grain among `allowed` (weeks start on Monday on both engines)."""
    if grain not in allowed:
        raise ValueError(f"grain must be one of {', '.join(allowed)}, not {grain!r}")
    return func.date_trunc(_TRUNCATION_UNITS[grain], column)


def day_bucket(column):
    return cast(column, Date)


def _within(column, period: Period):
    return and_(column >= period.start_at, column < period.end_before)


# Page dimensions each fact table can be filtered by (URL parameter name → column).
FEEDBACK_DIMENSIONS = {"category": feedback.category, "agency": feedback.agency, "channel": feedback.channel}
DOSSIER_DIMENSIONS = {
    "sector": dossiers.sector,
    "agency": dossiers.agency,
    "procedure": dossiers.procedure_code,
    "channel": dossiers.channel,
}
TRAFFIC_DIMENSIONS = {"sensor": sensors.id, "road": sensors.road}
# The same dimensions on the rollup tables (dashboard.db.rollups), which keep those columns.
FEEDBACK_ROLLUP_DIMENSIONS = {name: feedback_rollup[name] for name in FEEDBACK_DIMENSIONS}
DOSSIER_ROLLUP_DIMENSIONS = {name: dossier_rollup[column.name] for name, column in DOSSIER_DIMENSIONS.items()}
TRAFFIC_ROLLUP_DIMENSIONS = {"sensor": traffic_rollup.sensor_id, "road": traffic_rollup.road}


def _median(expression, condition):
    return func.percentile_cont(0.5).within_group(expression).filter(condition)


def _grouped(columns: list, group_column, by_area: bool):
    return [group_column.label("area_code"), *columns] if by_area else columns


# ---------------------------------------------------------------- feedback
def feedback_counts(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    by_area: bool = False,
    dimensions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Counts behind the feedback KPIs for one period (one row, or one row per area)."""
    if rollups.usable(engine, period):
        return _feedback_counts_rollup(engine, period, area_codes, by_area, dimensions)
    received = _within(feedback.received_at, period)
    resolved = _within(feedback.resolved_at, period)
    resolved_with_due = and_(resolved, feedback.due_at.is_not(None))
    open_at_end = and_(
        feedback.received_at < period.end_before,
        feedback.status != "rejected",
        or_(feedback.resolved_at.is_(None), feedback.resolved_at >= period.end_before),
    )
    columns = [
        func.count().filter(received).label("received"),
        func.count().filter(resolved).label("resolved"),
        func.count().filter(resolved_with_due).label("resolved_with_due"),
        func.count().filter(and_(resolved_with_due, feedback.resolved_at <= feedback.due_at)).label("resolved_on_time"),
        _median(hours_between(feedback.received_at, feedback.resolved_at), resolved).label("median_resolution_hours"),
        func.count().filter(open_at_end).label("open_backlog"),
        func.avg(feedback.satisfaction)
        .filter(and_(resolved, feedback.satisfaction.is_not(None)))
        .label("satisfaction_avg"),
        func.count().filter(and_(resolved, feedback.satisfaction.is_not(None))).label("satisfaction_count"),
        func.count().filter(and_(resolved, feedback.reopened.is_(True))).label("reopened"),
    ]
    statement = select(*_grouped(columns, feedback.area_code, by_area)).where(
        feedback.received_at < period.end_before,
        restrict(feedback.area_code, area_codes, dimensions, FEEDBACK_DIMENSIONS),
    )
    if by_area:
        statement = statement.group_by(feedback.area_code)
    return fetch_frame(engine, statement)


def _with_median(counts: pd.DataFrame, medians: pd.DataFrame, by_area: bool, columns: list[str]) -> pd.DataFrame:
    """The rollup counts with the median column (from the base table) put back in its place."""
    if by_area:
        counts = counts.merge(medians, on="area_code", how="left")
        column = medians.columns[-1]
        if counts[column].isna().all():  # as the base query: None, not NaN, when no area has a median
            counts[column] = pd.Series([None] * len(counts), index=counts.index, dtype=object)
    else:
        counts[medians.columns[0]] = medians.iloc[0, 0] if not medians.empty else None
    return counts[columns]


FEEDBACK_COUNT_COLUMNS = [
    "received",
    "resolved",
    "resolved_with_due",
    "resolved_on_time",
    "median_resolution_hours",
    "open_backlog",
    "satisfaction_avg",
    "satisfaction_count",
    "reopened",
]


def _feedback_counts_rollup(engine: Engine, period: Period, area_codes, by_area: bool, dimensions) -> pd.DataFrame:
    """feedback_counts from the daily rollup; the median (which does not add up) from the reports themselves.

    Two rollup scans: the period's days for the counts, every day before the end for the backlog (state at
    the end). The areas are those of the base query: any report received before the end.
    """
    r = feedback_rollup
    end = period.end_before.date()
    where = restrict(r.area_code, area_codes, dimensions, FEEDBACK_ROLLUP_DIMENSIONS)
    resolved = or_(r.received_late_day.is_(None), r.received_late_day < end)
    rated = r.rating_1 + r.rating_2 + r.rating_3 + r.rating_4 + r.rating_5
    rating_sum = r.rating_1 + 2 * r.rating_2 + 3 * r.rating_3 + 4 * r.rating_4 + 5 * r.rating_5
    counts = [
        rollups.total(r.received).label("received"),
        rollups.total(r.resolved, resolved).label("resolved"),
        rollups.total(r.resolved_with_due, resolved).label("resolved_with_due"),
        rollups.total(r.resolved_on_time, resolved).label("resolved_on_time"),
        (cast(rollups.total(rating_sum, resolved), Double) / func.nullif(rollups.total(rated, resolved), 0)).label(
            "satisfaction_avg"
        ),
        rollups.total(rated, resolved).label("satisfaction_count"),
        rollups.total(r.reopened, resolved).label("reopened"),
    ]
    in_period = select(*_grouped(counts, r.area_code, by_area)).where(rollups.day_range(r.day, period), where)
    state = [
        (rollups.total(r.backlog_in) - rollups.total(r.backlog_out)).label("open_backlog"),
        rollups.total(r.received).label("received_before_end"),
    ]
    at_end = select(*_grouped(state, r.area_code, by_area)).where(r.day < end, where)
    if by_area:
        in_period = in_period.group_by(r.area_code)
        at_end = at_end.group_by(r.area_code).having(rollups.total(r.received) > 0)
    resolved_rows = and_(_within(feedback.resolved_at, period), feedback.received_at < period.end_before)
    median = _median(hours_between(feedback.received_at, feedback.resolved_at), resolved_rows)
    medians = select(*_grouped([median.label("median_resolution_hours")], feedback.area_code, by_area)).where(
        resolved_rows, restrict(feedback.area_code, area_codes, dimensions, FEEDBACK_DIMENSIONS)
    )
    if by_area:
        medians = medians.group_by(feedback.area_code)
    frame = fetch_frame(engine, in_period)
    if by_area:
        frame = fetch_frame(engine, at_end).merge(frame, on="area_code", how="left")
        names = [
            c
            for c in FEEDBACK_COUNT_COLUMNS
            if c not in ("median_resolution_hours", "open_backlog", "satisfaction_avg")
        ]
        frame[names] = frame[names].fillna(0).astype("int64")
    else:
        frame["open_backlog"] = fetch_frame(engine, at_end)["open_backlog"].iloc[0]
    names = (["area_code"] if by_area else []) + FEEDBACK_COUNT_COLUMNS
    return _with_median(frame, fetch_frame(engine, medians), by_area, names)


def feedback_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Feedback received per local day, by category: columns day, category, received."""
    if rollups.usable(engine, period):
        r = feedback_rollup
        statement = (
            select(r.day, r.category, rollups.total(r.received).label("received"))
            .where(rollups.day_range(r.day, period), r.received > 0, matches(r.area_code, area_codes or ()))
            .group_by(r.day, r.category)
            .order_by(r.day, r.category)
        )
        return fetch_frame(engine, statement)
    day = day_bucket(feedback.received_at)
    statement = (
        select(day.label("day"), feedback.category, func.count().label("received"))
        .where(_within(feedback.received_at, period), matches(feedback.area_code, area_codes or ()))
        .group_by(day, feedback.category)
        .order_by(day, feedback.category)
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- dossiers
def dossier_counts(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    by_area: bool = False,
    dimensions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Counts behind the dossier KPIs for one period (one row, or one row per area)."""
    if rollups.usable(engine, period):
        return _dossier_counts_rollup(engine, period, area_codes, by_area, dimensions)
    received = _within(dossiers.received_at, period)
    completed = _within(dossiers.completed_at, period)
    completed_with_due = and_(completed, dossiers.due_at.is_not(None))
    columns = [
        func.count().filter(received).label("received"),
        func.count().filter(and_(received, dossiers.channel == "online")).label("received_online"),
        func.count().filter(completed).label("completed"),
        func.count().filter(completed_with_due).label("completed_with_due"),
        func.count()
        .filter(and_(completed_with_due, dossiers.completed_at <= dossiers.due_at))
        .label("completed_on_time"),
        _median(hours_between(dossiers.received_at, dossiers.completed_at) / 24.0, completed).label(
            "median_lead_time_days"
        ),
    ]
    statement = select(*_grouped(columns, dossiers.area_code, by_area)).where(
        or_(received, completed), restrict(dossiers.area_code, area_codes, dimensions, DOSSIER_DIMENSIONS)
    )
    if by_area:
        statement = statement.group_by(dossiers.area_code)
    return fetch_frame(engine, statement)


DOSSIER_COUNT_COLUMNS = [
    "received",
    "received_online",
    "completed",
    "completed_with_due",
    "completed_on_time",
    "median_lead_time_days",
]


def _dossier_counts_rollup(engine: Engine, period: Period, area_codes, by_area: bool, dimensions) -> pd.DataFrame:
    """dossier_counts from the daily rollup; the median lead time from the dossiers themselves."""
    r = dossier_rollup
    in_period = rollups.day_range(r.day, period)
    columns = [
        rollups.total(r.received).label("received"),
        rollups.total(r.received, r.channel == "online").label("received_online"),
        rollups.total(r.completed).label("completed"),
        rollups.total(r.completed_with_due).label("completed_with_due"),
        rollups.total(r.completed_on_time).label("completed_on_time"),
    ]
    statement = select(*_grouped(columns, r.area_code, by_area)).where(
        in_period, restrict(r.area_code, area_codes, dimensions, DOSSIER_ROLLUP_DIMENSIONS)
    )
    if by_area:  # the areas the base query groups: a dossier received or completed in the period
        statement = statement.group_by(r.area_code).having(rollups.total(r.received + r.completed) > 0)
    completed = _within(dossiers.completed_at, period)
    median = _median(hours_between(dossiers.received_at, dossiers.completed_at) / 24.0, completed)
    medians = select(*_grouped([median.label("median_lead_time_days")], dossiers.area_code, by_area)).where(
        completed, restrict(dossiers.area_code, area_codes, dimensions, DOSSIER_DIMENSIONS)
    )
    if by_area:
        medians = medians.group_by(dossiers.area_code)
    names = (["area_code"] if by_area else []) + DOSSIER_COUNT_COLUMNS
    return _with_median(fetch_frame(engine, statement), fetch_frame(engine, medians), by_area, names)


def dossier_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Dossiers received per local day and channel: columns day, channel, received."""
    if rollups.usable(engine, period):
        r = dossier_rollup
        statement = (
            select(r.day, r.channel, rollups.total(r.received).label("received"))
            .where(rollups.day_range(r.day, period), r.received > 0, matches(r.area_code, area_codes or ()))
            .group_by(r.day, r.channel)
            .order_by(r.day, r.channel)
        )
        return fetch_frame(engine, statement)
    day = day_bucket(dossiers.received_at)
    statement = (
        select(day.label("day"), dossiers.channel, func.count().label("received"))
        .where(_within(dossiers.received_at, period), matches(dossiers.area_code, area_codes or ()))
        .group_by(day, dossiers.channel)
        .order_by(day, dossiers.channel)
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- traffic
def _traffic_join():
    return schema.traffic_observations.join(schema.traffic_sensors, observations.sensor_id == sensors.id)


def traffic_hourly(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    by_area: bool = False,
    dimensions: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Per clock hour: vehicles and the vehicle-weighted sum of travel-time ratios (free flow ÷ speed).

    Columns: [area_code,] hour, vehicles, weighted_vehicles (vehicles with a speed), travel_time_ratio_sum.
    """
    if rollups.usable(engine, period, "hour"):
        r = traffic_rollup
        columns = [
            r.hour,
            cast(func.sum(r.vehicles), BigInteger).label("vehicles"),
            cast(func.sum(r.weighted_vehicles), BigInteger).label("weighted_vehicles"),
            func.sum(r.travel_time_ratio_sum).label("travel_time_ratio_sum"),
        ]
        group = [r.area_code, r.hour] if by_area else [r.hour]
        statement = (
            select(*_grouped(columns, r.area_code, by_area))
            .where(
                r.hour >= period.start_at,
                r.hour < period.end_before,
                restrict(r.area_code, area_codes, dimensions, TRAFFIC_ROLLUP_DIMENSIONS),
            )
            .group_by(*group)
            .order_by(*group)
        )
        return fetch_frame(engine, statement)
    hour = hour_bucket(observations.observed_at)
    has_speed = observations.mean_speed_kmh > 0
    columns = [
        hour.label("hour"),
        func.sum(observations.vehicle_count).label("vehicles"),
        func.sum(observations.vehicle_count).filter(has_speed).label("weighted_vehicles"),
        func.sum(observations.vehicle_count * sensors.free_flow_speed_kmh / observations.mean_speed_kmh)
        .filter(has_speed)
        .label("travel_time_ratio_sum"),
    ]
    group = [sensors.area_code, hour] if by_area else [hour]
    statement = (
        select(*_grouped(columns, sensors.area_code, by_area))
        .select_from(_traffic_join())
        .where(
            _within(observations.observed_at, period),
            restrict(sensors.area_code, area_codes, dimensions, TRAFFIC_DIMENSIONS),
        )
        .group_by(*group)
        .order_by(*group)
    )
    return fetch_frame(engine, statement)


def traffic_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Vehicles counted per local day: columns day, vehicles."""
    if rollups.usable(engine, period):
        r = traffic_rollup
        day = day_bucket(r.hour)
        statement = (
            select(day.label("day"), cast(func.sum(r.vehicles), BigInteger).label("vehicles"))
            .where(r.hour >= period.start_at, r.hour < period.end_before, matches(r.area_code, area_codes or ()))
            .group_by(day)
            .order_by(day)
        )
        return fetch_frame(engine, statement)
    day = day_bucket(observations.observed_at)
    statement = (
        select(day.label("day"), func.sum(observations.vehicle_count).label("vehicles"))
        .select_from(_traffic_join())
        .where(_within(observations.observed_at, period), matches(sensors.area_code, area_codes or ()))
        .group_by(day)
        .order_by(day)
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- reference data and metadata
def area_list(engine: Engine, with_geometry: bool = False) -> pd.DataFrame:
    """Every area with its name, kind, size and population (and GeoJSON geometry when asked)."""
    a = schema.areas.c
    columns = [
        a.code,
        a.name,
        a.name_ascii,
        a.kind,
        a.area_km2,
        a.population,
        a.population_is_estimate,
        a.centroid_lat,
        a.centroid_lon,
    ]
    if with_geometry:
        columns.append(a.geometry_geojson)
    return fetch_frame(engine, select(*columns).order_by(a.name))


def dataset_info(engine: Engine) -> dict[str, str]:
    frame = fetch_frame(engine, select(schema.dataset_info.c.key, schema.dataset_info.c.value))
    return dict(zip(frame["key"], frame["value"], strict=True)) if not frame.empty else {}


def table_coverage(engine: Engine) -> pd.DataFrame:
    """Row count, first and last timestamp of each fact table: columns table, rows, first_at, last_at."""
    frames = []
    for table, column in (
        (schema.feedback, feedback.received_at),
        (schema.dossiers, dossiers.received_at),
        (schema.traffic_observations, observations.observed_at),
    ):
        statement = select(
            func.count().label("rows"), func.min(column).label("first_at"), func.max(column).label("last_at")
        ).select_from(table)
        frame = fetch_frame(engine, statement)
        frame.insert(0, "table", table.name)
        frames.append(frame)
    for table in (schema.areas, schema.traffic_sensors):
        frame = fetch_frame(engine, select(func.count().label("rows")).select_from(table))
        frame.insert(0, "table", table.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
