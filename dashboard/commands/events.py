"""`python -m dashboard events`: the events marked on every time chart (ops table `events`).

    python -m dashboard events add --kind KIND --title TEXT --from DATE [--to DATE] [--ward CODE]... [--description TEXT]
    python -m dashboard events list [--from DATE] [--to DATE] [--kind KIND]... [--json]
    python -m dashboard events holidays [--country VN]     # load the public holidays for the data's years ± 1

`list` loads the public holidays first (idempotent). Exit codes: 0 done, 2 bad input or database problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from dashboard.commands import date_argument

KINDS = ("holiday", "weather", "festival", "incident", "policy")
JSON_KEYS = ("id", "start_date", "end_date", "kind", "title", "description", "wards", "source", "created_by")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("events", help="events marked on the time charts (holidays, storms, festivals…)")
    actions = parser.add_subparsers(dest="events_action", required=True, metavar="{add,list,holidays}")
    add = actions.add_parser("add", help="add an event (one day, or --from … --to …)")
    add.add_argument("--kind", choices=KINDS, required=True)
    add.add_argument("--title", required=True)
    add.add_argument("--from", dest="date_from", type=date_argument, required=True, metavar="DATE")
    add.add_argument("--to", dest="date_to", type=date_argument, default=None, metavar="DATE")
    add.add_argument("--ward", action="append", default=[], metavar="CODE", help="area code (repeat; none: city-wide)")
    add.add_argument("--description", default=None)
    add.set_defaults(handler=command_events)
    listing = actions.add_parser("list", help="list the events (oldest first)")
    listing.add_argument("--from", dest="date_from", type=date_argument, default=None, metavar="DATE")
    listing.add_argument("--to", dest="date_to", type=date_argument, default=None, metavar="DATE")
    listing.add_argument("--kind", action="append", choices=KINDS, default=[])
    listing.add_argument("--json", action="store_true", help="print a JSON list, one object per event")
    listing.set_defaults(handler=command_events)
    load = actions.add_parser("holidays", help="load the public holidays for the data's years ± 1 (idempotent)")
    load.add_argument("--country", default=None, help="ISO code (default: IOC_COUNTRY)")
    load.set_defaults(handler=command_events)


def event_dicts(frame) -> list[dict]:
    rows = []
    for row in frame.to_dict("records"):
        item = {key: row[key] for key in JSON_KEYS}
        item["start_date"] = row["start_date"].isoformat()
        item["end_date"] = row["end_date"].isoformat()
        item["wards"] = [w for w in (row["wards"] or "").split(",") if w]
        rows.append(item)
    return rows


def command_events(args: argparse.Namespace) -> int:
    from dashboard.cli import _engine
    from dashboard.db import event_queries

    url = args.database_url
    try:
        if args.events_action == "add":
            new_id = event_queries.add_event(
                url,
                args.kind,
                args.title,
                args.date_from,
                args.date_to,
                description=args.description,
                wards=args.ward,
                created_by="cli",
            )
            print(f"event {new_id} added")
            from dashboard.db import audit

            audit.record_for(
                url,
                actor=audit.cli_actor(),
                role="cli",
                action="event_change",
                target=str(new_id),
                change="add",
                kind=args.kind,
                title=args.title,
                start=str(args.date_from),
                end=str(args.date_to or args.date_from),
                wards=list(args.ward or ()),
            )
            return 0
        country = (getattr(args, "country", None) or event_queries.country()).upper()
        with _engine(args, read_only=True) as engine:
            added = event_queries.ensure_holidays(engine, url, country)
        if args.events_action == "holidays":
            print(f"{added} holidays of {country} added")
            return 0
    except event_queries.EventError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    frame = event_queries.list_events(url, start=args.date_from, end=args.date_to, kinds=args.kind)
    if args.json:
        print(json.dumps(event_dicts(frame), ensure_ascii=False, indent=2))
        return 0
    for row in event_dicts(frame):
        span = row["start_date"] if row["start_date"] == row["end_date"] else f"{row['start_date']}..{row['end_date']}"
        wards = ",".join(row["wards"]) or "city"
        print(f"{row['id']:>5}  {span:<22} {row['kind']:<9} {wards:<12} {row['title']}")
    print(f"{len(frame)} events")
    return 0
