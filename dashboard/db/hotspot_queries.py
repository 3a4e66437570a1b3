"""Queries behind hotspots and likely duplicates (dashboard/metrics/hotspots.py computes them): the located reports
of a window, the flagged duplicates, and storing `feedback.duplicate_of`. Bound parameters only."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import schema
from dashboard.db.engine import fetch_frame, run
from dashboard.db.predicates import QueryFilter, in_scope, scope, within
from dashboard.db.queries import FEEDBACK_DIMENSIONS

feedback = schema.feedback.c

REPORT_COLUMNS = (
    feedback.id,
    feedback.source,
    feedback.source_id,
    feedback.category,
    feedback.received_at,
    feedback.resolved_at,
    feedback.status,
    feedback.reopened,
    feedback.lat,
    feedback.lon,
    feedback.area_code,
    feedback.agency,
)


def hotspot_period(query_filter: QueryFilter, days: int) -> QueryFilter:
    """The filter narrowed to the last `days` days of its period (the whole period when shorter)."""
    from dashboard.periods import Period

    period = query_filter.period
    start = max(period.start, period.end - timedelta(days=days - 1))
    return query_filter.with_period(Period(start, period.end))


def located_reports(engine: Engine, query_filter: QueryFilter, categories: tuple[str, ...] = ()) -> pd.DataFrame:
    """The reports received in the filter's period that have a place (lat and lon), with REPORT_COLUMNS."""
    condition = and_(
        within(feedback.received_at, query_filter.period),
        scope(query_filter, feedback.area_code, FEEDBACK_DIMENSIONS),
        feedback.lat.is_not(None),
        feedback.lon.is_not(None),
    )
    if categories:
        condition = and_(condition, feedback.category.in_(categories))
    return _frame(engine, select(*REPORT_COLUMNS).where(condition).order_by(feedback.id))


def _frame(engine: Engine, statement) -> pd.DataFrame:
    """`fetch_frame`, but on DuckDB the rows come to pandas column by column through the driver (a 30-day window at
    scale 1, 376,000 rows: 0.6 s instead of 3 s through SQLAlchemy's row objects). Same bound parameters."""
    if engine.dialect.name != "duckdb":
        return fetch_frame(engine, statement)

    def work(connection: Connection) -> pd.DataFrame:
        compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        values = compiled.construct_params()
        cursor = connection.connection.driver_connection.execute(
            str(compiled), [values[name] for name in compiled.positiontup or []]
        )
        return cursor.df()

    frame = run(engine, work)
    for name in ("lat", "lon"):  # DuckDB keeps them as 32-bit floats
        frame[name] = frame[name].astype("float64")
    for name in ("source", "source_id", "category", "status", "area_code", "agency"):
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


def reports_for_duplicates(engine: Engine, start: datetime, end_before: datetime, hours: int) -> pd.DataFrame:
    """Located reports received in [start − hours, end_before): those that may be flagged and those before them that
    may be their originals."""
    condition = and_(
        feedback.received_at >= start - timedelta(hours=hours),
        feedback.received_at < end_before,
        feedback.lat.is_not(None),
        feedback.lon.is_not(None),
    )
    return _frame(engine, select(*REPORT_COLUMNS).where(condition).order_by(feedback.id))


def has_duplicate_column(engine: Engine) -> bool:
    """Whether the database's feedback table has `duplicate_of` (init-db adds it to older databases)."""
    missing = run(engine, schema.missing_columns)
    return "duplicate_of" not in missing.get(schema.feedback.name, [])


def store_duplicates(connection: Connection, flagged: pd.DataFrame, start: datetime, end_before: datetime) -> int:
    """Set `duplicate_of` for the reports received in [start, end_before): the flagged ones get their original, the
    others NULL (a rerun with other settings forgets old flags). Returns the number flagged."""
    table = schema.feedback
    connection.execute(
        update(table)
        .where(within_instants(start, end_before), table.c.duplicate_of.is_not(None))
        .values(duplicate_of=None)
    )
    rows = [
        {"row_id": int(row.id), "original": int(row.duplicate_of)}
        for row in flagged.itertuples(index=False)
        if row.id is not None
    ]
    if rows:
        statement = update(table).where(table.c.id == bindparam("row_id")).values(duplicate_of=bindparam("original"))
        connection.execute(statement, rows)
    return len(rows)


def within_instants(start: datetime, end_before: datetime):
    return and_(feedback.received_at >= start, feedback.received_at < end_before)


def duplicate_counts(engine: Engine, query_filter: QueryFilter) -> dict[str, int]:
    """Reports received in the period and how many of them are flagged as a likely duplicate (`duplicate_of` set);
    {} when the database has no `duplicate_of` column yet."""
    if not has_duplicate_column(engine):
        return {}
    statement = select(
        func.count().label("received"),
        func.count(schema.feedback.c.duplicate_of).label("duplicates"),
    ).where(
        within(feedback.received_at, query_filter.period),
        scope(query_filter, feedback.area_code, FEEDBACK_DIMENSIONS),
    )
    row = fetch_frame(engine, statement).iloc[0]
    return {"received": int(row["received"]), "duplicates": int(row["duplicates"])}


def reports_by_ids(engine: Engine, ids: list[int], *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """The reports with these ids (a hotspot's drill-down) that `scope` allows, earliest first; duplicate_of when the
    column exists."""
    if not ids:
        return pd.DataFrame(columns=[column.name for column in REPORT_COLUMNS])
    columns = list(REPORT_COLUMNS)
    if has_duplicate_column(engine):
        columns.append(schema.feedback.c.duplicate_of)
    statement = (
        select(*columns)
        .where(feedback.id.in_(bindparam("ids", expanding=True)), in_scope(scope, feedback.agency, feedback.area_code))
        .order_by(feedback.received_at, feedback.id)
    )
    return fetch_frame(engine, statement, {"ids": [int(value) for value in ids]})


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00)."""
    return datetime.combine(start, datetime.min.time()), datetime.combine(end + timedelta(days=1), datetime.min.time())


def hotspots_for(engine: Engine, query_filter: QueryFilter, categories: tuple[str, ...] = (), rules=None):
    """The hotspots of the reports received in the filter's period (dashboard.metrics.hotspots.hotspots)."""
    from dashboard.metrics import hotspots as hs

    rules = rules or hs.Rules.from_settings()
    return hs.hotspots(located_reports(engine, query_filter, categories), rules)


def stored_flags(engine: Engine, start: datetime, end_before: datetime) -> dict[int, int]:
    """{id: duplicate_of} of the flagged reports received in [start, end_before)."""
    statement = select(feedback.id, schema.feedback.c.duplicate_of).where(
        within_instants(start, end_before), schema.feedback.c.duplicate_of.is_not(None)
    )
    frame = fetch_frame(engine, statement)
    return {int(a): int(b) for a, b in zip(frame["id"], frame["duplicate_of"], strict=True)}
