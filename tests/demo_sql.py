"""Expected figures for the page and CLI tests, counted with plain SQL written here against the base tables.

Nothing here calls the dashboard's query or KPI modules: each function states a KPI definition of
`metrics.definitions` as its own SQL (periods are inclusive local days, so a period ends before the next
midnight), so a test that compares a tile with these figures checks the app, not the app against itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text

from dashboard.db.engine import make_engine
from dashboard.periods import Period


def _bounds(period: Period) -> dict[str, datetime]:
    start = datetime.combine(period.start, datetime.min.time())
    return {"start": start, "end": start + timedelta(days=(period.end - period.start).days + 1)}


def _in(column: str, name: str, values: Sequence[str]) -> str:
    """ "AND column IN :name" when values are given (bound as a list), nothing otherwise."""
    return f"AND {column} IN :{name}" if values else ""


def _one_row(url: str, sql: str, **params) -> dict:
    """The single row of `sql`; list parameters are bound as IN lists, empty ones are left out."""
    lists = [name for name, value in params.items() if isinstance(value, list | tuple)]
    statement = text(sql)
    for name in lists:
        if params[name]:
            statement = statement.bindparams(bindparam(name, expanding=True))
            params[name] = list(params[name])
        else:
            del params[name]
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            return dict(connection.execute(statement, params).mappings().one())
    finally:
        engine.dispose()


def percent(part: int, whole: int) -> float | None:
    """100 × part ÷ whole to one decimal, as every percentage KPI is defined; None without a denominator."""
    return round(100.0 * part / whole, 1) if whole else None


def feedback_figures(
    url: str, period: Period, areas: Sequence[str] = (), columns: Mapping[str, Sequence[str]] | None = None
) -> dict:
    """feedback.received, resolved and resolved_on_time_pct (with the two counts behind it); `columns` narrows by
    other feedback columns (e.g. category)."""
    columns = dict(columns or {})
    narrowing = " ".join(_in(column, column, values) for column, values in columns.items())
    row = _one_row(
        url,
        f"""
        SELECT
            count(*) FILTER (WHERE received_at >= :start AND received_at < :end) AS received,
            count(*) FILTER (WHERE resolved_at >= :start AND resolved_at < :end) AS resolved,
            count(*) FILTER (WHERE resolved_at >= :start AND resolved_at < :end AND due_at IS NOT NULL)
                AS resolved_with_due,
            count(*) FILTER (WHERE resolved_at >= :start AND resolved_at < :end AND resolved_at <= due_at)
                AS resolved_on_time
        FROM feedback
        WHERE TRUE {_in("area_code", "areas", areas)} {narrowing}
        """,
        areas=areas,
        **columns,
        **_bounds(period),
    )
    row["resolved_on_time_pct"] = percent(row["resolved_on_time"], row["resolved_with_due"])
    return row


def dossier_figures(
    url: str, period: Period, areas: Sequence[str] = (), columns: Mapping[str, Sequence[str]] | None = None
) -> dict:
    """dossiers.received and completed; `columns` narrows by other dossier columns (e.g. sector, channel)."""
    columns = dict(columns or {})
    narrowing = " ".join(_in(column, column, values) for column, values in columns.items())
    return _one_row(
        url,
        f"""
        SELECT
            count(*) FILTER (WHERE received_at >= :start AND received_at < :end) AS received,
            count(*) FILTER (WHERE completed_at >= :start AND completed_at < :end) AS completed
        FROM dossiers
        WHERE TRUE {_in("area_code", "areas", areas)} {narrowing}
        """,
        areas=areas,
        **columns,
        **_bounds(period),
    )


def traffic_vehicles(url: str, period: Period, areas: Sequence[str] = ()) -> int:
    """traffic.vehicles: the vehicles counted by the sensors (of `areas`) in the period."""
    row = _one_row(
        url,
        f"""
        SELECT coalesce(sum(o.vehicle_count), 0) AS vehicles
        FROM traffic_observations AS o JOIN traffic_sensors AS s ON s.id = o.sensor_id
        WHERE o.observed_at >= :start AND o.observed_at < :end {_in("s.area_code", "areas", areas)}
        """,
        areas=areas,
        **_bounds(period),
    )
    return int(row["vehicles"])


def past_due_open_dossiers(
    url: str, as_of: datetime, areas: Sequence[str] = (), columns: Mapping[str, Sequence[str]] | None = None
) -> int:
    """Dossiers open and past their due date at `as_of`: received and due before it, not completed by then,
    neither returned nor withdrawn (the "past due (open)" count of the procedures page)."""
    columns = dict(columns or {})
    narrowing = " ".join(_in(column, column, values) for column, values in columns.items())
    row = _one_row(
        url,
        f"""
        SELECT count(*) AS past_due
        FROM dossiers
        WHERE received_at < :as_of AND due_at < :as_of
          AND status NOT IN ('returned', 'withdrawn')
          AND (completed_at IS NULL OR completed_at >= :as_of)
          {_in("area_code", "areas", areas)} {narrowing}
        """,
        as_of=as_of,
        areas=areas,
        **columns,
    )
    return int(row["past_due"])


def feedback_received_between(url: str, start_at: datetime, end_before: datetime) -> int:
    """Feedback received from `start_at` up to (not including) `end_before`, e.g. the wall's day so far."""
    row = _one_row(
        url,
        "SELECT count(*) AS received FROM feedback WHERE received_at >= :start AND received_at < :end",
        start=start_at,
        end=end_before,
    )
    return int(row["received"])
