"""The benchmark's naive baseline: read a table's columns into pandas, then filter and group there.

Each function computes the same figures as one of the page queries timed by `dashboard.bench.bench`
and returns them as a flat dict of numbers (see `dashboard.bench.bench` for the SQL side's dicts).
The KPI formulas are applied with `dashboard.metrics`, as the SQL path does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.bench.queries import read_columns
from dashboard.db.predicates import CLOSED_WITHOUT_RESULT
from dashboard.metrics import kpis
from dashboard.periods import Period


def _between(series: pd.Series, period: Period) -> pd.Series:
    return (series >= pd.Timestamp(period.start_at)) & (series < pd.Timestamp(period.end_before))


def _in_areas(frame: pd.DataFrame, areas: Sequence[str] | None, column: str = "area_code") -> pd.DataFrame:
    return frame[frame[column].isin(list(areas))] if areas else frame


def _hours(delta: pd.Series) -> pd.Series:
    return delta.dt.total_seconds() / 3600.0


def _median(values: pd.Series) -> float | None:
    return float(values.median()) if len(values) else None


def feedback_row(frame: pd.DataFrame, period: Period) -> dict:
    """The counts of queries.feedback_counts for one group of feedback rows."""
    end = pd.Timestamp(period.end_before)
    frame = frame[frame["received_at"] < end]
    received = _between(frame["received_at"], period)
    resolved = _between(frame["resolved_at"], period)
    with_due = resolved & frame["due_at"].notna()
    rated = resolved & frame["satisfaction"].notna()
    open_at_end = (frame["status"] != "rejected") & (frame["resolved_at"].isna() | (frame["resolved_at"] >= end))
    return {
        "received": int(received.sum()),
        "resolved": int(resolved.sum()),
        "resolved_with_due": int(with_due.sum()),
        "resolved_on_time": int((with_due & (frame["resolved_at"] <= frame["due_at"])).sum()),
        "median_resolution_hours": _median(_hours(frame["resolved_at"][resolved] - frame["received_at"][resolved])),
        "open_backlog": int(open_at_end.sum()),
        "satisfaction_avg": float(frame["satisfaction"][rated].mean()) if rated.any() else None,
        "satisfaction_count": int(rated.sum()),
        "reopened": int((resolved & frame["reopened"]).sum()),
    }


def dossier_row(frame: pd.DataFrame, period: Period) -> dict:
    """The counts of queries.dossier_counts for one group of dossier rows."""
    received = _between(frame["received_at"], period)
    completed = _between(frame["completed_at"], period)
    with_due = completed & frame["due_at"].notna()
    lead = (frame["completed_at"][completed] - frame["received_at"][completed]).dt.total_seconds() / 86400.0
    return {
        "received": int(received.sum()),
        "received_online": int((received & (frame["channel"] == "online")).sum()),
        "completed": int(completed.sum()),
        "completed_with_due": int(with_due.sum()),
        "completed_on_time": int((with_due & (frame["completed_at"] <= frame["due_at"])).sum()),
        "median_lead_time_days": _median(lead),
    }


FEEDBACK_COLUMNS = ["received_at", "resolved_at", "due_at", "status", "satisfaction", "reopened", "area_code"]
DOSSIER_COLUMNS = ["received_at", "completed_at", "due_at", "channel", "area_code"]


def _observations(engine: Engine, period: Period, areas: Sequence[str] | None = None) -> pd.DataFrame:
    """Observations of the period joined with their sensor's area and free-flow speed."""
    frame = read_columns(
        engine, "traffic_observations", ["sensor_id", "observed_at", "vehicle_count", "mean_speed_kmh"]
    )
    frame = frame[_between(frame["observed_at"], period)]
    sensors = read_columns(engine, "traffic_sensors", ["id", "area_code", "free_flow_speed_kmh"])
    frame = frame.assign(sensor_id=frame["sensor_id"].astype(str)).merge(
        sensors.assign(id=sensors["id"].astype(str)), left_on="sensor_id", right_on="id"
    )
    return _in_areas(frame, areas)


def _speed_sums(frame: pd.DataFrame, keys: list) -> pd.DataFrame:
    has_speed = frame["mean_speed_kmh"] > 0
    work = pd.DataFrame(
        {
            "vehicles": frame["vehicle_count"].astype("int64"),
            "weighted_vehicles": frame["vehicle_count"].where(has_speed, 0).astype("int64"),
            "travel_time_ratio_sum": (
                frame["vehicle_count"] * frame["free_flow_speed_kmh"] / frame["mean_speed_kmh"]
            ).where(has_speed, 0.0),
        }
    )
    for i, key in enumerate(keys):
        work[f"k{i}"] = key.to_numpy() if isinstance(key, pd.Series) else key
    return work.groupby([f"k{i}" for i in range(len(keys))], observed=True).sum()


def kpis_figures(engine: Engine, period: Period, areas: Sequence[str] | None = None) -> dict:
    """What kpis.compute_kpis returns, the naive way."""
    feedback = _in_areas(read_columns(engine, "feedback", FEEDBACK_COLUMNS), areas)
    result = {"feedback": kpis.feedback_kpis(feedback_row(feedback, period))}
    del feedback
    dossiers = _in_areas(read_columns(engine, "dossiers", DOSSIER_COLUMNS), areas)
    result["dossiers"] = kpis.dossier_kpis(dossier_row(dossiers, period))
    del dossiers
    traffic = _observations(engine, period, areas)
    hourly = _speed_sums(traffic, [traffic["observed_at"].dt.floor("h")])
    result["traffic"] = kpis.traffic_kpis(hourly.reset_index())
    return result


def area_figures(engine: Engine, period: Period) -> dict:
    """Per area: feedback received, dossiers received, vehicles (columns of kpis.compute_area_kpis)."""
    feedback = read_columns(engine, "feedback", ["received_at", "area_code"])
    out = feedback[_between(feedback["received_at"], period)].groupby("area_code", observed=True).size()
    figures = {f"feedback.received/{k}": int(v) for k, v in out.items() if v}
    dossiers = read_columns(engine, "dossiers", ["received_at", "area_code"])
    out = dossiers[_between(dossiers["received_at"], period)].groupby("area_code", observed=True).size()
    figures.update({f"dossiers.received/{k}": int(v) for k, v in out.items() if v})
    traffic = _observations(engine, period)
    out = traffic.groupby("area_code", observed=True)["vehicle_count"].sum()
    figures.update({f"traffic.vehicles/{k}": int(v) for k, v in out.items() if v})
    return figures


def daily_counts(engine: Engine, table: str, group: str, period: Period, areas: Sequence[str] | None = None) -> dict:
    """Rows received per day and `group` (feedback category or dossier channel)."""
    frame = _in_areas(read_columns(engine, table, ["received_at", group, "area_code"]), areas)
    frame = frame[_between(frame["received_at"], period)]
    out = frame.groupby([frame["received_at"].dt.normalize(), frame[group].astype(str)]).size()
    return {f"{day:%Y-%m-%d}/{key}": int(v) for (day, key), v in out.items() if v}


def weekly_counts(engine: Engine, table: str, group: str, period: Period) -> dict:
    frame = read_columns(engine, table, ["received_at", group])
    frame = frame[_between(frame["received_at"], period)]
    week = frame["received_at"].dt.normalize() - pd.to_timedelta(frame["received_at"].dt.day_of_week, unit="D")
    out = frame.groupby([week, frame[group].astype(str)]).size()
    return {f"{day:%Y-%m-%d}/{key}": int(v) for (day, key), v in out.items() if v}


def traffic_daily(engine: Engine, period: Period) -> dict:
    traffic = _observations(engine, period)
    out = traffic.groupby(traffic["observed_at"].dt.normalize())["vehicle_count"].sum()
    return {f"{day:%Y-%m-%d}": int(v) for day, v in out.items()}


def agency_resolved(engine: Engine, period: Period) -> dict:
    frame = read_columns(engine, "feedback", ["resolved_at", "agency"])
    out = frame[_between(frame["resolved_at"], period)].groupby("agency", observed=True).size()
    return {str(k): int(v) for k, v in out.items() if v}


def overdue_count(engine: Engine, period: Period) -> dict:
    frame = read_columns(engine, "feedback", ["received_at", "resolved_at", "due_at", "status"])
    end = pd.Timestamp(period.end_before)
    open_at_end = (
        (frame["received_at"] < end)
        & (frame["status"] != "rejected")
        & (frame["resolved_at"].isna() | (frame["resolved_at"] >= end))
    )
    return {"overdue": int((open_at_end & (frame["due_at"] < end)).sum())}


def dossier_extra_counts(engine: Engine, period: Period, as_of: datetime) -> dict:
    frame = read_columns(engine, "dossiers", ["received_at", "completed_at", "due_at", "status"])
    completed = _between(frame["completed_at"], period) & frame["due_at"].notna()
    moment = pd.Timestamp(as_of)
    past_due = (
        (frame["received_at"] < moment)
        & (frame["due_at"] < moment)
        & ~frame["status"].isin(list(CLOSED_WITHOUT_RESULT))
        & (frame["completed_at"].isna() | (frame["completed_at"] >= moment))
    )
    return {
        "late": int((completed & (frame["completed_at"] > frame["due_at"])).sum()),
        "past_due_open": int(past_due.sum()),
    }


def procedure_received(engine: Engine, period: Period) -> dict:
    frame = read_columns(engine, "dossiers", ["received_at", "procedure_code"])
    out = frame[_between(frame["received_at"], period)].groupby("procedure_code", observed=True).size()
    return {str(k): int(v) for k, v in out.items() if v}


def sensor_vehicles(engine: Engine, period: Period) -> dict:
    traffic = _observations(engine, period)
    return {str(k): int(v) for k, v in traffic.groupby("sensor_id")["vehicle_count"].sum().items() if v}


def hour_weekday(engine: Engine, period: Period) -> dict:
    traffic = _observations(engine, period)
    stamps = traffic["observed_at"]
    out = traffic.groupby([stamps.dt.day_of_week + 1, stamps.dt.hour])["vehicle_count"].sum()
    return {f"{d}/{h}": int(v) for (d, h), v in out.items()}


def sensor_last_seen(engine: Engine, now: datetime) -> dict:
    frame = read_columns(engine, "traffic_observations", ["sensor_id", "observed_at"])
    frame = frame[frame["observed_at"] <= pd.Timestamp(now)]
    out = frame.groupby("sensor_id", observed=True)["observed_at"].max()
    return {str(k): v.isoformat() for k, v in out.items()}


def located_feedback(engine: Engine, period: Period, cell_degrees: float, threshold: int) -> dict:
    """Located reports of the period, and how many markers the map shows: each report, or the grid cells."""
    frame = read_columns(engine, "feedback", ["received_at", "lat", "lon"])
    frame = frame[_between(frame["received_at"], period) & frame["lat"].notna() & frame["lon"].notna()]
    if len(frame) <= threshold:
        return {"located": len(frame), "shown": len(frame)}
    # The page divides in double precision (SQL: DuckDB widens its 4-byte FLOAT column, PostgreSQL stores doubles);
    # float32 arithmetic on DuckDB's column put about 1 report in 8,000 in the neighbouring cell (16.49 → 1649, not
    # 1648), which changed the number of cells in 20 of 36 thirty-day periods at bench scale 0.3.
    lat, lon = frame["lat"].astype("float64"), frame["lon"].astype("float64")
    cells = pd.DataFrame({"r": np.floor(lat / cell_degrees), "c": np.floor(lon / cell_degrees)})
    return {"located": len(frame), "shown": int(cells.drop_duplicates().shape[0])}
