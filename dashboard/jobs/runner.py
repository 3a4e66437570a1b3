"""Run one job and record it: a `job_runs` row per attempt (running → done / failed with the error text).

`run_job` never raises for a failing job (nor for an operational store that cannot be reached: the run is then only
logged); `run_with_retries` is what the scheduler calls: up to `len(RETRY_DELAYS) + 1` attempts, waiting between
them, and a job that still fails leaves the other jobs alone.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, update

from dashboard.db import ops
from dashboard.jobs.registry import JobContext, JobOutcome, load_all
from dashboard.periods import local_now

log = logging.getLogger("dashboard.jobs")

# Seconds to wait before the 2nd and the 3rd attempt of a scheduled run (tests shorten them).
RETRY_DELAYS: tuple[float, ...] = (30.0, 120.0)
ERROR_CHARS = 4000  # the end of a long traceback is what says what happened


def _json_default(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _now() -> datetime:
    return local_now().replace(microsecond=0)


def _start_row(url: str, name: str, attempt: int, scheduled_for: datetime | None) -> int | None:
    try:
        engine = ops.ops_engine(url)
        with engine.begin() as connection:
            result = connection.execute(
                insert(ops.job_runs).values(
                    job=name, started_at=_now(), status="running", attempt=attempt, scheduled_for=scheduled_for
                )
            )
            return int(result.inserted_primary_key[0])
    except Exception as error:  # the store is away: run anyway, say so in the log
        log.warning("job %s: cannot record the run in the operational store: %s", name, error)
        return None


def _finish_row(url: str, run_id: int | None, status: str, outcome: JobOutcome | None, error: str | None) -> None:
    if run_id is None:
        return
    values = {"finished_at": _now(), "status": status, "error": error}
    if outcome is not None:
        values["rows"] = int(outcome.rows)
        values["details"] = json.dumps(outcome.details, ensure_ascii=False, default=_json_default)
    try:
        with ops.ops_engine(url).begin() as connection:
            connection.execute(update(ops.job_runs).where(ops.job_runs.c.id == run_id).values(**values))
    except Exception as failure:
        log.warning("job run %s: cannot record its end: %s", run_id, failure)


def _error_text(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    trace = "".join(traceback.format_exception(error))
    return (text + "\n\n" + trace[-ERROR_CHARS:]).strip()


def run_job(
    name: str, url: str, now: datetime | None = None, *, attempt: int = 1, scheduled_for: datetime | None = None
) -> tuple[str, JobOutcome | None, str | None]:
    """Run the job `name` once for the moment `now` (default: the city's clock); (status, outcome, error).

    status is "done" or "failed"; KeyError when no job has that name."""
    job = load_all()[name]
    run_id = _start_row(url, name, attempt, scheduled_for)
    context = JobContext(url=url, now=now or _now())
    started = time.perf_counter()
    try:
        outcome = job.run(context)
        if outcome is None:
            outcome = JobOutcome()
    except Exception as error:  # a job failure is data, not a crash
        text = _error_text(error)
        log.warning("job %s failed (attempt %d): %s", name, attempt, text.splitlines()[0])
        _finish_row(url, run_id, "failed", None, text)
        return "failed", None, text
    log.info("job %s done in %.1f s: %d rows", name, time.perf_counter() - started, outcome.rows)
    _finish_row(url, run_id, "done", outcome, None)
    return "done", outcome, None


def run_with_retries(
    name: str,
    url: str,
    *,
    scheduled_for: datetime | None = None,
    delays: tuple[float, ...] | None = None,
    sleep: Callable[[float], object] = time.sleep,
    stopped: Callable[[], bool] = lambda: False,
) -> tuple[str, JobOutcome | None, str | None]:
    """A scheduled run: attempts until one is done, waiting `delays[i]` seconds after the (i+1)-th failure (no more
    attempts once `stopped()`: the worker is shutting down)."""
    delays = RETRY_DELAYS if delays is None else delays
    attempt = 1
    while True:
        status, outcome, error = run_job(name, url, attempt=attempt, scheduled_for=scheduled_for)
        if status == "done" or attempt > len(delays) or stopped():
            return status, outcome, error
        sleep(delays[attempt - 1])
        if stopped():
            return status, outcome, error
        attempt += 1
