"""Pre-aggregated rollup tables: rebuilding them and deciding whether a query may read them.

`refresh_rollups` rebuilds every rollup from the base tables in one transaction (the demo build
and the importer call it after loading). `usable(engine, period)` says whether the rollups
exist, hold rows, and the period starts and ends on whole days (hours for traffic), which is what
makes a sum over the rollup equal to the count over the base table. Otherwise they read the base
tables, so an old database without rollups keeps working. `dashboard.db.aggregates` asks it once per query
and compiles the declared aggregates against the table it chose; the builder's conditions (on time, in the
backlog, past due) are the rules of `dashboard.db.predicates`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Date,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    inspect,
    literal,
    literal_column,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db import predicates, schema
from dashboard.db.engine import translating_errors

READY_TTL_SECONDS = 30.0  # how long one readiness check is trusted (refresh_rollups forgets it at once)

_ready: weakref.WeakKeyDictionary[Engine, tuple[bool, float]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_disabled = threading.local()

F = schema.feedback.c
D = schema.dossiers.c
O = schema.traffic_observations.c  # noqa: E741 - the observations' columns
S = schema.traffic_sensors.c


# ---------------------------------------------------------------- building the rollups
def _day(column):
    return cast(column, Date)


def _flag(condition):
    return case((condition, 1), else_=0)


def _events(table, dimensions: list, measures: list[str], parts: list[tuple]) -> object:
    """UNION ALL of one SELECT per event kind, each giving (day, dimensions…, extra, measures…) with 0 for
    the measures it does not count; `parts` holds (day expression, {measure: expression}, where, extra)."""
    selects = []
    for day, values, condition, extra in parts:
        columns = [day.label("day"), *dimensions, extra.label("extra")]
        columns += [(values[name] if name in values else literal(0)).label(name) for name in measures]
        selects.append(select(*columns).select_from(table).where(condition))
    return union_all(*selects).subquery("events")


def _grouped(
    target, events, dimension_names: list[str], measures: list[str], extra_name: str | None, days: tuple | None = None
):
    keys = [events.c.day, *[events.c[name] for name in dimension_names]]
    if extra_name:
        keys.append(events.c.extra)
    columns = [*keys, *[cast(func.sum(events.c[name]), BigInteger).label(name) for name in measures]]
    names = ["day", *dimension_names, *([extra_name] if extra_name else []), *measures]
    statement = select(*columns).group_by(*keys).order_by(*keys)
    if days is not None:
        statement = statement.where(events.c.day.between(*days))
    return insert(target).from_select(names, statement)


FEEDBACK_MEASURES = [
    "received",
    "located",
    "resolved",
    "resolved_with_due",
    "resolved_on_time",
    "reopened",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "backlog_in",
    "backlog_out",
    "overdue_in",
    "overdue_out",
]
FEEDBACK_KEYS = ["area_code", "category", "channel", "agency"]


def _feedback_insert(days: tuple | None = None):
    no_day = cast(null(), Date)
    kept = predicates.feedback_in_backlog()  # backlog in/out: the days feedback_open_at turns true / false
    has_due = F.due_at.is_not(None)
    resolved = {
        "resolved": literal(1),
        "resolved_with_due": _flag(has_due),
        "resolved_on_time": _flag(predicates.feedback_on_time()),
        "reopened": _flag(F.reopened.is_(True)),
        **{f"rating_{k}": _flag(F.satisfaction == k) for k in range(1, 6)},
    }
    received_later = case((_day(F.received_at) > _day(F.resolved_at), _day(F.received_at)), else_=no_day)
    parts = [
        (
            _day(F.received_at),
            {
                "received": literal(1),
                "located": _flag(and_(F.lat.is_not(None), F.lon.is_not(None))),
                "backlog_in": _flag(kept),
            },
            literal(True),
            no_day,
        ),
        (_day(F.resolved_at), resolved, F.resolved_at.is_not(None), received_later),
        (
            _day(func.greatest(F.received_at, F.resolved_at)),
            {"backlog_out": literal(1)},
            and_(kept, F.resolved_at.is_not(None)),
            no_day,
        ),
        (_day(func.greatest(F.received_at, F.due_at)), {"overdue_in": literal(1)}, and_(kept, has_due), no_day),
        (
            _day(func.greatest(F.received_at, F.due_at, F.resolved_at)),
            {"overdue_out": literal(1)},
            and_(kept, has_due, F.resolved_at.is_not(None)),
            no_day,
        ),
    ]
    events = _events(schema.feedback, [F[name] for name in FEEDBACK_KEYS], FEEDBACK_MEASURES, parts)
    return _grouped(schema.rollup_feedback_daily, events, FEEDBACK_KEYS, FEEDBACK_MEASURES, "received_late_day", days)


DOSSIER_MEASURES = ["received", "completed", "completed_with_due", "completed_on_time", "past_due_in", "past_due_out"]
DOSSIER_KEYS = ["area_code", "sector", "agency", "procedure_code", "procedure_name", "channel"]


def _dossier_insert(days: tuple | None = None):
    no_day = cast(null(), Date)
    has_due = D.due_at.is_not(None)
    counted = predicates.dossier_counts_for_past_due()  # past due in/out: the days dossier_past_due_at turns true/false
    parts = [
        (_day(D.received_at), {"received": literal(1)}, literal(True), no_day),
        (
            _day(D.completed_at),
            {
                "completed": literal(1),
                "completed_with_due": _flag(has_due),
                "completed_on_time": _flag(predicates.dossier_on_time()),
            },
            D.completed_at.is_not(None),
            no_day,
        ),
        (_day(func.greatest(D.received_at, D.due_at)), {"past_due_in": literal(1)}, counted, no_day),
        (
            _day(func.greatest(D.received_at, D.due_at, D.completed_at)),
            {"past_due_out": literal(1)},
            and_(counted, D.completed_at.is_not(None)),
            no_day,
        ),
    ]
    events = _events(schema.dossiers, [D[name] for name in DOSSIER_KEYS], DOSSIER_MEASURES, parts)
    return _grouped(schema.rollup_dossiers_daily, events, DOSSIER_KEYS, DOSSIER_MEASURES, None, days)


def _traffic_insert(days: tuple | None = None):
    hour = func.date_trunc(literal_column("'hour'"), O.observed_at)  # a fixed unit name
    has_speed = O.mean_speed_kmh > 0
    statement = (
        select(
            hour.label("hour"),
            O.sensor_id,
            func.min(S.area_code).label("area_code"),
            func.min(S.road).label("road"),
            cast(func.sum(O.vehicle_count), BigInteger).label("vehicles"),
            cast(func.sum(O.vehicle_count).filter(has_speed), BigInteger).label("weighted_vehicles"),
            func.sum(O.vehicle_count * S.free_flow_speed_kmh / O.mean_speed_kmh)
            .filter(has_speed)
            .label("travel_time_ratio_sum"),
            func.max(O.observed_at).label("last_observed_at"),
        )
        .select_from(schema.traffic_observations.join(schema.traffic_sensors, O.sensor_id == S.id))
        .group_by(hour, O.sensor_id)
        .order_by(hour, O.sensor_id)
    )
    if days is not None:  # whole days of observations: first day 00:00 to the end of the last day
        statement = statement.where(O.observed_at >= days[0], O.observed_at < days[1] + timedelta(days=1))
    names = [
        "hour",
        "sensor_id",
        "area_code",
        "road",
        "vehicles",
        "weighted_vehicles",
        "travel_time_ratio_sum",
        "last_observed_at",
    ]
    return insert(schema.rollup_traffic_hourly).from_select(names, statement)


_BUILDERS = (
    (schema.rollup_feedback_daily, _feedback_insert),
    (schema.rollup_dossiers_daily, _dossier_insert),
    (schema.rollup_traffic_hourly, _traffic_insert),
)


def _complete(connection: Connection) -> bool:
    """Whether every rollup table exists and a refresh has filled them (a part may then be rebuilt alone)."""
    present = set(inspect(connection).get_table_names())
    if any(table.name not in present for table in schema.ROLLUP_TABLES):
        return False
    return any(connection.execute(select(table.c[0]).limit(1)).first() is not None for table in schema.ROLLUP_TABLES)


def _refresh(connection: Connection, parts: dict | None = None) -> dict[str, int]:
    if connection.dialect.name != "duckdb":
        connection.execute(text("SET LOCAL statement_timeout = 0"))  # a rebuild may outlast the per-query limit
    if parts is not None and not _complete(connection):
        parts = None  # rollups missing or never filled: only a full rebuild makes them match the rows
    for table in schema.ROLLUP_TABLES:
        table.create(connection, checkfirst=True)  # an old database gains the tables on its first refresh
    if connection.dialect.name != "duckdb":
        # Two imports committing at once would each delete the days' rows and insert their own sums: each sum
        # counts both imports' rows once the other has committed, so the days were counted twice (measured).
        # Refreshes of a rollup take turns until the transaction ends; readers are never blocked (EXCLUSIVE mode).
        for table, _build in _BUILDERS:
            if parts is None or table.name in parts:
                connection.execute(text(f'LOCK TABLE "{table.name}" IN EXCLUSIVE MODE'))
    rows = {}
    for table, build in _BUILDERS:
        if parts is not None and table.name not in parts:
            continue
        days = parts.get(table.name) if parts is not None else None
        if days is None:
            connection.execute(delete(table))
        elif table is schema.rollup_traffic_hourly:
            connection.execute(delete(table).where(table.c.hour >= days[0], table.c.hour < days[1] + timedelta(days=1)))
        else:
            connection.execute(delete(table).where(table.c.day.between(*days)))
        connection.execute(build(days))
        rows[table.name] = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        if connection.dialect.name != "duckdb":
            # Fresh statistics for the planner now, not when autovacuum comes by: a full rebuild replaces every
            # row, and at scale 1 (1.6 M to 12.5 M rollup rows) the pages' plans depend on the row estimates.
            connection.execute(text(f'ANALYZE "{table.name}"'))  # a schema table name, not input
    return rows


def refresh_rollups(
    engine: Engine, connection: Connection | None = None, parts: dict[str, tuple[date, date] | None] | None = None
) -> dict[str, int]:
    """Rebuild the rollup tables from the base tables; returns the rows of each rollup rebuilt.

    `parts` limits the work after an import: {rollup table name: (first day, last day) or None for all its days};
    rollups not named are left alone. The rows of those days are deleted and computed again from the base
    tables, so the result equals a full rebuild as long as the base rows outside those days did not change.
    When the rollups are missing or empty the whole set is rebuilt regardless.
    With `connection`, runs inside that caller's open transaction (it commits or rolls back);
    otherwise in a transaction of its own. Readers see the old rollups or the new ones, never half.
    """
    try:
        with translating_errors(engine):
            if connection is not None:
                rows = _refresh(connection, parts)
            else:
                with engine.begin() as own:
                    rows = _refresh(own, parts)
    finally:
        forget(engine)
    return rows


# ---------------------------------------------------------------- deciding whether to read them
def forget(engine: Engine) -> None:
    """Drop the cached readiness of `engine` (after a refresh or a schema rebuild)."""
    with _lock:
        _ready.pop(engine, None)


def _check(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            if any(table.name not in present for table in schema.ROLLUP_TABLES):
                return False
            probes = [
                select(table.c[0]).limit(1).scalar_subquery()
                for table in (schema.rollup_feedback_daily, schema.rollup_dossiers_daily, schema.rollup_traffic_hourly)
            ]
            row = connection.execute(select(*[probe.is_not(None) for probe in probes])).first()
            return bool(row) and any(row)
    except SQLAlchemyError:
        return False


def rollups_ready(engine: Engine) -> bool:
    """True when the rollup tables exist and a refresh has filled them (checked at most every 30 s)."""
    now = time.monotonic()
    with _lock:
        cached = _ready.get(engine)
    if cached is not None and now - cached[1] < READY_TTL_SECONDS:
        return cached[0]
    ready = _check(engine)
    with _lock:
        _ready[engine] = (ready, now)
    return ready


@contextmanager
def disabled() -> Iterator[None]:
    """Within the block this thread's queries read the base tables (tests compare both paths)."""
    previous = getattr(_disabled, "on", False)
    _disabled.on = True
    try:
        yield
    finally:
        _disabled.on = previous


def _aligned(moment: datetime, unit: str) -> bool:
    if moment.second or moment.microsecond or moment.minute:
        return False
    return unit == "hour" or moment.hour == 0


def aligned(*moments: datetime, unit: str = "day") -> bool:
    """Whether every moment is a midnight (unit "day") or a full hour (unit "hour")."""
    return all(_aligned(moment, unit) for moment in moments)


def usable(engine: Engine, period, unit: str = "day") -> bool:
    """Whether a query over `period` (anything with start_at and end_before) may read the rollups."""
    if getattr(_disabled, "on", False):
        return False
    return aligned(period.start_at, period.end_before, unit=unit) and rollups_ready(engine)


def usable_at(engine: Engine, *moments: datetime, unit: str = "day") -> bool:
    """`usable` for queries bounded by single instants (state at a moment, day ranges)."""
    if getattr(_disabled, "on", False):
        return False
    return aligned(*moments, unit=unit) and rollups_ready(engine)
