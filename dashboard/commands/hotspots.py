"""`python -m dashboard hotspots`: repeat locations of citizen reports in a period.

    python -m dashboard hotspots --from 2026-11-06 --to 2026-12-05 [--category NAME]... [--area CODE]... [--json]

A hotspot is a report and the reports of the same category within IOC_HOTSPOT_RADIUS_M metres and IOC_HOTSPOT_DAYS
days of it, at least IOC_HOTSPOT_MIN_REPORTS in all (dashboard/metrics/hotspots.py). `--json`: a list of {"id",
"category", "reports", "source_ids", "lat", "lon", "area_code", "first", "last", "reopened"}, most reports first
(then earliest first report, then id); `reopened` counts the reports received after another of the hotspot was
resolved, or flagged reopened. Exit codes: 0 done, 2 bad input or database problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from dashboard.commands import date_argument
from dashboard.periods import Period

PREVIEW_ROWS = 20


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "hotspots",
        help="repeat locations: reports of the same category close together in a period",
        description="Hotspots of citizen reports (IOC_HOTSPOT_RADIUS_M, IOC_HOTSPOT_DAYS, IOC_HOTSPOT_MIN_REPORTS).",
    )
    parser.add_argument("--from", dest="date_from", type=date_argument, required=True, metavar="DATE")
    parser.add_argument("--to", dest="date_to", type=date_argument, required=True, metavar="DATE")
    parser.add_argument("--category", action="append", default=[], help="a category (repeat for several)")
    parser.add_argument("--area", action="append", default=[], help="area code (repeat for several)")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per hotspot")
    parser.add_argument(
        "--limit", type=int, default=PREVIEW_ROWS, help=f"hotspots listed as text (default {PREVIEW_ROWS})"
    )
    parser.set_defaults(handler=command_hotspots)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def command_hotspots(args: argparse.Namespace) -> int:
    from dashboard.cli import _engine
    from dashboard.commands.records import _check_areas
    from dashboard.db import hotspot_queries as hq
    from dashboard.db.engine import check_ready
    from dashboard.db.predicates import QueryFilter
    from dashboard.domain import FEEDBACK_CATEGORIES
    from dashboard.metrics import hotspots as hs

    try:
        period = Period(args.date_from, args.date_to)
    except ValueError as error:
        return _fail(str(error))
    unknown = [name for name in args.category if name not in FEEDBACK_CATEGORIES]
    if unknown:
        return _fail(f"unknown category {', '.join(unknown)}; the categories are: {', '.join(FEEDBACK_CATEGORIES)}")
    rules = hs.Rules.from_settings()
    with _engine(args, read_only=True) as engine:
        check_ready(engine)
        if args.area and (problem := _check_areas(engine, args.area)):
            return _fail(problem)
        table = hq.hotspots_for(engine, QueryFilter.build(period, args.area, {}), tuple(args.category), rules)
    if args.json:
        print(json.dumps(hs.as_json(table), ensure_ascii=False, indent=2))
        return 0
    print(
        f"Hotspots {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}: {len(table):,} places with at least "
        f"{rules.min_reports} reports of one category within {rules.radius_m:g} m and {rules.days} days"
    )
    if table.empty:
        return 0
    print(f"{'reports':>7} {'re-rep.':>7}  {'category':<18} {'ward':<8} {'first':<10} {'last':<10}  id")
    for row in table.head(max(args.limit, 1)).itertuples(index=False):
        print(
            f"{row.reports:>7} {row.reopened:>7}  {row.category:<18} {row.area_code or '—':<8} "
            f"{row.first:%Y-%m-%d} {row.last:%Y-%m-%d}  {row.id}"
        )
    if len(table) > args.limit:
        print(f"… and {len(table) - args.limit:,} more (--limit, or --json for all)")
    return 0
