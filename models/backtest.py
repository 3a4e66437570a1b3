"""Rolling-origin backtests and the scores that pick each series' model.

Fold k cuts the series at a day (the *origin*), gives each model only the days up to and
including it, and compares its next `horizon` days with what happened. Folds are consecutive,
the last one ending on the last day of the series. Scores:
  * MASE  – mean absolute error ÷ the in-sample MAE of "same weekday last week" on the fold's
            training days (< 1: better than that rule did in the past), averaged over folds;
  * sMAPE – mean of 2·|y − ŷ| / (|y| + |ŷ|), a day with y = ŷ = 0 counting as 0;
  * coverage_80 – share of days whose actual lies inside the 80 % interval.
The model with the lowest MASE wins the series.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from models import baseline

Forecaster = Callable[[pd.DataFrame, pd.Series], pd.DataFrame]
MIN_TRAINING_DAYS = 56


def origins(days: pd.Series, horizon: int, folds: int) -> list[pd.Timestamp]:
    """Fold origins (last training day of each fold), oldest first; fewer folds when the series is short."""
    days = pd.to_datetime(days).sort_values().reset_index(drop=True)
    found = []
    for k in range(folds, 0, -1):
        position = len(days) - 1 - k * horizon
        if position + 1 >= MIN_TRAINING_DAYS:
            found.append(days.iloc[position])
    return found


def run(series: pd.DataFrame, models: dict[str, Forecaster], horizon: int = 28, folds: int = 4) -> pd.DataFrame:
    """Every model's forecast of every fold: columns model, fold, origin, ds, y, yhat, yhat_lower, yhat_upper, scale.

    Each model sees `series[series.ds <= origin]` and nothing else.
    """
    series = series.sort_values("ds").reset_index(drop=True)
    rows = []
    for fold, origin in enumerate(origins(series["ds"], horizon, folds)):
        training = series[series["ds"] <= origin].reset_index(drop=True)
        actual = series[(series["ds"] > origin) & (series["ds"] <= origin + pd.Timedelta(days=horizon))]
        scale = baseline.naive_scale(training["y"])
        for name, forecaster in models.items():
            predicted = forecaster(training, actual["ds"])
            frame = predicted.assign(model=name, fold=fold, origin=origin, y=actual["y"].to_numpy(), scale=scale)
            rows.append(frame)
    columns = ["model", "fold", "origin", "ds", "y", "yhat", "yhat_lower", "yhat_upper", "scale"]
    return pd.concat(rows, ignore_index=True)[columns] if rows else pd.DataFrame(columns=columns)


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    y, yhat = np.asarray(y, dtype=float), np.asarray(yhat, dtype=float)
    denominator = np.abs(y) + np.abs(yhat)
    terms = np.where(denominator > 0, 2 * np.abs(y - yhat) / np.where(denominator > 0, denominator, 1), 0.0)
    return float(terms.mean()) if len(terms) else float("nan")


def score_frame(frame: pd.DataFrame) -> dict[str, float]:
    """MASE, sMAPE and 80 % coverage of one model's forecasts (one or several folds)."""
    known = frame.dropna(subset=["y"])
    if known.empty:
        return {"mase": float("nan"), "smape": float("nan"), "coverage_80": float("nan")}
    fold_mase = []
    for _, fold in known.groupby("fold"):
        scale = float(fold["scale"].iloc[0])
        mae = float(np.abs(fold["y"] - fold["yhat"]).mean())
        fold_mase.append(mae / scale if scale > 0 else (0.0 if mae == 0 else float("nan")))
    inside = (known["y"] >= known["yhat_lower"] - 1e-9) & (known["y"] <= known["yhat_upper"] + 1e-9)
    return {
        "mase": float(np.nanmean(fold_mase)) if not np.all(np.isnan(fold_mase)) else float("nan"),
        "smape": smape(known["y"], known["yhat"]),
        "coverage_80": float(inside.mean()),
    }


def scores(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per model: model, mase, smape, coverage_80."""
    rows = [{"model": name, **score_frame(group)} for name, group in frame.groupby("model", sort=True)]
    return pd.DataFrame(rows, columns=["model", "mase", "smape", "coverage_80"])


def winner(table: pd.DataFrame, default: str = baseline.MODEL_NAME) -> str:
    """The model with the lowest MASE (the baseline when nothing could be scored or on a tie)."""
    known = table.dropna(subset=["mase"])
    if known.empty:
        return default
    best = known.sort_values(["mase", "model"], key=lambda c: c if c.name == "mase" else c.ne(default)).iloc[0]
    return str(best["model"])
