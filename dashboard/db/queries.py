"""Every query of the project, as SQLAlchemy Core with bound parameters.

Queries return *counts and aggregates*; the KPI formulas that turn them into
percentages live in `dashboard.kpis`. Each KPI query can be grouped by area so the
city figure and the per-ward map use the same SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from sqlalchemy import Date, and_, cast, func, literal_column, or_, select
from sqlalchemy.engine import Engine

from dashboard.db import schema
from dashboard.db.engine import fetch_frame
from dashboard.db.filters import matches, restrict
from dashboard.periods import Period

feedback = schema.feedback.c
dossiers = schema.dossiers.c
sensors = schema.traffic_sensors.c
observations = schema.traffic_observations.c


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
DOSSIER_DIMENSIONS = {"sector": dossiers.sector, "agency": dossiers.agency, "procedure": dossiers.procedure_code,
                      "channel": dossiers.channel}
TRAFFIC_DIMENSIONS = {"sensor": sensors.id, "road": sensors.road}


def _median(expression, condition):
    return func.percentile_cont(0.5).within_group(expression).filter(condition)


def _grouped(columns: list, group_column, by_area: bool):
    return [group_column.label("area_code"), *columns] if by_area else columns


# ---------------------------------------------------------------- feedback
def feedback_counts(engine: Engine, period: Period, area_codes: Sequence[str] | None = None,
                    by_area: bool = False, dimensions: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Counts behind the feedback KPIs for one period (one row, or one row per area)."""
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
        func.avg(feedback.satisfaction).filter(and_(resolved, feedback.satisfaction.is_not(None))).label("satisfaction_avg"),
        func.count().filter(and_(resolved, feedback.satisfaction.is_not(None))).label("satisfaction_count"),
        func.count().filter(and_(resolved, feedback.reopened.is_(True))).label("reopened"),
    ]
    statement = (
        select(*_grouped(columns, feedback.area_code, by_area))
        .where(feedback.received_at < period.end_before,
               restrict(feedback.area_code, area_codes, dimensions, FEEDBACK_DIMENSIONS))
    )
    if by_area:
        statement = statement.group_by(feedback.area_code)
    return fetch_frame(engine, statement)


def feedback_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Feedback received per local day, by category: columns day, category, received."""
    day = day_bucket(feedback.received_at)
    statement = (
        select(day.label("day"), feedback.category, func.count().label("received"))
        .where(_within(feedback.received_at, period), matches(feedback.area_code, area_codes or ()))
        .group_by(day, feedback.category)
        .order_by(day, feedback.category)
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- dossiers
def dossier_counts(engine: Engine, period: Period, area_codes: Sequence[str] | None = None,
                   by_area: bool = False, dimensions: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Counts behind the dossier KPIs for one period (one row, or one row per area)."""
    received = _within(dossiers.received_at, period)
    completed = _within(dossiers.completed_at, period)
    completed_with_due = and_(completed, dossiers.due_at.is_not(None))
    columns = [
        func.count().filter(received).label("received"),
        func.count().filter(and_(received, dossiers.channel == "online")).label("received_online"),
        func.count().filter(completed).label("completed"),
        func.count().filter(completed_with_due).label("completed_with_due"),
        func.count().filter(and_(completed_with_due, dossiers.completed_at <= dossiers.due_at)).label("completed_on_time"),
        _median(hours_between(dossiers.received_at, dossiers.completed_at) / 24.0, completed).label("median_lead_time_days"),
    ]
    statement = (
        select(*_grouped(columns, dossiers.area_code, by_area))
        .where(or_(received, completed), restrict(dossiers.area_code, area_codes, dimensions, DOSSIER_DIMENSIONS))
    )
    if by_area:
        statement = statement.group_by(dossiers.area_code)
    return fetch_frame(engine, statement)


def dossier_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Dossiers received per local day and channel: columns day, channel, received."""
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


def traffic_hourly(engine: Engine, period: Period, area_codes: Sequence[str] | None = None,
                   by_area: bool = False, dimensions: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """Per clock hour: vehicles and the vehicle-weighted sum of travel-time ratios (free flow ÷ speed).

    Columns: [area_code,] hour, vehicles, weighted_vehicles (vehicles with a speed), travel_time_ratio_sum.
    """
    hour = hour_bucket(observations.observed_at)
    has_speed = observations.mean_speed_kmh > 0
    columns = [
        hour.label("hour"),
        func.sum(observations.vehicle_count).label("vehicles"),
        func.sum(observations.vehicle_count).filter(has_speed).label("weighted_vehicles"),
        func.sum(observations.vehicle_count * sensors.free_flow_speed_kmh / observations.mean_speed_kmh)
        .filter(has_speed).label("travel_time_ratio_sum"),
    ]
    group = [sensors.area_code, hour] if by_area else [hour]
    statement = (
        select(*_grouped(columns, sensors.area_code, by_area))
        .select_from(_traffic_join())
        .where(_within(observations.observed_at, period), restrict(sensors.area_code, area_codes, dimensions, TRAFFIC_DIMENSIONS))
        .group_by(*group)
        .order_by(*group)
    )
    return fetch_frame(engine, statement)


def traffic_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Vehicles counted per local day: columns day, vehicles."""
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
    columns = [a.code, a.name, a.name_ascii, a.kind, a.area_km2, a.population, a.population_is_estimate,
               a.centroid_lat, a.centroid_lon]
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
        statement = select(func.count().label("rows"), func.min(column).label("first_at"), func.max(column).label("last_at")).select_from(table)
        frame = fetch_frame(engine, statement)
        frame.insert(0, "table", table.name)
        frames.append(frame)
    for table in (schema.areas, schema.traffic_sensors):
        frame = fetch_frame(engine, select(func.count().label("rows")).select_from(table))
        frame.insert(0, "table", table.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
