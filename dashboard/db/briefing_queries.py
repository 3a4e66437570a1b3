"""Queries only the weekly briefing needs (everything else comes from the page query modules and kpis).

anomalies_between   anomalies of the current feedback forecast run on days start..end (the stored
                    rows of `python -m dashboard forecast`; forecast_queries.recent_anomalies has no end day)
source_systems      which source systems the fact tables were loaded from, for the appendix
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import Engine

from dashboard.db import schema
from dashboard.db.engine import fetch_frame

ANOMALY_COLUMNS = ["area_code", "area_name", "category", "ds", "actual", "expected", "lower", "upper", "size"]


def anomalies_between(
    engine: Engine, start: date, end: date, area_code: str | None = None, limit: int = 10
) -> pd.DataFrame:
    """The `limit` largest anomalies (by |size|) of the current run with start ≤ ds ≤ end; optionally one ward.

    Columns area_code, area_name, category, ds, actual, expected, lower, upper, size. Empty (with the
    columns) when the forecast tables do not exist yet.
    """
    if not inspect(engine).has_table(schema.anomalies.name):
        return pd.DataFrame(columns=ANOMALY_COLUMNS)
    anomalies, areas, runs = schema.anomalies.c, schema.areas.c, schema.forecast_runs.c
    current = select(runs.run_id).where(runs.status == "current")
    statement = (
        select(
            anomalies.area_code,
            areas.name.label("area_name"),
            anomalies.category,
            anomalies.ds,
            anomalies.actual,
            anomalies.expected,
            anomalies.lower,
            anomalies.upper,
            anomalies.size,
        )
        .select_from(schema.anomalies.outerjoin(schema.areas, areas.code == anomalies.area_code))
        .where(
            anomalies.run_id.in_(current),
            anomalies.ds >= start,
            anomalies.ds <= end,
            *([anomalies.area_code == area_code] if area_code else []),
        )
        .order_by(func.abs(anomalies.size).desc(), anomalies.ds, anomalies.area_code, anomalies.category)
        .limit(limit)
    )
    return fetch_frame(engine, statement)


def source_systems(engine: Engine) -> dict[str, list[str]]:
    """The distinct `source` codes of the feedback and dossier tables: {table: [codes]}."""
    result = {}
    for table in (schema.feedback, schema.dossiers):
        frame = fetch_frame(engine, select(table.c.source).distinct().order_by(table.c.source))
        result[table.name] = [str(code) for code in frame["source"]]
    return result
