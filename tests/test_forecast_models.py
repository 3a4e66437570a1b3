"""Forecasting models on synthetic series: holiday calendar, zero-filled counts, the seasonal-naive baseline,
scores worked out by hand, Prophet, the backtest, and anomalies."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from forecast_support import WEEKLY

from models import anomalies, backtest, baseline, prophet_model
from models.calendar import holiday_frame, holiday_markers
from models.series import complete_days

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
