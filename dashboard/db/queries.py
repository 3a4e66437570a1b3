"""The shared queries: each section's KPI counts (for the city or by area), the daily series, the areas, the
data coverage and the dataset's description, as SQLAlchemy Core with bound parameters. The other modules of
`dashboard.db` named `*_queries` hold the queries of one page or part each (feedback, dossiers, traffic, map,
forecast, quality, briefing, import); the wall's are in `dashboard.wall.data`.

Queries return *counts and aggregates*; the KPI formulas that turn them into
percentages live in `dashboard.metrics`. Each KPI query can be grouped by area so the
city figure and the per-ward map use the same SQL. The feedback and dossier queries count only the cases of their
`scope` keyword (issue 19; `predicates.in_scope`); traffic is a city figure, the same for every role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
from sqlalchemy import (
    Date,
    and_,
    cast,
    func,
    select,
)
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import aggregates, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import within
from dashboard.periods import Period

feedback = schema.feedback.c
dossiers = schema.dossiers.c
sensors = schema.traffic_sensors.c
observations = schema.traffic_observations.c


# Portable expressions (DuckDB and PostgreSQL render these the same way).
def hours_between(start, end):
    # date_part, not extract: on PostgreSQL extract() answers in numeric, whose arithmetic made the medians over
    # millions of rows 2-2.5x slower (docs/benchmarks.md, PostgreSQL scale 1); date_part is double precision there,
    # and DuckDB gives the same values either way.
    return func.date_part("epoch", end - start) / 3600.0


def day_bucket(column):
    return cast(column, Date)


# Page dimensions each fact table can be filtered by (URL parameter name → column); the rollups keep them all.
FEEDBACK_DIMENSIONS = aggregates.FEEDBACK.base_dimensions()
DOSSIER_DIMENSIONS = aggregates.DOSSIERS.base_dimensions()
TRAFFIC_DIMENSIONS = aggregates.TRAFFIC.base_dimensions()


def _median(expression, condition):
    return func.percentile_cont(0.5).within_group(expression).filter(condition)


# ---------------------------------------------------------------- feedback
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
_FEEDBACK_FLOWS = (
    aggregates.RECEIVED,
    aggregates.RESOLVED,
    aggregates.RESOLVED_WITH_DUE,
    aggregates.RESOLVED_ON_TIME,
    aggregates.SATISFACTION,
    aggregates.RATED,
    aggregates.REOPENED,
)


def feedback_counts(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    by_area: bool = False,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    *,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """Counts behind the feedback KPIs for one period (one row, or one row per area with a report received
    before the end): flows over reports received before the end, the backlog open at the end, and the median
    resolution time (always from the reports: a median does not add up). Only the reports `scope` allows."""
    aggregation = aggregates.compile(engine, aggregates.FEEDBACK, period, area_codes, dimensions, scope=scope)
    resolved = and_(within(feedback.resolved_at, period), feedback.received_at < period.end_before)
    median = _median(hours_between(feedback.received_at, feedback.resolved_at), resolved)
    frame = aggregation.frame(
        _FEEDBACK_FLOWS,
        [aggregates.OPEN_FEEDBACK],
        by="area" if by_area else None,
        base_only=[median.label("median_resolution_hours")],
        base_where=resolved,
    )
    return frame[(["area_code"] if by_area else []) + FEEDBACK_COUNT_COLUMNS]


def feedback_daily(
    engine: Engine, period: Period, area_codes: Sequence[str] | None = None, *, scope: Scope = WHOLE_CITY
) -> pd.DataFrame:
    """Feedback received per local day, by category: columns day, category, received."""
    aggregation = aggregates.compile(engine, aggregates.FEEDBACK, period, area_codes, scope=scope)
    by = [aggregation.moment(aggregates.RECEIVED, "date").label("day"), aggregation.column("category")]
    return fetch_frame(engine, aggregation.flows(aggregates.RECEIVED, by=by).order_by(*by))


# ---------------------------------------------------------------- dossiers
DOSSIER_COUNT_COLUMNS = [
    "received",
    "received_online",
    "completed",
    "completed_with_due",
    "completed_on_time",
    "median_lead_time_days",
]
_DOSSIER_FLOWS = (
    aggregates.DOSSIERS_RECEIVED,
    aggregates.DOSSIERS_ONLINE,
    aggregates.COMPLETED,
    aggregates.COMPLETED_WITH_DUE,
    aggregates.COMPLETED_ON_TIME,
)


def dossier_counts(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    by_area: bool = False,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    *,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """Counts behind the dossier KPIs for one period (one row, or one row per area with a dossier received or
    completed in the period); the median lead time from the dossiers themselves. Only the dossiers `scope` allows."""
    aggregation = aggregates.compile(engine, aggregates.DOSSIERS, period, area_codes, dimensions, scope=scope)
    completed = within(dossiers.completed_at, period)
    median = _median(hours_between(dossiers.received_at, dossiers.completed_at) / 24.0, completed)
    frame = aggregation.frame(
        _DOSSIER_FLOWS,
        by="area" if by_area else None,
        base_only=[median.label("median_lead_time_days")],
        base_where=completed,
    )
    return frame[(["area_code"] if by_area else []) + DOSSIER_COUNT_COLUMNS]


def dossier_daily(
    engine: Engine, period: Period, area_codes: Sequence[str] | None = None, *, scope: Scope = WHOLE_CITY
) -> pd.DataFrame:
    """Dossiers received per local day and channel: columns day, channel, received."""
    aggregation = aggregates.compile(engine, aggregates.DOSSIERS, period, area_codes, scope=scope)
    received = aggregates.DOSSIERS_RECEIVED
    by = [aggregation.moment(received, "date").label("day"), aggregation.column("channel")]
    return fetch_frame(engine, aggregation.flows(received, by=by).order_by(*by))


# ---------------------------------------------------------------- traffic
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
    aggregation = aggregates.compile(engine, aggregates.TRAFFIC, period, area_codes, dimensions)
    by = [aggregation.moment(aggregates.VEHICLES, "hour").label("hour")]
    if by_area:
        by.insert(0, aggregation.column("area").label("area_code"))
    statement = aggregation.flows(*aggregates.SPEED_SUMS, by=by, nonzero=False)
    return fetch_frame(engine, statement.order_by(*by))


def traffic_daily(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> pd.DataFrame:
    """Vehicles counted per local day: columns day, vehicles."""
    aggregation = aggregates.compile(engine, aggregates.TRAFFIC, period, area_codes)
    by = [aggregation.moment(aggregates.VEHICLES, "date").label("day")]
    return fetch_frame(engine, aggregation.flows(aggregates.VEHICLES, by=by, nonzero=False).order_by(*by))


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
