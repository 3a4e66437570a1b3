"""What the worker did: the last run of every job (for `jobs list` and the data-quality page)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import func, select

from dashboard.db import ops

COLUMNS = ["job", "started_at", "finished_at", "status", "rows", "attempt", "error", "failures", "last_done_at"]


def last_runs(url: str) -> pd.DataFrame:
    """One row per job that ever ran: its newest run (started, finished, status, rows, attempt, error), how many
    runs failed since the last one that was done (`failures`) and when that one started (`last_done_at`)."""
    runs = ops.job_runs
    newest = select(runs.c.job, func.max(runs.c.id).label("id")).group_by(runs.c.job).subquery()
    done = (
        select(runs.c.job, func.max(runs.c.id).label("done_id"), func.max(runs.c.started_at).label("last_done_at"))
        .where(runs.c.status == "done")
        .group_by(runs.c.job)
        .subquery()
    )
    earlier = runs.alias("earlier")
    failures = (
        select(func.count())
        .where(
            earlier.c.job == runs.c.job,
            earlier.c.status == "failed",
            earlier.c.id > func.coalesce(done.c.done_id, 0),
        )
        .scalar_subquery()
    )
    query = (
        select(
            runs.c.job,
            runs.c.started_at,
            runs.c.finished_at,
            runs.c.status,
            runs.c.rows,
            runs.c.attempt,
            runs.c.error,
            failures.label("failures"),
            done.c.last_done_at,
        )
        .join(newest, newest.c.id == runs.c.id)
        .outerjoin(done, done.c.job == runs.c.job)
        .order_by(runs.c.job)
    )
    with ops.ops_engine(url).connect() as connection:
        frame = pd.DataFrame(connection.execute(query).mappings().all(), columns=COLUMNS)
    for column in ("started_at", "finished_at", "last_done_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def job_overview(url: str) -> pd.DataFrame:
    """Every registered job with its schedule and its last run (a job that never ran has empty run columns):
    job, schedule, started_at, finished_at, status, rows, failures, last_done_at, error (its first line)."""
    from dashboard.jobs.registry import load_all
    from dashboard.jobs.worker import cron_of

    jobs = pd.DataFrame({"job": list(load_all())})
    jobs["schedule"] = [cron_of(name) for name in jobs["job"]]
    frame = jobs.merge(last_runs(url), on="job", how="left")
    frame["error"] = [
        None if not isinstance(error, str) or not error else error.strip().splitlines()[0] for error in frame["error"]
    ]
    frame["failures"] = frame["failures"].fillna(0).astype(int)
    return frame[
        ["job", "schedule", "started_at", "finished_at", "status", "rows", "failures", "last_done_at", "error"]
    ]
