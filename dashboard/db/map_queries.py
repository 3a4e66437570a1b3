"""Queries behind the map page ("Bản đồ"): individual feedback reports, or their density on a grid.

A city has hundreds of thousands of reports; the browser draws a few thousand points well. So
the page first counts the located reports in the filter: up to `POINT_THRESHOLD` it draws
them one by one (LIMIT as a bound parameter), above it a grid of cells counted in SQL.
Ward figures come from `kpis.compute_area_kpis`, not from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from dashboard.db import aggregates, schema
from dashboard.db.engine import fetch_frame, fetch_one
from dashboard.db.predicates import QueryFilter, scope, within
from dashboard.db.queries import FEEDBACK_DIMENSIONS

feedback = schema.feedback.c

POINT_THRESHOLD = 5_000  # more located reports than this are drawn as a density grid
GRID_DEGREES = 0.01  # grid cell side in degrees (≈ 1.1 km north–south, 1.07 km east–west in Huế)


def _located(query_filter: QueryFilter):
    """Reports received in the period, in the filter's areas/dimensions, that have coordinates."""
    return and_(
        within(feedback.received_at, query_filter.period),
        aggregates.LOCATED.where,
        scope(query_filter, feedback.area_code, FEEDBACK_DIMENSIONS),
    )


def located_feedback_count(engine: Engine, query_filter: QueryFilter) -> int:
    """How many reports of the filter have coordinates."""
    aggregation = aggregates.for_filter(engine, aggregates.FEEDBACK, query_filter)
    return int(fetch_one(engine, aggregation.flows(aggregates.LOCATED, nonzero=False)).get("located") or 0)


def feedback_points(engine: Engine, query_filter: QueryFilter, limit: int = POINT_THRESHOLD) -> pd.DataFrame:
    """The newest `limit` located reports: columns id, received_at, category, status, area_code, lat, lon.

    No contact or free-text field is selected.
    """
    statement = (
        select(
            feedback.id,
            feedback.received_at,
            feedback.category,
            feedback.status,
            feedback.area_code,
            feedback.lat,
            feedback.lon,
        )
        .where(_located(query_filter))
        .order_by(feedback.received_at.desc(), feedback.id)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def feedback_grid(engine: Engine, query_filter: QueryFilter, cell_degrees: float = GRID_DEGREES) -> pd.DataFrame:
    """Located reports counted per square grid cell: columns lat, lon (the cell's centre), reports."""
    cells = (
        select(
            func.floor(feedback.lat / cell_degrees).label("row"), func.floor(feedback.lon / cell_degrees).label("col")
        )
        .where(_located(query_filter))
        .subquery("cells")
    )
    statement = (
        select(cells.c.row, cells.c.col, func.count().label("reports"))
        .group_by(cells.c.row, cells.c.col)
        .order_by(cells.c.row, cells.c.col)
    )
    frame = fetch_frame(engine, statement)
    frame["lat"] = (pd.to_numeric(frame["row"]).astype(float) + 0.5) * cell_degrees
    frame["lon"] = (pd.to_numeric(frame["col"]).astype(float) + 0.5) * cell_degrees
    frame["reports"] = pd.to_numeric(frame["reports"]).astype("int64")
    return frame[["lat", "lon", "reports"]]


@dataclass(frozen=True)
class FeedbackLayer:
    kind: str  # "points" (one marker per report) or "density" (grid cells)
    total: int  # located reports in the filter
    frame: pd.DataFrame  # feedback_points or feedback_grid rows
    threshold: int


def feedback_layer(
    engine: Engine, query_filter: QueryFilter, threshold: int = POINT_THRESHOLD, cell_degrees: float = GRID_DEGREES
) -> FeedbackLayer:
    """The reports themselves when there are at most `threshold`, otherwise their grid density."""
    total = located_feedback_count(engine, query_filter)
    if total <= threshold:
        return FeedbackLayer("points", total, feedback_points(engine, query_filter, threshold), threshold)
    return FeedbackLayer("density", total, feedback_grid(engine, query_filter, cell_degrees), threshold)
