"""Orchestration of `python -m dashboard forecast`: series → backtest → chosen model → tables.

For every series of a metric (one task each, in parallel):
  1. rolling-origin backtest of Prophet and the weekly seasonal-naive baseline on the series
     (without the last `holdout` days when a holdout is asked for); the lower MASE wins;
  2. with a holdout, the winner and the baseline are fitted on everything before it and scored
     on it (true out-of-sample);
  3. the winner is fitted on the whole series and forecasts the next `horizon` days.
Then, for feedback, anomalies per ward × category (models.anomalies) from the per-category fits.

Parallelism: `jobs` worker processes (concurrent.futures), or a Dask cluster: with `dask_address`,
tasks go to `dask.distributed.Client(address).get_executor()`, the same Executor interface. The
workers must import this project (`models`, `dashboard`) and Prophet: run them from the same
environment, e.g. `dask scheduler` and `dask worker tcp://scheduler:8786` inside the project's venv.
Dask is optional and not a dependency; without it `--dask` stops with a clear message.

Writing: each run of a metric is written under a new run_id while the previous run stays
current; one transaction then marks the new run current, the old one replaced, and deletes the
old rows. Readers (pages) only see current runs, so they never see a half-written forecast.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from dashboard.db import forecast_queries as fq
from dashboard.db import schema
from dashboard.db.engine import create_schema, execute, translating_errors
from dashboard.db.load import bulk_load
from dashboard.periods import local_now
from models import anomalies, backtest, baseline, calibration, events, prophet_model, stats_models
from models.calendar import DEFAULT_COUNTRY, country_of
from models.series import load_series, split

# Opens the engine a run is stored on (dashboard.db.engine.writing on a served DuckDB file).
Writer = Callable[[], AbstractContextManager[Engine]]
CANDIDATES = (prophet_model.MODEL_NAME, baseline.MODEL_NAME, stats_models.ETS, stats_models.MSTL)
# Prophet costs 1–2 s a fit (×5 per series with the backtest); the statistical models 0.05 s. Prophet is a candidate
# for the city-level series and the feedback categories (their fitted values feed the anomalies); with
# `prophet_everywhere` for every series.
PROPHET_LEVELS = ("city", "category")


class ForecastError(RuntimeError):
    """A problem with the forecast run explained for people (bad option, missing optional package)."""


@dataclass(frozen=True)
class Settings:
    horizon: int = 28
    folds: int = 4
    holdout: int = 0
    models: tuple[str, ...] = CANDIDATES
    country: str | None = None  # whose public holidays Prophet learns; None: the data's own or IOC_COUNTRY (resolved)
    prophet_everywhere: bool = False
    events: tuple[tuple[str, str], ...] = ()  # operators' events as extra Prophet holidays (models.events)


@dataclass(frozen=True)
class SeriesTask:
    series_id: str
    history: pd.DataFrame  # ds, y (complete days; NaN = missing)
    settings: Settings
    with_fitted: bool = False  # also return in-sample fitted values (per-category feedback, for anomalies)


@dataclass
class SeriesResult:
    series_id: str
    model: str
    scores: pd.DataFrame  # model, mase, smape, coverage_80, coverage_80_raw, is_holdout, chosen
    forecast: pd.DataFrame  # ds, yhat, yhat_lower, yhat_upper (calibrated band)
    fitted: pd.DataFrame | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def forecasters(settings: Settings) -> dict[str, backtest.Forecaster]:
    return {
        prophet_model.MODEL_NAME: partial(
            prophet_model.forecast, country=settings.country or DEFAULT_COUNTRY, events=settings.events
        ),
        baseline.MODEL_NAME: baseline.forecast,
        stats_models.ETS: stats_models.ets,
        stats_models.MSTL: stats_models.mstl,
    }


def candidates(task: SeriesTask) -> tuple[str, ...]:
    """The models backtested on this series (Prophet only on the levels it is worth its time on)."""
    level = task.series_id.split(":")[1] if ":" in task.series_id else ""
    prophet_here = task.settings.prophet_everywhere or level in PROPHET_LEVELS
    names = [m for m in task.settings.models if m != prophet_model.MODEL_NAME or prophet_here]
    return tuple(dict.fromkeys([*names, baseline.MODEL_NAME]))  # the yardstick is always there


def _safe(name: str, notes: list[str], settings: Settings):
    """The forecaster `name`, falling back to the baseline (with a note) if it fails on this series."""
    forecaster = forecasters(settings)[name]

    def run(history: pd.DataFrame, future: pd.Series) -> pd.DataFrame:
        try:
            return forecaster(history, future)
        except Exception as error:  # a model that cannot fit one series must not stop the run
            notes.append(f"{name} failed ({type(error).__name__}: {error}); baseline used")
            return baseline.forecast(history, future)

    return run


def resolved(engine: Engine, settings: Settings) -> Settings:
    """`settings` with its country filled in (the data's own, dataset_info `country`, else IOC_COUNTRY) and the
    operators' recorded events (models.events) added."""
    if not settings.country:
        from dashboard.db import queries

        settings = replace(settings, country=country_of(queries.dataset_info(engine)))
    return replace(settings, events=settings.events or events.operator_events(engine))


def _future_days(history: pd.DataFrame, days: int) -> pd.Series:
    return pd.Series(pd.date_range(history["ds"].max() + pd.Timedelta(days=1), periods=days, freq="D"))


def _backtest_table(folds: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, calibration.Bands]]:
    """Scores per model (coverage_80 of the calibrated band, leave-one-fold-out; coverage_80_raw of the model's own)
    and each model's bands calibrated on all its folds."""
    rows, bands = [], {}
    for name, group in folds.groupby("model", sort=True):
        raw = backtest.score_frame(group)
        coverage, _ = calibration.cross_validated(group)
        rows.append({"model": name, **raw, "coverage_80": coverage, "coverage_80_raw": raw["coverage_80"]})
        bands[str(name)] = calibration.bands(calibration.errors(group))
    columns = ["model", "mase", "smape", "coverage_80", "coverage_80_raw"]
    return pd.DataFrame(rows, columns=columns).assign(is_holdout=False), bands


def forecast_series(task: SeriesTask) -> SeriesResult:
    """Backtest the candidates, choose, (score on the holdout,) and forecast one series. Runs in a worker process."""
    started = time.perf_counter()
    prophet_model.silence()
    settings, notes = task.settings, []
    series = task.history.sort_values("ds").reset_index(drop=True)
    fitting = series.iloc[: len(series) - settings.holdout] if settings.holdout else series
    models = {name: _safe(name, notes, settings) for name in candidates(task)}
    folds = backtest.run(fitting, models, settings.horizon, settings.folds)
    table, bands = _backtest_table(folds)
    chosen = backtest.winner(table)
    if settings.holdout:
        held = series.iloc[len(series) - settings.holdout :]
        scale = baseline.naive_scale(fitting["y"])
        rows = []
        for name in dict.fromkeys([chosen, baseline.MODEL_NAME]):
            raw = models[name](fitting, held["ds"]).assign(y=held["y"].to_numpy(), fold=0, scale=scale)
            corrected = calibration.apply(raw, fitting["ds"].max(), bands.get(name, {}))
            scored = backtest.score_frame(raw)
            rows.append(
                {
                    "model": name,
                    **scored,
                    "coverage_80": calibration.inside_share(corrected),
                    "coverage_80_raw": scored["coverage_80"],
                    "is_holdout": True,
                }
            )
        table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    table["chosen"] = table["model"] == chosen
    future = _future_days(series, settings.horizon)
    fitted = None
    if chosen == prophet_model.MODEL_NAME and task.with_fitted:
        try:
            forecast, fitted = prophet_model.forecast(
                series, future, with_fitted=True, country=settings.country or DEFAULT_COUNTRY, events=settings.events
            )
        except Exception as error:
            notes.append(f"prophet failed on the full series ({error}); baseline used")
            chosen, forecast = baseline.MODEL_NAME, baseline.forecast(series, future)
            table["chosen"] = table["model"] == chosen
    else:
        forecast = models[chosen](series, future)
    forecast = calibration.apply(forecast, series["ds"].max(), bands.get(chosen, {}))
    if task.with_fitted and fitted is None:
        fitted = baseline.fitted(series)
    return SeriesResult(task.series_id, chosen, table, forecast, fitted, time.perf_counter() - started, notes)


# ---------------------------------------------------------------- executors
def dask_client(address: str):
    """A client of the Dask cluster at `address` (its `get_executor()` is a concurrent.futures Executor)."""
    try:
        from dask.distributed import Client
    except ImportError as error:
        raise ForecastError(
            "--dask needs the optional package dask.distributed, which is not installed "
            "(pip install 'dask[distributed]' on this machine and on the workers), "
            "or leave out --dask to use local processes (--jobs)."
        ) from error
    try:
        client = Client(address, timeout="10s")
    except OSError as error:
        raise ForecastError(f"cannot reach the Dask scheduler at {address}: {error}") from error
    return client


@contextmanager
def executor_for(jobs: int, dask_address: str | None) -> Iterator[Executor | None]:
    """None means "run in this process" (jobs = 1, no Dask)."""
    if dask_address:
        client = dask_client(dask_address)
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if jobs <= 1:
        yield None
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def run_tasks(tasks: list[SeriesTask], executor: Executor | None) -> list[SeriesResult]:
    if executor is None:
        return [forecast_series(task) for task in tasks]
    return list(executor.map(forecast_series, tasks))


# ---------------------------------------------------------------- one metric
@dataclass
class MetricRun:
    metric: str
    run_id: str
    results: list[SeriesResult]
    anomalies: pd.DataFrame
    seconds: float


def _tasks(metric: str, long: pd.DataFrame, settings: Settings) -> list[SeriesTask]:
    tasks = []
    for series_id, history in split(long).items():
        if history["y"].notna().sum() < 2 * 7:
            continue  # nothing to learn from
        with_fitted = series_id.startswith(fq.series_id(metric, "category") + ":")
        tasks.append(SeriesTask(series_id, history, settings, with_fitted))
    return tasks


def _feedback_anomalies(engine: Engine, results: list[SeriesResult], last_day: pd.Timestamp) -> pd.DataFrame:
    prefix = fq.series_id("feedback", "category") + ":"
    fitted = {
        r.series_id[len(prefix) :]: r.fitted for r in results if r.series_id.startswith(prefix) and r.fitted is not None
    }
    start = last_day - pd.Timedelta(days=anomalies.WINDOW_DAYS - 1)
    daily = fq.ward_category_daily(engine, start.date(), last_day.date())
    totals = fq.ward_category_totals(
        engine, (last_day - pd.Timedelta(days=anomalies.SHARE_DAYS - 1)).date(), last_day.date()
    )
    return anomalies.detect(daily, totals, fitted, start, last_day)


def forecast_metric(
    engine: Engine, metric: str, settings: Settings, executor: Executor | None, writer: Writer | None = None
) -> MetricRun:
    """Read the metric's history on `engine`, fit, and store the run: on `engine`, or on the engine `writer()` opens
    for just that step (the CLI reads on the app's read-only path and writes through `engine.writing`, so the
    minutes of fitting hold no lock)."""
    started = time.perf_counter()
    long = load_series(engine, metric)
    tasks = _tasks(metric, long, settings)
    results = run_tasks(tasks, executor)
    found = pd.DataFrame()
    if metric == "feedback" and results:
        found = _feedback_anomalies(engine, results, long["ds"].max())
    run_id = f"{metric}-{datetime.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    if writer is None:
        write_run(engine, metric, run_id, settings, results, found)
    else:
        with writer() as write_engine:
            write_run(write_engine, metric, run_id, settings, results, found)
    return MetricRun(metric, run_id, results, found, time.perf_counter() - started)


# ---------------------------------------------------------------- writing
def _frames(metric: str, run_id: str, results: list[SeriesResult]) -> tuple[pd.DataFrame, pd.DataFrame]:
    forecasts = [r.forecast.assign(series_id=r.series_id, model=r.model) for r in results]
    scores = [r.scores.assign(series_id=r.series_id) for r in results]
    forecast_frame = (
        pd.concat(forecasts, ignore_index=True)
        if forecasts
        else pd.DataFrame(columns=["ds", "yhat", "yhat_lower", "yhat_upper", "series_id", "model"])
    )
    forecast_frame = forecast_frame.assign(
        run_id=run_id, metric=metric, ds=pd.to_datetime(forecast_frame["ds"]).dt.date
    )
    score_frame = (
        pd.concat(scores, ignore_index=True)
        if scores
        else pd.DataFrame(
            columns=["model", "mase", "smape", "coverage_80", "coverage_80_raw", "is_holdout", "chosen", "series_id"]
        )
    )
    score_frame = score_frame.assign(run_id=run_id, metric=metric)
    score_frame = score_frame.replace({np.inf: np.nan})
    return forecast_frame, score_frame


def write_run(
    engine: Engine, metric: str, run_id: str, settings: Settings, results: list[SeriesResult], found: pd.DataFrame
) -> None:
    """Write a run's rows, then make it the metric's current run in one transaction."""
    create_schema(engine)  # an older database gains the forecast tables' added columns (schema.ADDED_COLUMNS)
    runs = schema.forecast_runs
    execute(
        engine,
        insert(runs).values(
            run_id=run_id,
            created_at=local_now().replace(microsecond=0),
            metric=metric,
            horizon_days=settings.horizon,
            holdout_days=settings.holdout,
            status="running",
        ),
    )
    try:
        forecast_frame, score_frame = _frames(metric, run_id, results)
        bulk_load(engine, schema.forecasts, forecast_frame)
        bulk_load(engine, schema.forecast_scores, score_frame)
        if not found.empty:
            bulk_load(engine, schema.anomalies, found.assign(run_id=run_id))
    except Exception:
        _drop_runs(engine, [run_id], status="failed")
        raise
    with translating_errors(engine), engine.begin() as connection:
        connection.execute(
            update(runs).where(runs.c.metric == metric, runs.c.status == "current").values(status="replaced")
        )
        connection.execute(update(runs).where(runs.c.run_id == run_id).values(status="current"))
        old = select(runs.c.run_id).where(runs.c.metric == metric, runs.c.status.in_(("replaced", "failed")))
        for table in (schema.forecasts, schema.forecast_scores, schema.anomalies):
            connection.execute(delete(table).where(table.c.run_id.in_(old)))


def _drop_runs(engine: Engine, run_ids: list[str], status: str) -> None:
    runs = schema.forecast_runs
    with translating_errors(engine), engine.begin() as connection:
        connection.execute(update(runs).where(runs.c.run_id.in_(run_ids)).values(status=status))
        for table in (schema.forecasts, schema.forecast_scores, schema.anomalies):
            connection.execute(delete(table).where(table.c.run_id.in_(run_ids)))


# ---------------------------------------------------------------- summaries
def summary_rows(run: MetricRun) -> list[dict]:
    """One dict per series for `--json`: series, metric, model, mase_model, mase_naive, coverage_80.

    Holdout scores when the run had a holdout, backtest scores otherwise.
    """
    rows = []
    for result in run.results:
        table = result.scores
        table = table[table["is_holdout"]] if table["is_holdout"].any() else table[~table["is_holdout"]]
        chosen = table[table["model"] == result.model]
        naive = table[table["model"] == baseline.MODEL_NAME]

        def value(frame: pd.DataFrame, column: str) -> float | None:
            number = float(frame[column].iloc[0]) if len(frame) else float("nan")
            return None if not np.isfinite(number) else round(number, 4)

        rows.append(
            {
                "series": result.series_id,
                "metric": run.metric,
                "model": result.model,
                "mase_model": value(chosen, "mase"),
                "mase_naive": value(naive, "mase"),
                "coverage_80": value(chosen, "coverage_80"),
            }
        )
    return rows


def run_forecasts(
    engine: Engine,
    metrics: list[str],
    settings: Settings,
    jobs: int = 1,
    dask_address: str | None = None,
    writer: Writer | None = None,
) -> list[MetricRun]:
    """Forecast every metric in turn (series in parallel); each metric's run replaces its previous one."""
    unknown = [m for m in metrics if m not in fq.METRICS]
    if unknown:
        raise ForecastError(f"unknown metric(s) {', '.join(unknown)}; choose from {', '.join(fq.METRICS)}")
    settings = resolved(engine, settings)
    with executor_for(jobs, dask_address) as executor:
        return [forecast_metric(engine, metric, settings, executor, writer) for metric in metrics]
