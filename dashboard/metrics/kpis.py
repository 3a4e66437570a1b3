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
) -> dict[str, Any]:
    """The KPIs of one section (feedback, dossiers or traffic), optionally narrowed by the page's dimensions."""
    if section == "feedback":
        return feedback_kpis(_first_row(queries.feedback_counts(engine, period, area_codes, dimensions=dimensions)))
    if section == "dossiers":
        return dossier_kpis(_first_row(queries.dossier_counts(engine, period, area_codes, dimensions=dimensions)))
    if section == "traffic":
        return traffic_kpis(queries.traffic_hourly(engine, period, area_codes, dimensions=dimensions))
    raise ValueError(f"unknown KPI section {section!r}")


def compute_kpis(engine: Engine, period: Period, area_codes: Sequence[str] | None = None) -> dict[str, Any]:
    """Every KPI for one period and (optionally) a set of areas: the structure `kpi --json` prints."""
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        **{
            section: section_kpis(engine, section, period, area_codes)
            for section in ("feedback", "dossiers", "traffic")
        },
    }


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
) -> pd.DataFrame:
    """One row per area with the KPIs of `sections` (columns `section.name`), plus rates per 10,000 residents
    and per km². `dimensions` narrow each section's rows by the columns it has (see queries.*_DIMENSIONS)."""
    table = queries.area_list(engine)[["code", "name", "kind", "area_km2", "population", "population_is_estimate"]]
    table = table.set_index("code")
    if "feedback" in sections:
        frame = queries.feedback_counts(engine, period, by_area=True, dimensions=dimensions)
        table = table.join(
            _section_frame("feedback", {r["area_code"]: feedback_kpis(r) for r in frame.to_dict("records")})
        )
    if "dossiers" in sections:
        frame = queries.dossier_counts(engine, period, by_area=True, dimensions=dimensions)
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
