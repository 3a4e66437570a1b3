"""Queries behind the citizen-feedback page ("Phản ánh hiện trường"). All aggregation is in SQL."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import aggregates, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import (
    QueryFilter,
    feedback_on_time,
    feedback_open_at,
    feedback_overdue_at,
    in_scope,
    scope,
    within,
)
from dashboard.db.queries import FEEDBACK_DIMENSIONS, hours_between

feedback = schema.feedback.c
areas = schema.areas.c

GRAINS = ("day", "week", "month")
AGE_BUCKETS = ((0, 3, "0-3"), (3, 7, "3-7"), (7, 14, "7-14"), (14, None, ">14"))
RECORD_LIMIT = 5_000
_RESOLUTION = (aggregates.RESOLVED, aggregates.RESOLVED_WITH_DUE, aggregates.RESOLVED_ON_TIME, aggregates.REOPENED)


def _scope(query_filter: QueryFilter):
    return scope(query_filter, feedback.area_code, FEEDBACK_DIMENSIONS)


def _aggregation(engine: Engine, query_filter: QueryFilter):
    return aggregates.for_filter(engine, aggregates.FEEDBACK, query_filter)


def volume(engine: Engine, query_filter: QueryFilter, grain: str = "day") -> pd.DataFrame:
    """Reports received per day/week/month and category: columns bucket, category, received."""
    aggregation = _aggregation(engine, query_filter)
    bucket = aggregation.moment(aggregates.RECEIVED, grain, GRAINS).label("bucket")
    by = [bucket, aggregation.column("category")]
    return fetch_frame(engine, aggregation.flows(aggregates.RECEIVED, by=by).order_by(*by))


def _resolution_columns():
    """The resolution counts over the rows a statement already keeps (reports resolved in the period)."""
    return [
        func.count().label("resolved"),
        func.count().filter(feedback.due_at.is_not(None)).label("resolved_with_due"),
        func.count().filter(feedback_on_time()).label("resolved_on_time"),
        func.count().filter(feedback.reopened.is_(True)).label("reopened"),
    ]


def by_agency(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per agency, over reports resolved in the period: resolved, resolved_with_due, resolved_on_time, reopened,
    plus received in the period and open at its end (the agency's load)."""
    aggregation = _aggregation(engine, query_filter)
    resolved = aggregation.frame(_RESOLUTION, by="agency")
    load = aggregation.frame([aggregates.RECEIVED], [aggregates.OPEN_FEEDBACK], by="agency")
    frame = resolved.merge(load, on="agency", how="outer")
    counts = ["resolved", "resolved_with_due", "resolved_on_time", "reopened", "received", "open_backlog"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    return frame.sort_values("agency").reset_index(drop=True)


def resolution_by_category(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per category, over reports resolved in the period: resolved, median and 90th-percentile hours, reopened."""
    hours = hours_between(feedback.received_at, feedback.resolved_at)
    statement = (
        select(
            feedback.category,
            *_resolution_columns(),
            func.percentile_cont(0.5).within_group(hours).label("median_resolution_hours"),
            func.percentile_cont(0.9).within_group(hours).label("p90_resolution_hours"),
        )
        .where(within(feedback.resolved_at, query_filter.period), _scope(query_filter))
        .group_by(feedback.category)
        .order_by(feedback.category)
    )
    return fetch_frame(engine, statement)


def backlog_ageing(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Reports open at the end of the period by age then (days): columns age_bucket, open_reports."""
    age_days = hours_between(feedback.received_at, query_filter.period.end_before) / 24.0
    bucket = case(
        *[(age_days < upper, label) for _lower, upper, label in AGE_BUCKETS if upper is not None],
        else_=AGE_BUCKETS[-1][2],
    )
    statement = (
        select(bucket.label("age_bucket"), func.count().label("open_reports"))
        .where(feedback_open_at(query_filter.period.end_before), _scope(query_filter))
        .group_by(bucket)
    )
    frame = fetch_frame(engine, statement)
    order = [label for _lower, _upper, label in AGE_BUCKETS]
    frame = frame.set_index("age_bucket").reindex(order, fill_value=0).rename_axis("age_bucket").reset_index()
    frame["open_reports"] = frame["open_reports"].astype(int)
    return frame


def overdue(engine: Engine, query_filter: QueryFilter, limit: int = RECORD_LIMIT) -> pd.DataFrame:
    """Reports open at the end of the period and already past their due time then, oldest first."""
    end = query_filter.period.end_before
    statement = (
        select(
            feedback.source_id,
            feedback.received_at,
            feedback.category,
            areas.name.label("area"),
            feedback.agency,
            feedback.status,
            feedback.due_at,
            (hours_between(feedback.received_at, end) / 24.0).label("age_days"),
            (hours_between(feedback.due_at, end) / 24.0).label("days_overdue"),
        )
        .select_from(schema.feedback.outerjoin(schema.areas, areas.code == feedback.area_code))
        .where(feedback_overdue_at(end), _scope(query_filter))
        .order_by(feedback.received_at, feedback.source_id)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def overdue_count(engine: Engine, query_filter: QueryFilter) -> int:
    """Reports open at the end of the period and past their due time then."""
    end = query_filter.period.end_before
    aggregation = aggregates.compile(
        engine,
        aggregates.FEEDBACK,
        None,
        query_filter.areas,
        dict(query_filter.dimensions),
        at=[end],
        scope=query_filter.scope,
    )
    return int(fetch_frame(engine, aggregation.state(end, aggregates.OVERDUE_FEEDBACK)).iloc[0, 0])


def satisfaction(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Ratings 1–5 given to reports resolved in the period: columns rating, reports (every rating present)."""
    aggregation = _aggregation(engine, query_filter)
    row = fetch_frame(engine, aggregation.flows(*aggregates.RATINGS.values(), nonzero=False)).iloc[0]
    return pd.DataFrame({"rating": range(1, 6), "reports": [int(row[f"rating_{k}"]) for k in range(1, 6)]})


def records(engine: Engine, query_filter: QueryFilter, limit: int = RECORD_LIMIT) -> pd.DataFrame:
    """The newest reports received in the period (no citizen contact data is stored or shown)."""
    statement = (
        select(
            feedback.source_id,
            feedback.received_at,
            feedback.category,
            feedback.source_category,
            feedback.channel,
            areas.name.label("area"),
            feedback.agency,
            feedback.status,
            feedback.due_at,
            feedback.resolved_at,
            feedback.satisfaction,
            feedback.reopened,
        )
        .select_from(schema.feedback.outerjoin(schema.areas, areas.code == feedback.area_code))
        .where(within(feedback.received_at, query_filter.period), _scope(query_filter))
        .order_by(feedback.received_at.desc(), feedback.source_id)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def distinct_values(engine: Engine, column_name: str, *, scope: Scope = WHOLE_CITY) -> list[str]:
    """Values of a feedback dimension column (category, agency, channel, source_category), for filter options: those
    of the reports `scope` allows."""
    if column_name not in FEEDBACK_DIMENSIONS:
        raise ValueError(f"not a feedback dimension: {column_name!r}")
    column = FEEDBACK_DIMENSIONS[column_name]
    allowed = in_scope(scope, feedback.agency, feedback.area_code)
    frame = fetch_frame(engine, select(column).where(column.is_not(None), allowed).distinct().order_by(column))
    return [str(v) for v in frame.iloc[:, 0]]
