"""Every KPI of the dashboard, computed once: the only KPI functions that take an engine.

Pages, the wall screen, the PDF briefing and `python -m dashboard kpi` all call `compute_kpis` /
`compute_area_kpis` / `section_kpis`; nothing else computes these figures. What each KPI counts and the formulas
are in `metrics.definitions` (re-exported here for callers that need both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import queries
from dashboard.metrics.definitions import (
    CITYSCORE_CAP,
    KPI_BY_KEY,
    KPI_DEFINITIONS,
    KpiDefinition,
    change,
    congestion_index,
    dossier_kpis,
    feedback_kpis,
    feedback_rates,
    percent,
    score,
    status,
    traffic_kpis,
)
from dashboard.periods import Period

__all__ = [
    "CITYSCORE_CAP",
    "KPI_BY_KEY",
    "KPI_DEFINITIONS",
    "KpiDefinition",
    "change",
    "compute_area_kpis",
    "compute_kpis",
    "congestion_index",
    "dossier_kpis",
    "feedback_kpis",
    "feedback_rates",
    "kpi_parts",
    "percent",
    "score",
    "section_kpis",
    "status",
    "traffic_kpis",
]


def _first_row(frame: pd.DataFrame) -> Mapping[str, Any]:
    return frame.iloc[0].to_dict() if not frame.empty else {}


def section_kpis(
    engine: Engine,
    section: str,
    period: Period,
    area_codes: Sequence[str] | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    *,
    scope: Scope = WHOLE_CITY,
) -> dict[str, Any]:
    """The KPIs of one section (feedback, dossiers or traffic), optionally narrowed by the page's dimensions, over
    the cases `scope` allows (traffic is a city figure: the same for every scope)."""
    if section == "feedback":
        counts = queries.feedback_counts(engine, period, area_codes, dimensions=dimensions, scope=scope)
        return feedback_kpis(_first_row(counts))
    if section == "dossiers":
        counts = queries.dossier_counts(engine, period, area_codes, dimensions=dimensions, scope=scope)
        return dossier_kpis(_first_row(counts))
    if section == "traffic":
        return traffic_kpis(queries.traffic_hourly(engine, period, area_codes, dimensions=dimensions))
    raise ValueError(f"unknown KPI section {section!r}")


def compute_kpis(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    sections: Sequence[str] = ("feedback", "dossiers", "traffic"),
    *,
    scope: Scope = WHOLE_CITY,
) -> dict[str, Any]:
    """Every KPI for one period and (optionally) a set of areas and page dimensions (e.g. {"agency": [...]}), over
    the cases `scope` allows: the structure `kpi --json` prints."""
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        **{section: section_kpis(engine, section, period, area_codes, dimensions, scope=scope) for section in sections},
    }


def kpi_parts(
    engine: Engine,
    period: Period,
    area_codes: Sequence[str] | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    *,
    scope: Scope = WHOLE_CITY,
) -> dict[str, dict[str, int | None]]:
    """The counts behind each KPI, from the same queries as `compute_kpis`: {key: {"numerator", "denominator"}}.

    Counts: numerator = the count, no denominator; percentages: the two counts of the formula; medians and the
    mean: numerator = the rows the statistic is computed over; traffic.vehicles: the vehicles; the congestion
    peak: the vehicles (with a speed) of the peak hour, the index's weight. `db.records_queries` lists the rows
    behind each of these figures (a test checks they are equal)."""
    feedback = _first_row(queries.feedback_counts(engine, period, area_codes, dimensions=dimensions, scope=scope))
    dossiers = _first_row(queries.dossier_counts(engine, period, area_codes, dimensions=dimensions, scope=scope))
    hourly = queries.traffic_hourly(engine, period, area_codes, dimensions=dimensions)
    n = {f"feedback.{k}": _whole(v) for k, v in feedback.items()} | {
        f"dossiers.{k}": _whole(v) for k, v in dossiers.items()
    }

    def parts(numerator: str, denominator: str | None = None) -> dict[str, int | None]:
        return {"numerator": n.get(numerator, 0), "denominator": None if denominator is None else n.get(denominator, 0)}

    peak_vehicles = 0
    indexes = [
        (congestion_index(r, v), v)
        for r, v in zip(hourly["travel_time_ratio_sum"], hourly["weighted_vehicles"], strict=True)
    ]
    best = max((i for i, _ in indexes if i is not None), default=None)
    if best is not None:
        peak_vehicles = next(_whole(v) for i, v in indexes if i == best)
    return {
        "feedback.received": parts("feedback.received"),
        "feedback.resolved": parts("feedback.resolved"),
        "feedback.resolved_on_time_pct": parts("feedback.resolved_on_time", "feedback.resolved_with_due"),
        "feedback.median_resolution_hours": parts("feedback.resolved"),
        "feedback.open_backlog": parts("feedback.open_backlog"),
        "feedback.satisfaction_avg": parts("feedback.satisfaction_count"),
        "feedback.reopened_pct": parts("feedback.reopened", "feedback.resolved"),
        "dossiers.received": parts("dossiers.received"),
        "dossiers.completed": parts("dossiers.completed"),
        "dossiers.completed_on_time_pct": parts("dossiers.completed_on_time", "dossiers.completed_with_due"),
        "dossiers.online_pct": parts("dossiers.received_online", "dossiers.received"),
        "dossiers.median_lead_time_days": parts("dossiers.completed"),
        "traffic.vehicles": {"numerator": int(sum(_whole(v) for v in hourly["vehicles"])), "denominator": None},
        "traffic.congestion_index_peak": {"numerator": peak_vehicles, "denominator": None},
    }


def _whole(value: Any) -> int:
    """A count from a driver value (None and NaN: 0)."""
    return 0 if value is None or pd.isna(value) else int(value)


def _section_frame(section: str, rows: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per-area KPI rows of one section as a frame with every KPI column, even when there are no rows."""
    names = [d.name for d in KPI_DEFINITIONS if d.section == section]
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=names)
    return frame.add_prefix(f"{section}.")


def compute_area_kpis(
    engine: Engine,
    period: Period,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    sections: Sequence[str] = ("feedback", "dossiers", "traffic"),
    *,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """One row per area with the KPIs of `sections` (columns `section.name`), plus rates per 10,000 residents
    and per km². `dimensions` narrow each section's rows by the columns it has (see queries.*_DIMENSIONS)."""
    table = queries.area_list(engine)[["code", "name", "kind", "area_km2", "population", "population_is_estimate"]]
    table = table.set_index("code")
    if "feedback" in sections:
        frame = queries.feedback_counts(engine, period, by_area=True, dimensions=dimensions, scope=scope)
        table = table.join(
            _section_frame("feedback", {r["area_code"]: feedback_kpis(r) for r in frame.to_dict("records")})
        )
    if "dossiers" in sections:
        frame = queries.dossier_counts(engine, period, by_area=True, dimensions=dimensions, scope=scope)
        table = table.join(
            _section_frame("dossiers", {r["area_code"]: dossier_kpis(r) for r in frame.to_dict("records")})
        )
    if "traffic" in sections:
        hourly = queries.traffic_hourly(engine, period, by_area=True, dimensions=dimensions)
        table = table.join(
            _section_frame("traffic", {code: traffic_kpis(g) for code, g in hourly.groupby("area_code")})
        )
    for column in [c for c in table.columns if c in KPI_BY_KEY and KPI_BY_KEY[c].unit in ("count", "vehicles")]:
        table[column] = table[column].fillna(0).astype(int)
    population = table["population"].where(table["population"] > 0)
    area_km2 = table["area_km2"].where(table["area_km2"] > 0)
    for section in [s for s in ("feedback", "dossiers") if s in sections]:
        table[f"{section}.received_per_10k"] = (10_000 * table[f"{section}.received"] / population).round(1)
        table[f"{section}.received_per_km2"] = (table[f"{section}.received"] / area_km2).round(2)
    return table.reset_index()
