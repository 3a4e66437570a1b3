"""KPI definitions and formulas: what each KPI counts, its unit, target and decimals, and the arithmetic that turns
counted rows into KPI values. Imports nothing from the project and takes no engine; `metrics.kpis` runs the queries.

Definitions (periods are inclusive local days; timestamps are naive local time):

feedback.received                 reports with received_at in the period
feedback.resolved                 reports with resolved_at in the period
feedback.resolved_on_time_pct     100 × resolved in period with resolved_at ≤ due_at
                                  ÷ resolved in period that have a due_at (null when none)
feedback.median_resolution_hours  median of resolved_at − received_at over reports resolved in the period
feedback.open_backlog             received before the end of the period, not resolved by then,
                                  and not rejected
feedback.satisfaction_avg         mean citizen rating (1–5) of reports resolved in the period
feedback.reopened_pct             100 × resolved in period that were reopened ÷ resolved in period
dossiers.received / completed     dossiers with received_at / completed_at in the period
dossiers.completed_on_time_pct    100 × completed in period with completed_at ≤ due_at
                                  ÷ completed in period that have a due_at (Decision 766/QĐ-TTg spirit)
dossiers.online_pct               100 × received online ÷ received
dossiers.median_lead_time_days    median of completed_at − received_at over dossiers completed in period
traffic.vehicles                  sum of vehicle_count of observations in the period
traffic.congestion_index_peak     the highest hourly congestion index in the period, where the congestion
                                  index of an hour is the extra travel time against free flow, in percent
                                  (TomTom style): 100 × (Σ count × free_flow_speed ÷ mean_speed ÷ Σ count − 1).
                                  0 means free flow; 50 means trips take 50 % longer.

Counts shown on the pages beside these KPIs (computed by the page query modules with the same
period rules):
feedback overdue (open)           open at the end of the period (as open_backlog) and past due_at then
dossiers late                     completed in the period after their due_at
dossiers past due (open)          not completed at the end of the period (or now), not returned or
                                  withdrawn, and past due_at then
traffic silent sensors            sensors with no observation in the 60 minutes before now
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

CITYSCORE_CAP = 1.25  # Boston CityScore convention: a metric's score is actual ÷ target, capped


@dataclass(frozen=True)
class KpiDefinition:
    section: str  # feedback / dossiers / traffic
    name: str  # JSON key, SQL alias and i18n key share this name
    unit: str  # count, pct, hours, days, rating, vehicles, index_pct
    higher_is_better: bool | None  # None: a volume, neither good nor bad
    target: float | None = None
    decimals: int = 0  # digits after the decimal mark wherever the value is written (metrics.format)

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"


KPI_DEFINITIONS: tuple[KpiDefinition, ...] = (
    KpiDefinition("feedback", "received", "count", None),
    KpiDefinition("feedback", "resolved", "count", None),
    KpiDefinition("feedback", "resolved_on_time_pct", "pct", True, 90.0, decimals=1),
    KpiDefinition("feedback", "median_resolution_hours", "hours", False, 72.0, decimals=1),
    KpiDefinition("feedback", "open_backlog", "count", None),
    KpiDefinition("feedback", "satisfaction_avg", "rating", True, 4.0, decimals=2),
    KpiDefinition("feedback", "reopened_pct", "pct", False, 5.0, decimals=1),
    KpiDefinition("dossiers", "received", "count", None),
    KpiDefinition("dossiers", "completed", "count", None),
    KpiDefinition("dossiers", "completed_on_time_pct", "pct", True, 95.0, decimals=1),
    KpiDefinition("dossiers", "online_pct", "pct", True, 60.0, decimals=1),
    KpiDefinition("dossiers", "median_lead_time_days", "days", False, 7.0, decimals=1),
    KpiDefinition("traffic", "vehicles", "vehicles", None),
    KpiDefinition("traffic", "congestion_index_peak", "index_pct", False, 50.0, decimals=1),
)
KPI_BY_KEY = {d.key: d for d in KPI_DEFINITIONS}


def _number(value: Any) -> float | None:
    """A plain float from a driver value (Decimal, numpy, NaN, None)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _count(value: Any) -> int:
    number = _number(value)
    return int(number) if number is not None else 0


def percent(part: Any, whole: Any) -> float | None:
    """100 × part ÷ whole, rounded to 0.1; None when whole is zero or missing."""
    part, whole = _number(part), _number(whole)
    if not whole or part is None:
        return None
    return round(100.0 * part / whole, 1)


def _rounded(value: Any, digits: int) -> float | None:
    number = _number(value)
    return None if number is None else round(number, digits)


def feedback_kpis(row: Mapping[str, Any]) -> dict[str, Any]:
    """Feedback KPIs from one row of `queries.feedback_counts`."""
    return {
        "received": _count(row.get("received")),
        "resolved": _count(row.get("resolved")),
        "resolved_on_time_pct": percent(row.get("resolved_on_time"), row.get("resolved_with_due")),
        "median_resolution_hours": _rounded(row.get("median_resolution_hours"), 1),
        "open_backlog": _count(row.get("open_backlog")),
        "satisfaction_avg": _rounded(row.get("satisfaction_avg"), 2),
        "reopened_pct": percent(row.get("reopened"), row.get("resolved")),
    }


def dossier_kpis(row: Mapping[str, Any]) -> dict[str, Any]:
    """Dossier KPIs from one row of `queries.dossier_counts`."""
    return {
        "received": _count(row.get("received")),
        "completed": _count(row.get("completed")),
        "completed_on_time_pct": percent(row.get("completed_on_time"), row.get("completed_with_due")),
        "online_pct": percent(row.get("received_online"), row.get("received")),
        "median_lead_time_days": _rounded(row.get("median_lead_time_days"), 1),
    }


def congestion_index(travel_time_ratio_sum: Any, weighted_vehicles: Any) -> float | None:
    """Extra travel time against free flow, in percent, from vehicle-weighted travel-time ratios."""
    ratio_sum, vehicles = _number(travel_time_ratio_sum), _number(weighted_vehicles)
    if not vehicles or ratio_sum is None:
        return None
    return round(100.0 * (ratio_sum / vehicles - 1.0), 1)


def traffic_kpis(hourly: pd.DataFrame) -> dict[str, Any]:
    """Traffic KPIs from the hourly rows of `queries.traffic_hourly` (one area or the city)."""
    if hourly.empty:
        return {"vehicles": 0, "congestion_index_peak": None}
    indexes = [
        congestion_index(r, v)
        for r, v in zip(hourly["travel_time_ratio_sum"], hourly["weighted_vehicles"], strict=True)
    ]
    indexes = [i for i in indexes if i is not None]
    return {
        "vehicles": int(sum(_count(v) for v in hourly["vehicles"])),
        "congestion_index_peak": max(indexes) if indexes else None,
    }


def feedback_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add resolved_on_time_pct and reopened_pct to per-group count rows (same formulas as feedback_kpis)."""
    frame = frame.copy()
    frame["resolved_on_time_pct"] = [
        percent(a, b) for a, b in zip(frame["resolved_on_time"], frame["resolved_with_due"], strict=True)
    ]
    frame["reopened_pct"] = [percent(a, b) for a, b in zip(frame["reopened"], frame["resolved"], strict=True)]
    return frame


def change(current: Any, previous: Any) -> dict[str, float | None]:
    """Absolute and relative change of a KPI against the comparison period."""
    current, previous = _number(current), _number(previous)
    if current is None or previous is None:
        return {"absolute": None, "relative_pct": None}
    relative = round(100.0 * (current - previous) / previous, 1) if previous else None
    return {"absolute": round(current - previous, 2), "relative_pct": relative}


def score(definition: KpiDefinition, value: Any) -> float | None:
    """CityScore-style score: actual ÷ target (target ÷ actual when lower is better), capped at 1.25."""
    number = _number(value)
    if number is None or definition.target is None or definition.higher_is_better is None:
        return None
    if definition.higher_is_better:
        ratio = number / definition.target
    else:
        ratio = definition.target / number if number > 0 else CITYSCORE_CAP
    return round(min(ratio, CITYSCORE_CAP), 3)


def status(definition: KpiDefinition, value: Any) -> str | None:
    """'on_target' (score ≥ 1), 'near_target' (≥ 0.9), 'off_target', or None for volumes and missing values."""
    result = score(definition, value)
    if result is None:
        return None
    if result >= 1.0:
        return "on_target"
    return "near_target" if result >= 0.9 else "off_target"
