"""`python -m dashboard jobs list|run`: what the worker's jobs are, when they ran and run next; one run by hand."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import column, inspect, select, table

from dashboard import config
from dashboard.db import ops
from dashboard.jobs import runner, status
from dashboard.jobs.registry import load_all
from dashboard.jobs.schedule import cron_trigger
from dashboard.jobs.worker import JOBSTORE_TABLE, cron_of


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _now_argument(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a time YYYY-MM-DDTHH:MM (city time)") from None


def _plain(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value.item() if hasattr(value, "item") else value


def stored_next_runs(url: str) -> dict[str, datetime]:
    """job → next run time kept in the worker's job store (naive city time); empty before the first worker."""
    engine = ops.ops_engine(url)
    if JOBSTORE_TABLE not in inspect(engine).get_table_names():
        return {}
    jobs = table(JOBSTORE_TABLE, column("id"), column("next_run_time"))
    zone = ZoneInfo(config.timezone())
    with engine.connect() as connection:
        rows = connection.execute(select(jobs.c.id, jobs.c.next_run_time)).all()
    return {
        job: datetime.fromtimestamp(float(moment), zone).replace(tzinfo=None, microsecond=0)
        for job, moment in rows
        if moment is not None
    }


def job_table(url: str, now: datetime) -> list[dict]:
    """One dict per job: name, schedule, description, last_run, status, rows, error, failures, next_run, scheduled."""
    jobs = load_all()
    last = {row["job"]: row for row in status.last_runs(url).to_dict("records")}
    stored = stored_next_runs(url)
    zone = ZoneInfo(config.timezone())
    rows = []
    for name, job in jobs.items():
        schedule = cron_of(name)
        run = last.get(name, {})
        if name in stored:
            following, scheduled = stored[name], True
        else:
            moment = cron_trigger(schedule, zone).get_next_fire_time(None, now.replace(tzinfo=zone))
            following, scheduled = (moment.replace(tzinfo=None) if moment else None), False
        rows.append(
            {
                "name": name,
                "schedule": schedule,
                "description": job.description,
                "last_run": _plain(run.get("started_at")),
                "status": _plain(run.get("status")),
                "rows": _plain(run.get("rows")),
                "failures": _plain(run.get("failures")) or 0,
                "error": _plain(run.get("error")),
                "next_run": following,
                "scheduled": scheduled,  # next_run from a worker's job store (else: from the schedule)
            }
        )
    return rows


def command_list(args: argparse.Namespace) -> int:
    from dashboard.periods import local_now

    rows = job_table(args.database_url, local_now().replace(microsecond=0))
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, default=_json_default))
        return 0
    print(f"{'job':<16} {'schedule':<14} {'last run':<17} {'status':<8} {'next run':<17}")
    for row in rows:
        last = f"{row['last_run']:%Y-%m-%d %H:%M}" if row["last_run"] else "never"
        following = f"{row['next_run']:%Y-%m-%d %H:%M}" if row["next_run"] else "–"
        print(f"{row['name']:<16} {row['schedule']:<14} {last:<17} {row['status'] or '–':<8} {following:<17}")
        if row["status"] == "failed" and row["error"]:
            print(f"{'':<16} error: {row['error'].splitlines()[0]}")
    return 0


def command_run(args: argparse.Namespace) -> int:
    from dashboard.periods import local_now

    jobs = load_all()
    if args.name not in jobs:
        print(f"error: unknown job {args.name!r}; the jobs are {', '.join(jobs)}", file=sys.stderr)
        return 2
    now = args.now or local_now().replace(microsecond=0)
    started = datetime.now()
    state, outcome, error = runner.run_job(args.name, args.database_url, now)
    seconds = round((datetime.now() - started).total_seconds(), 2)
    if args.json:
        result = {"job": args.name, "now": now}
        result.update({k: v for k, v in (outcome.details if outcome else {}).items() if k not in result})
        result.update({"status": state, "rows": outcome.rows if outcome else None, "seconds": seconds})
        result["error"] = error.splitlines()[0] if error else None
        print(json.dumps(result, ensure_ascii=False, default=_json_default))
    elif state == "done":
        details = json.dumps(outcome.details, ensure_ascii=False, default=_json_default)
        print(f"{args.name}: done in {seconds:.1f} s, {outcome.rows:,} rows; {details}")
    else:
        print(f"{args.name}: failed after {seconds:.1f} s: {error.splitlines()[0]}", file=sys.stderr)
    return 0 if state == "done" else 1


def add_parsers(commands, worker_handler) -> None:
    """The `jobs` and `worker` commands of the CLI."""
    jobs = commands.add_parser("jobs", help="the worker's jobs: list them, or run one now")
    actions = jobs.add_subparsers(dest="jobs_command", required=True)
    listing = actions.add_parser("list", help="name, schedule, last run, status and next run of every job")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=command_list)
    run = actions.add_parser("run", help="run one job once, now, and record it in job_runs")
    run.add_argument("name", help="job name (see `jobs list`)")
    run.add_argument(
        "--now", type=_now_argument, default=None, help="the moment the run is for, YYYY-MM-DDTHH:MM city time"
    )
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=command_run)

    worker = commands.add_parser("worker", help="run every job on its schedule until Ctrl-C (see README, Worker)")
    worker.set_defaults(handler=worker_handler)
