"""Issue 17: calibrated 80 % bands, the holidays of the data's country, and the model chosen per series by backtest.

Seeded synthetic series with a known shape and noise; the statistical candidates (statsforecast) only, so the file
runs in seconds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from forecast_support import WEEKLY

from dashboard import config
from models import backtest, calibration, prophet_model
from models.calendar import country_of, holiday_frame, holiday_markers, normal_country
from models.run import SeriesTask, Settings, candidates, forecast_series


def _days(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2023-01-02", periods=n, freq="D")


def _overconfident(history: pd.DataFrame, future: pd.Series) -> pd.DataFrame:
    """A cheap model with a far too narrow band: the mean of the same weekday over the last four weeks, ± 1."""
    future = pd.to_datetime(pd.Series(future)).reset_index(drop=True)
    recent = history.tail(28)
    means = recent.groupby(recent["ds"].dt.day_of_week)["y"].mean()
    yhat = future.dt.day_of_week.map(means).to_numpy(dtype=float)
    return pd.DataFrame({"ds": future, "yhat": yhat, "yhat_lower": yhat - 1, "yhat_upper": yhat + 1})


# ---------------------------------------------------------------- calibration
def test_calibrated_band_holds_80_percent_over_many_origins():
    """Known noise (normal, sd 6, on a weekly pattern around 60): the band calibrated on the four folds before each
    origin — as a run does — holds 75–85 % of the next 28 days, over 24 origins (672 days)."""
    rng = np.random.default_rng(17)
    days = _days(56 + 28 * 28)
    y = np.clip(60 * WEEKLY[days.day_of_week] + rng.normal(0, 6, len(days)), 0, None).round()
    series = pd.DataFrame({"ds": days, "y": y})
    folds = backtest.run(series, {"cheap": _overconfident}, horizon=28, folds=28)
    assert folds["fold"].nunique() == 28
    judged = []
    for fold in range(4, 28):
        before = folds[(folds["fold"] >= fold - 4) & (folds["fold"] < fold)]
        rows = folds[folds["fold"] == fold]
        bands = calibration.bands(calibration.errors(before))
        judged.append(calibration.apply(rows, pd.Timestamp(rows["origin"].iloc[0]), bands))
    judged = pd.concat(judged, ignore_index=True)
    assert len(judged) == 24 * 28
    coverage = calibration.inside_share(judged)
    assert 0.75 <= coverage <= 0.85, coverage
    assert calibration.inside_share(folds[folds["fold"] >= 4]) < 0.2  # the model's own band: far too narrow
    assert (judged["yhat_lower"] <= judged["yhat"]).all() and (judged["yhat"] <= judged["yhat_upper"]).all()


def test_bands_widen_with_the_horizon_and_use_conformal_ranks():
    errors = pd.DataFrame(
        {
            "fold": 0,
            "bucket": [0] * 21 + [1] * 21 + [2] * 5,
            "error": list(np.arange(21.0)) + list(np.arange(21.0) * 2) + [9.0] * 5,
        }
    )
    bands = calibration.bands(errors)
    # 21 errors 0…20: ranks 2.2 and 19.8 of 22 → values 1.2 and 18.8 (plain quantiles would give 2 and 18)
    assert bands[0] == pytest.approx((1.2, 18.8))
    assert bands[1] == pytest.approx((2.4, 37.6))
    assert 2 not in bands and calibration.POOLED in bands  # 5 errors: the pooled band is used
    forecast = pd.DataFrame({"ds": pd.date_range("2026-01-02", periods=15), "yhat": 10.0})
    applied = calibration.apply(forecast, pd.Timestamp("2026-01-01"), bands)
    low, high = np.expm1(np.log1p(10.0) + 1.2), np.expm1(np.log1p(10.0) + 18.8)
    assert applied["yhat_lower"].iloc[0] == pytest.approx(min(low, 10.0))
    assert applied["yhat_upper"].iloc[0] == pytest.approx(high)
    assert applied["yhat_upper"].iloc[14] == pytest.approx(np.expm1(np.log1p(10.0) + bands[calibration.POOLED][1]))


def test_a_single_fold_has_no_measured_coverage():
    days = _days(100)
    series = pd.DataFrame({"ds": days, "y": 10.0 * WEEKLY[days.day_of_week]})
    folds = backtest.run(series, {"cheap": _overconfident}, horizon=28, folds=1)
    coverage, rows = calibration.cross_validated(folds)
    assert np.isnan(coverage) and rows.empty


# ---------------------------------------------------------------- holidays per country
def test_holidays_follow_the_country():
    vietnam = holiday_frame(2024, 2026, "VN")
    assert "tet" in set(vietnam["holiday"])
    usa = holiday_frame(2024, 2026, "US")
    assert "tet" not in set(usa["holiday"]) and not (usa["lower_window"] < 0).any()
    assert usa.set_index("ds").loc[pd.Timestamp("2025-11-27"), "holiday"] == "thanksgiving_day"
    assert pd.Timestamp("2025-01-29") not in set(usa["ds"])  # Tết 2025 is nothing in the United States
    markers = holiday_markers(date(2025, 12, 20), date(2026, 1, 5), "US")
    assert markers.to_dict("records") == [
        {"ds": pd.Timestamp("2025-12-25"), "holiday": "christmas_day", "name": "Christmas Day"},
        {"ds": pd.Timestamp("2026-01-01"), "holiday": "new_year_s_day", "name": "New Year's Day"},
    ]
    history = pd.DataFrame({"ds": _days(400), "y": 1.0})
    assert "tet" not in set(prophet_model._model(history, history["ds"].max(), 0.8, "US").holidays["holiday"])
    assert "tet" in set(prophet_model._model(history, history["ds"].max(), 0.8, "VN").holidays["holiday"])


def test_the_country_comes_from_the_data_or_the_setting(monkeypatch):
    monkeypatch.delenv("IOC_COUNTRY", raising=False)
    assert country_of({}) == "VN"  # the default
    monkeypatch.setenv("IOC_COUNTRY", "au")
    assert country_of({}) == "AU"
    assert country_of({"country": "us"}) == "US"  # an import that declared its country wins
    assert country_of({"country": "nowhere"}) == "AU"  # an unusable declaration falls back to the setting
    with pytest.raises(ValueError, match="unknown country code 'XX'"):
        normal_country("XX")
    monkeypatch.setenv("IOC_COUNTRY", "XX")
    with pytest.raises(config.SettingError, match="IOC_COUNTRY"):
        config.check()


# ---------------------------------------------------------------- model per series
STATISTICAL = Settings(models=("naive", "ets", "mstl"))


def _chosen(series: pd.DataFrame, series_id: str = "traffic:sensor:X") -> tuple[str, pd.DataFrame]:
    result = forecast_series(SeriesTask(series_id, series, STATISTICAL))
    table = result.scores.set_index("model")
    assert result.model == table["mase"].idxmin() and table["chosen"].sum() == 1
    assert len(result.forecast) == 28 and result.forecast["yhat_lower"].le(result.forecast["yhat_upper"]).all()
    return result.model, table


def test_a_trend_goes_to_ets():
    rng = np.random.default_rng(3)
    days = _days(500)
    y = 30 + 0.4 * np.arange(len(days)) * WEEKLY[days.day_of_week] + rng.normal(0, 2, len(days))
    model, table = _chosen(pd.DataFrame({"ds": days, "y": y.round()}))
    assert model == "ets", table
    assert table.loc["ets", "mase"] < 0.5 * table.loc["naive", "mase"]


def test_a_yearly_season_goes_to_mstl():
    rng = np.random.default_rng(5)
    days = _days(3 * 365)
    yearly = 1 + 0.6 * np.sin(2 * np.pi * np.arange(len(days)) / 365.25)
    y = rng.poisson(80 * WEEKLY[days.day_of_week] * yearly)
    model, table = _chosen(pd.DataFrame({"ds": days, "y": y.astype(float)}))
    assert model == "mstl", table
    assert table.loc["mstl", "mase"] < table.loc["naive", "mase"]


def test_prophet_is_a_candidate_only_where_it_is_worth_its_time():
    history = pd.DataFrame({"ds": _days(60), "y": 1.0})
    settings = Settings()
    assert candidates(SeriesTask("feedback:city", history, settings)) == ("prophet", "naive", "ets", "mstl")
    assert candidates(SeriesTask("feedback:category:noise", history, settings))[0] == "prophet"
    assert candidates(SeriesTask("traffic:sensor:S01", history, settings)) == ("naive", "ets", "mstl")
    everywhere = Settings(prophet_everywhere=True)
    assert "prophet" in candidates(SeriesTask("traffic:sensor:S01", history, everywhere))
    assert candidates(SeriesTask("traffic:sensor:S01", history, Settings(models=("ets",)))) == ("ets", "naive")


def test_what_the_forecast_page_imports_never_loads_statsforecast():
    import subprocess
    import sys

    code = (
        "import sys, runpy\n"
        "import dashboard.charts.forecast, dashboard.db.forecast_queries, models.calendar, models.series\n"
        "print('statsforecast' in sys.modules, 'numba' in sys.modules, 'prophet' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.split() == ["False", "False", "False"]
    source = (Path(__file__).resolve().parent.parent / "pages" / "forecast.py").read_text(encoding="utf-8")
    assert "statsforecast" not in source and "models.run" not in source and "stats_models" not in source


def test_the_chart_labels_another_countrys_holidays_by_name():
    from dashboard.charts.forecast import holiday_labels

    markers = holiday_markers(date(2025, 11, 1), date(2025, 12, 31), "US")
    labels = holiday_labels(markers, "vi", span_days=61)
    assert labels == [
        (pd.Timestamp("2025-11-11"), "Veterans Day"),
        (pd.Timestamp("2025-11-27"), "Thanksgiving Day"),
        (pd.Timestamp("2025-12-25"), "Christmas Day"),
    ]
    vietnam = holiday_markers(date(2026, 2, 1), date(2026, 3, 1), "VN")
    assert holiday_labels(vietnam, "vi", span_days=28) == [(pd.Timestamp("2026-02-17"), "Tết Nguyên đán")]


def test_an_older_scores_table_gains_the_raw_coverage_column(any_db_url):
    from sqlalchemy import text

    from dashboard.db import forecast_queries as fq
    from dashboard.db import schema
    from dashboard.db.engine import create_schema, make_engine
    from models.run import write_run

    engine = make_engine(any_db_url)
    try:
        create_schema(engine, drop_first=True)
        with engine.begin() as connection:
            connection.execute(text("DROP INDEX ix_forecast_scores_run_series"))
            connection.execute(text("ALTER TABLE forecast_scores DROP COLUMN coverage_80_raw"))
        with engine.connect() as connection:
            assert schema.missing_columns(connection) == {"forecast_scores": ["coverage_80_raw"]}
        assert "coverage_80_raw" in fq.series_scores(engine, "none").columns  # read as NULL, no error
        days = _days(120)
        history = pd.DataFrame({"ds": days, "y": 20.0 * WEEKLY[days.day_of_week]})
        result = forecast_series(SeriesTask("feedback:city", history, Settings(models=("naive",))))
        write_run(engine, "feedback", "feedback-1", Settings(), [result], pd.DataFrame())
        with engine.connect() as connection:
            assert schema.missing_columns(connection) == {}
        stored = fq.series_scores(engine, "feedback-1")
        assert stored[["model", "chosen"]].to_dict("records") == [{"model": "naive", "chosen": True}]
        assert stored["coverage_80_raw"].notna().all()
    finally:
        create_schema(engine, drop_first=True)
        engine.dispose()


def test_operators_events_become_prophet_holidays(tmp_path):
    from dashboard.db import event_queries
    from dashboard.db.engine import create_schema, make_engine
    from models.events import operator_events
    from models.run import resolved

    url = f"duckdb:///{tmp_path / 'data.duckdb'}"
    engine = make_engine(url)
    try:
        create_schema(engine)
        assert operator_events(engine) == ()  # no operational store: no events, and none created to find that out
        assert not (tmp_path / "data.ops.sqlite").exists()
        event_queries.add_event(url, "weather", "Bão số 5", date(2025, 9, 28), date(2025, 9, 29))
        event_queries.add_event(url, "policy", "Đường dây nóng mới", date(2025, 10, 1))  # a change of level, not a day
        event_queries.add_event(url, "incident", "Sạt lở", date(2025, 10, 5), wards=["19753"])  # one ward only
        event_queries.add_event(url, "holiday", "Tết Dương lịch", date(2026, 1, 1), source="holidays")  # in calendar
        storm = (("event:weather:Bão số 5", "2025-09-28"), ("event:weather:Bão số 5", "2025-09-29"))
        assert operator_events(engine) == storm
        settings = resolved(engine, Settings(country="VN"))
        assert settings.events == storm and settings.country == "VN"
        history = pd.DataFrame({"ds": pd.date_range("2025-01-01", "2025-12-31"), "y": 1.0})
        table = prophet_model._model(history, pd.Timestamp("2026-01-28"), 0.8, "VN", settings.events).holidays
        marked = table[table["holiday"].str.startswith("event:")]
        assert marked["ds"].tolist() == [pd.Timestamp("2025-09-28"), pd.Timestamp("2025-09-29")]
        assert "tet" in set(table["holiday"])
    finally:
        engine.dispose()
