"""`python -m dashboard.bench.explain --db URL [CASE ...]`: the PostgreSQL plans behind the bench's page queries.

Runs each named bench case (`dashboard.bench.bench.cases`; default: every case) once with a listener that records
the SELECT statements it sends, then runs `EXPLAIN (ANALYZE, BUFFERS)` of each recorded statement with the same
bound parameters, and prints the plans slowest first (execution time as PostgreSQL reports it). `--top N` keeps the
N slowest statements, `--json` prints them as a list of {"case", "ms", "sql", "plan"}. PostgreSQL only: DuckDB's
EXPLAIN ANALYZE has no buffer counts and its own format.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from dashboard.db.engine import is_duckdb, make_engine

_EXECUTION = re.compile(r"Execution Time: ([0-9.]+) ms")
_SKIP = re.compile(r"\b(pg_catalog|information_schema|pg_class|pg_namespace|to_regclass)\b")


def recorded_statements(engine: Engine, run: Any) -> list[tuple[str, Any]]:
    """The SELECTs `run(engine)` sends, with their parameters (catalogue look-ups left out)."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001, PLR0913 - the event's signature
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and not _SKIP.search(statement):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        run(engine)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def explain(engine: Engine, statement: str, parameters: Any) -> tuple[float, str]:
    """`EXPLAIN (ANALYZE, BUFFERS)` of one statement: (execution ms, plan text)."""
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters or None)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        raw.rollback()
    finally:
        raw.close()
    found = _EXECUTION.search(plan)
    return (float(found.group(1)) if found else float("nan")), plan


def plans(url: str, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Every recorded statement of the named cases (all cases when none), with its plan, slowest first."""
    from dashboard.bench.bench import _context, cases

    engine = make_engine(url, read_only=True)
    try:
        if is_duckdb(engine):
            raise SystemExit("error: explain reads PostgreSQL plans; --db must be a postgresql+psycopg:// URL")
        chosen = [case for case in cases(_context(engine)) if not names or case.name in names]
        unknown = sorted(set(names or ()) - {case.name for case in chosen})
        if unknown:
            raise SystemExit(f"error: no bench case named {', '.join(unknown)}")
        out = []
        for case in chosen:
            for statement, parameters in recorded_statements(engine, case.run):
                ms, plan = explain(engine, statement, parameters)
                out.append({"case": case.name, "ms": ms, "sql": statement, "parameters": parameters, "plan": plan})
        return sorted(out, key=lambda row: -row["ms"])
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.bench.explain", description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help="bench case names (default: every case)")
    parser.add_argument("--db", required=True, metavar="URL", help="a PostgreSQL URL built by `bench`")
    parser.add_argument("--top", type=int, default=None, help="keep the N slowest statements")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = plans(args.db, args.cases)[: args.top]
    if args.json:
        print(json.dumps(rows, default=str, ensure_ascii=False))
        return 0
    for row in rows:
        print(f"==== {row['case']}: {row['ms']:.1f} ms\n{row['sql']}\n-- {row['parameters']}\n{row['plan']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
