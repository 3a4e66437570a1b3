"""From a chunk of text rows to rows of our tables, with the rejected rows and the reason for each.

A row is rejected (never written) when its id or received time is missing or unreadable, when it was
resolved/completed before it was received, or when one of its event times lies in the future. Other
unreadable values (a due date, a coordinate) become empty, and places that match no area stay unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from dashboard.domain import DOSSIER_SECTORS, FEEDBACK_CATEGORIES, FEEDBACK_CHANNELS
from dashboard.ingest import dates, fields
from dashboard.ingest.places import AreaMatcher

CLOCK_SKEW = timedelta(minutes=5)  # a source's clock may run a little ahead of ours
REJECT_COLUMNS = ["row_number", "column_name", "value", "reason"]
MAX_TEXT = {
    "source_id": 64,
    "agency": 64,
    "procedure_name": 256,
    "procedure_code": 32,
    "sensor_id": 32,
    "name": 128,
    "road": 128,
    "source_category": 128,
    "citizen_name": 255,
    "citizen_phone": 64,
    "citizen_email": 255,
    "citizen_address": 512,
}


@dataclass
class Plan:
    """What an import decided before reading its data rows."""

    kind: str
    source: str
    mapping: dict[str, str]  # field -> file header
    date_rules: dict[str, dates.DateRule]
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> {source value: our code}
    timezone: str = "Asia/Ho_Chi_Minh"
    now: datetime = field(default_factory=datetime.now)
    wide: bool = False
    period_minutes: int | None = None


class Rejects:
    """Collects rejected rows; a row is rejected once, for its first reason."""

    def __init__(self, index: pd.Index) -> None:
        self.reason = pd.Series(None, index=index, dtype=object)
        self.column = pd.Series(None, index=index, dtype=object)
        self.value = pd.Series(None, index=index, dtype=object)

    def add(self, mask: pd.Series, reason: str, column: str | None, values: pd.Series | None = None) -> None:
        new = mask & self.reason.isna()
        if not new.any():
            return
        self.reason[new] = reason
        self.column[new] = column
        if values is not None:
            self.value[new] = values[new].astype(object).astype(str).str.slice(0, 200)

    @property
    def mask(self) -> pd.Series:
        return self.reason.notna()

    def frame(self) -> pd.DataFrame:
        chosen = self.mask
        return pd.DataFrame(
            {
                "row_number": self.reason.index[chosen].astype("int64"),
                "column_name": self.column[chosen].to_numpy(),
                "value": self.value[chosen].to_numpy(),
                "reason": self.reason[chosen].to_numpy(),
            }
        )


def _text(chunk: pd.DataFrame, plan: Plan, name: str) -> pd.Series | None:
    header = plan.mapping.get(name)
    return chunk[header] if header is not None else None


def _time(chunk: pd.DataFrame, plan: Plan, name: str) -> tuple[pd.Series | None, pd.Series | None]:
    """(parsed, raw) of a mapped time field, or (None, None)."""
    raw = _text(chunk, plan, name)
    if raw is None:
        return None, None
    return dates.parse(raw, plan.date_rules[name], plan.timezone), raw


def _number(values: pd.Series | None, index: pd.Index) -> pd.Series:
    if values is None:
        return pd.Series(np.nan, index=index)
    cleaned = (
        values.astype(object)
        .where(values.notna(), None)
        .map(
            lambda v: (
                v if v is None else v.replace(" ", "").replace(",", "." if v.count(",") == 1 and "." not in v else "")
            )
        )
    )
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def _codes(
    values: pd.Series | None, plan: Plan, name: str, words: dict, codes: tuple[str, ...], index: pd.Index
) -> pd.Series:
    """Our code for each source value: the mapping file's `values:` first, then the keyword rules."""
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    explicit = plan.values.get(name, {})
    lookup = {}
    for value in values.dropna().unique():
        lookup[value] = explicit.get(value) or explicit.get(fields.plain(value)) or fields.classify(value, words, codes)
    return values.map(lookup).astype(object).where(values.notna(), None)


def _required_id(chunk: pd.DataFrame, plan: Plan, name: str, rejects: Rejects) -> pd.Series:
    values = _text(chunk, plan, name)
    header = plan.mapping[name]
    rejects.add(values.isna(), "missing_id", header)
    rejects.add(values.notna() & (values.str.len() > MAX_TEXT[name]), "id_too_long", header, values)
    return values


def _required_time(chunk: pd.DataFrame, plan: Plan, name: str, rejects: Rejects) -> pd.Series:
    parsed, raw = _time(chunk, plan, name)
    header = plan.mapping[name]
    rejects.add(raw.isna(), f"missing_{name}", header)
    rejects.add(raw.notna() & parsed.isna(), "unreadable_date", header, raw)
    return parsed


def _not_future(plan: Plan, rejects: Rejects, times: dict[str, tuple[pd.Series | None, pd.Series | None]]) -> None:
    limit = pd.Timestamp(plan.now + CLOCK_SKEW)
    for name, (parsed, raw) in times.items():
        if parsed is not None:
            rejects.add(parsed > limit, "future_date", plan.mapping[name], raw)


def _not_before(
    plan: Plan, rejects: Rejects, received: pd.Series, name: str, later: tuple[pd.Series | None, pd.Series | None]
) -> None:
    parsed, raw = later
    if parsed is not None:
        rejects.add(parsed < received, f"{name.removesuffix('_at')}_before_received", plan.mapping[name], raw)


def _coordinates(chunk: pd.DataFrame, plan: Plan) -> tuple[pd.Series, pd.Series]:
    lat = _number(_text(chunk, plan, "lat"), chunk.index)
    lon = _number(_text(chunk, plan, "lon"), chunk.index)
    valid = lat.between(-90, 90) & lon.between(-180, 180) & ~((lat == 0) & (lon == 0))
    return lat.where(valid), lon.where(valid)


def _areas(chunk: pd.DataFrame, plan: Plan, matcher: AreaMatcher, lat=None, lon=None) -> pd.Series:
    return matcher.match(_text(chunk, plan, "area"), lat, lon, chunk.index)


def _clip(values: pd.Series | None, name: str, index: pd.Index) -> pd.Series:
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    return values.str.slice(0, MAX_TEXT.get(name, 64)).astype(object).where(values.notna(), None)


def _source_text(values: pd.Series | None, name: str, index: pd.Index) -> pd.Series:
    """A source's free text kept as given: spaces around it removed, blank = NULL, clipped to MAX_TEXT[name]."""
    if values is None:
        return pd.Series(None, index=index, dtype=object)
    stripped = values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v).strip())
    return _clip(stripped.where(stripped.map(bool), None).astype(object), name, index)


def _citizen(chunk: pd.DataFrame, plan: Plan, index: pd.Index) -> dict[str, pd.Series]:
    """The citizen's name, phone, e-mail and address as given (first and last name joined when the file splits
    them); NULL where the file has none. Masked for most roles when read (dashboard/access/pii.py)."""
    name = _text(chunk, plan, "citizen_name")
    if name is None:
        parts = [_text(chunk, plan, f"citizen_{p}_name") for p in ("first", "last")]
        parts = [p.astype(object).where(p.notna(), "").map(lambda v: str(v).strip()) for p in parts if p is not None]
        if parts:
            name = parts[0] if len(parts) == 1 else (parts[0] + " " + parts[1]).str.strip()
    columns = {"citizen_name": name}
    for part in ("phone", "email", "address"):
        columns[f"citizen_{part}"] = _text(chunk, plan, f"citizen_{part}")
    return {column: _source_text(values, column, index) for column, values in columns.items()}


def prepare_feedback(chunk: pd.DataFrame, plan: Plan, matcher: AreaMatcher) -> tuple[pd.DataFrame, Rejects]:
    index, rejects = chunk.index, Rejects(chunk.index)
    source_id = _required_id(chunk, plan, "source_id", rejects)
    received = _required_time(chunk, plan, "received_at", rejects)
    times = {name: _time(chunk, plan, name) for name in ("resolved_at", "updated_at", "due_at", "first_response_at")}
    _not_before(plan, rejects, received, "resolved_at", times["resolved_at"])
    _not_future(
        plan,
        rejects,
        {
            "received_at": (received, _text(chunk, plan, "received_at")),
            "resolved_at": times["resolved_at"],
            "first_response_at": times["first_response_at"],
        },
    )
    status = _codes(
        _text(chunk, plan, "status"),
        plan,
        "status",
        fields.FEEDBACK_STATUS_WORDS,
        ("new", "in_progress", "resolved", "rejected"),
        index,
    )
    resolved = times["resolved_at"][0] if times["resolved_at"][0] is not None else pd.Series(pd.NaT, index=index)
    closed = status.isin(["resolved", "rejected"])
    if times["updated_at"][0] is not None:  # Open311: the last update of a closed request is when it closed
        updated, raw_updated = times["updated_at"]
        _not_future(plan, rejects, {"updated_at": (updated.where(closed & resolved.isna()), raw_updated)})
        resolved = resolved.where(resolved.notna() | ~closed, updated)
        resolved = resolved.where(resolved.isna() | (resolved >= received))
    status = status.where(resolved.isna() | (status == "rejected"), "resolved").fillna("new")
    lat, lon = _coordinates(chunk, plan)
    satisfaction = _number(_text(chunk, plan, "satisfaction"), index)
    source_category = _text(chunk, plan, "category")  # the source's own words, kept beside our code
    category = _codes(
        source_category, plan, "category", fields.FEEDBACK_CATEGORY_WORDS, FEEDBACK_CATEGORIES, index
    ).fillna("other")
    rows = pd.DataFrame(
        {
            "source": plan.source,
            "source_id": source_id,
            "received_at": received,
            "category": category,
            "channel": _codes(
                _text(chunk, plan, "channel"), plan, "channel", fields.FEEDBACK_CHANNEL_WORDS, FEEDBACK_CHANNELS, index
            ),
            "area_code": _areas(chunk, plan, matcher, lat, lon),
            "lat": lat,
            "lon": lon,
            "status": status,
            "agency": _clip(_text(chunk, plan, "agency"), "agency", index),
            "due_at": times["due_at"][0] if times["due_at"][0] is not None else pd.NaT,
            "first_response_at": times["first_response_at"][0] if times["first_response_at"][0] is not None else pd.NaT,
            "resolved_at": resolved,
            "satisfaction": satisfaction.where(satisfaction.between(1, 5)).round().astype("Int64"),
            "reopened": False,
            "source_category": _source_text(source_category, "source_category", index),
            **_citizen(chunk, plan, index),
        },
        index=index,
    )
    return rows[~rejects.mask], rejects


def _count_or_days(chunk: pd.DataFrame, plan: Plan, name: str, rejects: Rejects, *, whole: bool) -> pd.Series:
    """An optional count (`whole`) or number of days ≥ 0; empty = unknown (NULL). A value that cannot be read, is
    not whole (a count) or is negative rejects the row: `<name>_unreadable` / `<name>_negative`."""
    raw = _text(chunk, plan, name)
    values = _number(raw, chunk.index)
    if raw is None:
        return values
    header = plan.mapping[name]
    given = raw.notna() & raw.astype(object).map(lambda v: bool(str(v).strip()) if v is not None else False)
    readable = values.notna() & np.isfinite(values)
    if whole:
        readable &= values == values.round()
    rejects.add(given & ~readable, f"{name}_unreadable", header, raw)
    rejects.add(given & readable & (values < 0), f"{name}_negative", header, raw)
    return values.where(given & readable & (values >= 0))


def _yes_no(chunk: pd.DataFrame, plan: Plan, name: str, rejects: Rejects) -> pd.Series:
    """An optional yes/no column (fields.YES_WORDS / NO_WORDS, plain form); empty = unknown, else `<name>_unreadable`."""
    raw = _text(chunk, plan, name)
    if raw is None:
        return pd.Series(None, index=chunk.index, dtype="boolean")
    words = raw.astype(object).map(lambda v: fields.plain(v) if v is not None and not pd.isna(v) else "")
    yes, no = words.isin(fields.YES_WORDS), words.isin(fields.NO_WORDS)
    rejects.add((words != "") & ~yes & ~no, f"{name}_unreadable", plan.mapping[name], raw)
    return pd.Series(pd.NA, index=chunk.index, dtype="boolean").mask(yes, True).mask(no, False)


def prepare_dossiers(chunk: pd.DataFrame, plan: Plan, matcher: AreaMatcher) -> tuple[pd.DataFrame, Rejects]:
    index, rejects = chunk.index, Rejects(chunk.index)
    source_id = _required_id(chunk, plan, "source_id", rejects)
    received = _required_time(chunk, plan, "received_at", rejects)
    completed, completed_raw = _time(chunk, plan, "completed_at")
    due, _ = _time(chunk, plan, "due_at")
    _not_before(plan, rejects, received, "completed_at", (completed, completed_raw))
    _not_future(
        plan,
        rejects,
        {"received_at": (received, _text(chunk, plan, "received_at")), "completed_at": (completed, completed_raw)},
    )
    completed = completed if completed is not None else pd.Series(pd.NaT, index=index)
    status = _codes(
        _text(chunk, plan, "status"),
        plan,
        "status",
        fields.DOSSIER_STATUS_WORDS,
        ("received", "in_progress", "completed", "returned", "withdrawn"),
        index,
    )
    supplement_requests = _count_or_days(chunk, plan, "supplement_requests", rejects, whole=True)
    supplement_days = _count_or_days(chunk, plan, "supplement_days", rejects, whole=False)
    complaint = _yes_no(chunk, plan, "complaint", rejects)
    status = status.where(completed.isna() | status.isin(["returned", "withdrawn"]), "completed")
    status = status.where(~((status == "completed") & completed.isna()), "in_progress").fillna("received")
    name = _text(chunk, plan, "procedure_name")
    code = _text(chunk, plan, "procedure_code")
    sector_raw = _text(chunk, plan, "sector")
    sector = _codes(sector_raw, plan, "sector", fields.DOSSIER_SECTOR_WORDS, DOSSIER_SECTORS, index)
    sector = sector.fillna(_codes(name, plan, "sector", fields.DOSSIER_SECTOR_WORDS, DOSSIER_SECTORS, index))
    fallback_name = (sector_raw if sector_raw is not None else pd.Series(None, index=index, dtype=object)).fillna("—")
    name = (name if name is not None else pd.Series(None, index=index, dtype=object)).fillna(
        code if code is not None else fallback_name
    )
    code = code if code is not None else name.map(lambda v: fields.plain(v)[:32] or "unknown")
    rows = pd.DataFrame(
        {
            "source": plan.source,
            "source_id": source_id,
            "procedure_code": _clip(code.fillna("unknown"), "procedure_code", index),
            "procedure_name": _clip(name.fillna("—"), "procedure_name", index),
            "sector": sector.fillna("other"),
            "agency": _clip(_text(chunk, plan, "agency"), "agency", index),
            "area_code": _areas(chunk, plan, matcher, *_coordinates(chunk, plan)),
            "channel": _codes(
                _text(chunk, plan, "channel"),
                plan,
                "channel",
                fields.DOSSIER_CHANNEL_WORDS,
                ("online", "counter", "postal"),
                index,
            ).fillna("counter"),
            "received_at": received,
            "due_at": due if due is not None else pd.NaT,
            "completed_at": completed,
            "status": status,
            "supplement_requests": supplement_requests.round().astype("Int64"),
            "supplement_days": supplement_days,
            "complaint": complaint,
            **_citizen(chunk, plan, index),
        },
        index=index,
    )
    return rows[~rejects.mask], rejects


def widen(chunk: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """A wide traffic table (one time column, one count column per sensor) in long form; index = row number."""
    keys = [h for f, h in plan.mapping.items() if f in ("observed_at", "hour")]
    counts = [c for c in chunk.columns if c not in keys]
    long = chunk.reset_index(names="row_number").melt(
        id_vars=["row_number", *keys], value_vars=counts, var_name="wide_sensor", value_name="wide_count"
    )
    return long.set_index("row_number")


def prepare_traffic(chunk: pd.DataFrame, plan: Plan, sensors: set[str] | None) -> tuple[pd.DataFrame, Rejects]:
    """Rows of traffic_observations; `sensors`: the known sensor ids (others rejected), None: every sensor accepted
    (the importer registers the new ones, ingest.sensors)."""
    index, rejects = chunk.index, Rejects(chunk.index)
    sensor = _required_id(chunk, plan, "sensor_id", rejects)
    observed = _required_time(chunk, plan, "observed_at", rejects)
    hour = _number(_text(chunk, plan, "hour"), index)
    if plan.mapping.get("hour"):
        rejects.add(~hour.between(0, 23), "unreadable_hour", plan.mapping["hour"], _text(chunk, plan, "hour"))
        observed = observed + pd.to_timedelta(hour.fillna(0), unit="h")
    _not_future(plan, rejects, {"observed_at": (observed, _text(chunk, plan, "observed_at"))})
    count = _number(_text(chunk, plan, "vehicle_count"), index)
    rejects.add(~(count >= 0), "unreadable_count", plan.mapping["vehicle_count"], _text(chunk, plan, "vehicle_count"))
    if sensors is not None:
        rejects.add(sensor.notna() & ~sensor.isin(sensors), "unknown_sensor", plan.mapping["sensor_id"], sensor)
    period = _number(_text(chunk, plan, "period_minutes"), index).fillna(plan.period_minutes or 60)
    rows = pd.DataFrame(
        {
            "sensor_id": sensor,
            "observed_at": observed,
            "period_minutes": period.clip(lower=1).astype("int64"),
            "vehicle_count": count.fillna(0).round().astype("int64"),
            "mean_speed_kmh": _number(_text(chunk, plan, "mean_speed_kmh"), index),
        },
        index=index,
    )
    return rows[~rejects.mask], rejects


def prepare_sensors(chunk: pd.DataFrame, plan: Plan, matcher: AreaMatcher) -> tuple[pd.DataFrame, Rejects]:
    index, rejects = chunk.index, Rejects(chunk.index)
    sensor = _required_id(chunk, plan, "sensor_id", rejects)
    lat, lon = _coordinates(chunk, plan)
    rejects.add(lat.isna() | lon.isna(), "missing_location", plan.mapping.get("lat", "lat"), _text(chunk, plan, "lat"))
    name = _clip(_text(chunk, plan, "name"), "name", index)
    name = name.where(name.notna(), sensor)
    road = _clip(_text(chunk, plan, "road"), "road", index)
    rows = pd.DataFrame(
        {
            "id": sensor,
            "name": name,
            "road": road.where(road.notna(), name),
            "area_code": _areas(chunk, plan, matcher, lat, lon),
            "lat": lat,
            "lon": lon,
        },
        index=index,
    )
    return rows[~rejects.mask], rejects


def infer_period_minutes(chunk: pd.DataFrame, plan: Plan) -> int:
    """The usual gap in minutes between one sensor's consecutive observations in a sample (60 when unknown)."""
    observed = dates.parse(_text(chunk, plan, "observed_at"), plan.date_rules["observed_at"], plan.timezone)
    if plan.mapping.get("hour"):
        observed = observed + pd.to_timedelta(_number(_text(chunk, plan, "hour"), chunk.index).fillna(0), unit="h")
    sample = pd.DataFrame({"sensor": _text(chunk, plan, "sensor_id"), "at": observed}).dropna().drop_duplicates()
    gaps = sample.sort_values(["sensor", "at"]).groupby("sensor")["at"].diff().dropna().dt.total_seconds() / 60
    gaps = gaps[gaps > 0]
    return int(gaps.mode().iloc[0]) if not gaps.empty else 60
