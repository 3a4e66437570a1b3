"""Whole-table column reads for the benchmark's naive baseline (`dashboard.bench.naive`).

The fastest plain way to get a table into pandas on each engine: DuckDB hands over Arrow,
PostgreSQL streams `COPY ... TO STDOUT` as CSV into Arrow's reader. Text columns become pandas
categoricals (as anyone loading tens of millions of rows would do), so the baseline is not
slowed down by Python string objects. No WHERE clause: filtering is the baseline's job.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.engine import Engine

from dashboard.db import schema
from dashboard.db.engine import is_duckdb, translating_errors

READABLE_TABLES = {
    table.name: table
    for table in (schema.feedback, schema.dossiers, schema.traffic_sensors, schema.traffic_observations, schema.areas)
}


def _to_pandas(arrow_table: pa.Table) -> pd.DataFrame:
    columns = {}
    for name, column in zip(arrow_table.column_names, arrow_table.columns, strict=True):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.dictionary_encode(column)
        columns[name] = column
    return pa.table(columns).to_pandas()


def read_columns(engine: Engine, table_name: str, columns: Sequence[str]) -> pd.DataFrame:
    """Every row of `table_name` (one of READABLE_TABLES), only `columns`, as a DataFrame."""
    table = READABLE_TABLES[table_name]
    statement = select(*[table.c[name] for name in columns])
    sql = str(statement.compile(engine))
    raw = engine.raw_connection()
    try:
        with translating_errors(engine):
            if is_duckdb(engine):
                relation = raw.driver_connection.sql(sql)
                arrow_table = relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()
            else:
                import pyarrow.csv as pa_csv

                buffer = io.BytesIO()
                with raw.driver_connection.cursor() as cursor:
                    cursor.execute("SET LOCAL statement_timeout = 0")  # a whole-table read outlasts the app's limit
                    with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:  # noqa: S608 - compiled from the schema
                        for chunk in copy:
                            buffer.write(chunk)
                buffer.seek(0)
                types = {c.name: _arrow_type(c) for c in table.columns if c.name in columns}
                arrow_table = pa_csv.read_csv(
                    buffer,
                    convert_options=pa_csv.ConvertOptions(
                        column_types=types, true_values=["t", "true"], false_values=["f", "false"]
                    ),
                )
                del buffer
    finally:
        raw.close()
    return _to_pandas(arrow_table)


def _arrow_type(column) -> pa.DataType:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return pa.string()
    if python_type is bool:
        return pa.bool_()
    if python_type is int:
        return pa.int64()
    if python_type is float:
        return pa.float64()
    if python_type.__name__ == "datetime":
        return pa.timestamp("us")
    return pa.string()


def limit_duckdb_memory(engine: Engine, megabytes: int) -> None:
    """Cap DuckDB's buffer memory for the whole database instance of `engine` (no-op on PostgreSQL).

    DuckDB keeps up to 80 % of the machine's RAM by default; with a cap it spills to disk instead.
    """
    if not is_duckdb(engine):
        return
    raw = engine.raw_connection()
    try:
        raw.driver_connection.execute(f"SET memory_limit = '{int(megabytes)}MB'")  # an int, not input text
    finally:
        raw.close()


# ---------------------------------------------------------------- the records views (`records.*` bench cases)
RECORDS_VIEWS = (  # (bench case, KPI, part): the largest scans among the records behind the KPIs
    ("records.feedback_backlog", "feedback.open_backlog", "numerator"),
    ("records.feedback_on_time_due", "feedback.resolved_on_time_pct", "denominator"),
    ("records.dossiers_completed", "dossiers.completed", "numerator"),
    ("records.traffic_vehicles", "traffic.vehicles", "numerator"),
)


def records_view(engine: Engine, metric: str, part: str, query_filter) -> dict[str, int]:
    """What a records view asks when it opens: its first page (most urgent first) and the count of its records;
    returned as comparable figures {"count", "page"}."""
    from dashboard.db import records_queries

    first = records_queries.page(engine, metric, part, query_filter)
    return {"count": records_queries.count(engine, metric, part, query_filter), "page": len(first)}


def naive_records_count(engine: Engine, period, metric: str, part: str, page_size: int = 50) -> dict[str, int]:
    """`records_view`'s figures for the city, the naive way (whole columns into pandas, `bench.naive`'s rules)."""
    from dashboard.bench import naive

    if metric.startswith("feedback."):
        row = naive.feedback_row(read_columns(engine, "feedback", naive.FEEDBACK_COLUMNS), period)
        counts = {"open_backlog": row["open_backlog"], "resolved_on_time_pct": row["resolved_with_due"]}
    elif metric.startswith("dossiers."):
        counts = {
            "completed": naive.dossier_row(read_columns(engine, "dossiers", naive.DOSSIER_COLUMNS), period)["completed"]
        }
    else:
        counts = {"vehicles": len(naive._observations(engine, period))}
    count = int(counts[metric.split(".", 1)[1]])
    return {"count": count, "page": min(count, page_size)}


# ---------------------------------------------------------------- hotspots (`feedback.hotspots` bench case; issue 18)
HOTSPOT_READ = (
    "id", "source", "source_id", "category", "received_at", "resolved_at", "status", "reopened", "lat", "lon",
    "area_code", "agency",
)  # fmt: skip


def _hotspot_figures(reports: pd.DataFrame, table: pd.DataFrame) -> dict[str, int]:
    return {
        "located": len(reports),
        "hotspots": len(table),
        "in_hotspots": int(table["reports"].sum()) if len(table) else 0,
        "re_reported": int(table["reopened"].sum()) if len(table) else 0,
    }


def hotspot_figures(engine: Engine, query_filter) -> dict[str, int]:
    """What the feedback page computes for its hotspot block: the hotspots of the last IOC_HOTSPOT_DAYS days of the
    period (dashboard.db.hotspot_queries + dashboard.metrics.hotspots)."""
    from dashboard.db import hotspot_queries as hq
    from dashboard.metrics import hotspots as hs

    rules = hs.Rules.from_settings()
    reports = hq.located_reports(engine, hq.hotspot_period(query_filter, rules.days))
    return _hotspot_figures(reports, hs.hotspots(reports, rules))


def naive_hotspot_figures(engine: Engine, query_filter) -> dict[str, int]:
    """The same figures from the whole feedback table read into pandas and filtered there (checks the window's SQL;
    the grouping itself is checked against a brute-force pair search in tests/test_hotspots.py)."""
    from dashboard.db import hotspot_queries as hq
    from dashboard.metrics import hotspots as hs

    rules = hs.Rules.from_settings()
    window = hq.hotspot_period(query_filter, rules.days).period
    frame = read_columns(engine, "feedback", list(HOTSPOT_READ))
    received = pd.to_datetime(frame["received_at"])
    keep = (received >= window.start_at) & (received < window.end_before) & frame["lat"].notna() & frame["lon"].notna()
    reports = frame[keep].sort_values("id").reset_index(drop=True)
    reports["lat"], reports["lon"] = reports["lat"].astype("float64"), reports["lon"].astype("float64")
    return _hotspot_figures(reports, hs.hotspots(reports, rules))
