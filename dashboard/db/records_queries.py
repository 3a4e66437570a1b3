"""The records behind every KPI: the rows its numerator and its denominator count, as SELECTs over the base tables.

Each KPI of `metrics.definitions.KPI_DEFINITIONS` names here the `Flow` or `Stock` of `dashboard.db.aggregates`
that `queries.feedback_counts` / `dossier_counts` / `traffic_hourly` count for it, and the records' WHERE is
derived from that declaration — the flow's event in the period and its `where`, or the stock's `state` at the end
of the period — never written a second time, so the rows listed and the figure shown cannot drift apart:

* a Flow: `start_at ≤ flow.at < end_before` and `flow.where`;
* a Stock: `stock.state(end_before)`;
* a section whose KPIs include a Stock (feedback: the backlog) is counted by `Aggregation.frame` over the rows
  born before the end of the period, so its flows' records are too (a report received after the end but marked
  resolved inside the period is in neither);
* the filter's areas and page dimensions through `predicates.restrict`, as every page query.

What the parts are:

* counts (`feedback.received`, `dossiers.completed`, …): numerator = the rows counted; no denominator;
* percentages: numerator and denominator of the formula (`resolved_on_time_pct`: resolved on time ÷ resolved
  with a due time; `reopened_pct`: reopened ÷ resolved; `online_pct`: received online ÷ received; …);
* medians and the mean (`median_resolution_hours`, `median_lead_time_days`, `satisfaction_avg`): numerator = the
  rows the statistic is computed over (resolved / completed in the period; resolved and rated); no denominator;
* `traffic.vehicles`: the observations in the period; the KPI is the sum of their `vehicle_count`
  (`part_total` gives that sum, `count` the number of observations);
* `traffic.congestion_index_peak`: the observations with a speed in the peak hour — the hour whose index is the
  KPI (the first such hour when several tie); the index recomputed over them is the KPI. `part_total` is their
  vehicles (the index's weight). No denominator.

Rows come "most urgent first": feedback and dossiers by how late they are at the end of the period (hours past
the due time of the resolution / completion, or of the end of the period while still open: overdue longest first,
then due soonest, rows without a due time last), then newest first, then id; observations by travel-time ratio
(slowest first), then newest, then sensor. Paging is server-side (`page`: LIMIT/OFFSET on that total order), and
`count` is its own query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import DateTime, Double, and_, case, func, literal, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from dashboard.access.pii import PII_COLUMNS, mask_records
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import aggregates, queries, schema
from dashboard.db.aggregates import Fact, Flow, Stock
from dashboard.db.engine import fetch_frame, fetch_one
from dashboard.db.predicates import (
    CLOSED_WITHOUT_RESULT,
    FEEDBACK_OUT_OF_BACKLOG,
    QueryFilter,
    in_scope,
    restrict,
    within,
)
from dashboard.metrics.definitions import congestion_index
from dashboard.periods import local_now

F = schema.feedback.c
D = schema.dossiers.c
O = schema.traffic_observations.c  # noqa: E741 - the observations' columns
S = schema.traffic_sensors.c
A = schema.areas.c

PARTS = ("numerator", "denominator")
PAGE_SIZE = 50  # rows per page in the records views
PEAK = "peak_hour"  # a marker: the flow is narrowed to the period's peak congestion hour
AS_OF = "as_of"  # a marker: the stock at the end of the period, or now while the period runs (dossier_queries.as_of_instant)


@dataclass(frozen=True)
class Behind:
    """What a KPI counts: its numerator's rows and, for a ratio, its denominator's."""

    numerator: Flow | Stock
    denominator: Flow | Stock | None = None
    summed: ColumnElement | None = None  # the KPI adds this column over the rows (vehicles) instead of counting them
    narrowed: str | None = None  # PEAK: only the rows of the peak hour

    def part(self, name: str) -> Flow | Stock | None:
        return self.numerator if name == "numerator" else self.denominator


BEHIND: dict[str, Behind] = {
    "feedback.received": Behind(aggregates.RECEIVED),
    "feedback.resolved": Behind(aggregates.RESOLVED),
    "feedback.resolved_on_time_pct": Behind(aggregates.RESOLVED_ON_TIME, aggregates.RESOLVED_WITH_DUE),
    "feedback.median_resolution_hours": Behind(aggregates.RESOLVED),
    "feedback.open_backlog": Behind(aggregates.OPEN_FEEDBACK),
    "feedback.satisfaction_avg": Behind(aggregates.RATED),
    "feedback.reopened_pct": Behind(aggregates.REOPENED, aggregates.RESOLVED),
    "dossiers.received": Behind(aggregates.DOSSIERS_RECEIVED),
    "dossiers.completed": Behind(aggregates.COMPLETED),
    "dossiers.completed_on_time_pct": Behind(aggregates.COMPLETED_ON_TIME, aggregates.COMPLETED_WITH_DUE),
    "dossiers.online_pct": Behind(aggregates.DOSSIERS_ONLINE, aggregates.DOSSIERS_RECEIVED),
    "dossiers.median_lead_time_days": Behind(aggregates.COMPLETED),
    "traffic.vehicles": Behind(aggregates.VEHICLES, summed=O.vehicle_count),
    "traffic.congestion_index_peak": Behind(aggregates.WEIGHTED_VEHICLES, summed=O.vehicle_count, narrowed=PEAK),
}
# Tiles some pages show besides the KPIs (not in `kpi --json`): the same derivation from their declarations.
# feedback.overdue: open and past due at the end of the period (feedback_queries.overdue_count);
# dossiers.late: completed in the period after their due time (dossier_queries.extra_counts' "late");
# dossiers.past_due_open: open and past due at the end of the period, or now while it runs (extra_counts').
PAGE_TILES: dict[str, Behind] = {
    "feedback.overdue": Behind(aggregates.OVERDUE_FEEDBACK),
    "dossiers.late": Behind(aggregates.COMPLETED_LATE),
    "dossiers.past_due_open": Behind(aggregates.PAST_DUE, narrowed=AS_OF),
}
# A section with a Stock among its KPIs is counted over the rows born before the end (Aggregation.frame).
_BORN_BEFORE_END = {
    part.fact.name
    for behind in BEHIND.values()  # (the page tiles' stocks are answered by queries of their own)
    for part in (behind.numerator, behind.denominator)
    if isinstance(part, Stock)
}

# Columns of the records, in order (their labels: i18n keys `records.column.<name>`).
_DONE = {"feedback": F.resolved_at, "dossiers": D.completed_at}


class RecordsError(ValueError):
    """A metric or part that has no records (the message lists what there is)."""


def metric_keys() -> tuple[str, ...]:
    return tuple(BEHIND)


def known(metric: object) -> bool:
    """Whether `metric` has records: a KPI of BEHIND or a page tile of PAGE_TILES."""
    return isinstance(metric, str) and (metric in BEHIND or metric in PAGE_TILES)


def parts_of(metric: str) -> tuple[str, ...]:
    """The parts a metric has: ("numerator",) or ("numerator", "denominator")."""
    behind = _behind(metric)
    return PARTS if behind.denominator is not None else PARTS[:1]


def section_of(metric: str) -> str:
    return _behind(metric).numerator.fact.name


def fact_dimensions(metric: str) -> tuple[str, ...]:
    """The page dimensions the metric's rows can be filtered by (agency, category, sensor, …)."""
    return _behind(metric).numerator.fact.dimensions


def _behind(metric: str) -> Behind:
    if not known(metric):
        raise RecordsError(f"unknown metric {metric!r}; the metrics are {', '.join(BEHIND)}")
    return BEHIND[metric] if metric in BEHIND else PAGE_TILES[metric]


def _measure(metric: str, part: str) -> Flow | Stock:
    behind = _behind(metric)
    if part not in PARTS:
        raise RecordsError(f"unknown part {part!r}; the parts are {', '.join(PARTS)}")
    measure = behind.part(part)
    if measure is None:
        raise RecordsError(f"{metric} has no {part} (a count, median or mean); its parts are: numerator")
    return measure


# ---------------------------------------------------------------- the WHERE
def peak_hour(engine: Engine, query_filter: QueryFilter):
    """The first clock hour of the period with the highest congestion index (as `traffic_kpis` finds it), or None."""
    hourly = queries.traffic_hourly(
        engine, query_filter.period, query_filter.areas or None, dimensions=dict(query_filter.dimensions)
    )
    best, best_hour = None, None
    for hour, ratio_sum, weighted in zip(
        hourly["hour"], hourly["travel_time_ratio_sum"], hourly["weighted_vehicles"], strict=True
    ):
        index = congestion_index(ratio_sum, weighted)
        if index is not None and (best is None or index > best):
            best, best_hour = index, pd.Timestamp(hour).to_pydatetime()
    return best_hour


@dataclass(frozen=True)
class _Window:
    start_at: object
    end_before: object


def condition(engine: Engine, metric: str, part: str, query_filter: QueryFilter) -> ColumnElement:
    """The WHERE of the records behind `metric`'s `part` (see the module docstring)."""
    measure = _measure(metric, part)
    behind, fact, period = _behind(metric), measure.fact, query_filter.period
    end = period.end_before
    if isinstance(measure, Stock):
        if behind.narrowed == AS_OF:
            end = min(end, local_now().replace(second=0, microsecond=0))
        clauses = [measure.state(end)]
    else:
        window = period
        if behind.narrowed == PEAK:
            hour = peak_hour(engine, query_filter)
            if hour is None:
                return literal(False)
            window = _Window(hour, hour + timedelta(hours=1))
        clauses = [within(measure.at, window), *([measure.where] if measure.where is not None else [])]
        if fact.name in _BORN_BEFORE_END:
            clauses.append(fact.born < end)
    clauses.append(_scope(fact, query_filter))
    return and_(*clauses)


def _scope(fact: Fact, query_filter: QueryFilter) -> ColumnElement:
    dimensions = dict(query_filter.dimensions)
    return restrict(fact.columns["area"][0], query_filter.areas, dimensions, fact.base_dimensions(), query_filter.scope)


# ---------------------------------------------------------------- columns and order
def _lateness_hours(fact: Fact, end) -> ColumnElement:
    """Hours past the due time at the completion, or at the end of the period while still open then."""
    table = fact.source.c
    done = _DONE[fact.name]
    until = case((or_(done.is_(None), done >= end), literal(end)), else_=done)
    return queries.hours_between(table.due_at, until)


def _duplicate_of() -> ColumnElement:
    """The source_id of the report this one is flagged as a likely duplicate of (feedback.duplicate_of), or NULL."""
    original = schema.feedback.alias("original")
    return select(original.c.source_id).where(original.c.id == F.duplicate_of).scalar_subquery()


def _columns(fact: Fact, end) -> list[ColumnElement]:
    if fact.name == "feedback":
        return [
            F.id,
            F.source,
            F.source_id,
            F.received_at,
            F.category,
            F.source_category,  # the source's own words for it (issue 17)
            F.channel,
            F.area_code,
            A.name.label("area_name"),
            F.agency,
            F.status,
            F.due_at,
            F.resolved_at,
            _lateness_hours(fact, end).label("late_hours"),
            F.satisfaction,
            F.reopened,
            _duplicate_of().label("duplicate_of"),  # likely duplicate of (the original's source_id; issue 18)
            *(F[name] for name in PII_COLUMNS),  # masked by `_released` unless the user sees them (issue 19)
        ]
    if fact.name == "dossiers":
        return [
            D.id,
            D.source,
            D.source_id,
            D.procedure_code,
            D.procedure_name,
            D.sector,
            D.agency,
            D.area_code,
            A.name.label("area_name"),
            D.channel,
            D.status,
            D.received_at,
            D.due_at,
            D.completed_at,
            (_lateness_hours(fact, end) / 24.0).label("late_days"),
            *(D[name] for name in PII_COLUMNS),
        ]
    return [
        O.sensor_id,
        S.name.label("sensor_name"),
        S.road,
        S.area_code,
        A.name.label("area_name"),
        O.observed_at,
        O.period_minutes,
        O.vehicle_count,
        O.mean_speed_kmh,
        S.free_flow_speed_kmh,
        _travel_time_ratio().label("travel_time_ratio"),
    ]


def _travel_time_ratio() -> ColumnElement:
    # A double divided by a double: typed as an integer, the 0 made SQLAlchemy cast the speed to NUMERIC, and
    # PostgreSQL took 1.9 s instead of 0.9 s to order the month's 1.37 M observations by it (scale 1, load 17).
    return S.free_flow_speed_kmh / func.nullif(O.mean_speed_kmh, 0.0, type_=Double)


def _order(fact: Fact, end) -> list:
    if fact.name == "traffic":
        return [
            _travel_time_ratio().desc().nulls_last(),
            O.observed_at.desc(),
            O.sensor_id,
            O.period_minutes,
            O.vehicle_count,
        ]
    table = fact.source.c
    return [_lateness_hours(fact, end).desc().nulls_last(), fact.born.desc(), table.id]


def column_names(metric: str) -> list[str]:
    """The names of the records' columns (CSV header, i18n keys `records.column.<name>`)."""
    return [c.name for c in _columns(_behind(metric).numerator.fact, datetime(2000, 1, 1))]  # any instant


# ---------------------------------------------------------------- statements
def _source(fact: Fact):
    area_column = fact.columns["area"][0]
    return fact.source.outerjoin(schema.areas, A.code == area_column)


def records_select(engine: Engine, metric: str, part: str, query_filter: QueryFilter) -> Select:
    """Every record behind the part, most urgent first (no limit): what a CSV export holds."""
    fact = _measure(metric, part).fact
    end = query_filter.period.end_before
    where = condition(engine, metric, part, query_filter)
    return select(*_columns(fact, end)).select_from(_source(fact)).where(where).order_by(*_order(fact, end))


def _released(frame: pd.DataFrame, sees_pii: bool) -> pd.DataFrame:
    """The records as they leave the query layer: citizens' personal details masked unless `sees_pii` (the user's
    role is in IOC_PII_ROLES; dashboard/access/pii.py). Records carry no coordinates, so nothing is rounded."""
    return mask_records(frame, sees_pii=sees_pii, exact_locations=True)


def page(
    engine: Engine,
    metric: str,
    part: str,
    query_filter: QueryFilter,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    *,
    sees_pii: bool = False,
) -> pd.DataFrame:
    """One page of the records (server-side LIMIT/OFFSET on the stable most-urgent-first order)."""
    if limit < 1 or offset < 0:
        raise RecordsError(f"a page needs limit ≥ 1 and offset ≥ 0 (got limit {limit}, offset {offset})")
    statement = records_select(engine, metric, part, query_filter).limit(limit).offset(offset)
    return _released(fetch_frame(engine, statement), sees_pii)


def all_records(
    engine: Engine, metric: str, part: str, query_filter: QueryFilter, *, sees_pii: bool = False
) -> pd.DataFrame:
    return _released(fetch_frame(engine, records_select(engine, metric, part, query_filter)), sees_pii)


def count(engine: Engine, metric: str, part: str, query_filter: QueryFilter) -> int:
    """How many records the part has (its own query, without the order or the area names)."""
    fact = _measure(metric, part).fact
    statement = select(func.count().label("n")).select_from(fact.source)
    statement = statement.where(condition(engine, metric, part, query_filter))
    return int(fetch_one(engine, statement).get("n") or 0)


def part_total(engine: Engine, metric: str, part: str, query_filter: QueryFilter) -> int:
    """The figure the KPI's part counts over these records: their number, or their vehicles for traffic."""
    behind, fact = _behind(metric), _measure(metric, part).fact
    measure = func.count() if behind.summed is None else func.coalesce(func.sum(behind.summed), 0)
    statement = select(measure.label("n")).select_from(fact.source)
    statement = statement.where(condition(engine, metric, part, query_filter))
    return int(fetch_one(engine, statement).get("n") or 0)


def statistic(engine: Engine, metric: str, query_filter: QueryFilter) -> float | None:
    """The KPI recomputed over its numerator's records, for the statistics that are not a ratio of two counts
    (median, mean, congestion index): the check that those records are the ones the figure comes from."""
    fact = _measure(metric, "numerator").fact
    where = condition(engine, metric, "numerator", query_filter)
    if metric == "feedback.median_resolution_hours":
        value = _median(queries.hours_between(F.received_at, F.resolved_at))
    elif metric == "dossiers.median_lead_time_days":
        value = _median(queries.hours_between(D.received_at, D.completed_at) / 24.0)
    elif metric == "feedback.satisfaction_avg":
        value = func.avg(F.satisfaction)
    elif metric == "traffic.congestion_index_peak":
        row = fetch_one(
            engine,
            select(
                func.sum(aggregates.TRAVEL_TIME_RATIO_SUM.value).label("ratio"),
                func.sum(O.vehicle_count).label("vehicles"),
            )
            .select_from(fact.source)
            .where(where),
        )
        return congestion_index(row.get("ratio"), row.get("vehicles"))
    else:
        raise RecordsError(f"{metric} is a count or a ratio of counts: compare `part_total` instead")
    row = fetch_one(engine, select(value.label("v")).select_from(fact.source).where(where))
    result = row.get("v")
    return None if result is None else float(result)


def _median(expression):
    return func.percentile_cont(0.5).within_group(expression)


# ---------------------------------------------------------------- "Điểm bị trừ": the cases that cost a unit points
# The scorecard (db/scorecard_queries.py) counts per unit; these are the rows behind the counts it subtracts from,
# with the same conditions written over the same columns (tests/test_drill.py checks the counts agree unit by unit):
#   dossiers_late       in the on-time set and not on time (Tiến độ giải quyết; also the late rate of Hài lòng thủ tục)
#   dossiers_complaint  in the on-time set with a complaint (Hài lòng thủ tục)
#   feedback_late       due in the period and not resolved by the due time (Phản ánh xử lý đúng hạn)
#   feedback_bad        received in the period and rated ≤ 2, reopened or overdue (Hài lòng phản ánh)
POINTS_LOST = ("dossiers_late", "dossiers_complaint", "feedback_late", "feedback_bad")
SCORECARD_UNITS = {"agency": (D.agency, F.agency), "area": (D.area_code, F.area_code)}


def _points_lost_where(
    kind: str, period, as_of: datetime, by: str, unit: str, scope: Scope = WHOLE_CITY
) -> tuple[Fact, ColumnElement]:
    if kind not in POINTS_LOST:
        raise RecordsError(f"unknown kind {kind!r}; the kinds are {', '.join(POINTS_LOST)}")
    if by not in SCORECARD_UNITS:
        raise RecordsError(f"unknown unit {by!r}; expected agency or area")
    start, end = literal(period.start_at, DateTime), literal(as_of, DateTime)
    if kind.startswith("dossiers"):
        in_set = and_(
            D.status.not_in(CLOSED_WITHOUT_RESULT),
            D.due_at.is_not(None),
            D.received_at < end,
            or_(D.received_at >= start, D.completed_at.is_(None), D.completed_at >= start),
        )
        scope = and_(SCORECARD_UNITS[by][0] == unit, in_set, in_scope(scope, D.agency, D.area_code))
        if kind == "dossiers_complaint":
            return aggregates.DOSSIERS, and_(scope, D.complaint.is_(True))
        allowance = func.coalesce(D.supplement_days, 0.0) * 24.0
        done = and_(D.completed_at.is_not(None), D.completed_at < end)
        on_time = and_(
            func.coalesce(D.supplement_requests, 0) <= 1,
            or_(
                and_(done, queries.hours_between(D.due_at, D.completed_at) <= allowance),
                and_(~done, queries.hours_between(D.due_at, end) <= allowance),
            ),
        )
        return aggregates.DOSSIERS, and_(scope, case((on_time, 0), else_=1) == 1)
    kept = F.status != FEEDBACK_OUT_OF_BACKLOG
    scope = and_(SCORECARD_UNITS[by][1] == unit, kept, in_scope(scope, F.agency, F.area_code))
    if kind == "feedback_late":
        due = and_(F.due_at >= start, F.due_at < end)
        return aggregates.FEEDBACK, and_(scope, due, or_(F.resolved_at.is_(None), F.resolved_at > F.due_at))
    total = and_(F.received_at >= start, F.received_at < end)
    overdue = and_(F.due_at < end, or_(F.resolved_at.is_(None), F.resolved_at > F.due_at))
    return aggregates.FEEDBACK, and_(scope, total, or_(F.satisfaction <= 2, F.reopened.is_(True), overdue))


def points_lost_count(
    engine: Engine, period, as_of: datetime, by: str, unit: str, kind: str, *, scope: Scope = WHOLE_CITY
) -> int:
    """How many dossiers or reports of `kind` cost `unit` points in `period` (scorecard's `as_of`: its end or now),
    among the rows `scope` allows."""
    fact, where = _points_lost_where(kind, period, as_of, by, unit, scope)
    row = fetch_one(engine, select(func.count().label("n")).select_from(fact.source).where(where))
    return int(row.get("n") or 0)


def points_lost(
    engine: Engine,
    period,
    as_of: datetime,
    by: str,
    unit: str,
    kind: str,
    limit: int = PAGE_SIZE,
    offset: int = 0,
    *,
    scope: Scope = WHOLE_CITY,
    sees_pii: bool = False,
) -> pd.DataFrame:
    """One page of them, most urgent first (latest past the due time at `as_of`), with the records' columns."""
    if limit < 1 or offset < 0:
        raise RecordsError(f"a page needs limit ≥ 1 and offset ≥ 0 (got limit {limit}, offset {offset})")
    fact, where = _points_lost_where(kind, period, as_of, by, unit, scope)
    statement = select(*_columns(fact, as_of)).select_from(_source(fact)).where(where)
    return _released(
        fetch_frame(engine, statement.order_by(*_order(fact, as_of)).limit(limit).offset(offset)), sees_pii
    )
