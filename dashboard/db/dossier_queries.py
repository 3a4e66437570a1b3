"""Queries behind the administrative-procedures page ("Thủ tục hành chính"). All aggregation is in SQL.

Every function takes the engine and a `QueryFilter` (period, areas, page dimensions) and returns a
small aggregated frame; percentages use `kpis.percent`, the formula behind the KPI tiles.

Definitions beyond `dashboard.metrics`:
  late                completed in the period after their due_at (completed_with_due − completed_on_time)
  past due (open)     at the instant `as_of`: received before it, not completed by then, not returned or
                      withdrawn, and due_at < as_of. Age = as_of − received_at; overdue = as_of − due_at.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import DateTime, func, literal, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import aggregates, schema
from dashboard.db.engine import fetch_frame, fetch_one
from dashboard.db.predicates import QueryFilter, dossier_past_due_at, in_scope, scope, within
from dashboard.db.queries import DOSSIER_DIMENSIONS, hours_between
from dashboard.metrics import definitions
from dashboard.periods import Period

dossiers = schema.dossiers.c
areas = schema.areas.c

RECORD_LIMIT = 5_000
TOP_PROCEDURES = 15
QUANTILES = (("p10", 0.10), ("p25", 0.25), ("p50", 0.50), ("p75", 0.75), ("p90", 0.90))
GRAINS = ("day", "week")
DAILY_UP_TO_DAYS = 14  # shorter periods show the channel mix per day, longer ones per week


# ---------------------------------------------------------------- building blocks
def _scope(query_filter: QueryFilter):
    return scope(query_filter, dossiers.area_code, DOSSIER_DIMENSIONS)


def _aggregation(engine: Engine, query_filter: QueryFilter, at=()):
    return aggregates.for_filter(engine, aggregates.DOSSIERS, query_filter, at)


def _days(start, end):
    return hours_between(start, end) / 24.0


def as_of_instant(period: Period, now: datetime) -> datetime:
    """The instant the past-due list describes: the end of the period, or `now` when the period has not ended."""
    return min(period.end_before, now.replace(second=0, microsecond=0))


def channel_grain(period: Period) -> str:
    return "day" if period.days <= DAILY_UP_TO_DAYS else "week"


# ---------------------------------------------------------------- filter options
def filter_options(engine: Engine, *, scope: Scope = WHOLE_CITY) -> dict[str, dict[str, str]]:
    """Distinct values of each page dimension among the dossiers `scope` allows: {dimension: {value: display name}}
    (names for procedures)."""
    options: dict[str, dict[str, str]] = {}
    allowed = in_scope(scope, dossiers.agency, dossiers.area_code)
    for name in ("sector", "agency", "channel"):
        column = DOSSIER_DIMENSIONS[name]
        frame = fetch_frame(
            engine, select(column.label("value")).where(column.is_not(None), allowed).distinct().order_by(column)
        )
        options[name] = {str(v): str(v) for v in frame["value"]}
    statement = (
        select(dossiers.procedure_code, func.min(dossiers.procedure_name).label("procedure_name"))
        .where(allowed)
        .group_by(dossiers.procedure_code)
        .order_by(dossiers.procedure_code)
    )
    frame = fetch_frame(engine, statement)
    options["procedure"] = dict(
        zip(frame["procedure_code"].astype(str), frame["procedure_name"].astype(str), strict=True)
    )
    return options


# ---------------------------------------------------------------- figures beside the KPI tiles
def extra_counts(engine: Engine, query_filter: QueryFilter, as_of: datetime) -> dict[str, int]:
    """Dossiers completed late in the period and dossiers open and past due at `as_of`."""
    aggregation = _aggregation(engine, query_filter, at=[as_of])
    period = query_filter.period
    if not aggregation.rolled:
        # On the base rows, one statement per figure, each WHERE narrowed to its rows: completed in the period, and
        # not completed by `as_of` (PostgreSQL: index-only scans of ix_dossiers_completed_cover). As two FILTERs of
        # one statement they read every dossier (2.4 s at 5 M dossiers on PostgreSQL, load average 15, measured).
        # The open ones as two disjoint counts (never completed; completed after `as_of`): an OR of the two lets
        # PostgreSQL only visit the table's pages (a bitmap scan), each half alone reads only the index.
        late = fetch_one(engine, aggregation.flows(aggregates.COMPLETED_LATE)).get("late")
        halves = [
            select(func.count())
            .select_from(schema.dossiers)
            .where(aggregates.PAST_DUE.state(as_of), still_open, aggregation.scope())
            .scalar_subquery()
            for still_open in (dossiers.completed_at.is_(None), dossiers.completed_at >= as_of)
        ]
        past_due = select((halves[0] + halves[1]).label("past_due_open"))
        return {"late": int(late or 0), "past_due_open": int(fetch_one(engine, past_due).get("past_due_open") or 0)}
    late = aggregation.flow(aggregates.COMPLETED_LATE, over=period)
    statement = select(late, aggregation.stock(aggregates.PAST_DUE, as_of, filtered=True, label="past_due_open")).where(
        aggregation.scope()
    )
    row = fetch_one(engine, statement.select_from(aggregation.source))
    return {"late": int(row.get("late") or 0), "past_due_open": int(row.get("past_due_open") or 0)}


# ---------------------------------------------------------------- charts
def channel_mix(engine: Engine, query_filter: QueryFilter, grain: str = "week") -> pd.DataFrame:
    """Dossiers received per day or week (weeks start on Monday) and channel: columns bucket, channel, received."""
    aggregation = _aggregation(engine, query_filter)
    received = aggregates.DOSSIERS_RECEIVED
    by = [aggregation.moment(received, grain, GRAINS).label("bucket"), aggregation.column("channel")]
    frame = fetch_frame(engine, aggregation.flows(received, by=by).order_by(*by))
    frame["bucket"] = pd.to_datetime(frame["bucket"])
    return frame


def lead_time_quantiles(engine: Engine, query_filter: QueryFilter, top: int = TOP_PROCEDURES) -> pd.DataFrame:
    """Lead time (days, received → completed) quantiles of the `top` procedures with most dossiers completed.

    Columns procedure_code, procedure_name, completed, p10, p25, p50, p75, p90; most completed first.
    """
    lead_days = _days(dossiers.received_at, dossiers.completed_at)
    statement = (
        select(
            dossiers.procedure_code,
            func.min(dossiers.procedure_name).label("procedure_name"),
            func.count().label("completed"),
            *[func.percentile_cont(q).within_group(lead_days).label(name) for name, q in QUANTILES],
        )
        .where(within(dossiers.completed_at, query_filter.period), _scope(query_filter))
        .group_by(dossiers.procedure_code)
        .order_by(func.count().desc(), dossiers.procedure_code)
        .limit(top)
    )
    frame = fetch_frame(engine, statement)
    for name, _ in QUANTILES:
        frame[name] = pd.to_numeric(frame[name]).astype(float).round(2)
    return frame


def _with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    frame["late"] = frame["completed_with_due"] - frame["completed_on_time"]
    frame["on_time_pct"] = [
        definitions.percent(a, b) for a, b in zip(frame["completed_on_time"], frame["completed_with_due"], strict=True)
    ]
    frame["late_pct"] = [
        definitions.percent(a, b) for a, b in zip(frame["late"], frame["completed_with_due"], strict=True)
    ]
    for column in ("on_time_pct", "late_pct"):
        frame[column] = frame[column].astype(float)
    return frame


def _outcomes(engine: Engine, query_filter: QueryFilter, key: str, extra: tuple = (), where: tuple = ()):
    """Received, completed, completed with a due time and on time per `key`, over the rows with a dossier
    received or completed in the period; `extra` aggregates (of `Aggregation.column` names) beside them."""
    aggregation = _aggregation(engine, query_filter)
    by = [aggregation.column(key).label(aggregates.DOSSIERS.columns[key][0].name)]
    columns = [func.min(aggregation.column(name)).label(name) for name in extra]
    conditions = [aggregation.column(name).is_not(None) for name in where]
    statement = aggregation.flows(*aggregates.OUTCOMES, by=by, where=conditions, extra=columns)
    return _with_rates(fetch_frame(engine, statement))


def agency_ranking(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per agency: received, completed, on time and late, on-time % — lowest on-time % first.

    Agencies with nothing completed in the period have no on-time % and come last.
    """
    frame = _outcomes(engine, query_filter, "agency", where=("agency",))
    return frame.sort_values(
        ["on_time_pct", "completed", "agency"], ascending=[True, False, True], na_position="last"
    ).reset_index(drop=True)


def procedure_stats(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per procedure: sector, received, completed, on time, late and late % — most received first."""
    frame = _outcomes(engine, query_filter, "procedure", extra=("procedure_name", "sector"))
    return frame.sort_values(["received", "procedure_code"], ascending=[False, True]).reset_index(drop=True)


def top_procedures(stats: pd.DataFrame, by: str, top: int = 10) -> pd.DataFrame:
    """The `top` rows of `procedure_stats` by received volume (`by="received"`) or by late count (`by="late"`)."""
    if by not in ("received", "late"):
        raise ValueError(f"by must be 'received' or 'late', not {by!r}")
    ranked = stats[stats[by] > 0].sort_values([by, "procedure_code"], ascending=[False, True])
    return ranked.head(top).reset_index(drop=True)


def sector_stats(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Per sector: received, completed, on time, late and on-time % — most received first."""
    frame = _outcomes(engine, query_filter, "sector")
    return frame.sort_values(["received", "sector"], ascending=[False, True]).reset_index(drop=True)


# ---------------------------------------------------------------- records
def past_due(engine: Engine, query_filter: QueryFilter, as_of: datetime, limit: int = RECORD_LIMIT) -> pd.DataFrame:
    """Dossiers open and past due at `as_of`, oldest first (at most `limit` rows).

    Columns source_id, procedure_code, procedure_name, sector, agency, area_name, channel, status,
    received_at, due_at, age_days, overdue_days. No personal data is stored, so none can be shown.
    """
    moment = literal(as_of, DateTime())
    statement = (
        select(
            dossiers.source_id,
            dossiers.procedure_code,
            dossiers.procedure_name,
            dossiers.sector,
            dossiers.agency,
            areas.name.label("area_name"),
            dossiers.channel,
            dossiers.status,
            dossiers.received_at,
            dossiers.due_at,
            _days(dossiers.received_at, moment).label("age_days"),
            _days(dossiers.due_at, moment).label("overdue_days"),
        )
        .select_from(schema.dossiers.outerjoin(schema.areas, areas.code == dossiers.area_code))
        .where(dossier_past_due_at(as_of), _scope(query_filter))
        .order_by(dossiers.received_at, dossiers.id)
        .limit(limit)
    )
    frame = fetch_frame(engine, statement)
    for column in ("age_days", "overdue_days"):
        frame[column] = pd.to_numeric(frame[column]).astype(float).round(1)
    return frame


# ---------------------------------------------------------------- what the page shows
PAGE_DIMENSIONS = ("sector", "agency", "procedure", "channel")
LATE_KPI = definitions.KpiDefinition("dossiers", "late", "count", False)
PAST_DUE_KPI = definitions.KpiDefinition("dossiers", "past_due_open", "count", False)


def page_kpis() -> list[definitions.KpiDefinition]:
    """The tiles of the page, in order: received, completed, on-time %, late | online %, lead time, past due."""
    by_name = {d.name: d for d in definitions.KPI_DEFINITIONS if d.section == "dossiers"}
    return [
        by_name["received"],
        by_name["completed"],
        by_name["completed_on_time_pct"],
        LATE_KPI,
        by_name["online_pct"],
        by_name["median_lead_time_days"],
        PAST_DUE_KPI,
    ]
