"""The yardstick every forecast must beat: "same as the same weekday last week".

The forecast for a day is the last observed value of the same weekday. Its 80 % interval is
empirical: quantiles of the baseline's own past errors at the same distance (1, 2, 3 … weeks
ahead), over the last year of the history it was given — no distributional assumption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEASON_DAYS = 7
RESIDUAL_WINDOW_DAYS = 365
MODEL_NAME = "naive"


def naive_scale(y: pd.Series | np.ndarray) -> float:
    """In-sample MAE of the weekly seasonal-naive forecast (the MASE denominator); NaN when undefined."""
    values = np.asarray(y, dtype=float)
    if len(values) <= SEASON_DAYS:
        return float("nan")
    errors = np.abs(values[SEASON_DAYS:] - values[:-SEASON_DAYS])
    errors = errors[~np.isnan(errors)]
    return float(errors.mean()) if len(errors) else float("nan")


def _last_by_weekday(history: pd.DataFrame) -> dict[int, float]:
    """The newest non-missing value of each weekday."""
    known = history.dropna(subset=["y"])
    latest = known.groupby(known["ds"].dt.day_of_week)["y"].last()
    return {int(day): float(value) for day, value in latest.items()}


def _error_quantiles(history: pd.DataFrame, weeks: int, level: float) -> tuple[float, float]:
    """Quantiles of y(t) − y(t − 7·weeks) over the last year: the error band `weeks` weeks ahead."""
    y = history.set_index("ds")["y"].astype(float).asfreq("D")
    errors = (y - y.shift(SEASON_DAYS * weeks)).iloc[-RESIDUAL_WINDOW_DAYS:].dropna()
    if errors.empty:
        return 0.0, 0.0
    tail = (1 - level) / 2
    return float(errors.quantile(tail)), float(errors.quantile(1 - tail))


def forecast(history: pd.DataFrame, future: pd.Series, level: float = 0.8, non_negative: bool = True) -> pd.DataFrame:
    """Seasonal-naive forecast of `future` days from `history` (columns ds, y; days in order).

    Returns columns ds, yhat, yhat_lower, yhat_upper. Uses nothing after the last day of `history`.
    """
    future = pd.to_datetime(pd.Series(future)).reset_index(drop=True)
    last_day = history["ds"].max()
    latest = _last_by_weekday(history)
    fallback = float(history["y"].dropna().iloc[-1]) if history["y"].notna().any() else 0.0
    yhat = np.array([latest.get(int(day.day_of_week), fallback) for day in future], dtype=float)
    weeks_ahead = np.maximum(1, np.ceil((future - last_day).dt.days.to_numpy() / SEASON_DAYS).astype(int))
    bands = {w: _error_quantiles(history, int(w), level) for w in np.unique(weeks_ahead)}
    lower = yhat + np.array([bands[w][0] for w in weeks_ahead])
    upper = yhat + np.array([bands[w][1] for w in weeks_ahead])
    if non_negative:
        yhat, lower, upper = (np.clip(a, 0, None) for a in (yhat, lower, upper))
    return pd.DataFrame({"ds": future, "yhat": yhat, "yhat_lower": lower, "yhat_upper": upper})


def fitted(history: pd.DataFrame) -> pd.DataFrame:
    """In-sample one-week-ahead values (y seven days earlier): columns ds, yhat."""
    y = history.set_index("ds")["y"].astype(float).asfreq("D")
    return y.shift(SEASON_DAYS).rename("yhat").reset_index()
