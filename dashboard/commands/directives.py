"""`python -m dashboard directives`: leader directives ("ý kiến chỉ đạo") and their status (ops table `directives`).

    python -m dashboard directives list [--open] [--json]

Text: id, shown status (new, in_progress, overdue, done), due date, assignee, subject and text. `--json`: a list of
{"id", "text", "subject_kind", "subject_key", "assignee", "due_date", "status", "created_by", "created_at",
"closed_at", "history": [{"status", "changed_by", "changed_at", "note"}]} where status is the shown one.
Exit codes: 0 done, 2 database problem.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime

import pandas as pd


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("directives", help="leader directives and their status")
    actions = parser.add_subparsers(dest="directives_action", required=True, metavar="{list}")
    listing = actions.add_parser("list", help="list the directives (newest first)")
    listing.add_argument("--open", action="store_true", help="only those not done")
    listing.add_argument("--json", action="store_true", help="print a JSON list, one object per directive")
    listing.set_defaults(handler=command_directives)


def _plain(value):
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (datetime, pd.Timestamp)):
        return pd.Timestamp(value).isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return value


def directive_dicts(frame: pd.DataFrame, changes: pd.DataFrame) -> list[dict]:
    rows = []
    for row in frame.to_dict("records"):
        own = changes[changes["directive_id"] == row["id"]] if not changes.empty else changes
        rows.append(
            {
                "id": int(row["id"]),
                "text": row["text"],
                "subject_kind": row["subject_kind"],
                "subject_key": row["subject_key"],
                "assignee": _plain(row["assignee"]),
                "due_date": _plain(row["due_date"]),
                "status": row["shown_status"],
                "created_by": _plain(row["created_by"]),
                "created_at": _plain(row["created_at"]),
                "closed_at": _plain(row["closed_at"]),
                "history": [
                    {
                        "status": h["status"],
                        "changed_by": _plain(h["changed_by"]),
                        "changed_at": _plain(h["changed_at"]),
                        "note": _plain(h["note"]),
                    }
                    for h in own.to_dict("records")
                ],
            }
        )
    return rows


def command_directives(args: argparse.Namespace) -> int:
    from dashboard.db import directive_queries
    from dashboard.periods import local_now

    frame = directive_queries.list_directives(args.database_url, local_now(), open_only=args.open)
    items = directive_dicts(frame, directive_queries.history(args.database_url))
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    for item in items:
        text = item["text"] if len(item["text"]) <= 60 else item["text"][:59] + "…"
        print(
            f"{item['id']:>5}  {item['status']:<11} {item['due_date'] or '—':<10}  {item['assignee'] or '—':<30} "
            f"{item['subject_kind']}:{item['subject_key']}  {text}"
        )
    print(f"{len(items)} directives")
    return 0
