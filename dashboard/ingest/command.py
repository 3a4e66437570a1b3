"""`python -m dashboard import {feedback|dossiers|traffic|areas} FILE ...`: the importer on the command line.

Prints the column mapping it used, a progress bar (rich, on stderr) and a final summary. Exit codes: 0 done
(or dry run), 2 bad input or database problem, 3 aborted because too many rows were rejected, 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dashboard import config
from dashboard.db.engine import DatabaseError
from dashboard.ingest import dates, readers
from dashboard.ingest.importer import (
    ImportAborted,
    ImportOptions,
    ImportResult,
    run_import,
)


def _field_map(value: str) -> tuple[str, str]:
    name, sep, column = value.partition("=")
    if not sep or not name.strip() or not column.strip():
        raise argparse.ArgumentTypeError(f"{value!r}: expected FIELD=COLUMN, e.g. received_at='Ngày tiếp nhận'")
    return name.strip(), column.strip()


def _rate(value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not 0 <= rate <= 1:
        raise argparse.ArgumentTypeError(f"{value!r} must be between 0 and 1 (0.05 = 5 %)")
    return rate


def add_parser(commands: argparse._SubParsersAction, handler) -> None:
    parser = commands.add_parser(
        "import",
        help="import a file of feedback, dossiers, traffic counts or area boundaries (idempotent)",
        description="Import one file. Rows are upserted on (source, source_id), so importing a file twice "
        "changes nothing; the whole file is written in one transaction or not at all.",
    )
    parser.add_argument("kind", choices=["feedback", "dossiers", "traffic", "areas"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--source", default=None, help="name of the source system (default: from the file name)")
    parser.add_argument(
        "--map",
        dest="columns",
        action="append",
        type=_field_map,
        default=[],
        metavar="FIELD=COLUMN",
        help="which column holds a field, e.g. received_at='Created Date'",
    )
    parser.add_argument(
        "--mapping",
        dest="mapping_file",
        type=Path,
        default=None,
        metavar="FILE.yaml",
        help="YAML with columns:, values:, source:, date_format:, dayfirst:, wide:",
    )
    parser.add_argument("--date-format", default=None, metavar="FMT", help="strptime format, e.g. %%d/%%m/%%Y %%H:%%M")
    parser.add_argument("--dayfirst", action="store_true", default=None, help="read 01/02/2026 as 1 February")
    parser.add_argument("--wide", action="store_true", help="traffic: one time column, one count column per sensor")
    parser.add_argument(
        "--sensors",
        type=Path,
        default=None,
        metavar="FILE",
        help="traffic: the sensors' list (id, name, lat, lon) to add or update first",
    )
    parser.add_argument(
        "--strict-sensors",
        action="store_true",
        help="traffic: reject counts of sensors the database does not know (default: register them from the file, "
        "without a location)",
    )
    parser.add_argument(
        "--period-minutes",
        type=int,
        default=None,
        help="traffic: minutes each count covers (default: the usual gap in the file)",
    )
    parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    parser.add_argument(
        "--max-reject-rate",
        type=_rate,
        default=0.05,
        help="abort (writing nothing) when more than this share of rows is rejected (default 0.05)",
    )
    parser.add_argument(
        "--reject-report",
        type=Path,
        default=None,
        metavar="FILE.csv",
        help="write every rejected row (row number, column, value, reason) here",
    )
    parser.add_argument(
        "--country",
        default=None,
        metavar="CODE",
        help="the country of the data (ISO 3166, e.g. US): its public holidays are used by the forecasts "
        "instead of IOC_COUNTRY's",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=handler)


def options_from(args: argparse.Namespace) -> ImportOptions:
    return ImportOptions(
        kind=args.kind,
        path=args.file,
        source=args.source,
        columns=dict(args.columns),
        mapping_file=args.mapping_file,
        date_format=args.date_format,
        dayfirst=args.dayfirst,
        wide=args.wide,
        dry_run=args.dry_run,
        max_reject_rate=args.max_reject_rate,
        reject_report=args.reject_report,
        sensors=args.sensors,
        strict_sensors=args.strict_sensors,
        period_minutes=args.period_minutes,
    )


def print_summary(result: ImportResult, out=None) -> None:
    out = out or sys.stdout
    print(
        f"Import {result.import_id} of {result.file_name} as {result.kind} (source {result.source!r}): {result.status}",
        file=out,
    )
    print("Columns used: " + ", ".join(f"{f} <- {h!r}" for f, h in result.mapping.items()), file=out)
    if result.date_formats:
        print("Date formats: " + ", ".join(f"{f}: {d}" for f, d in result.date_formats.items()), file=out)
    print(
        f"Rows read {result.rows_read:,}; inserted {result.inserted:,}, updated {result.updated:,}, "
        f"unchanged {result.unchanged:,}, rejected {result.rejected:,} ({result.reject_rate:.1%}), "
        f"duplicates in file {result.duplicates:,}, unknown area {result.unknown_area:,}"
        + (f"; sensors added {result.sensors_added:,}" if result.sensors_added else "")
        + (
            f"; {result.sensors_registered:,} sensors registered from the file (no location yet)"
            if result.sensors_registered
            else ""
        )
        + _crosswalk_words(result)
        + f"; {result.seconds:.1f} s",
        file=out,
    )
    for reason, count in result.reasons.most_common():
        print(f"  rejected {count:,}: {reason}", file=out)


def _crosswalk_words(result: ImportResult) -> str:
    """ "; 12 rows given with an older unit (before 01/07/2025) placed on the current units, 2 of them by the largest
    share of a split unit" (nothing when no row was)."""
    if not result.crosswalk:
        return ""
    from dashboard.boundaries import merger_date

    merger = merger_date(config.city())
    before = f" (before {merger:%d/%m/%Y})" if merger else ""
    split = (
        f", {result.crosswalk_share:,} of them by the largest share of a split unit" if result.crosswalk_share else ""
    )
    return f"; {result.crosswalk:,} rows given with an older unit{before} placed on the current units{split}"


def run(args: argparse.Namespace, engine) -> int:
    if args.kind == "areas":
        from dashboard.ingest.areas import import_areas

        try:
            areas = import_areas(engine, args.file, dry_run=args.dry_run)
        except readers.InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{'Would replace' if args.dry_run else 'Replaced'} the areas with {len(areas)} from {args.file.name}.")
        return 0
    options = options_from(args)
    if args.country is not None:
        from models.calendar import normal_country

        try:
            args.country = normal_country(args.country)
        except ValueError as error:
            print(f"error: --country: {error}", file=sys.stderr)
            return 2
    try:
        with _progress(args.quiet or not sys.stderr.isatty()) as progress:
            result = run_import(engine, options, progress=progress)
    except (readers.InputError, dates.DateFormatError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ImportAborted as aborted:
        print_summary(aborted.result, out=sys.stderr)
        print(f"error: {aborted}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("error: interrupted; nothing was imported", file=sys.stderr)
        return 130
    except MemoryError:
        error = readers.InputError(
            "ingest.msg.out_of_memory", file=args.file.name, limit=_memory_mb(), setting="ulimit -v"
        )
        print(f"error: {error}", file=sys.stderr)
        return 2
    except DatabaseError:
        raise
    print_summary(result)
    if not args.dry_run:
        _audit_import(args, result)
    if args.country and not args.dry_run:
        set_country(engine, args.country)
        print(f"The data's country is {args.country}: the forecasts use its public holidays.")
    if args.reject_report and result.rejected:
        print(f"Rejected rows written to {args.reject_report}")
    return 0


def _audit_import(args: argparse.Namespace, result: ImportResult) -> None:
    """The access log's row for an import run from a shell (actor cli:<os user>)."""
    from dashboard.db import audit

    audit.record_for(
        getattr(args, "database_url", None),
        actor=audit.cli_actor(),
        role="cli",
        action="import",
        target=result.file_name,
        kind=result.kind,
        source=result.source,
        inserted=result.inserted,
        updated=result.updated,
        rejected=result.rejected,
        import_id=result.import_id,
    )


def set_country(engine, country: str) -> None:
    """Record the data's country in dataset_info (key `country`, read by models.calendar.country_of)."""
    from sqlalchemy import delete, insert

    from dashboard.db import schema
    from dashboard.db.engine import translating_errors

    info = schema.dataset_info
    with translating_errors(engine), engine.begin() as connection:
        connection.execute(delete(info).where(info.c.key == "country"))
        connection.execute(insert(info).values(key="country", value=country))


def _memory_mb() -> int:
    """The address space this process may use (its RLIMIT_AS, else the machine's memory), in MB."""
    import os
    import resource

    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft != resource.RLIM_INFINITY:
        return soft >> 20
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") >> 20


class _progress:
    """A rich progress bar on stderr (or nothing when quiet / not a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.bar, self.task = quiet, None, None

    def __enter__(self):
        if self.quiet:
            return None
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[rows]:>12,} rows"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=True,
            console=_stderr_console(),
        )
        self.bar.__enter__()
        self.task = self.bar.add_task("importing", total=1.0, rows=0)
        return self.update

    def update(self, result: ImportResult, share: float) -> None:
        self.bar.update(self.task, completed=share, rows=result.rows_read)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)
