"""Queries behind the traffic page ("Giao thông"). All aggregation is in SQL.

The congestion index everywhere is the one of `dashboard.metrics`: extra travel time against free
flow in percent (TomTom style), from vehicle-weighted travel-time ratios. The SQL returns the two
sums behind it (`weighted_vehicles`, `travel_time_ratio_sum`) and `definitions.congestion_index` turns them
into the index, so a sensor's peak here equals `metrics.kpis.section_kpis(..., dimensions={"sensor": [id]})`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.engine import Engine

from dashboard.db import aggregates, schema
from dashboard.db.engine import fetch_frame
from dashboard.db.predicates import QueryFilter, scope
from dashboard.db.queries import TRAFFIC_DIMENSIONS
from dashboard.metrics import definitions
from dashboard.periods import Period

sensors = schema.traffic_sensors.c
observations = schema.traffic_observations.c
rollup = schema.rollup_traffic_hourly.c

SILENCE_MINUTES = 60  # a sensor with no observation in this many minutes before "now" is flagged
PROFILE_WEEKS = 8  # the typical profile is the median of this many previous same weekdays
RANKING_GROUPS = ("sensor", "road")


def _scope(query_filter: QueryFilter):
    return scope(query_filter, sensors.area_code, TRAFFIC_DIMENSIONS)


def _rollup_hours(engine: Engine, query_filter: QueryFilter, key: str | None = None):
    """Sums per clock hour (and per sensor or road when `key` is given) in the period, from the rollup when the
    period is made of whole hours. Columns [key,] hour, vehicles, weighted_vehicles, travel_time_ratio_sum
    (a select, not yet a subquery)."""
    aggregation = aggregates.for_filter(engine, aggregates.TRAFFIC, query_filter)
    if key == "sensor" and aggregation.rolled:
        # The rollup holds one row per clock hour and sensor (its refresh groups by both): those rows are already
        # the groups, so they are read as they are (a second GROUP BY of the month's 340,000 rows took PostgreSQL
        # half of congestion_ranking's time at scale 1).
        sums = [rollup.vehicles, rollup.weighted_vehicles, rollup.travel_time_ratio_sum]
        return select(rollup.sensor_id.label("key"), rollup.hour.label("hour"), *sums).where(
            aggregation.happened(nonzero=False), aggregation.scope()
        )
    by = [] if key is None else [aggregation.column(key).label("key")]
    by.append(aggregation.moment(aggregates.VEHICLES, "hour").label("hour"))
    return aggregation.flows(*aggregates.SPEED_SUMS, by=by, nonzero=False)


def _with_index(
    frame: pd.DataFrame,
    ratio: str = "travel_time_ratio_sum",
    weighted: str = "weighted_vehicles",
    name: str = "congestion_index",
) -> pd.DataFrame:
    """Add the congestion index column computed by `definitions.congestion_index` from the two sums."""
    frame[name] = pd.Series(
        [definitions.congestion_index(r, w) for r, w in zip(frame[ratio], frame[weighted], strict=True)],
        index=frame.index,
        dtype="Float64",
    )
    return frame


def _counts(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    return frame


# ---------------------------------------------------------------- reference
def sensor_list(engine: Engine) -> pd.DataFrame:
    """Every sensor: columns id, name, road, area_code, lat, lon (ordered by road, then name)."""
    statement = select(sensors.id, sensors.name, sensors.road, sensors.area_code, sensors.lat, sensors.lon).order_by(
        sensors.road, sensors.name
    )
    return fetch_frame(engine, statement)


# ---------------------------------------------------------------- congestion per sensor / road
def congestion_ranking(engine: Engine, query_filter: QueryFilter, group: str = "sensor") -> pd.DataFrame:
    """Vehicles and congestion per sensor (a road segment in one direction) or per road in the period.

    Columns: key (sensor id or road), [name, road, area_code, lat, lon (sensors only),] sensors, vehicles, congestion_index_mean
    (vehicle-weighted over the period), congestion_index_peak (the worst clock hour) and peak_hour.
    Sensors in scope without observations are listed with 0 vehicles and no index (map markers).
    """
    if group not in RANKING_GROUPS:
        raise ValueError(f"group must be one of {', '.join(RANKING_GROUPS)}, not {group!r}")
    key = sensors.id if group == "sensor" else sensors.road
    hourly = _rollup_hours(engine, query_filter, group).cte("hourly").prefix_with("MATERIALIZED")  # read twice
    totals = (
        select(
            hourly.c.key,
            func.sum(hourly.c.vehicles).label("vehicles"),
            func.sum(hourly.c.weighted_vehicles).label("weighted_vehicles"),
            func.sum(hourly.c.travel_time_ratio_sum).label("travel_time_ratio_sum"),
        )
        .group_by(hourly.c.key)
        .subquery("totals")
    )
    # The peak hour: the highest ratio, the earliest hour among equal ones (grouping, no window sort).
    ratio = hourly.c.travel_time_ratio_sum / hourly.c.weighted_vehicles
    worst = (
        select(hourly.c.key, func.max(ratio).label("ratio"))
        .where(hourly.c.weighted_vehicles > 0)
        .group_by(hourly.c.key)
        .subquery("worst")
    )
    first = (
        select(hourly.c.key, func.min(hourly.c.hour).label("hour"))
        .select_from(hourly.join(worst, and_(worst.c.key == hourly.c.key, ratio == worst.c.ratio)))
        .where(hourly.c.weighted_vehicles > 0)
        .group_by(hourly.c.key)
        .subquery("first")
    )
    peak = (
        select(hourly.c.key, hourly.c.hour, hourly.c.weighted_vehicles, hourly.c.travel_time_ratio_sum)
        .select_from(hourly.join(first, and_(first.c.key == hourly.c.key, first.c.hour == hourly.c.hour)))
        .subquery("peak")
    )
    members = (
        select(
            key.label("key"),
            func.count().label("sensors"),
            func.min(sensors.name).label("name"),
            func.min(sensors.road).label("road"),
            func.min(sensors.area_code).label("area_code"),
            func.avg(sensors.lat).label("lat"),
            func.avg(sensors.lon).label("lon"),
        )
        .where(_scope(query_filter))
        .group_by(key)
        .subquery("members")
    )
    statement = (
        select(
            members,
            totals.c.vehicles,
            totals.c.weighted_vehicles,
            totals.c.travel_time_ratio_sum,
            peak.c.hour.label("peak_hour"),
            peak.c.weighted_vehicles.label("peak_weighted_vehicles"),
            peak.c.travel_time_ratio_sum.label("peak_travel_time_ratio_sum"),
        )
        .select_from(
            members.outerjoin(totals, totals.c.key == members.c.key).outerjoin(peak, peak.c.key == members.c.key)
        )
        .order_by(members.c.key)
    )
    frame = fetch_frame(engine, statement)
    frame = _counts(frame, "vehicles", "sensors")
    frame = _with_index(frame, name="congestion_index_mean")
    frame = _with_index(frame, "peak_travel_time_ratio_sum", "peak_weighted_vehicles", "congestion_index_peak")
    frame["peak_hour"] = pd.to_datetime(frame["peak_hour"])
    if group == "road":
        frame = frame.drop(columns=["name", "road", "area_code", "lat", "lon"])
    return frame.drop(
        columns=["weighted_vehicles", "travel_time_ratio_sum", "peak_weighted_vehicles", "peak_travel_time_ratio_sum"]
    )


# ---------------------------------------------------------------- hour of day × weekday
def hour_weekday(engine: Engine, query_filter: QueryFilter) -> pd.DataFrame:
    """Traffic by ISO weekday (1 = Monday … 7 = Sunday) and hour of day over the period.

    Columns: weekday, hour, days (dates with data in that hour), vehicles, vehicles_per_day
    (vehicles ÷ days: the typical hour on that weekday) and congestion_index.
    """
    hourly = _rollup_hours(engine, query_filter).subquery("hourly")
    weekday = extract("isodow", hourly.c.hour)
    hour_of_day = extract("hour", hourly.c.hour)
    statement = (
        select(
            weekday.label("weekday"),
            hour_of_day.label("hour"),
            func.count().label("days"),
            func.sum(hourly.c.vehicles).label("vehicles"),
            func.sum(hourly.c.weighted_vehicles).label("weighted_vehicles"),
            func.sum(hourly.c.travel_time_ratio_sum).label("travel_time_ratio_sum"),
        )
        .group_by(weekday, hour_of_day)
        .order_by(weekday, hour_of_day)
    )
    frame = fetch_frame(engine, statement)
    frame = _counts(frame, "weekday", "hour", "days", "vehicles")
    frame["vehicles_per_day"] = (frame["vehicles"] / frame["days"].where(frame["days"] > 0)).round(1)
    return _with_index(frame).drop(columns=["weighted_vehicles", "travel_time_ratio_sum"])


# ---------------------------------------------------------------- a day against its typical profile
def _hourly_per_day(engine: Engine, query_filter: QueryFilter, days: list[date], until: datetime | None = None):
    """Vehicles per (date, hour of day) on the given dates, as a subquery."""
    aggregation = aggregates.compile(
        engine,
        aggregates.TRAFFIC,
        None,
        query_filter.areas,
        dict(query_filter.dimensions),
        at=[until] if until is not None else [],
    )
    vehicles = aggregates.VEHICLES
    ranges = [aggregation.happened(vehicles, period=Period(day, day), nonzero=False) for day in days]
    if until is not None:
        ranges = [and_(clause, aggregation.before(until, vehicles)) for clause in ranges]
    day, hour = aggregation.moment(vehicles, "date"), extract("hour", aggregation.moment(vehicles))
    return (
        select(day.label("day"), hour.label("hour"), aggregation.flow(vehicles))
        .select_from(aggregation.source)
        .where(or_(*ranges), aggregation.scope())
        .group_by(day, hour)
        .subquery("per_day")
    )


def previous_same_weekdays(day: date, weeks: int = PROFILE_WEEKS) -> list[date]:
    """The `weeks` dates one, two, … weeks before `day` (same weekday)."""
    return [day - timedelta(weeks=k) for k in range(1, weeks + 1)]


def profile_day(period: Period, now: datetime, newest=None) -> tuple[date, datetime | None]:
    """The day the profile chart shows and, when the data of that day may still be coming in, the start of
    the hour from which observations are left out as incomplete.

    The clock is `now`, or the newest observation when the feed stopped earlier (e.g. a demo database built
    days ago): the day is the period's last day but never after that clock, and on the clock's own day the
    hour the clock is in is left out. `newest` may be None/NaT (no observations at all).
    """
    newest = None if newest is None or pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()
    clock = min(now, newest) if newest is not None else now
    day = min(period.end, clock.date())
    return day, (clock.replace(minute=0, second=0, microsecond=0) if day == clock.date() else None)


def day_profile(engine: Engine, query_filter: QueryFilter, day: date, until: datetime | None = None) -> pd.DataFrame:
    """Vehicles per hour of `day` (observations before `until` only, e.g. to leave out the running hour).

    Columns: hour, vehicles. The filter's period is not used; its areas and dimensions are.
    """
    per_day = _hourly_per_day(engine, query_filter, [day], until)
    frame = fetch_frame(engine, select(per_day.c.hour, per_day.c.vehicles).order_by(per_day.c.hour))
    return _counts(frame, "hour", "vehicles")


def typical_profile(engine: Engine, query_filter: QueryFilter, day: date, weeks: int = PROFILE_WEEKS) -> pd.DataFrame:
    """For each hour, the median of the hourly vehicle totals of the `weeks` previous same weekdays.

    Columns: hour, typical_vehicles, days (how many of those dates had data in that hour: a date
    without any observation in an hour is left out, not counted as zero traffic).
    """
    per_day = _hourly_per_day(engine, query_filter, previous_same_weekdays(day, weeks))
    statement = (
        select(
            per_day.c.hour,
            func.percentile_cont(0.5).within_group(per_day.c.vehicles).label("typical_vehicles"),
            func.count().label("days"),
        )
        .group_by(per_day.c.hour)
        .order_by(per_day.c.hour)
    )
    frame = _counts(fetch_frame(engine, statement), "hour", "days")
    frame["typical_vehicles"] = pd.to_numeric(frame["typical_vehicles"]).astype(float)
    return frame


def profile_comparison(
    engine: Engine, query_filter: QueryFilter, day: date, until: datetime | None = None, weeks: int = PROFILE_WEEKS
) -> pd.DataFrame:
    """`day_profile` beside `typical_profile` for the 24 hours: columns hour, vehicles, typical_vehicles, days."""
    hours = pd.DataFrame({"hour": range(24)})
    frame = hours.merge(day_profile(engine, query_filter, day, until), on="hour", how="left")
    frame = frame.merge(typical_profile(engine, query_filter, day, weeks), on="hour", how="left")
    frame["vehicles"] = frame["vehicles"].astype("Int64")
    frame["days"] = frame["days"].fillna(0).astype("int64")
    return frame


# ---------------------------------------------------------------- sensors that went silent
def sensor_last_seen(engine: Engine, query_filter: QueryFilter, now: datetime) -> pd.DataFrame:
    """Each sensor in the filter's areas/dimensions with its newest observation at or before `now`.

    Columns: id, name, road, area_code, last_observed_at (None when the sensor never reported).
    The period is not used: this is the live state of the network at `now`.
    """
    newest = (
        select(func.max(observations.observed_at))
        .where(observations.sensor_id == sensors.id, observations.observed_at <= now)
        .scalar_subquery()
    )
    hour = now.replace(minute=0, second=0, microsecond=0)
    # The newest observation is a maximum, not a sum: the rollup answers for the whole hours before `now`.
    if aggregates.usable(engine, aggregates.TRAFFIC, instants=[hour], dimensions=dict(query_filter.dimensions)):
        return _last_seen_rollup(engine, query_filter, now, hour)
    statement = (
        select(sensors.id, sensors.name, sensors.road, sensors.area_code, newest.label("last_observed_at"))
        .where(_scope(query_filter))
        .order_by(sensors.id)
    )
    frame = fetch_frame(engine, statement)
    frame["last_observed_at"] = pd.to_datetime(frame["last_observed_at"])
    return frame


RECENT_DAYS = 1  # sensor_last_seen looks this far back in the rollup first, then further for the sensors not found


def _last_seen_rollup(engine: Engine, query_filter: QueryFilter, now: datetime, hour: datetime) -> pd.DataFrame:
    """sensor_last_seen with `now`'s own hour read from the observations (up to now) and the whole hours
    before it from the rollup's newest observation per sensor-hour: the last day first, all history only
    for the sensors silent longer than that."""
    recent = hour - timedelta(days=RECENT_DAYS)
    this_hour = (
        select(func.max(observations.observed_at))
        .where(observations.sensor_id == sensors.id, observations.observed_at >= hour, observations.observed_at <= now)
        .scalar_subquery()
    )
    last_day = (
        select(func.max(rollup.last_observed_at))
        .where(rollup.sensor_id == sensors.id, rollup.hour >= recent, rollup.hour < hour)
        .scalar_subquery()
    )
    statement = (
        select(
            sensors.id,
            sensors.name,
            sensors.road,
            sensors.area_code,
            func.coalesce(this_hour, last_day).label("last_observed_at"),
        )
        .where(_scope(query_filter))
        .order_by(sensors.id)
    )
    frame = fetch_frame(engine, statement)
    missing = frame.loc[frame["last_observed_at"].isna(), "id"].astype(str).tolist()
    if missing:
        older = fetch_frame(
            engine,
            select(rollup.sensor_id.label("id"), func.max(rollup.last_observed_at).label("older"))
            .where(rollup.sensor_id.in_(missing), rollup.hour < recent)
            .group_by(rollup.sensor_id),
        )
        found = dict(zip(older["id"], older["older"], strict=True))
        frame["last_observed_at"] = [
            found.get(sensor, seen) if pd.isna(seen) else seen
            for sensor, seen in zip(frame["id"], frame["last_observed_at"], strict=True)
        ]
    frame["last_observed_at"] = pd.to_datetime(frame["last_observed_at"])
    return frame


def flag_silent(last_seen: pd.DataFrame, now: datetime, silence_minutes: int = SILENCE_MINUTES) -> pd.DataFrame:
    """The rows of `sensor_last_seen` with no observation in the `silence_minutes` before `now`
    (the newest is strictly older, or there is none), plus minutes_silent (None when it never
    reported); the longest-silent first."""
    cutoff = pd.Timestamp(now) - pd.Timedelta(minutes=silence_minutes)
    silent = last_seen[last_seen["last_observed_at"].isna() | (last_seen["last_observed_at"] < cutoff)].copy()
    silent["minutes_silent"] = ((pd.Timestamp(now) - silent["last_observed_at"]).dt.total_seconds() // 60).astype(
        "Int64"
    )
    return silent.sort_values("last_observed_at", na_position="first").reset_index(drop=True)


def silent_sensors(
    engine: Engine, query_filter: QueryFilter, now: datetime, silence_minutes: int = SILENCE_MINUTES
) -> pd.DataFrame:
    """Sensors in the filter's areas/dimensions that sent nothing in the `silence_minutes` before `now`."""
    return flag_silent(sensor_last_seen(engine, query_filter, now), now, silence_minutes)
