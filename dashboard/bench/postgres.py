"""PostgreSQL-only steps of `bench`: VACUUM (ANALYZE) after the build, and the database's size on disk.

The plans behind the page queries are printed by `dashboard.bench.explain`; the measurements are in
docs/benchmarks.md ("PostgreSQL, scale 1").
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from dashboard.db.engine import is_duckdb, make_engine


def vacuum_analyze(engine: Engine, log: Callable[[str], None]) -> float | None:
    """PostgreSQL after the bulk load: VACUUM (ANALYZE) every table, as after any large load — the visibility map
    lets the covering indexes answer alone (index-only scans), and the planner gets the row counts. Seconds taken
    (None on DuckDB, which needs neither)."""
    if is_duckdb(engine):
        return None
    log("VACUUM (ANALYZE) ...")
    began = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("SET statement_timeout = 0")
        connection.exec_driver_sql("VACUUM (ANALYZE)")
    return round(time.perf_counter() - began, 1)


def database_size_mb(url: str) -> float | None:
    """The PostgreSQL database's size on disk (pg_database_size), MB; None on DuckDB (the file's size is on disk)."""
    engine = make_engine(url, read_only=True)
    try:
        if is_duckdb(engine):
            return None
        with engine.connect() as connection:
            size = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
        return round(size / 2**20, 1)
    finally:
        engine.dispose()
