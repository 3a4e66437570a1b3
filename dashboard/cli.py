"""Command line: `python -m dashboard <command>`.

Commands: init-db, demo, kpi, info, forecast, brief, import, hash-password, worker, jobs, bench, records, scorecard,
events, directives, hotspots, users, serve.
Every command reads IOC_DATABASE_URL (or --database-url)
and prints a one-line, actionable message on bad input, a setting that cannot be used or a database problem (exit code 2).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import config
from dashboard.commands import date_argument
from dashboard.commands.acting import add_as_option
from dashboard.db.engine import (
    DatabaseError,
    check_ready,
    create_schema,
    duckdb_file,
    make_engine,
    redact_url,
    writing,
)
from dashboard.periods import Period


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return number


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


@contextmanager
def _engine(args: argparse.Namespace, read_only: bool = False, *, fresh: bool = False) -> Iterator[Engine]:
    """An engine for the command, closed afterwards. Commands that write go through `writing`: on DuckDB they change
    a copy that replaces the served file when they succeed, so they run beside the app (and beside each other)."""
    if not read_only:
        with writing(args.database_url, fresh=fresh) as engine:
            yield engine
        return
    engine = make_engine(args.database_url, read_only=True)
    try:
        yield engine
    finally:
        engine.dispose()


def _schema_complete(args: argparse.Namespace) -> bool:
    """Whether the database already has every table, column and sequence and the city's areas (read-only look, so
    `make run` does not rewrite a large DuckDB file on every start)."""
    from sqlalchemy import inspect

    from dashboard.db import queries
    from dashboard.db.schema import metadata, missing_columns

    path = duckdb_file(args.database_url)
    if path is not None and not path.exists():
        return False
    try:
        with _engine(args, read_only=True) as engine, engine.connect() as connection:
            inspector = inspect(connection)
            present = set(inspector.get_table_names()) | set(inspector.get_sequence_names())
            needed = set(metadata.tables) | {sequence.name for sequence in metadata._sequences.values()}
            if missing_columns(connection):  # a table older than its optional columns: init-db adds them
                return False
            return needed <= present and not queries.area_list(engine).empty
    except (DatabaseError, SQLAlchemyError):
        return False


def command_init_db(args: argparse.Namespace) -> int:
    if _schema_complete(args):
        print(f"Schema ready at {redact_url(args.database_url)} (nothing to change).")
        return 0
    from dashboard.db.load import prepare_database

    with _engine(args) as engine:
        count = prepare_database(engine, config.city())
    if count:
        print(f"Loaded {count} areas of {config.city()}.")
    print(f"Schema ready at {redact_url(args.database_url)}.")
    return 0


def command_demo(args: argparse.Namespace) -> int:
    from dashboard.demo.generator import build_demo

    if args.start and args.end and args.end < args.start:
        print(f"error: --end {args.end} is before --start {args.start}", file=sys.stderr)
        return 2
    with _engine(args, fresh=True) as engine:  # a new file: nothing of the old one is kept
        summary = build_demo(
            engine, seed=args.seed, scale=args.scale, start=args.start, end=args.end, city=config.city()
        )
    rows = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items())
    print(
        f"Demo data {summary.start}..{summary.end} (seed {summary.seed}, scale {summary.scale}) "
        f"written to {redact_url(args.database_url)} in {summary.seconds:.1f} s: {rows}"
    )
    return 0


def command_kpi(args: argparse.Namespace) -> int:
    try:
        period = Period(args.date_from, args.date_to)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from dashboard.commands.acting import resolve

    if problem := resolve(args):  # --as NAME: the figures of their scope
        print(f"error: {problem}", file=sys.stderr)
        return 2
    with _engine(args, read_only=True) as engine:
        return _print_kpis(engine, period, args)


def _narrow_to_user(args: argparse.Namespace) -> None:
    """`--agency`/`--area` of a `--as` officer kept inside their scope (a request narrows a scope, never widens it)."""
    user = getattr(args, "user", None)
    if user is None:
        return
    for option, narrow in (("agency", user.scope.narrow_agencies), ("area", user.scope.narrow_areas)):
        kept, dropped = narrow(getattr(args, option) or [])
        if dropped:
            left_out = ", ".join(v for v in getattr(args, option) if v not in kept)
            print(f"note: --{option} {left_out} is outside the scope of {user.name}; left out", file=sys.stderr)
            setattr(args, option, list(kept))


def _print_kpis(engine: Engine, period: Period, args: argparse.Namespace) -> int:
    from dashboard.commands.acting import scope_of
    from dashboard.metrics.kpis import compute_kpis

    check_ready(engine)
    _narrow_to_user(args)
    if args.area:
        from dashboard.db import queries

        known = set(queries.area_list(engine)["code"])
        unknown = [code for code in args.area if code not in known]
        if unknown:
            print(
                f"error: unknown area code(s) {', '.join(unknown)}; `python -m dashboard info` lists the database, "
                f"the areas table holds {len(known)} codes such as {', '.join(sorted(known)[:3])}",
                file=sys.stderr,
            )
            return 2
    sections = ("feedback", "dossiers", "traffic")
    dimensions = {"agency": args.agency} if args.agency else None
    if dimensions:  # traffic has no agency: its figures would be the whole city's, so they are left out
        sections = sections[:2]
        print("note: traffic has no agency; its KPIs are left out with --agency", file=sys.stderr)
    result = compute_kpis(engine, period, args.area or None, dimensions, sections, scope=scope_of(args))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default))
    else:
        for section in sections:
            for name, value in result[section].items():
                print(f"{section}.{name}: {value}")
    return 0


def command_info(args: argparse.Namespace) -> int:
    with _engine(args, read_only=True) as engine:
        return _print_info(engine, args)


def _print_info(engine: Engine, args: argparse.Namespace) -> int:
    from dashboard.db import queries
    from dashboard.periods import local_now

    check_ready(engine)
    coverage = queries.table_coverage(engine)
    info = queries.dataset_info(engine)
    now = local_now()
    tables = []
    for row in coverage.to_dict("records"):
        entry = {"table": row["table"], "rows": int(row["rows"])}
        last = row.get("last_at")
        if last is not None and not pd.isna(last):
            entry["first_at"] = pd.Timestamp(row["first_at"]).to_pydatetime()
            entry["last_at"] = pd.Timestamp(last).to_pydatetime()
            entry["minutes_since_last"] = round((now - entry["last_at"]).total_seconds() / 60.0, 1)
        tables.append(entry)
    result = {"database": redact_url(str(engine.url)), "dataset": info, "timezone": config.timezone(), "tables": tables}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=_json_default))
        return 0
    print(f"Database: {result['database']}  (timestamps: naive local time, {config.timezone()})")
    if info:
        print("Dataset: " + ", ".join(f"{k}={v}" for k, v in sorted(info.items())))
    for entry in tables:
        line = f"  {entry['table']:<22} {entry['rows']:>12,} rows"
        if "first_at" in entry:
            line += f"  {entry['first_at']:%Y-%m-%d %H:%M} … {entry['last_at']:%Y-%m-%d %H:%M}  ({entry['minutes_since_last']:,.0f} min ago)"
        print(line)
    return 0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
    return number


def command_forecast(args: argparse.Namespace) -> int:
    """Backtest, choose and store forecasts (and feedback anomalies); see models/run.py."""
    from sqlalchemy import inspect

    from dashboard.db.schema import FORECAST_TABLES
    from models.run import ForecastError, Settings, run_forecasts, summary_rows

    metrics = ["feedback", "dossiers", "traffic"] if args.metric == "all" else [args.metric]
    settings = Settings(horizon=args.horizon, holdout=args.holdout or 0)
    with _engine(args, read_only=True) as engine:
        check_ready(engine)
        if not {t.name for t in FORECAST_TABLES} <= set(inspect(engine).get_table_names()):
            with _engine(args) as write_engine:
                create_schema(write_engine)  # adds the forecast tables to a database created before they existed
        try:  # fitting reads on the read-only path; each metric's run is stored through `writing`
            runs = run_forecasts(
                engine,
                metrics,
                settings,
                jobs=args.jobs,
                dask_address=args.dask,
                writer=lambda: writing(args.database_url),
            )
        except ForecastError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    rows = [row for run in runs for row in summary_rows(run)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    kind = f"holdout of {args.holdout} days" if args.holdout else "backtest"
    for run in runs:
        mine = [r for r in rows if r["metric"] == run.metric]
        chosen = pd.DataFrame(mine)
        line = f"{run.metric}: {len(mine)} series in {run.seconds:.0f} s, run {run.run_id}"
        if not chosen.empty:
            line += (
                f"; median MASE ({kind}) {chosen['mase_model'].median():.3f} vs naive {chosen['mase_naive'].median():.3f}"
                f", 80 % coverage {chosen['coverage_80'].median():.0%}"
            )
            line += "; models: " + ", ".join(f"{m} {n}" for m, n in chosen["model"].value_counts().items())
        if run.metric == "feedback":
            line += f"; {len(run.anomalies)} anomalies"
        print(line)
    return 0


def command_brief(args: argparse.Namespace) -> int:
    """Write the weekly PDF briefing (dashboard/briefing) and print where it went."""
    import time
    from pathlib import Path

    from dashboard.access.roles import Can
    from dashboard.briefing.charts import ChartExportError
    from dashboard.briefing.render import FontsMissing, render_briefing
    from dashboard.briefing.weeks import (
        BriefingInputError,
        last_complete_week,
        parse_week,
        week_code,
    )
    from dashboard.commands.acting import resolve, scope_of
    from dashboard.periods import local_now

    if problem := resolve(args, Can.DOWNLOAD):  # --as NAME: the briefing of their scope, named on the cover
        print(f"error: {problem}", file=sys.stderr)
        return 2
    viewer = args.user.name if args.user is not None else ""
    started = time.perf_counter()
    try:
        week = parse_week(args.week) if args.week else last_complete_week(local_now().date())
        with _engine(args, read_only=True) as engine:
            check_ready(engine)
            pdf = render_briefing(engine, week, area=args.area, lang=args.lang, scope=scope_of(args), viewer=viewer)
    except (BriefingInputError, FontsMissing, ChartExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    suffix = f"-{args.area}" if args.area else ""
    path = Path(args.out or f"briefing-{week_code(week)}{suffix}-{args.lang}.pdf").expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pdf)
    except OSError as error:
        print(f"error: cannot write {path}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(path)
    print(f"{week_code(week)}: {len(pdf) / 1024:,.0f} kB in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


def command_hash_password(args: argparse.Namespace) -> int:
    """Print the IOC_ADMIN_PASSWORD_HASH line for a password typed at the prompt (or piped on stdin)."""
    import getpass

    from dashboard.passwords import hash_password

    if sys.stdin.isatty():
        password = getpass.getpass("Admin password: ")
        if password != getpass.getpass("Repeat it: "):
            print("error: the two passwords differ", file=sys.stderr)
            return 2
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("error: the password is empty", file=sys.stderr)
        return 2
    print(f'IOC_ADMIN_PASSWORD_HASH = "{hash_password(password)}"')
    return 0


def command_import(args: argparse.Namespace) -> int:
    from dashboard.db.load import prepare_database
    from dashboard.ingest.command import run

    with _engine(args) as engine:
        prepare_database(engine, config.city())  # the import tables may be newer than the database
        return run(args, engine)


def command_worker(args: argparse.Namespace) -> int:
    """Run the scheduled jobs until Ctrl-C / SIGTERM (dashboard/jobs/worker.py)."""
    from dashboard.jobs.worker import command_worker as run_worker

    return run_worker(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard", description="Huế IOC analytics dashboard")
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"SQLAlchemy URL (default: env IOC_DATABASE_URL or {config.SETTINGS[0].default})",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    init_db = commands.add_parser("init-db", help="create the tables and load the city's areas (idempotent)")
    init_db.set_defaults(handler=command_init_db)

    demo = commands.add_parser("demo", help="replace the database content with seeded demo data")
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument(
        "--scale", type=_positive_float, default=1.0, help="1.0 ≈ 200k reports, 150k dossiers, 60 sensors"
    )
    demo.add_argument(
        "--start", type=date_argument, default=None, help="first day (YYYY-MM-DD; default: 3 years before --end)"
    )
    demo.add_argument("--end", type=date_argument, default=None, help="last day (YYYY-MM-DD; default: today)")
    demo.set_defaults(handler=command_demo)

    kpi = commands.add_parser("kpi", help="print every KPI for a period")
    kpi.add_argument("--from", dest="date_from", type=date_argument, required=True)
    kpi.add_argument("--to", dest="date_to", type=date_argument, required=True)
    kpi.add_argument("--area", action="append", help="area code (repeat for several); default: whole city")
    kpi.add_argument("--agency", action="append", help="agency name (repeat for several); feedback and dossiers only")
    add_as_option(kpi)
    kpi.add_argument("--json", action="store_true")
    kpi.set_defaults(handler=command_kpi)

    info = commands.add_parser("info", help="row counts, date ranges and freshness per table")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=command_info)

    forecast = commands.add_parser(
        "forecast", help="backtest and store forecasts (Prophet vs same-weekday-last-week) and anomalies"
    )
    forecast.add_argument("--metric", choices=["feedback", "dossiers", "traffic", "all"], default="all")
    forecast.add_argument("--horizon", type=_positive_int, default=28, help="days to forecast (default 28)")
    forecast.add_argument(
        "--holdout",
        type=_positive_int,
        default=None,
        help="withhold the last DAYS days from fitting and score the chosen model and the baseline on them",
    )
    forecast.add_argument(
        "--jobs", type=_positive_int, default=os.cpu_count() or 1, help="worker processes (default: one per CPU core)"
    )
    forecast.add_argument(
        "--dask",
        default=None,
        metavar="ADDRESS",
        help="run the series on a Dask cluster (tcp://host:8786); needs dask.distributed installed",
    )
    forecast.add_argument("--json", action="store_true", help="print one JSON object per series")
    forecast.set_defaults(handler=command_forecast)

    brief = commands.add_parser("brief", help="write the weekly PDF briefing for leaders")
    brief.add_argument(
        "--week",
        default=None,
        metavar="YYYY-Www",
        help="ISO week, e.g. 2026-W47 (default: the last complete Monday-Sunday week, city time)",
    )
    brief.add_argument("--area", default=None, help="one ward/commune code (default: the whole city)")
    brief.add_argument("--lang", choices=["vi", "en"], default=config.default_language())
    brief.add_argument(
        "--out",
        default=None,
        metavar="FILE.pdf",
        help="output file (default: briefing-<week>[-<area>]-<lang>.pdf in the current directory)",
    )
    add_as_option(brief)
    brief.set_defaults(handler=command_brief)

    from dashboard.ingest.command import add_parser as add_import_parser

    add_import_parser(commands, command_import)

    hash_password = commands.add_parser(
        "hash-password", help="print the admin password hash line for .streamlit/secrets.toml"
    )
    hash_password.set_defaults(handler=command_hash_password)

    from dashboard.jobs.command import add_parsers as add_job_parsers

    add_job_parsers(commands, command_worker)

    from dashboard.bench.bench import add_parser as add_bench_parser

    add_bench_parser(commands, _positive_float, _positive_int)

    from dashboard.commands.directives import add_parser as add_directives_parser
    from dashboard.commands.events import add_parser as add_events_parser
    from dashboard.commands.hotspots import add_parser as add_hotspots_parser
    from dashboard.commands.records import add_parser as add_records_parser
    from dashboard.commands.scorecard import add_parser as add_scorecard_parser
    from dashboard.commands.serve import add_parser as add_serve_parser
    from dashboard.commands.users import add_parser as add_users_parser

    add_records_parser(commands)
    add_scorecard_parser(commands)
    add_hotspots_parser(commands)
    add_events_parser(commands)
    add_directives_parser(commands)
    add_serve_parser(commands)
    add_users_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        config.check()  # a setting that cannot be used stops every command before it starts
    except config.SettingError as error:
        print("\n".join(f"error: {problem.text()}" for problem in error.problems), file=sys.stderr)
        return 2
    args = build_parser().parse_args(argv)
    args.database_url = args.database_url or config.database_url()
    try:
        return args.handler(args)
    except DatabaseError as error:
        print(f"error: {error}" + (f"\nhint: {error.hint}" if error.hint else ""), file=sys.stderr)
        return 2
    except BrokenPipeError:  # `... | head` stopped reading: not worth a traceback (Python's documented recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
