"""Queries only the weekly briefing needs (everything else comes from the page query modules and kpis).

anomalies_between   anomalies of the current feedback forecast run on days start..end (the stored
                    rows of `python -m dashboard forecast`; forecast_queries.recent_anomalies has no end day)
source_systems      which source systems the fact tables were loaded from, for the appendix
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from dashboard.db import forecast_queries, schema
from dashboard.db.engine import fetch_frame

ANOMALY_COLUMNS = ["area_code", "area_name", "category", "ds", "actual", "expected", "lower", "upper", "size"]


def anomalies_between(
    engine: Engine, start: date, end: date, area_code: str | None = None, limit: int = 10
) -> pd.DataFrame:
    """The `limit` largest anomalies (by |size|) of the current run with start ≤ ds ≤ end; optionally one ward.

    Columns area_code, area_name, category, ds, actual, expected, lower, upper, size. Empty (with the
    columns) when the forecast tables do not exist yet.
    """
    anomalies = schema.anomalies.c
    conditions = [anomalies.ds >= start, anomalies.ds <= end]
    conditions += [anomalies.area_code == area_code] if area_code else []
    order = [func.abs(anomalies.size).desc(), anomalies.ds, anomalies.area_code, anomalies.category]
    return forecast_queries.anomaly_rows(engine, conditions, order, limit)[ANOMALY_COLUMNS]


def source_systems(engine: Engine) -> dict[str, list[str]]:
    """The distinct `source` codes of the feedback and dossier tables: {table: [codes]}."""
    result = {}
    for table in (schema.feedback, schema.dossiers):
        frame = fetch_frame(engine, select(table.c.source).distinct().order_by(table.c.source))
        result[table.name] = [str(code) for code in frame["source"]]
    return result
