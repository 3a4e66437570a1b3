"""The forecast page's chart builders and display tables, on hand-made frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dashboard.i18n import t
from models.calendar import holiday_markers


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
