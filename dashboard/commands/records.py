"""`python -m dashboard records`: the records behind one KPI's numerator or denominator.

    python -m dashboard records --metric feedback.resolved_on_time_pct --from 2026-11-01 --to 2026-11-30 \\
        [--area CODE]... [--agency NAME]... [--filter NAME=VALUE]... [--part numerator|denominator] \\
        [--count | --csv FILE [--header machine|vi|en]] [--limit N] [--offset N] [--as NAME]

`--count` prints the bare number of records and nothing else (for traffic: observations; `traffic.vehicles` is
their vehicle count). Without `--count`/`--csv`: the first rows, most urgent first, and the total. `--csv` writes
every record through `dashboard.exports` (formula-safe, UTF-8 with BOM); its header is the machine column names,
or their labels with `--header vi|en`. Which rows each KPI has behind it: `dashboard/db/records_queries.py`.
`--as NAME` lists only the records of that user's scope (an agency officer: their own cases), refuses a role without
the right to see records, and masks citizens' details unless the role is in IOC_PII_ROLES (dashboard/commands/acting.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from dashboard.access.roles import Can
from dashboard.commands import date_argument
from dashboard.commands.acting import add_as_option, resolve, scope_of
from dashboard.periods import Period

PREVIEW_ROWS = 20


def _whole(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} must be 0 or more")
    return number


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "records",
        help="list (or count, or write as CSV) the records behind a KPI's numerator or denominator",
        description="The records behind one KPI of `kpi --json`, with the same period and filters.",
    )
    parser.add_argument("--metric", required=True, metavar="KEY", help="a KPI key such as feedback.resolved")
    parser.add_argument("--from", dest="date_from", type=date_argument, required=True)
    parser.add_argument("--to", dest="date_to", type=date_argument, required=True)
    parser.add_argument("--area", action="append", default=[], help="area code (repeat for several)")
    parser.add_argument("--agency", action="append", default=[], help="agency name (repeat for several)")
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a page dimension (feedback: category, channel; dossiers: sector, procedure, channel; traffic: "
        "sensor, road); repeat for several",
    )
    parser.add_argument("--part", choices=["numerator", "denominator"], default="numerator")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--count", action="store_true", help="print only the number of records")
    output.add_argument("--csv", metavar="FILE", default=None, help="write every record to FILE (CSV)")
    parser.add_argument(
        "--header", choices=["machine", "vi", "en"], default="machine", help="CSV header: column names or labels"
    )
    parser.add_argument("--limit", type=_whole, default=PREVIEW_ROWS, help=f"rows shown (default {PREVIEW_ROWS})")
    parser.add_argument("--offset", type=_whole, default=0, help="rows skipped before those shown")
    add_as_option(parser)
    parser.set_defaults(handler=command_records)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _dimensions(args: argparse.Namespace, metric: str) -> dict[str, list[str]] | str:
    """The page dimensions asked for, or the message saying why they cannot apply to `metric`."""
    from dashboard.db import records_queries as rq

    allowed = rq.fact_dimensions(metric)
    pairs = [("agency", name) for name in args.agency]
    for item in args.filter:
        name, equals, value = item.partition("=")
        if not equals or not name.strip() or not value:
            return f"--filter {item!r} is not NAME=VALUE"
        pairs.append((name.strip(), value))
    dimensions: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in allowed:
            return (
                f"{metric} cannot be filtered by {name}: its records ({rq.section_of(metric)}) have "
                f"{', '.join(allowed)}"
            )
        dimensions.setdefault(name, []).append(value)
    return dimensions


def _check_areas(engine, codes: list[str]) -> str | None:
    from dashboard.db import queries

    known = set(queries.area_list(engine)["code"])
    unknown = [code for code in codes if code not in known]
    if unknown:
        return (
            f"unknown area code(s) {', '.join(unknown)}; the areas table holds {len(known)} codes such as "
            f"{', '.join(sorted(known)[:3])}"
        )
    return None


def command_records(args: argparse.Namespace) -> int:
    from dashboard.db import records_queries as rq
    from dashboard.db.engine import check_ready, make_engine
    from dashboard.db.predicates import QueryFilter

    if args.metric not in rq.metric_keys():
        return _fail(f"unknown metric {args.metric!r}; the metrics are: {', '.join(rq.metric_keys())}")
    if args.part not in rq.parts_of(args.metric):
        return _fail(
            f"{args.metric} has no {args.part} (it is a count, a median, a mean or a peak); "
            f"its parts are: {', '.join(rq.parts_of(args.metric))}"
        )
    try:
        period = Period(args.date_from, args.date_to)
    except ValueError as error:
        return _fail(str(error))
    dimensions = _dimensions(args, args.metric)
    if isinstance(dimensions, str):
        return _fail(dimensions)
    if problem := resolve(args, Can.RECORDS):  # --as NAME: their scope, their right to see records
        return _fail(problem)
    engine = make_engine(args.database_url, read_only=True)
    try:
        check_ready(engine)
        if args.area and (problem := _check_areas(engine, args.area)):
            return _fail(problem)
        query_filter = QueryFilter.build(period, args.area, dimensions, scope_of(args))
        if args.count:
            print(rq.count(engine, args.metric, args.part, query_filter))
            return 0
        if args.csv:
            return _write_csv(engine, args, query_filter)
        total = rq.count(engine, args.metric, args.part, query_filter)
        rows = rq.page(
            engine, args.metric, args.part, query_filter, max(args.limit, 1), args.offset, sees_pii=_sees_pii(args)
        )
    finally:
        engine.dispose()
    _print_table(args, period, total, readable(rows.head(args.limit)))
    return 0


def _write_csv(engine, args: argparse.Namespace, query_filter) -> int:
    from dashboard.db import records_queries as rq
    from dashboard.exports import csv_bytes

    frame = readable(rq.all_records(engine, args.metric, args.part, query_filter, sees_pii=_sees_pii(args)))
    if args.header != "machine":
        frame = frame.rename(columns=lambda name: column_label(name, args.header))
    path = Path(args.csv).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(csv_bytes(frame))
    except OSError as error:
        return _fail(f"cannot write {path}: {error.strerror or error}")
    print(f"{len(frame):,} records of {args.metric} ({args.part}) written to {path}", file=sys.stderr)
    _audit_export(args, query_filter, len(frame), path)
    return 0


def _sees_pii(args: argparse.Namespace) -> bool:
    """Citizens' personal details only for a `--as` user whose role is in IOC_PII_ROLES (`args.user`, a
    dashboard.access User); masked otherwise, also for a command run without `--as`."""
    return bool(getattr(getattr(args, "user", None), "sees_pii", False))


def _audit_export(args: argparse.Namespace, query_filter, rows: int, path: Path) -> None:
    """The access log's row for a CSV written by `records --csv` (actor cli:<os user>, or the `--as` user)."""
    from dashboard.db import audit

    user = getattr(args, "user", None)
    actor = audit.cli_actor() + (f" as {user.name}" if getattr(user, "name", "") else "")
    period = query_filter.period
    audit.record_for(
        args.database_url,
        actor=actor,
        role=str(getattr(user, "role", "cli")),
        action="export",
        target=args.metric,
        part=args.part,
        format="csv",
        rows=rows,
        file=str(path),
        **{"from": str(period.start), "to": str(period.end), "area": list(query_filter.areas)},
        **{name: list(values) for name, values in query_filter.dimensions},
    )


ROUNDED = {"late_hours": 1, "late_days": 1, "mean_speed_kmh": 1, "travel_time_ratio": 2}


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """The records with their computed columns rounded (late by 12.3 hours, not 12.345278)."""
    frame = frame.round({name: digits for name, digits in ROUNDED.items() if name in frame.columns})
    if "satisfaction" in frame.columns:  # a rating, not 4.0 (and blank where none)
        frame["satisfaction"] = frame["satisfaction"].astype("Int64")
    return frame


def column_label(name: str, lang: str) -> str:
    """The readable label of a records column (i18n key `records.column.<name>`)."""
    from dashboard.i18n import t

    return t(f"records.column.{name}", lang)


def _print_table(args: argparse.Namespace, period: Period, total: int, rows: pd.DataFrame) -> None:
    print(f"{args.metric} · {args.part} · {period.start}..{period.end}: {total:,} records")
    if rows.empty:
        print("(no records on this page)" if total else "(no records)")
        return
    with pd.option_context("display.max_columns", None, "display.width", 200, "display.max_colwidth", 40):
        print(rows.to_string(index=False))
    first = args.offset + 1
    print(f"rows {first:,}–{args.offset + len(rows):,} of {total:,}, most urgent first (--offset/--limit to page)")
