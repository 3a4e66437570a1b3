"""Unusual days per ward × category of citizen feedback.

Expected reports of ward w in category c on day d = the category's city-wide fitted value on d
(from its chosen model, so weekdays, season and Tết are accounted for) × the ward's share of that
category over the last year. Counts are compared on the square-root (Anscombe) scale, where a
count's spread barely depends on its size; the dispersion φ of each category (how much wider than
Poisson the day-to-day noise is) is estimated from all its wards.

A day is an anomaly when the actual count falls outside the 95 % interval *and* lies at least
`MIN_SIZE` standard deviations away: the 95 % interval alone would, by construction, flag about
one ward-category-day in twenty (≈ 2,000 alarms in four months for 40 wards × 9 categories).
`size` is that robust z-score: positive above, negative below the expected count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOW_DAYS = 120
SHARE_DAYS = 365
MIN_SIZE = 3.0
MIN_HIGH_ACTUAL = 3  # fewer than 3 reports is never a surge
MIN_LOW_EXPECTED = 5.0  # "too few" only where many were expected
Z_95 = 1.959964
ANSCOMBE = 3.0 / 8.0


def shares(totals: pd.DataFrame) -> pd.DataFrame:
    """Each ward's share of each category: columns area_code, category, share."""
    frame = totals.copy()
    frame["share"] = frame["y"] / frame.groupby("category")["y"].transform("sum")
    return frame[["area_code", "category", "share"]]


def expected_counts(
    daily: pd.DataFrame,
    ward_shares: pd.DataFrame,
    category_fitted: dict[str, pd.DataFrame],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Every (ward, category, day) between start and end with actual (0 when absent) and expected counts."""
    days = pd.date_range(start, end, freq="D")
    fitted = pd.concat(
        [frame.assign(category=category) for category, frame in category_fitted.items()], ignore_index=True
    )
    fitted["ds"] = pd.to_datetime(fitted["ds"])
    fitted = fitted[fitted["ds"].isin(days)]
    cells = ward_shares.merge(fitted, on="category")
    cells["expected"] = cells["share"] * cells["yhat"].clip(lower=0)
    actual = daily.assign(ds=pd.to_datetime(daily["ds"]))
    cells = cells.merge(actual[["area_code", "category", "ds", "y"]], on=["area_code", "category", "ds"], how="left")
    cells["actual"] = cells["y"].fillna(0.0).astype(float)
    return cells[["area_code", "category", "ds", "actual", "expected"]]


def dispersion(cells: pd.DataFrame) -> pd.Series:
    """φ per category: mean squared Pearson residual (top 1 % trimmed so the anomalies themselves don't inflate it), ≥ 1."""
    usable = cells[cells["expected"] > 0.05]
    pearson = (usable["actual"] - usable["expected"]) ** 2 / usable["expected"]

    def trimmed_mean(values: pd.Series) -> float:
        return float(values[values <= values.quantile(0.99)].mean()) if len(values) else 1.0

    return pearson.groupby(usable["category"]).apply(trimmed_mean).clip(lower=1.0)


def score(cells: pd.DataFrame, phi: pd.Series) -> pd.DataFrame:
    """Adds lower/upper (95 % interval) and size (z on the square-root scale) to every cell."""
    frame = cells.copy()
    spread = np.sqrt(frame["category"].map(phi).fillna(1.0).to_numpy())
    root_expected = np.sqrt(frame["expected"].to_numpy() + ANSCOMBE)
    half_width = Z_95 * spread / 2
    frame["lower"] = np.clip((np.clip(root_expected - half_width, 0, None)) ** 2 - ANSCOMBE, 0, None)
    frame["upper"] = (root_expected + half_width) ** 2 - ANSCOMBE
    frame["size"] = 2 * (np.sqrt(frame["actual"].to_numpy() + ANSCOMBE) - root_expected) / spread
    return frame


def flag(scored: pd.DataFrame) -> pd.DataFrame:
    """The anomalous cells, largest first."""
    outside = (scored["actual"] > scored["upper"]) | (scored["actual"] < scored["lower"])
    high = (scored["size"] >= MIN_SIZE) & (scored["actual"] >= MIN_HIGH_ACTUAL)
    low = (scored["size"] <= -MIN_SIZE) & (scored["expected"] >= MIN_LOW_EXPECTED)
    found = scored[outside & (high | low)].copy()
    found = found.reindex(found["size"].abs().sort_values(ascending=False).index).reset_index(drop=True)
    return found


def detect(
    daily: pd.DataFrame,
    totals: pd.DataFrame,
    category_fitted: dict[str, pd.DataFrame],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> pd.DataFrame:
    """Anomalies between start and end: columns series_id, area_code, category, ds, actual, expected, lower, upper, size.

    `daily`: reports per area_code, category, ds (non-zero cells); `totals`: per area_code, category over
    the share window; `category_fitted`: per category, fitted values (ds, yhat) covering start..end.
    """
    columns = ["series_id", "area_code", "category", "ds", "actual", "expected", "lower", "upper", "size"]
    if totals.empty or not category_fitted:
        return pd.DataFrame(columns=columns)
    cells = expected_counts(daily, shares(totals), category_fitted, start, end)
    found = flag(score(cells, dispersion(cells)))
    found["series_id"] = "feedback:area:" + found["area_code"].astype(str)
    found["ds"] = found["ds"].dt.date
    return found[columns]
