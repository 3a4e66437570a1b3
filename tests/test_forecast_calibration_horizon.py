"""Issue 17, the failure found on real daily counts: a band asked for further ahead than the backtest folds reached,
on errors that drift together within a fold.

Seeded series whose level wanders (a random walk in log, like a sensor's counts over the seasons) with day-to-day
noise, forecast by "same weekday last week": its error grows with the horizon and the days of one fold miss
together. As a run does, each origin's band is calibrated on the 4 folds of 28 days before it; it is judged on the
next 56 days (a 56-day holdout). Pooling weeks 1–4's errors for weeks 5–8 held 72 % there; the band widened
by the fitted growth holds 75–85 %, over 48 origins. Honest spread: over four seed sets (1700, 1800, 2900, 4000)
weeks 5–8 held 72–83 % (mean 77 %) with the growth against 57–72 % (mean 64 %) without it; the growth is fitted on
4 folds, so it is itself a noisy estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
from forecast_support import WEEKLY

from models import backtest, baseline, calibration

SERIES, ORIGINS, FOLDS, HORIZON, JUDGED = 4, 12, 4, 28, 56


def _wandering(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-01-02", periods=56 + FOLDS * HORIZON + ORIGINS * HORIZON + JUDGED, freq="D")
    level = np.cumsum(rng.normal(0, 0.02, len(days)))
    y = np.round(200 * WEEKLY[days.day_of_week] * np.exp(level + rng.normal(0, 0.05, len(days))))
    return pd.DataFrame({"ds": days, "y": y})


def _judged() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(with the fitted growth, with the former pooled band past week 4): every origin's next 56 days."""
    grown, pooled = [], []
    for seed in range(SERIES):
        series = _wandering(1700 + seed)
        for k in range(ORIGINS):
            cut = 56 + FOLDS * HORIZON + k * HORIZON
            history, actual = series.iloc[:cut], series.iloc[cut : cut + JUDGED]
            folds = backtest.run(history, {"naive": baseline.forecast}, HORIZON, FOLDS)
            assert folds["fold"].nunique() == FOLDS
            bands = calibration.bands(calibration.errors(folds))
            raw = baseline.forecast(history, actual["ds"]).assign(y=actual["y"].to_numpy(), ahead=np.arange(1, 57))
            last = history["ds"].iloc[-1]
            grown.append(calibration.apply(raw, last, bands))
            former = {key: value for key, value in bands.items() if key != calibration.GROWTH}
            pooled.append(calibration.apply(raw, last, former))
    return pd.concat(grown, ignore_index=True), pd.concat(pooled, ignore_index=True)


def test_the_band_past_the_calibrated_weeks_grows_with_the_error():
    grown, pooled = _judged()
    assert len(grown) == SERIES * ORIGINS * JUDGED
    far = grown["ahead"] > HORIZON
    share = calibration.inside_share
    print(
        "weeks 1-4",
        share(grown[~far]),
        "weeks 5-8 grown",
        share(grown[far]),
        "pooled",
        share(pooled[far]),
        "all",
        share(grown),
    )
    assert share(pooled[far]) < 0.75  # the failure: weeks 5–8 judged by weeks 1–4's errors
    assert 0.75 <= share(grown[far]) <= 0.85
    assert 0.75 <= share(grown[~far]) <= 0.85  # within the calibrated weeks nothing changed
    assert 0.75 <= share(grown) <= 0.85
    assert (grown["yhat_lower"] <= grown["yhat"]).all() and (grown["yhat"] <= grown["yhat_upper"]).all()
    width = np.log1p(grown["yhat_upper"]) - np.log1p(grown["yhat_lower"])
    assert width[far].mean() > width[~far].mean()  # wider further ahead


def test_errors_that_miss_together_count_as_fewer():
    rng = np.random.default_rng(7)
    independent = pd.DataFrame({"fold": np.repeat(np.arange(4), 7), "error": rng.normal(0, 1, 28)})
    assert calibration.effective_count(independent) >= 20
    clustered = independent.assign(error=independent["error"] * 0.1 + np.repeat(rng.normal(0, 1, 4), 7))
    assert calibration.effective_count(clustered) < 12  # ρ ≈ 0.99: 28 / √(1 + 6·ρ)
    one_fold = independent.assign(fold=0)
    assert calibration.effective_count(one_fold) == 28.0
    errors = clustered["error"].to_numpy()
    assert calibration._band(one_fold, 0.8) == calibration._quantiles(errors * 0 + one_fold["error"].to_numpy(), 0.8)
    low, high = calibration._band(clustered, 0.8)  # ranks as for ~10.6 errors: near the extremes, not the deciles
    as_independent = calibration._quantiles(errors, 0.8)
    assert errors.min() <= low < as_independent[0] and as_independent[1] < high <= errors.max()
