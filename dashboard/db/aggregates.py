"""Every count and sum the pages show, declared once and compiled against a rollup table or its base table.

A `Flow` counts the rows whose event falls in a period (reports received, dossiers completed on time) or sums a
value over them (vehicles); a `Stock` counts the rows in a state at an instant (reports open, dossiers past
due), with its rule from `dashboard.db.predicates`. `compile` decides once per query whether the rollup may
answer (`usable`: rollups built, the period and instants on whole days — hours for traffic —, the filter's
dimensions kept by the rollup) and returns an `Aggregation` whose methods give the same figures from either
table: the rollup's pre-summed column, or a count over the base rows. The query modules say what they count
(`Aggregation.flows`, `Aggregation.totals`); they never write the two paths themselves.

Medians and percentiles do not add up over days: the query modules read them from the base tables.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import BigInteger, Date, DateTime, Double, and_, cast, func, literal_column, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import predicates, rollups, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import QueryFilter, restrict, within

F = schema.feedback.c
D = schema.dossiers.c
O = schema.traffic_observations.c  # noqa: E741 - the observations' columns
S = schema.traffic_sensors.c
RF = schema.rollup_feedback_daily.c
RD = schema.rollup_dossiers_daily.c
RT = schema.rollup_traffic_hourly.c


# ---------------------------------------------------------------- what is declared
@dataclass(frozen=True, eq=False)
class Fact:
    """A base table, what its queries select from, and its rollup."""

    name: str
    source: object  # the base table, or its join (observations with their sensors)
    rollup: object
    unit: str  # the rollup's time grain: "day" or "hour"
    born: ColumnElement  # when a base row comes into being (received, observed)
    columns: Mapping[str, tuple]  # name → (base column, rollup column): "area", the page dimensions, group keys
    dimensions: tuple[str, ...]  # the names among `columns` the page filters use
    born_rollup: str | None = None  # the rollup column counting rows on the day they are born
    late_births: str | None = None  # the rollup column with the birth day of rows born after their event

    def base_dimensions(self) -> dict[str, ColumnElement]:
        return {name: self.columns[name][0] for name in self.dimensions}


@dataclass(frozen=True, eq=False)
class Flow:
    """Rows whose event (`at`) falls in the period and that meet `where`: counted, or `value` summed.

    `name` is also the rollup column that holds the sum per day (hour) of the event."""

    fact: Fact
    name: str
    at: ColumnElement
    where: ColumnElement | None = None
    value: ColumnElement | None = None
    integer: bool = True  # a sum of integers (cast to BIGINT on the rollup, as the base sum)
    rollup: ColumnElement | None = None  # the rollup expression summed, when not the column `name`
    rollup_where: ColumnElement | None = None  # … over the rollup rows meeting this

    def rolled(self) -> ColumnElement:
        return self.fact.rollup.c[self.name] if self.rollup is None else self.rollup


@dataclass(frozen=True, eq=False)
class Mean:
    """The mean of a flow's `value` over its rows: avg() on the base rows, Σ value ÷ Σ rows on the rollup."""

    name: str
    value: Flow
    rows: Flow


@dataclass(frozen=True, eq=False)
class Stock:
    """Rows in a state at an instant: `state(instant)` on the base rows; on the rollup Σ into − Σ out over the
    days before the instant (rows entering the state on a day, rows leaving it)."""

    fact: Fact
    name: str
    state: object  # instant → condition
    into: str
    out: str


def _sum(terms):
    return functools.reduce(operator.add, terms)


def _pairs(base, rollup, names: Mapping[str, str]) -> dict[str, tuple]:
    return {key: (base[column], rollup[column]) for key, column in names.items()}


FEEDBACK = Fact(
    "feedback",
    schema.feedback,
    schema.rollup_feedback_daily,
    "day",
    F.received_at,
    {
        **_pairs(F, RF, {"area": "area_code", "category": "category", "agency": "agency", "channel": "channel"}),
        "source_category": (F.source_category, None),  # the source's own words: not in the rollup (base table)
    },
    ("category", "agency", "channel", "source_category"),
    "received",
    "received_late_day",
)
DOSSIERS = Fact(
    "dossiers",
    schema.dossiers,
    schema.rollup_dossiers_daily,
    "day",
    D.received_at,
    _pairs(
        D,
        RD,
        {
            "area": "area_code",
            "sector": "sector",
            "agency": "agency",
            "procedure": "procedure_code",
            "channel": "channel",
            "procedure_name": "procedure_name",
        },
    ),
    ("sector", "agency", "procedure", "channel"),
    "received",
)
TRAFFIC = Fact(
    "traffic",
    schema.traffic_observations.join(schema.traffic_sensors, O.sensor_id == S.id),
    schema.rollup_traffic_hourly,
    "hour",
    O.observed_at,
    {"area": (S.area_code, RT.area_code), "sensor": (S.id, RT.sensor_id), "road": (S.road, RT.road)},
    ("sensor", "road"),
)

# feedback
RECEIVED = Flow(FEEDBACK, "received", F.received_at)
LOCATED = Flow(FEEDBACK, "located", F.received_at, and_(F.lat.is_not(None), F.lon.is_not(None)))
RESOLVED = Flow(FEEDBACK, "resolved", F.resolved_at)
RESOLVED_WITH_DUE = Flow(FEEDBACK, "resolved_with_due", F.resolved_at, F.due_at.is_not(None))
RESOLVED_ON_TIME = Flow(FEEDBACK, "resolved_on_time", F.resolved_at, predicates.feedback_on_time())
REOPENED = Flow(FEEDBACK, "reopened", F.resolved_at, F.reopened.is_(True))
RATINGS = {k: Flow(FEEDBACK, f"rating_{k}", F.resolved_at, F.satisfaction == k) for k in range(1, 6)}
_RATED = F.satisfaction.is_not(None)
RATED = Flow(FEEDBACK, "satisfaction_count", F.resolved_at, _RATED, rollup=_sum(RF[f"rating_{k}"] for k in range(1, 6)))
_RATING_SUM = _sum([RF.rating_1, *[k * RF[f"rating_{k}"] for k in range(2, 6)]])
SATISFACTION = Mean(
    "satisfaction_avg", Flow(FEEDBACK, "rating_sum", F.resolved_at, _RATED, F.satisfaction, rollup=_RATING_SUM), RATED
)
OPEN_FEEDBACK = Stock(FEEDBACK, "open_backlog", predicates.feedback_open_at, "backlog_in", "backlog_out")
OVERDUE_FEEDBACK = Stock(FEEDBACK, "overdue", predicates.feedback_overdue_at, "overdue_in", "overdue_out")
# dossiers
DOSSIERS_RECEIVED = Flow(DOSSIERS, "received", D.received_at)
DOSSIERS_ONLINE = Flow(
    DOSSIERS,
    "received_online",
    D.received_at,
    D.channel == "online",
    rollup=RD.received,
    rollup_where=RD.channel == "online",
)
COMPLETED = Flow(DOSSIERS, "completed", D.completed_at)
COMPLETED_WITH_DUE = Flow(DOSSIERS, "completed_with_due", D.completed_at, D.due_at.is_not(None))
COMPLETED_ON_TIME = Flow(DOSSIERS, "completed_on_time", D.completed_at, predicates.dossier_on_time())
COMPLETED_LATE = Flow(
    DOSSIERS,
    "late",
    D.completed_at,
    and_(D.due_at.is_not(None), D.completed_at > D.due_at),
    rollup=RD.completed_with_due - RD.completed_on_time,
)
PAST_DUE = Stock(DOSSIERS, "past_due_open", predicates.dossier_past_due_at, "past_due_in", "past_due_out")
OUTCOMES = (DOSSIERS_RECEIVED, COMPLETED, COMPLETED_WITH_DUE, COMPLETED_ON_TIME)
# traffic: the two sums behind the congestion index (definitions.congestion_index) and the vehicles
_HAS_SPEED = O.mean_speed_kmh > 0
VEHICLES = Flow(TRAFFIC, "vehicles", O.observed_at, value=O.vehicle_count)
WEIGHTED_VEHICLES = Flow(TRAFFIC, "weighted_vehicles", O.observed_at, _HAS_SPEED, O.vehicle_count)
TRAVEL_TIME_RATIO_SUM = Flow(
    TRAFFIC,
    "travel_time_ratio_sum",
    O.observed_at,
    _HAS_SPEED,
    O.vehicle_count * S.free_flow_speed_kmh / O.mean_speed_kmh,
    integer=False,
)
SPEED_SUMS = (VEHICLES, WEIGHTED_VEHICLES, TRAVEL_TIME_RATIO_SUM)


# ---------------------------------------------------------------- compiling them
def usable(engine: Engine, fact: Fact, period=None, instants: Sequence[datetime] = (), dimensions=()) -> bool:
    """Whether the rollup of `fact` answers exactly: built, `period` (start_at/end_before) and `instants` on
    whole days (hours), and every filtered dimension of the fact kept by the rollup."""
    if any(name in fact.dimensions and fact.columns[name][1] is None for name in dict(dimensions or {})):
        return False
    moments = [*instants, *([period.start_at, period.end_before] if period is not None else [])]
    return rollups.usable_at(engine, *moments, unit=fact.unit)


def compile(  # noqa: A001 - the word for what it does
    engine: Engine,
    fact: Fact,
    period=None,
    areas: Sequence[str] | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    at: Sequence[datetime] = (),
    scope: Scope = WHOLE_CITY,
) -> Aggregation:
    """The aggregation of `fact` for one query: over the rollup when `usable`, else over the base rows; only the
    rows `scope` allows (both tables keep the agency and the area)."""
    dimensions = dict(dimensions or {})
    rolled = usable(engine, fact, period, at, dimensions)
    return Aggregation(engine, fact, period, tuple(areas or ()), dimensions, rolled, scope)


def for_filter(engine: Engine, fact: Fact, query_filter: QueryFilter, at: Sequence[datetime] = ()) -> Aggregation:
    filters = (query_filter.period, query_filter.areas, dict(query_filter.dimensions), at, query_filter.scope)
    return compile(engine, fact, *filters)


_UNITS = {unit: literal_column(f"'{unit}'") for unit in ("hour", "day", "week", "month")}  # fixed names, not input


def total(column, condition=None):
    """Σ column (over rows meeting `condition`) as a BIGINT, 0 when there are none, like count()."""
    summed = func.sum(column) if condition is None else func.sum(column).filter(condition)
    return func.coalesce(cast(summed, BigInteger), 0)


@dataclass
class Aggregation:
    engine: Engine
    fact: Fact
    period: object
    areas: tuple[str, ...]
    dimensions: dict
    rolled: bool
    access: Scope = WHOLE_CITY  # the rows the user may see (predicates.in_scope)
    _time: ColumnElement = field(init=False)

    def __post_init__(self):
        self._time = self.fact.rollup.c[self.fact.unit]

    # ---- columns and conditions
    @property
    def source(self):
        return self.fact.rollup if self.rolled else self.fact.source

    def column(self, name: str) -> ColumnElement:
        """A column both tables have ("area", a page dimension, a group key)."""
        return self.fact.columns[name][1 if self.rolled else 0]

    def scope(self) -> ColumnElement:
        """The filter's areas, dimensions and scope."""
        columns = {name: self.column(name) for name in self.fact.dimensions}
        return restrict(self.column("area"), self.areas, self.dimensions, columns, self.access)

    def _instant(self, moment):
        return moment.date() if self.fact.unit == "day" and isinstance(moment, datetime) else moment

    def _span(self, column, start, end) -> ColumnElement:
        clauses = [] if start is None else [column >= self._instant(start)]
        return and_(*clauses, column < self._instant(end))

    def happened(self, *flows: Flow, period=None, nonzero: bool = True) -> ColumnElement:
        """Rows where one of `flows` has its event in the period (the rollup's days or hours of the period,
        with one of the flows' sums above zero unless `nonzero` is False)."""
        period = period or self.period
        if self.rolled:
            span = self._span(self._time, period.start_at, period.end_before)
            if not nonzero or not flows:
                return span
            # A flow without a condition holds every row of its event's flows with one: its sum is enough.
            counted = [_counted(f) for f in flows]
            events = {id(f.at) for f in counted if f.where is None}
            counted = [f for f in counted if f.where is None or id(f.at) not in events]
            return and_(span, _sum(f.rolled() for f in counted) > 0)
        events = list({id(column): column for column in (_counted(f).at for f in flows)}.values())
        return or_(*[within(column, period) for column in events]) if len(events) > 1 else within(events[0], period)

    def before(self, instant, flow: Flow | None = None) -> ColumnElement:
        """Rows whose event (the row's birth by default) comes before `instant`."""
        if self.rolled:
            return self._time < self._instant(instant)
        return (self.fact.born if flow is None else flow.at) < instant

    def moment(self, flow: Flow, grain: str | None = None, allowed: tuple[str, ...] = ("hour", "day", "week", "month")):
        """The time of the flow's event: raw (None), its date ("date"), its clock hour ("hour") or truncated
        to a day, week (starting on Monday) or month (a timestamp)."""
        column = self._time if self.rolled else flow.at
        if grain is None:
            return column
        if grain == "date":
            return column if self.rolled and self.fact.unit == "day" else cast(column, Date)
        if grain not in allowed:
            raise ValueError(f"grain must be one of {', '.join(allowed)}, not {grain!r}")
        if grain == "hour":
            if self.rolled and self.fact.unit != "hour":
                raise ValueError(f"the {self.fact.name} rollup has no hours")
            return column if self.rolled else func.date_trunc(_UNITS["hour"], column)
        if self.rolled and self.fact.unit == "day":
            column = cast(column, DateTime)
        return func.date_trunc(_UNITS[grain], column)

    # ---- measures
    def flow(self, flow: Flow | Mean, also: ColumnElement | None = None, over=None, label: str | None = None):
        """The flow over the period, labelled with its name. On the rollup the statement's WHERE must keep only
        the period (`happened`) unless `over` names the period here (a FILTER)."""
        label = label or flow.name
        if isinstance(flow, Mean):
            if not self.rolled:
                value = flow.value
                condition = [within(value.at, over or self.period), *[c for c in (value.where, also) if c is not None]]
                return func.avg(value.value).filter(and_(*condition)).label(label)
            where = [] if over is None else [self._span(self._time, over.start_at, over.end_before)]
            where = and_(*where, also) if also is not None else (and_(*where) if where else None)
            summed = cast(total(flow.value.rolled(), where), Double)
            return (summed / func.nullif(total(flow.rows.rolled(), where), 0)).label(label)
        if self.rolled:
            condition = [] if over is None else [self._span(self._time, over.start_at, over.end_before)]
            condition += [c for c in (flow.rollup_where, also) if c is not None]
            column = flow.rolled()
            where = and_(*condition) if condition else None
            if flow.value is None:
                return total(column, where).label(label)
            summed = func.sum(column) if where is None else func.sum(column).filter(where)
            return (cast(summed, BigInteger) if flow.integer else summed).label(label)
        period = over or self.period
        condition = [] if period is None else [within(flow.at, period)]
        condition += [c for c in (flow.where, also) if c is not None]
        measure = func.count() if flow.value is None else func.sum(flow.value)
        return (measure.filter(and_(*condition)) if condition else measure).label(label)

    def stock(self, stock: Stock, instant, filtered: bool = False, label: str | None = None):
        """Rows in the stock's state at `instant`. On the rollup the statement's WHERE must keep only the days
        before the instant (`before`) unless `filtered`."""
        label = label or stock.name
        if self.rolled:
            where = self._time < self._instant(instant) if filtered else None
            rollup = self.fact.rollup.c
            return (total(rollup[stock.into], where) - total(rollup[stock.out], where)).label(label)
        return func.count().filter(stock.state(instant)).label(label)

    def base_scope(self) -> ColumnElement:
        """`scope` on the base table (for the figures that never come from the rollup)."""
        columns = {name: self.fact.columns[name][0] for name in self.fact.dimensions}
        return restrict(self.fact.columns["area"][0], self.areas, self.dimensions, columns, self.access)

    # ---- statements
    def flows(self, *flows: Flow, by: Sequence = (), where: Sequence = (), extra: Sequence = (), nonzero: bool = True):
        """SELECT by…, extra…, flows… over the period's rows, grouped by `by` (labelled `column`/`moment`
        expressions); `extra` are further aggregates of the columns both tables have."""
        statement = (
            select(*by, *extra, *[self.flow(f) for f in flows])
            .select_from(self.source)
            .where(self.happened(*flows, nonzero=nonzero), *where, self.scope())
        )
        return statement.group_by(*by) if by else statement

    def state(self, instant, *stocks: Stock):
        """SELECT stocks… at `instant` (one row)."""
        columns = [self.stock(s, instant) for s in stocks]
        return select(*columns).select_from(self.source).where(self.before(instant), self.scope())

    def frame(
        self,
        flows: Sequence[Flow] = (),
        stocks: Sequence[Stock] = (),
        by: str | None = None,
        base_only: Sequence = (),
        base_where: ColumnElement | None = None,
    ) -> pd.DataFrame:
        """One row (or one per `by` column) of `flows` over the period, `stocks` at its end and `base_only`
        figures (medians: labelled base expressions over the rows meeting `base_where`).

        Without stocks the groups are those with a flow in the period; with stocks, those with a row born before
        the end (and the flows count only such rows). The base table answers in one statement; the rollup in one
        scan of the period's days, one of the days before the end for the stocks, and the base rows for
        `base_only`."""
        label = self.fact.columns[by][0].name if by else None
        key = [self.column(by).label(label)] if by else []
        names = [*([label] if by else []), *[f.name for f in flows], *[s.name for s in stocks]]
        names += [column.name for column in base_only]
        end = self.period.end_before
        if not self.rolled:
            columns = [*key, *[self.flow(f) for f in flows], *[self.stock(s, end) for s in stocks], *base_only]
            where = self.before(end) if stocks else self.happened(*flows)
            statement = select(*columns).select_from(self.source).where(where, self.scope())
            return fetch_frame(self.engine, statement.group_by(*key) if key else statement)[names]
        rollup = self.fact.rollup.c
        if stocks:
            # One flow is a FILTER in the stocks' scan of the days before the end; several have their own scan of
            # the period's days (cheaper than a FILTER each over the whole history).
            born = rollup[self.fact.born_rollup]
            late = self._born_before(end)
            fold = len(flows) <= 1
            columns = [
                self.flow(f, None if _counted(f).at is self.fact.born else late, self.period if fold else None)
                for f in flows
            ]
            counts = None if fold else select(*key, *columns).where(self.happened(), self.scope())
            state = select(*key, *(columns if fold else []), *[self.stock(s, end) for s in stocks])
            state = state.where(self.before(end), self.scope())
            if key:
                state = state.group_by(*key).having(total(born) > 0)
            if counts is None:
                return self._beside_base(fetch_frame(self.engine, state), names, label, by, base_only, base_where)
        else:
            counts = select(*key, *[self.flow(f) for f in flows]).where(self.happened(*flows), self.scope())
            state = None
        frame = fetch_frame(self.engine, counts.group_by(*key) if key else counts)
        if state is not None:
            at_end = fetch_frame(self.engine, state)
            if key:
                frame = at_end.merge(frame, on=label, how="left")
                counted = [f.name for f in flows if isinstance(f, Flow)]
                frame[counted] = frame[counted].fillna(0).astype("int64")
            else:
                frame = pd.concat([frame, at_end], axis=1)
        return self._beside_base(frame, names, label, by, base_only, base_where)

    def _beside_base(self, frame, names, label, by, base_only, base_where) -> pd.DataFrame:
        if base_only:
            base_key = [self.fact.columns[by][0]] if by else []
            extra = select(*[c.label(label) for c in base_key], *base_only).where(base_where, self.base_scope())
            frame = _beside(frame, fetch_frame(self.engine, extra.group_by(*base_key) if by else extra), label)
        return frame[names]

    def _born_before(self, instant) -> ColumnElement | None:
        """On the rollup: rows born before `instant`, among those counted on an earlier event's day."""
        if self.fact.late_births is None:
            return None
        late = self.fact.rollup.c[self.fact.late_births]
        return or_(late.is_(None), late < self._instant(instant))


def _counted(flow: Flow | Mean) -> Flow:
    return flow.rows if isinstance(flow, Mean) else flow


def _beside(frame: pd.DataFrame, extra: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The rollup figures with the base-only columns put beside them (None, not NaN, where none)."""
    if by:
        frame = frame.merge(extra, on=by, how="left")
        for column in extra.columns.drop(by):
            if frame[column].isna().all():
                frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        return frame
    for column in extra.columns:
        frame[column] = extra[column].iloc[0] if not extra.empty else None
    return frame
