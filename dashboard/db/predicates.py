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
    def build(
        cls, period: Period, areas: Sequence[str] = (), dimensions: Mapping[str, Sequence[str]] | None = None
    ) -> QueryFilter:
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


def restrict(
    area_column,
    areas: Sequence[str] | None,
    dimensions: Mapping[str, Sequence[str]] | None,
    dimension_columns: Mapping[str, object],
) -> ColumnElement:
    """Area and dimension restrictions for one table's columns (the period is handled by each query).

    Dimensions the table has no column for are ignored, so one filter serves several tables.
    """
    clauses = [matches(area_column, areas or ())]
    for name, values in (dimensions or {}).items():
        if name in dimension_columns:
            clauses.append(matches(dimension_columns[name], values))
    return and_(*clauses)


def scope(query_filter: QueryFilter, area_column, dimension_columns: Mapping[str, object]) -> ColumnElement:
    """`restrict` for a QueryFilter."""
    return restrict(area_column, query_filter.areas, dict(query_filter.dimensions), dimension_columns)
