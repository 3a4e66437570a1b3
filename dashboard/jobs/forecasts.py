"""The forecasts job: refit and store the forecasts and the feedback anomalies (what `python -m dashboard forecast`
does), nightly and once when the worker starts on a database without a forecast.

A first quick pass fits only the city-level series (and the feedback categories, which the anomalies need) and stores
them, so the overview's anomalies and the forecast page fill within seconds on a fresh database; the second pass
fits every series and replaces the first. A run finds nothing to do (and says so) while every metric has a current
forecast made since the schedule's last time before `now`: starting the worker twice does not refit twice.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import func, inspect, select

from dashboard import config
from dashboard.db import forecast_queries as fq
from dashboard.db import schema
from dashboard.db.engine import check_ready, create_schema, make_engine, writing
from dashboard.jobs.registry import JobContext, JobOutcome, job

NAME = "forecasts"
CRON = "0 1 * * *"
QUICK_LEVELS = {"feedback": ("city", "category"), "dossiers": ("city",), "traffic": ("city",)}


def previous_fire(cron: str, now: datetime) -> datetime:
    """The last time at or before `now` (naive city time) that the five-field `cron` names."""
    from dashboard.jobs.schedule import cron_trigger

    trigger = cron_trigger(cron, "UTC")  # naive city time read as UTC: only the fields matter
    moment = now.replace(tzinfo=None) - timedelta(days=8)
    last = None
    while True:
        following = trigger.get_next_fire_time(None, moment.replace(tzinfo=trigger.timezone))
        if following is None or following.replace(tzinfo=None) > now:
            return last or now - timedelta(days=1)
        last = following.replace(tzinfo=None)
        moment = last + timedelta(seconds=1)


def current_runs(engine) -> dict[str, datetime]:
    """metric → when its current forecast run was made."""
    runs = schema.forecast_runs
    query = select(runs.c.metric, func.max(runs.c.created_at)).where(runs.c.status == "current").group_by(runs.c.metric)
    with engine.connect() as connection:
        return {metric: created for metric, created in connection.execute(query)}


def _forecast_pass(engine, url: str, metrics: list[str], levels: dict[str, tuple[str, ...]] | None, jobs: int):
    from models.run import Settings as ForecastSettings
    from models.run import _feedback_anomalies, _tasks, executor_for, resolved, run_tasks, write_run
    from models.series import load_series

    settings = resolved(engine, ForecastSettings())
    stored = {}
    with executor_for(jobs, None) as executor:
        for metric in metrics:
            long = load_series(engine, metric, None if levels is None else levels[metric])
            results = run_tasks(_tasks(metric, long, settings), executor)
            if not results:
                continue
            found = _feedback_anomalies(engine, results, long["ds"].max()) if metric == "feedback" else None
            run_id = f"{metric}-{datetime.now():%Y%m%dT%H%M%S}-{os.urandom(3).hex()}"
            with writing(url) as write_engine:
                write_run(write_engine, metric, run_id, settings, results, pd.DataFrame() if found is None else found)
            stored[metric] = {"run_id": run_id, "series": len(results), "anomalies": 0 if found is None else len(found)}
    return stored


@job(NAME, CRON, "Refit the forecasts and the feedback anomalies (city level first)", run_on_start=True)
def forecasts(ctx: JobContext) -> JobOutcome:
    started = time.perf_counter()
    engine = make_engine(ctx.url, read_only=True)
    try:
        check_ready(engine)
        if not {t.name for t in schema.FORECAST_TABLES} <= set(inspect(engine).get_table_names()):
            engine.dispose()
            with writing(ctx.url) as write_engine:
                create_schema(write_engine)  # a database made before the forecast tables existed
            engine = make_engine(ctx.url, read_only=True)
        cron = config.value(f"IOC_JOB_{NAME.upper()}_CRON")
        since = previous_fire(cron, ctx.now)
        made = current_runs(engine)
        metrics = list(fq.METRICS)
        if all(made.get(metric) is not None and made[metric] >= since for metric in metrics):
            return JobOutcome(0, {"skipped": "fresh", "since": since, "current": made})
        jobs = max(1, min(os.cpu_count() or 1, 4))
        missing = [metric for metric in metrics if metric not in made]
        quick = _forecast_pass(engine, ctx.url, missing, QUICK_LEVELS, jobs) if missing else {}
        quick_seconds = round(time.perf_counter() - started, 1)
        full = _forecast_pass(engine, ctx.url, metrics, None, jobs)
    finally:
        engine.dispose()
    series = sum(item["series"] for item in full.values())
    return JobOutcome(
        series,
        {
            "quick": quick,
            "quick_seconds": quick_seconds if quick else None,
            "full": full,
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
