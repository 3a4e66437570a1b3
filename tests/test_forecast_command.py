"""The forecast command on a synthetic database (DuckDB and PostgreSQL) and the forecast page in AppTest showing
what it stored."""

from __future__ import annotations

import io
import json
import shutil
import sys
from contextlib import redirect_stdout
from datetime import date

import numpy as np
import pandas as pd
import pytest
from forecast_support import WEEKLY
from page_support import run_app
from sqlalchemy import func, select

from dashboard import config
from dashboard.cli import main
from dashboard.db import forecast_queries as fq
from dashboard.db import schema
from dashboard.db.engine import create_schema, fetch_frame, fetch_one, make_engine
from dashboard.db.load import bulk_load, load_areas
from dashboard.i18n import format_number, t
from dashboard.navigation import PAGES

FORECAST_PAGE = str(next(spec.path for spec in PAGES if spec.key == "forecast"))


# ---------------------------------------------------------------- the command and the page
def _feedback_rows(areas: list[str], first: date, days: int, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for day in pd.date_range(first, periods=days, freq="D"):
        for area, category, mean in (
            (areas[0], "noise", 6.0),
            (areas[1], "noise", 3.0),
            (areas[0], "street_lighting", 4.0),
        ):
            for _ in range(rng.poisson(mean * WEEKLY[day.day_of_week])):
                rows.append((day + pd.Timedelta(minutes=int(rng.integers(420, 1200))), category, area))
    frame = pd.DataFrame(rows, columns=["received_at", "category", "area_code"])
    frame["id"] = np.arange(1, len(frame) + 1)
    frame["source"], frame["source_id"] = "test", frame["id"].astype(str)
    frame["status"], frame["reopened"], frame["agency"] = "resolved", False, "UBND"
    frame["resolved_at"] = frame["received_at"] + pd.Timedelta(hours=30)
    for column in ("channel", "lat", "lon", "due_at", "first_response_at", "satisfaction"):
        frame[column] = None
    return frame


def _run_command(url: str, *extra: str) -> list[dict]:
    output = io.StringIO()
    with redirect_stdout(output):
        assert main(["--database-url", url, "forecast", "--metric", "all", "--jobs", "1", "--json", *extra]) == 0
    return json.loads(output.getvalue())


@pytest.fixture(scope="module")
def forecast_db(tmp_path_factory) -> tuple[str, list[str], list[dict]]:
    """A DuckDB with areas and 200 days of synthetic feedback, forecast once by the command: (url, ward codes, JSON)."""
    url = f"duckdb:///{tmp_path_factory.mktemp('forecast') / 'forecast.duckdb'}"
    codes = _synthetic_database(url)
    return url, codes, _run_command(url)


def _synthetic_database(url: str) -> list[str]:
    """Fresh schema, the city's areas and 200 days of feedback in two wards; returns the two ward codes."""
    engine = make_engine(url)
    try:
        create_schema(engine, drop_first=True)
        load_areas(engine, config.city())
        codes = list(fetch_frame(engine, select(schema.areas.c.code).order_by(schema.areas.c.code))["code"][:2])
        bulk_load(engine, schema.feedback, _feedback_rows(codes, date(2026, 3, 1), 200))
    finally:
        engine.dispose()
    return codes


def test_command_writes_tables_and_prints_json_then_a_rerun_replaces_it(tmp_path, forecast_db):
    source, codes, first = forecast_db
    url = f"duckdb:///{tmp_path / 'copy.duckdb'}"  # the other tests keep reading the first run
    shutil.copy(source.removeprefix("duckdb:///"), url.removeprefix("duckdb:///"))
    series = {row["series"] for row in first}
    assert series == {
        "feedback:city",
        "feedback:category:noise",
        "feedback:category:street_lighting",
        f"feedback:area:{codes[0]}",
        f"feedback:area:{codes[1]}",
    }
    for row in first:
        assert set(row) == {"series", "metric", "model", "mase_model", "mase_naive", "coverage_80"}
        assert row["model"] in ("prophet", "naive", "ets", "mstl") and row["mase_model"] <= row["mase_naive"] + 1e-9
        assert 0 <= row["coverage_80"] <= 1
    engine = make_engine(url, read_only=True)
    runs = fq.current_runs(engine)
    assert sorted(runs["metric"]) == ["dossiers", "feedback", "traffic"]  # empty metrics get an empty run
    feedback_run = runs.set_index("metric").loc["feedback", "run_id"]
    stored = fq.series_forecast(engine, feedback_run, "feedback:city")
    assert len(stored) == 28 and pd.Timestamp(stored["ds"].min()).date() == date(
        2026, 9, 16
    )  # day after the last full day
    assert (stored["yhat_lower"] <= stored["yhat"]).all() and (stored["yhat"] <= stored["yhat_upper"]).all()
    scores = fq.series_scores(engine, feedback_run)
    # candidates: naive, ets, mstl everywhere; Prophet too for the city and the categories (models.run.candidates)
    expected = {s: 3 + (s.split(":")[1] in ("city", "category")) for s in series}
    assert scores.groupby("series_id").size().to_dict() == expected
    assert scores.groupby("series_id")["chosen"].sum().eq(1).all()
    assert scores["coverage_80_raw"].between(0, 1).all() and scores["coverage_80"].between(0, 1).all()
    engine.dispose()

    second = _run_command(url, "--holdout", "28")
    assert {row["series"] for row in second} == series
    engine = make_engine(url, read_only=True)
    statuses = fetch_frame(engine, select(schema.forecast_runs.c.metric, schema.forecast_runs.c.status))
    assert statuses.groupby("status").size().to_dict() == {"current": 3, "replaced": 3}
    current = fq.current_runs(engine).set_index("metric").loc["feedback"]
    assert current["holdout_days"] == 28 and current["run_id"] != feedback_run
    run_ids = {
        r
        for table in (schema.forecasts, schema.forecast_scores)
        for r in fetch_frame(engine, select(table.c.run_id).distinct())["run_id"]
    }
    assert feedback_run not in run_ids  # the replaced run's rows are gone
    holdout = fq.series_scores(engine, current["run_id"])
    assert holdout["is_holdout"].any() and holdout[~holdout["is_holdout"]]["chosen"].sum() == len(series)
    engine.dispose()


@pytest.mark.postgres
def test_command_runs_and_replaces_on_postgresql(pg_url):
    _synthetic_database(pg_url)
    first = _run_command(pg_url, "--horizon", "14")
    second = _run_command(pg_url, "--horizon", "14")
    assert len(first) == len(second) == 5
    engine = make_engine(pg_url)
    try:
        runs = fetch_frame(
            engine,
            select(schema.forecast_runs.c.status, func.count().label("n")).group_by(schema.forecast_runs.c.status),
        )
        assert dict(zip(runs["status"], runs["n"], strict=True)) == {"current": 3, "replaced": 3}
        run_id = fq.current_runs(engine).set_index("metric").loc["feedback", "run_id"]
        assert len(fq.series_forecast(engine, run_id, "feedback:city")) == 14
        assert fetch_one(engine, select(func.count(func.distinct(schema.forecasts.c.run_id)).label("n")))["n"] == 1
        assert fq.anomaly_scan_end(engine) == date(2026, 9, 15)
        assert not fq.agency_outlook(engine, run_id).empty
    finally:
        create_schema(engine, drop_first=True)
        engine.dispose()


def test_dask_option_says_what_is_missing(forecast_db, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as when dask is not installed
    url = forecast_db[0]
    assert main(["--database-url", url, "forecast", "--metric", "dossiers", "--dask", "tcp://127.0.0.1:1"]) == 2
    assert "dask.distributed" in capsys.readouterr().err


def test_forecast_page_without_forecasts_names_the_command(monkeypatch, demo_db_url):
    app = run_app(monkeypatch, demo_db_url, page=FORECAST_PAGE)
    assert not app.exception, [e.message for e in app.exception]
    assert [c.value for c in app.code] == ["python -m dashboard forecast"]
    assert app.info and app.info[0].body == t("forecast.empty")
    overview = run_app(monkeypatch, demo_db_url)
    assert t("forecast.overview.not_run") in [c.value for c in overview.caption]


def test_forecast_page_shows_the_stored_scores(monkeypatch, forecast_db):
    url = forecast_db[0]
    engine = make_engine(url, read_only=True)
    run_id = fq.current_runs(engine).set_index("metric").loc["feedback", "run_id"]
    scores = fq.series_scores(engine, run_id)
    engine.dispose()
    city = scores[(scores["series_id"] == "feedback:city") & ~scores["is_holdout"]].set_index("model")
    chosen = scores[(scores["series_id"] == "feedback:city") & scores["chosen"]]["model"].iloc[0]
    from dashboard.db import event_queries

    first_day = fq.series_forecast(make_engine(url, read_only=True), run_id, "feedback:city")["ds"].min()
    event_queries.add_event(url, "festival", "Hội chợ thử", pd.Timestamp(first_day).date())
    app = run_app(monkeypatch, url, page=FORECAST_PAGE)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)  # the forecast chart, its markers from the events table
    marked = [a.get("text", "") for a in figure["layout"].get("annotations", [])] + [
        str(d.get("hovertext") or d.get("text") or "") for d in figure["data"]
    ]
    assert any("Hội chợ thử" in text for text in marked)
    tiles = {m.label: m.value for m in app.metric}
    assert tiles[t("forecast.tile.model")] == t(f"forecast.model.{chosen}")
    assert tiles[t("forecast.tile.mase")] == format_number(city.loc[chosen, "mase"], "vi", 2)
    improvement = 100 * (1 - city.loc[chosen, "mase"] / city.loc["naive", "mase"])
    assert tiles[t("forecast.tile.improvement")] == format_number(improvement, "vi", 0) + " %"
    texts = [m.value for m in app.markdown]
    coverage = t("forecast.coverage.backtest", pct=format_number(100 * city.loc[chosen, "coverage_80"], "vi", 0))
    raw = t("forecast.coverage.raw", pct=format_number(100 * city.loc[chosen, "coverage_80_raw"], "vi", 0))
    assert coverage + " " + raw in texts  # the measured coverage in words, beside the band
    if chosen == "naive" or improvement <= 0:
        assert "**" + t("forecast.score.not_better") + "**" in texts
    else:
        model = t(f"forecast.model.{chosen}")
        better = t("forecast.score.better_model", model=model, pct=format_number(improvement, "vi", 0))
        assert "**" + better + "**" in texts
    assert len(app.get("plotly_chart")) >= 1
    assert not app.code  # no "run the command" hint once forecasts exist
    app.segmented_control(key="forecast_metric").set_value("dossiers").run()  # a run without series (no dossiers)
    assert not app.exception and app.info[0].body == t("forecast.no_series")
    overview = run_app(monkeypatch, url)
    assert not overview.exception
    assert t("forecast.overview.heading") in [h.value for h in overview.subheader]
    assert t("forecast.overview.not_run") not in [c.value for c in overview.caption]


def test_recent_anomalies_is_empty_before_any_forecast(any_db_url):
    engine = make_engine(any_db_url)
    try:
        assert fq.recent_anomalies(engine, date(2026, 1, 1), 5).empty
        assert fq.anomaly_scan_end(engine) is None
        assert not fq.forecasts_available(engine)
        count = fetch_one(engine, select(func.count().label("n")).select_from(schema.forecast_runs))["n"]
        assert count == 0
    finally:
        engine.dispose()
