"""The filter every page query takes: a period, areas and page dimensions, as plain hashable values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, true
from sqlalchemy.sql.elements import ColumnElement

from dashboard.periods import Period


@dataclass(frozen=True)
class QueryFilter:
    period: Period
    areas: tuple[str, ...] = ()
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def build(cls, period: Period, areas: Sequence[str] = (), dimensions: Mapping[str, Sequence[str]] | None = None) -> QueryFilter:
        pairs = tuple(sorted((name, tuple(values)) for name, values in (dimensions or {}).items() if values))
        return cls(period, tuple(areas), pairs)

    def values(self, name: str) -> tuple[str, ...]:
        return dict(self.dimensions).get(name, ())

    def with_period(self, period: Period) -> QueryFilter:
        return QueryFilter(period, self.areas, self.dimensions)

    def without(self, name: str) -> QueryFilter:
        """The same filter minus one dimension (`area` for the areas), e.g. for the chart that sets it."""
        if name == "area":
            return QueryFilter(self.period, (), self.dimensions)
        return QueryFilter(self.period, self.areas, tuple(p for p in self.dimensions if p[0] != name))


def matches(column, values: Sequence[str]) -> ColumnElement:
    """column IN (values) as bound parameters; no restriction when values is empty."""
    return column.in_(list(values)) if values else true()


def scope(query_filter: QueryFilter, area_column, dimension_columns: Mapping[str, object]) -> ColumnElement:
    """The area and dimension restrictions of a filter (not the period) for one table's columns.

    Dimensions the table has no column for are ignored, so one filter serves several tables.
    """
    clauses = [matches(area_column, query_filter.areas)]
    for name, values in query_filter.dimensions:
        if name in dimension_columns:
            clauses.append(matches(dimension_columns[name], values))
    return and_(*clauses)
