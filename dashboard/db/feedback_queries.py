"""Queries behind the citizen-feedback page ("Phản ánh hiện trường"). All aggregation is in SQL."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import DateTime, and_, case, cast, func, or_, select
from sqlalchemy.engine import Engine

from dashboard.db import rollups, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import QueryFilter, scope
from dashboard.db.queries import (
    FEEDBACK_DIMENSIONS,
    FEEDBACK_ROLLUP_DIMENSIONS,
    hours_between,
    time_bucket,
)

feedback = schema.feedback.c
rollup = schema.rollup_feedback_daily.c
areas = schema.areas.c

GRAINS = ("day", "week", "month")
AGE_BUCKETS = ((0, 3, "0-3"), (3, 7, "3-7"), (7, 14, "7-14"), (14, None, ">14"))
RECORD_LIMIT = 5_000


def _scope(query_filter: QueryFilter):
    return scope(query_filter, feedback.area_code, FEEDBACK_DIMENSIONS)


def _rollup_scope(query_filter: QueryFilter):
    return scope(query_filter, rollup.area_code, FEEDBACK_ROLLUP_DIMENSIONS)


def _received_in(query_filter: QueryFilter):
    period = query_filter.period
    return and_(feedback.received_at >= period.start_at, feedback.received_at < period.end_before)


def _resolved_in(query_filter: QueryFilter):
    period = query_filter.period
    return and_(feedback.resolved_at >= period.start_at, feedback.resolved_at < period.end_before)


def _open_at_end(query_filter: QueryFilter):
    """Received before the end of the period, not resolved by then, not rejected (as kpis.open_backlog)."""
    end = query_filter.period.end_before
    return and_(
        feedback.received_at < end,
        feedback.status != "rejected",
        or_(feedback.resolved_at.is_(None), feedback.resolved_at >= end),
    )


def volume(engine: Engine, query_filter: QueryFilter, grain: str = "day") -> pd.DataFrame:
    """Reports received per day/week/month and category: columns bucket, category, received."""
    if rollups.usable(engine, query_filter.period):
        bucket = time_bucket(cast(rollup.day, DateTime), grain, GRAINS)
        statement = (
            select(bucket.label("bucket"), rollup.category, rollups.total(rollup.received).label("received"))
            .where(rollups.day_range(rollup.day, query_filter.period), rollup.received > 0, _rollup_scope(query_filter))
            .group_by(bucket, rollup.category)
            .order_by(bucket, rollup.category)
        )
        return fetch_frame(engine, statement)
    bucket = time_bucket(feedback.received_at, grain, GRAINS)
    statement = (
        select(bucket.label("bucket"), feedback.category, func.count().label("received"))
        .where(_received_in(query_filter), _scope(query_filter))
        .group_by(bucket, feedback.category)
        .order_by(bucket, feedback.category)
    )
    return fetch_frame(engine, statement)


def _resolution_columns():
    resolved_with_due = feedback.due_at.is_not(None)
    return [
        func.count().label("resolved"),
        func.count().filter(resolved_with_due).label("resolved_with_due"),
        func.count().filter(and_(resolved_with_due, feedback.resolved_at <= feedback.due_at)).label("resolved_on_time"),
        func.count().filter(feedback.reopened.is_(True)).label("reopened"),
    ]


def by_agency(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per agency, over reports resolved in the period: resolved, resolved_with_due, resolved_on_time, reopened,
    plus received in the period and open at its end (the agency's load)."""
    if rollups.usable(engine, query_filter.period):
        resolved, load = _by_agency_rollup(query_filter)
    else:
        resolved, load = _by_agency_base(query_filter)
    frame = fetch_frame(engine, resolved).merge(fetch_frame(engine, load), on="agency", how="outer")
    counts = ["resolved", "resolved_with_due", "resolved_on_time", "reopened", "received", "open_backlog"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    return frame.sort_values("agency").reset_index(drop=True)


def _by_agency_rollup(query_filter: QueryFilter):
    in_period = rollups.day_range(rollup.day, query_filter.period)
    before_end = rollup.day < query_filter.period.end_before.date()
    resolved = (
        select(
            rollup.agency,
            *[
                rollups.total(rollup[name]).label(name)
                for name in ("resolved", "resolved_with_due", "resolved_on_time", "reopened")
            ],
        )
        .where(in_period, _rollup_scope(query_filter))
        .group_by(rollup.agency)
        .having(rollups.total(rollup.resolved) > 0)
    )
    load = (
        select(
            rollup.agency,
            rollups.total(rollup.received, in_period).label("received"),
            (rollups.total(rollup.backlog_in) - rollups.total(rollup.backlog_out)).label("open_backlog"),
        )
        .where(before_end, _rollup_scope(query_filter))
        .group_by(rollup.agency)
        .having(rollups.total(rollup.received) > 0)
    )
    return resolved, load


def _by_agency_base(query_filter: QueryFilter):
    resolved = (
        select(feedback.agency, *_resolution_columns())
        .where(_resolved_in(query_filter), _scope(query_filter))
        .group_by(feedback.agency)
    )
    load = (
        select(
            feedback.agency,
            func.count().filter(_received_in(query_filter)).label("received"),
            func.count().filter(_open_at_end(query_filter)).label("open_backlog"),
        )
        .where(feedback.received_at < query_filter.period.end_before, _scope(query_filter))
        .group_by(feedback.agency)
    )
    return resolved, load


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
        .where(_resolved_in(query_filter), _scope(query_filter))
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
        .where(_open_at_end(query_filter), _scope(query_filter))
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
        .where(_open_at_end(query_filter), feedback.due_at < end, _scope(query_filter))
        .order_by(feedback.received_at, feedback.source_id)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def overdue_count(engine: Engine, query_filter: QueryFilter) -> int:
    end = query_filter.period.end_before
    if rollups.usable_at(engine, end):
        statement = select(rollups.total(rollup.overdue_in) - rollups.total(rollup.overdue_out)).where(
            rollup.day < end.date(), _rollup_scope(query_filter)
        )
        return int(fetch_frame(engine, statement).iloc[0, 0])
    statement = (
        select(func.count())
        .select_from(schema.feedback)
        .where(_open_at_end(query_filter), feedback.due_at < end, _scope(query_filter))
    )
    return int(fetch_frame(engine, statement).iloc[0, 0])


def satisfaction(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Ratings 1–5 given to reports resolved in the period: columns rating, reports (every rating present)."""
    if rollups.usable(engine, query_filter.period):
        statement = select(*[rollups.total(rollup[f"rating_{k}"]).label(str(k)) for k in range(1, 6)]).where(
            rollups.day_range(rollup.day, query_filter.period), _rollup_scope(query_filter)
        )
        row = fetch_frame(engine, statement).iloc[0]
        return pd.DataFrame({"rating": range(1, 6), "reports": [int(row[str(k)]) for k in range(1, 6)]})
    statement = (
        select(feedback.satisfaction.label("rating"), func.count().label("reports"))
        .where(_resolved_in(query_filter), feedback.satisfaction.is_not(None), _scope(query_filter))
        .group_by(feedback.satisfaction)
    )
    frame = fetch_frame(engine, statement)
    frame = frame.set_index("rating").reindex(range(1, 6), fill_value=0).rename_axis("rating").reset_index()
    frame["reports"] = frame["reports"].astype(int)
    return frame


def records(engine: Engine, query_filter: QueryFilter, limit: int = RECORD_LIMIT) -> pd.DataFrame:
    """The newest reports received in the period (no citizen contact data is stored or shown)."""
    statement = (
        select(
            feedback.source_id,
            feedback.received_at,
            feedback.category,
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
        .where(_received_in(query_filter), _scope(query_filter))
        .order_by(feedback.received_at.desc(), feedback.source_id)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def distinct_values(engine: Engine, column_name: str) -> list[str]:
    """Values of a feedback dimension column (category, agency, channel), for filter options."""
    if column_name not in FEEDBACK_DIMENSIONS:
        raise ValueError(f"not a feedback dimension: {column_name!r}")
    column = FEEDBACK_DIMENSIONS[column_name]
    frame = fetch_frame(engine, select(column).where(column.is_not(None)).distinct().order_by(column))
    return [str(v) for v in frame.iloc[:, 0]]
