"""The filter every page query takes (a period, areas, page dimensions and the user's scope, as plain hashable
values) and the row rules every query shares: within a period, feedback open at an instant, dossiers past due, on
time.

Row-level scope (issue 19) is applied HERE, in one place: `restrict` (and `scope`, its QueryFilter form) adds
`in_scope(...)` for every table that has an agency column (feedback, dossiers and their rollups), so every query
built on them — the aggregates, the records, the page queries — only counts the rows the user may see. A
`QueryFilter` carries its `scope` through `build`, `with_period` and `without` (`without("agency")` never drops
it). Tables without an agency column (traffic) are city figures, the same for every signed-in role.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import and_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import schema
from dashboard.periods import Period


@dataclass(frozen=True)
class QueryFilter:
    period: Period
    areas: tuple[str, ...] = ()
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    scope: Scope = WHOLE_CITY  # the rows the user may see; part of every cache key

    @classmethod
    def build(
        cls,
        period: Period,
        areas: Sequence[str] = (),
        dimensions: Mapping[str, Sequence[str]] | None = None,
        scope: Scope = WHOLE_CITY,
    ) -> QueryFilter:
        pairs = tuple(sorted((name, tuple(values)) for name, values in (dimensions or {}).items() if values))
        return cls(period, tuple(areas), pairs, scope)

    def values(self, name: str) -> tuple[str, ...]:
        return dict(self.dimensions).get(name, ())

    def with_period(self, period: Period) -> QueryFilter:
        return replace(self, period=period)

    def without(self, name: str) -> QueryFilter:
        """The same filter minus one dimension (`area` for the areas), e.g. for the chart that sets it. The scope
        always stays: a chart that lists every agency still lists only the ones the user may see."""
        if name == "area":
            return replace(self, areas=())
        return replace(self, dimensions=tuple(p for p in self.dimensions if p[0] != name))


def in_scope(scope: Scope, agency_column, area_column) -> ColumnElement:
    """The rows `scope` allows: true() for the whole city, else `agency IN (…) OR area_code IN (…)` (bound
    parameters; the same rule as `Scope.allows`)."""
    if not scope.restricted:
        return true()
    clauses = []
    if scope.agencies:
        clauses.append(agency_column.in_(list(scope.agencies)))
    if scope.areas:
        clauses.append(area_column.in_(list(scope.areas)))
    return or_(*clauses)


def matches(column, values: Sequence[str]) -> ColumnElement:
    """column IN (values) as bound parameters; no restriction when values is empty."""
    return column.in_(list(values)) if values else true()


def restrict(
    area_column,
    areas: Sequence[str] | None,
    dimensions: Mapping[str, Sequence[str]] | None,
    dimension_columns: Mapping[str, object],
    access: Scope = WHOLE_CITY,
) -> ColumnElement:
    """Area, dimension and scope restrictions for one table's columns (the period is handled by each query).

    Dimensions the table has no column for are ignored, so one filter serves several tables. The scope `access`
    applies to the tables of cases, the ones with an "agency" column among `dimension_columns`; the others
    (traffic) are city figures.
    """
    clauses = [matches(area_column, areas or ())]
    for name, values in (dimensions or {}).items():
        if name in dimension_columns:
            clauses.append(matches(dimension_columns[name], values))
    if access.restricted and dimension_columns.get("agency") is not None:
        clauses.append(in_scope(access, dimension_columns["agency"], area_column))
    return and_(*clauses)


def scope(query_filter: QueryFilter, area_column, dimension_columns: Mapping[str, object]) -> ColumnElement:
    """`restrict` for a QueryFilter (its areas, dimensions and scope)."""
    return restrict(
        area_column, query_filter.areas, dict(query_filter.dimensions), dimension_columns, query_filter.scope
    )


# ---------------------------------------------------------------- row rules shared by every query and the rollups
# Written once here: the page queries, the KPI queries, the wall and the rollup builder (dashboard.db.rollups) use
# these, so "open", "past due" and "on time" mean the same everywhere.
F = schema.feedback.c
D = schema.dossiers.c

FEEDBACK_OUT_OF_BACKLOG = "rejected"  # a rejected report is never open, however old
CLOSED_WITHOUT_RESULT = ("returned", "withdrawn")  # dossiers closed this way are never past due


def within(column, period) -> ColumnElement:
    """start_at ≤ column < end_before for anything with those two instants (Period, TimeWindow)."""
    return and_(column >= period.start_at, column < period.end_before)


def feedback_in_backlog() -> ColumnElement:
    """A report that counts in the backlog while unresolved (the rollup's backlog_in / backlog_out rows)."""
    return F.status != FEEDBACK_OUT_OF_BACKLOG


def feedback_on_time() -> ColumnElement:
    """Resolved by its due time (rows with a due time only)."""
    return and_(F.due_at.is_not(None), F.resolved_at <= F.due_at)


def feedback_open_at(instant) -> ColumnElement:
    """Open at `instant`: received before it, not rejected, not resolved by then.

    The rollup keeps this state as two day counts: backlog_in on the received day and backlog_out on the day
    of max(received, resolved), so open at a midnight E = Σ in − Σ out over the days before E.
    """
    return and_(
        F.received_at < instant,
        feedback_in_backlog(),
        or_(F.resolved_at.is_(None), F.resolved_at >= instant),
    )


def feedback_overdue_at(instant, due_before=None) -> ColumnElement:
    """Open at `instant` and past its due time then (or, with `due_before`, due before that earlier instant)."""
    return and_(feedback_open_at(instant), F.due_at < (instant if due_before is None else due_before))


def dossier_counts_for_past_due() -> ColumnElement:
    """A dossier that can be past due: not closed without result, with a due time."""
    return and_(D.status.not_in(CLOSED_WITHOUT_RESULT), D.due_at.is_not(None))


def dossier_on_time() -> ColumnElement:
    """Completed by its due time (dossiers with a due time only)."""
    return and_(D.due_at.is_not(None), D.completed_at <= D.due_at)


def dossier_past_due_at(instant) -> ColumnElement:
    """Open at `instant` and already past its due time: received before it, not completed by then, not returned
    or withdrawn, due_at < instant."""
    return and_(
        D.received_at < instant,
        D.due_at < instant,
        D.status.not_in(CLOSED_WITHOUT_RESULT),
        or_(D.completed_at.is_(None), D.completed_at >= instant),
    )
