"""Forecasting: holidays, the baseline, Prophet recovering a known Tết effect, backtests that cannot
see the future, hand-computed scores, anomalies, the forecast command and the forecast page.

Synthetic series are seeded; Prophet fits are few and short so the file runs in well under a minute.
"""

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
from models import anomalies, backtest, baseline, prophet_model
from models.calendar import holiday_frame, holiday_markers
from models.series import complete_days

FORECAST_PAGE = str(next(spec.path for spec in PAGES if spec.key == "forecast"))
WEEKLY = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5])  # Monday … Sunday
TET_FACTOR = 0.4  # offices closed: 40 % of a normal day from 2 days before to 4 days after Tết
TET_SPAN = range(-2, 5)


def synthetic_series(start: date, end: date, level: float = 100.0, seed: int = 1) -> pd.DataFrame:
    """Daily Poisson counts with a weekly pattern and a Tết dip (dates from the holidays package)."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    tet = holiday_frame(start.year, end.year + 1).query("holiday == 'tet'")["ds"]
    mean = level * WEEKLY[days.day_of_week]
    for first_day in tet:
        offsets = (days - first_day).days
        mean = np.where(np.isin(offsets, list(TET_SPAN)), mean * TET_FACTOR, mean)
    return pd.DataFrame({"ds": days, "y": rng.poisson(mean).astype(float)})


# ---------------------------------------------------------------- calendar and series
def test_holiday_table_has_tet_window_and_national_days():
    frame = holiday_frame(2026, 2026).set_index("holiday")
    tet = frame.loc["tet"]
    assert (tet["ds"], tet["lower_window"], tet["upper_window"]) == (pd.Timestamp("2026-02-17"), -7, 21)
    assert frame.loc["hung_kings", "ds"] == pd.Timestamp("2026-04-26")
    assert frame.loc["reunification", "ds"] == pd.Timestamp("2026-04-30")
    assert frame.loc["reunification", "upper_window"] == 1  # 1/5 inside the window
    assert frame.loc["national_day", "ds"] == pd.Timestamp("2026-09-02")
    assert list(holiday_markers(date(2027, 1, 15), date(2027, 3, 1))["holiday"]) == ["tet"]


def test_counts_are_zero_filled_but_traffic_outages_stay_missing():
    counts = pd.DataFrame(
        {
            "key": ["a", "a", "b"],
            "ds": [date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 2)],
            "y": [5, 7, 9],
            "records": [96, 96, 96],
        }
    )
    filled = complete_days(counts, ["a", "b"], date(2026, 1, 1), date(2026, 1, 3), zero_filled=True)
    assert filled.set_index(["key", "ds"])["y"].tolist() == [5, 0, 7, 0, 9, 0]
    partial = counts.assign(records=[96, 40, 96])
    gaps = complete_days(partial, ["a", "b"], date(2026, 1, 1), date(2026, 1, 3), zero_filled=False)
    assert gaps.set_index(["key", "ds"])["y"].isna().tolist() == [False, True, True, True, False, True]


# ---------------------------------------------------------------- baseline and scores
def test_seasonal_naive_repeats_the_last_week_with_an_empirical_band():
    history = synthetic_series(date(2025, 3, 1), date(2025, 8, 31), seed=3)
    future = pd.Series(pd.date_range("2025-09-01", periods=14, freq="D"))
    forecast = baseline.forecast(history, future)
    last_week = history.tail(7).set_index(history.tail(7)["ds"].dt.day_of_week)["y"]
    assert forecast["yhat"].tolist() == [last_week[d.day_of_week] for d in future]
    assert (forecast["yhat_lower"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["yhat_upper"]).all()
    assert (forecast["yhat_upper"] - forecast["yhat_lower"]).min() > 0


def test_scores_by_hand():
    frame = pd.DataFrame(
        {
            "fold": [0, 0, 1, 1],
            "y": [10.0, 0.0, 4.0, 6.0],
            "yhat": [8.0, 0.0, 5.0, 6.0],
            "yhat_lower": [9.0, 0.0, 3.0, 5.0],
            "yhat_upper": [12.0, 1.0, 4.5, 7.0],
            "scale": [2.0, 2.0, 0.5, 0.5],
        }
    )
    got = backtest.score_frame(frame)
    assert got["mase"] == pytest.approx((1.0 / 2.0 + 0.5 / 0.5) / 2)  # fold MAE ÷ fold scale, averaged
    assert got["smape"] == pytest.approx((2 * 2 / 18 + 0 + 2 * 1 / 9 + 0) / 4)  # 0/0 counts as 0
    assert got["coverage_80"] == pytest.approx(1.0)
    assert baseline.naive_scale([1, 2, 3, 4, 5, 6, 7, 3, 2, 3]) == pytest.approx((2 + 0 + 0) / 3)
    table = pd.DataFrame({"model": ["naive", "prophet"], "mase": [0.9, 0.9]})
    assert backtest.winner(table) == "naive"  # a tie goes to the simple rule
    assert backtest.winner(table.assign(mase=[0.9, 0.7])) == "prophet"


# ---------------------------------------------------------------- Prophet
def test_prophet_recovers_the_weekly_pattern_and_the_tet_dip():
    history = synthetic_series(date(2023, 1, 1), date(2025, 12, 31), level=100.0, seed=11)
    future = pd.Series(pd.date_range("2026-01-01", "2026-03-10", freq="D"))  # Tết 2026: 17 February
    forecast = prophet_model.forecast(history, future).set_index("ds")
    tet = pd.Timestamp("2026-02-17")
    inside = forecast.loc[[tet + pd.Timedelta(days=d) for d in TET_SPAN], "yhat"]
    weekdays = lambda frame: frame[frame.index.day_of_week < 5]  # noqa: E731
    normal = weekdays(forecast.loc["2026-01-05":"2026-02-01", "yhat"])
    expected_inside = TET_FACTOR * WEEKLY[inside.index.day_of_week] * normal.mean()
    assert inside.sum() / expected_inside.sum() == pytest.approx(1.0, abs=0.15)
    sundays = forecast.loc["2026-01-05":"2026-02-01"]
    sunday_ratio = sundays[sundays.index.day_of_week == 6]["yhat"].mean() / normal.mean()
    assert sunday_ratio == pytest.approx(WEEKLY[6], abs=0.08)
    assert normal.mean() == pytest.approx(100.0, rel=0.08)


def test_backtest_never_gives_a_model_the_future():
    series = synthetic_series(date(2025, 1, 1), date(2025, 9, 30), seed=5)
    seen: list[tuple[pd.Timestamp, pd.Timestamp]] = []

    def spy(history: pd.DataFrame, future: pd.Series) -> pd.DataFrame:
        seen.append((history["ds"].max(), pd.to_datetime(future).min()))
        return baseline.forecast(history, future)

    frame = backtest.run(series, {"spy": spy}, horizon=28, folds=4)
    assert len(seen) == 4 and frame["fold"].nunique() == 4
    assert all(last_seen < first_asked for last_seen, first_asked in seen)
    assert frame.groupby("fold")["origin"].first().tolist() == [s[0] for s in seen]

    # Make everything after the last fold's origin absurd: that fold's forecasts must not move.
    models = {"prophet": prophet_model.forecast, "naive": baseline.forecast}
    origin = backtest.origins(series["ds"], 28, 1)[0]
    honest = backtest.run(series, models, horizon=28, folds=1)
    absurd = series.assign(y=np.where(series["ds"] > origin, 1e6, series["y"]))
    poisoned = backtest.run(absurd, models, horizon=28, folds=1)
    for column in ("yhat", "yhat_lower", "yhat_upper"):
        assert np.allclose(honest[column], poisoned[column]), column
    assert (poisoned["y"] == 1e6).all()  # … while the actuals it is scored against did change


# ---------------------------------------------------------------- anomalies
def test_an_injected_surge_in_one_ward_is_the_only_anomaly():
    rng = np.random.default_rng(2)
    days = pd.date_range("2026-06-01", periods=60, freq="D")
    fitted = {"noise": pd.DataFrame({"ds": days, "yhat": 40.0})}
    totals = pd.DataFrame({"area_code": ["A", "B"], "category": ["noise", "noise"], "y": [750, 250]})
    daily = pd.DataFrame(
        [(area, "noise", day, rng.poisson(mean)) for area, mean in (("A", 30.0), ("B", 10.0)) for day in days],
        columns=["area_code", "category", "ds", "y"],
    )
    daily.loc[(daily["area_code"] == "B") & (daily["ds"] == days[40]), "y"] = 45
    found = anomalies.detect(daily, totals, fitted, days[0], days[-1])
    assert found[["area_code", "ds", "actual"]].values.tolist() == [["B", days[40].date(), 45.0]]
    row = found.iloc[0]
    assert row["expected"] == pytest.approx(10.0) and row["upper"] < 45 and row["size"] > anomalies.MIN_SIZE


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
        assert row["model"] in ("prophet", "naive") and row["mase_model"] <= row["mase_naive"] + 1e-9
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
    assert len(scores) == 2 * len(series) and scores.groupby("series_id")["chosen"].sum().eq(1).all()
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
    app = run_app(monkeypatch, url, page=FORECAST_PAGE)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error
    tiles = {m.label: m.value for m in app.metric}
    assert tiles[t("forecast.tile.model")] == t(f"forecast.model.{chosen}")
    assert tiles[t("forecast.tile.mase")] == format_number(city.loc[chosen, "mase"], "vi", 2)
    improvement = 100 * (1 - city.loc[chosen, "mase"] / city.loc["naive", "mase"])
    assert tiles[t("forecast.tile.improvement")] == format_number(improvement, "vi", 0) + " %"
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


# ---------------------------------------------------------------- chart builders and display tables
def test_series_labels_and_order():
    from dashboard.charts import forecast as charts

    ids = ["feedback:area:19753", "feedback:category:noise", "feedback:city", "traffic:sensor:S1"]
    options = charts.series_options(ids, "vi", {"19753": "Phường Phú Xuân"}, {"S1": "Cầu Trường Tiền"})
    assert list(options.values()) == [
        "Toàn thành phố",
        "Lĩnh vực: Tiếng ồn",
        "Phường Phú Xuân",
        "Cảm biến: Cầu Trường Tiền",
    ]


def test_score_rows_use_holdout_when_present_and_compute_the_improvement():
    from dashboard.charts import forecast as charts

    scores = pd.DataFrame(
        {
            "series_id": ["s"] * 4,
            "model": ["naive", "prophet", "naive", "prophet"],
            "mase": [1.2, 0.9, 1.0, 0.6],
            "smape": [0.3, 0.2, 0.3, 0.2],
            "coverage_80": [0.8, 0.75, 0.7, 0.85],
            "is_holdout": [False, False, True, True],
            "chosen": [False, True, False, True],
        }
    )
    row = charts.score_rows(scores).iloc[0]
    assert (row["model"], row["mase_model"], row["mase_naive"], row["coverage_80"]) == ("prophet", 0.6, 1.0, 0.85)
    assert row["improvement_pct"] == pytest.approx(40.0) and row["is_holdout"]
    assert charts.metric_summary(charts.score_rows(scores)) == {
        "total": 1,
        "better": 1,
        "median_improvement_pct": pytest.approx(40.0),
    }
    assert [charts.load_status(v) for v in (130, 100, 50, None)] == ["over", "near", "under", "unknown"]


def test_forecast_chart_draws_band_forecast_actuals_and_holidays():
    from dashboard.charts import forecast as charts

    actual = pd.DataFrame({"ds": pd.date_range("2026-01-01", periods=60), "y": 10.0})
    future = pd.DataFrame(
        {"ds": pd.date_range("2026-03-02", periods=28), "yhat": 10.0, "yhat_lower": 8.0, "yhat_upper": 12.0}
    )
    figure = charts.forecast_chart(
        actual, future, holiday_markers(date(2026, 1, 1), date(2026, 3, 29)), title="x", unit="y", lang="vi"
    )
    names = [trace.name for trace in figure.data]
    assert names == [
        None,
        t("forecast.chart.band"),
        t("forecast.chart.forecast"),
        t("forecast.chart.actual"),
        t("forecast.chart.rolling"),
    ]
    assert [a.text for a in figure.layout.annotations] == [t("forecast.holiday.new_year"), t("forecast.holiday.tet")]
    assert list(figure.data[2].y) == [10.0] * 28
