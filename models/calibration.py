"""Calibrated 80 % intervals: split-conformal correction from the rolling-origin backtest.

A model's own interval assumes its errors behave as the model thinks; on real series they often do not (issue 17:
Prophet's 80 % band held 41 % and 55 % of an hourly count series' days). So the stored band is rebuilt from the
errors the model actually made in the backtest:

  * error of a backtest day = log1p(y) − log1p(ŷ) (counts: errors in shares, so a busier season widens the band);
  * days are grouped by how far ahead they were forecast, in weeks (days 1–7, 8–14, …): the band widens with the
    horizon only as much as the errors did;
  * the band of a forecast `w` weeks ahead is ŷ·e^q10 … ŷ·e^q90 (in log1p terms) with q10, q90 the 10th and 90th
    percentiles of that week's backtest errors — all errors pooled when a week has fewer than `MIN_ERRORS`.

The coverage stored for leaders is measured, not assumed: each fold's days are judged with the band calibrated on the
*other* folds only (leave-one-fold-out), so no day helps build the band that judges it. With a holdout, the band is
calibrated on the backtest before the holdout and judged on the holdout days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LEVEL = 0.8
BUCKET_DAYS = 7
MIN_ERRORS = 20
Bands = dict[int, tuple[float, float]]  # weeks-ahead bucket (0 = days 1–7) → (low, high) log-error quantiles
POOLED = -1


def _log(values) -> np.ndarray:
    return np.log1p(np.clip(np.asarray(values, dtype=float), 0, None))


def bucket(days_ahead) -> np.ndarray:
    """0 for days 1–7 ahead, 1 for 8–14, …"""
    return (np.maximum(np.asarray(days_ahead, dtype=int), 1) - 1) // BUCKET_DAYS


def errors(folds: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows of one model (columns fold, origin, ds, y, yhat) → fold, bucket, error; days without y left out."""
    known = folds.dropna(subset=["y", "yhat"])
    ahead = (pd.to_datetime(known["ds"]) - pd.to_datetime(known["origin"])).dt.days.to_numpy()
    return pd.DataFrame(
        {
            "fold": known["fold"].to_numpy(),
            "bucket": bucket(ahead),
            "error": _log(known["y"]) - _log(known["yhat"]),
        }
    )


def _quantiles(values: np.ndarray, level: float) -> tuple[float, float]:
    """The band between the order statistics of ranks (n + 1)·tail and (n + 1)·(1 − tail), interpolated: a new
    exchangeable error falls inside it with probability `level` (plain sample quantiles of 21 errors would hold only
    73 % for an 80 % band)."""
    n, tail = len(values), (1 - level) / 2
    if n == 1:
        return float(values[0]), float(values[0])
    low = min(max(((n + 1) * tail - 1) / (n - 1), 0.0), 1.0)
    high = min(max(((n + 1) * (1 - tail) - 1) / (n - 1), 0.0), 1.0)
    return float(np.quantile(values, low)), float(np.quantile(values, high))


def bands(found: pd.DataFrame, level: float = LEVEL) -> Bands:
    """Per bucket (and POOLED) the low and high error quantiles; {} without errors."""
    if found.empty:
        return {}
    result: Bands = {POOLED: _quantiles(found["error"].to_numpy(), level)}
    for key, group in found.groupby("bucket"):
        if len(group) >= MIN_ERRORS:
            result[int(key)] = _quantiles(group["error"].to_numpy(), level)
    return result


def apply(forecast: pd.DataFrame, last_day: pd.Timestamp, found: Bands) -> pd.DataFrame:
    """`forecast` (ds, yhat, …) with yhat_lower/yhat_upper rebuilt from the bands; unchanged without bands."""
    if not found:
        return forecast
    ahead = (pd.to_datetime(forecast["ds"]) - pd.Timestamp(last_day)).dt.days.to_numpy()
    keys = bucket(ahead)
    low = np.array([found.get(int(k), found[POOLED])[0] for k in keys])
    high = np.array([found.get(int(k), found[POOLED])[1] for k in keys])
    centre = _log(forecast["yhat"])
    yhat = forecast["yhat"].to_numpy(dtype=float)
    lower = np.minimum(np.clip(np.expm1(centre + low), 0, None), yhat)  # the band always holds the forecast
    upper = np.maximum(np.expm1(centre + high), yhat)
    return forecast.assign(yhat_lower=lower, yhat_upper=upper)


def inside_share(frame: pd.DataFrame) -> float:
    """Share of the days with an actual (y) inside [yhat_lower, yhat_upper]; NaN without such days."""
    known = frame.dropna(subset=["y"])
    if known.empty:
        return float("nan")
    inside = (known["y"] >= known["yhat_lower"] - 1e-9) & (known["y"] <= known["yhat_upper"] + 1e-9)
    return float(inside.mean())


def cross_validated(folds: pd.DataFrame, level: float = LEVEL) -> tuple[float, pd.DataFrame]:
    """(coverage, calibrated rows) of one model's backtest: every fold's band calibrated on the other folds only.

    NaN coverage with a single fold (nothing to calibrate it on)."""
    found = errors(folds)
    parts = []
    for fold, rows in folds.groupby("fold"):
        others = bands(found[found["fold"] != fold], level)
        if not others:
            continue
        origin = pd.Timestamp(rows["origin"].iloc[0])
        parts.append(apply(rows, origin, others))
    if not parts:
        return float("nan"), folds.iloc[0:0]
    calibrated = pd.concat(parts, ignore_index=True)
    return inside_share(calibrated), calibrated
