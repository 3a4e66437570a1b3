"""The wall screen's decisions as plain functions (no Streamlit): which panel shows when, what "today"
and "a typical day" mean, how fresh each source is, which alerts the ticker carries, and how the last
good figures are kept while the database is away.

Rotation: `?panels=overview,map,traffic&dwell=20,40,20` (seconds; one value for every panel or one per
panel), defaulting to the settings IOC_WALL_PANELS / IOC_WALL_DWELL_SECONDS. Each panel stays until its
dwell has passed since it appeared, then the next one follows: a late timer (a busy browser at 4K) delays
a change but never skips a panel, so every panel is seen in every cycle.

Today vs a typical day: today's KPIs from midnight up to the data clock, against the median of the same
part of the day on the same weekday of the previous eight weeks (`TYPICAL_WEEKS`). Days on which a
source had no records at all (before its data starts, or an outage) are left out of that median.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from dashboard import config
from dashboard.i18n import t
from dashboard.metrics import definitions

PANELS = ("overview", "map", "traffic", "procedures", "forecast")
SOURCES = ("feedback", "dossiers", "traffic")
SECTIONS = ("feedback", "dossiers", "traffic")
MIN_DWELL_SECONDS = 3
MAX_DWELL_SECONDS = 3600
TYPICAL_WEEKS = 8
FEED_WINDOW_HOURS = 24  # the map shows feedback received in this many hours before the data clock
MAX_ALERT_ANOMALIES = 3

# Which KPIs say whether a section had any records on a day (a day without any is not a "typical" day).
ACTIVITY = {"feedback": ("received", "resolved"), "dossiers": ("received", "completed"), "traffic": ("vehicles",)}


# ---------------------------------------------------------------- rotation
class RotationError(ValueError):
    """A `panels`/`dwell` value the wall cannot use; the message (English; `text(lang)` in either language) says
    what would work."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return t(f"wall.rotation.{self.key}", lang, **self.params)


@dataclass(frozen=True)
class Rotation:
    panels: tuple[str, ...]
    dwell_seconds: tuple[int, ...]

    @property
    def cycle_seconds(self) -> int:
        return sum(self.dwell_seconds)

    @property
    def tick_seconds(self) -> int:
        """How often the rotation looks at the clock: every dwell is a multiple of this. Ticking no more often
        keeps the panel's style untouched between changes (no repeated fade-in)."""
        return math.gcd(*self.dwell_seconds)

    @property
    def slack_seconds(self) -> float:
        """How early a tick may come and still change the panel: half a tick, so timer jitter neither
        skips a change nor makes one."""
        return self.tick_seconds / 2

    def step(self, index: int, shown_seconds: float) -> int:
        """The panel to show now, given the one on screen (`index`) and how long it has been there."""
        if shown_seconds + self.slack_seconds >= self.dwell_seconds[index]:
            return (index + 1) % len(self.panels)
        return index


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def parse_rotation(panels: str, dwell: str) -> Rotation:
    """`"overview,map"` and `"20,40"` (or one value for all) → Rotation; RotationError explains a bad value."""
    names = [name.lower() for name in _split(panels or "")]
    if not names:
        raise RotationError("no_panels", panels=", ".join(PANELS))
    unknown = [name for name in names if name not in PANELS]
    if unknown:
        raise RotationError("unknown_panel", names=", ".join(repr(n) for n in unknown), panels=", ".join(PANELS))
    values = _split(dwell or "")
    if not values:
        raise RotationError("no_dwell")
    seconds = []
    for value in values:
        try:
            number = int(value)
        except ValueError:
            raise RotationError("dwell_not_number", value=repr(value)) from None
        if not MIN_DWELL_SECONDS <= number <= MAX_DWELL_SECONDS:
            raise RotationError("dwell_range", n=number, low=MIN_DWELL_SECONDS, high=MAX_DWELL_SECONDS)
        seconds.append(number)
    if len(seconds) == 1:
        seconds = seconds * len(names)
    elif len(seconds) != len(names):
        raise RotationError("dwell_count", panels=len(names), values=len(seconds))
    return Rotation(tuple(names), tuple(seconds))


DEFAULT_ROTATION = Rotation(PANELS, (20,) * len(PANELS))


def wall_rotation(params: Mapping[str, str], lang: str = "en") -> tuple[Rotation, str | None]:
    """The rotation the wall runs: URL parameters over the settings IOC_WALL_PANELS / IOC_WALL_DWELL_SECONDS.

    Never raises: a bad URL falls back to the settings, bad settings to every panel for 20 s; the second
    value is the problem to show in `lang` (None when all is well).
    """
    configured_panels, configured_dwell = config.get("IOC_WALL_PANELS"), config.get("IOC_WALL_DWELL_SECONDS")
    try:
        configured = parse_rotation(configured_panels, configured_dwell)
    except RotationError as error:
        configured, problem = DEFAULT_ROTATION, f"IOC_WALL_PANELS/IOC_WALL_DWELL_SECONDS: {error.text(lang)}"
    else:
        problem = None
    if "panels" not in params and "dwell" not in params:
        return configured, problem
    try:
        return parse_rotation(params.get("panels", configured_panels), params.get("dwell", configured_dwell)), problem
    except RotationError as error:
        return configured, f"?panels/dwell: {error.text(lang)}"


def refresh_seconds() -> int:
    """How often the panels reload their figures (IOC_WALL_REFRESH_SECONDS; the setting allows 5 s at least)."""
    return config.value("IOC_WALL_REFRESH_SECONDS")


def overdue_days() -> int:
    """The ticker lists open feedback overdue by more than this many days (IOC_WALL_OVERDUE_DAYS)."""
    return config.value("IOC_WALL_OVERDUE_DAYS")


# ---------------------------------------------------------------- the data clock, today and a typical day
@dataclass(frozen=True)
class TimeWindow:
    """A half-open window [start_at, end_before) of naive local time.

    It has the `start_at`/`end_before` (and `start`/`end` dates) of `periods.Period`, so the KPI and page
    queries, which only read those, take it wherever they take a Period: "today until 14:37".
    """

    start_at: datetime
    end_before: datetime

    def __post_init__(self) -> None:
        if self.end_before < self.start_at:
            raise ValueError(f"window ends ({self.end_before}) before it starts ({self.start_at})")

    @property
    def start(self) -> date:
        return self.start_at.date()

    @property
    def end(self) -> date:
        return (self.end_before - timedelta(microseconds=1)).date() if self.end_before > self.start_at else self.start

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def data_clock(now: datetime, newest: Mapping[str, datetime | None]) -> datetime:
    """The moment the wall describes: now, or the newest record of any source when every feed stopped earlier
    (e.g. a demo database built days ago), to the minute. Freshness is always measured against the real now."""
    known = [pd.Timestamp(v).to_pydatetime() for v in newest.values() if v is not None and not pd.isna(v)]
    clock = min(now, max(known)) if known else now
    return clock.replace(second=0, microsecond=0)


def day_so_far(as_of: datetime) -> TimeWindow:
    return TimeWindow(datetime.combine(as_of.date(), datetime.min.time()), as_of)


def typical_windows(as_of: datetime, weeks: int = TYPICAL_WEEKS) -> list[TimeWindow]:
    """The same part of the day (midnight → the time of `as_of`) on each of the `weeks` previous same weekdays."""
    today = day_so_far(as_of)
    return [
        TimeWindow(today.start_at - timedelta(weeks=k), today.end_before - timedelta(weeks=k))
        for k in range(1, weeks + 1)
    ]


def last_full_hour(as_of: datetime) -> TimeWindow:
    """The last complete clock hour before `as_of` (13:00–14:00 at 14:37): "traffic now"."""
    end = as_of.replace(minute=0, second=0, microsecond=0)
    return TimeWindow(end - timedelta(hours=1), end)


def had_records(section: str, figures: Mapping[str, Any]) -> bool:
    return any((figures.get(name) or 0) > 0 for name in ACTIVITY[section])


def typical_kpis(
    days: Sequence[Mapping[str, Mapping[str, Any]]],
) -> tuple[dict[str, dict[str, float | None]], dict[str, int]]:
    """Median of each KPI over `days` (each {section: {kpi: value}}), and how many days each section counted.

    A day on which a section had no records is left out for that section; a KPI without a value on a
    day (e.g. no dossier completed, so no on-time %) is left out for that KPI.
    """
    medians: dict[str, dict[str, float | None]] = {}
    counted: dict[str, int] = {}
    for section in SECTIONS:
        usable = [day[section] for day in days if section in day and had_records(section, day[section])]
        counted[section] = len(usable)
        names = [d.name for d in definitions.KPI_DEFINITIONS if d.section == section]
        medians[section] = {}
        for name in names:
            values = [float(v) for v in (figures.get(name) for figures in usable) if v is not None and not pd.isna(v)]
            medians[section][name] = round(statistics.median(values), 2) if values else None
    return medians, counted


def as_float(value: Any) -> float | None:
    """A plain float from a driver or pandas value (Decimal, numpy, NA, NaN and None become None)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class Comparison:
    value: float | None
    typical: float | None
    change: float | None  # value − typical
    change_pct: float | None  # relative to typical, in percent
    tone: str  # "better", "worse", "same", "neutral" (a volume) or "unknown"


def compare(definition: definitions.KpiDefinition, value: Any, typical: Any) -> Comparison:
    """Today's value of a KPI against its typical-day value, and whether that is good news."""
    change = definitions.change(value, typical)
    absolute = change["absolute"]
    if absolute is None:
        tone = "unknown"
    elif definition.higher_is_better is None:
        tone = "neutral"
    elif absolute == 0:
        tone = "same"
    else:
        tone = "better" if (absolute > 0) == definition.higher_is_better else "worse"
    return Comparison(as_float(value), as_float(typical), absolute, change["relative_pct"], tone)


# ---------------------------------------------------------------- freshness of each source
@dataclass(frozen=True)
class Freshness:
    source: str
    newest: datetime | None
    minutes_late: int | None  # minutes between the newest record and now (None without records)
    live: bool  # newest record within the source's threshold ("sống")
    reachable: bool = True  # False when the wall's own fetch of this source failed or timed out


def freshness_thresholds() -> dict[str, int]:
    """Minutes after which a source counts as late: IOC_FRESHNESS_<SOURCE>_MINUTES (a bad value stops start-up,
    see config.check)."""
    return {source: config.value(f"IOC_FRESHNESS_{source.upper()}_MINUTES") for source in SOURCES}


def freshness(source: str, newest: datetime | None, now: datetime, threshold_minutes: int) -> Freshness:
    """Live when the newest record is at most `threshold_minutes` old (a record "from the future" is live)."""
    if newest is None or pd.isna(newest):
        return Freshness(source, None, None, False)
    newest = pd.Timestamp(newest).to_pydatetime()
    minutes = max(0, int((now - newest).total_seconds() // 60))
    return Freshness(source, newest, minutes, minutes <= threshold_minutes)


STALE_AFTER_CADENCES = 4  # a source more than four cadences behind is "stale", between one and four "late"


def freshness_status(item: Freshness, threshold_minutes: int) -> str:
    """ "live" within the source's cadence, "late" up to STALE_AFTER_CADENCES cadences behind, "stale" beyond,
    "none" without any record. The wall's header shows only live or not; the data-quality page shows all four."""
    if not item.reachable:
        return "stale"
    if item.minutes_late is None:
        return "none"
    if item.live:
        return "live"
    return "late" if item.minutes_late <= STALE_AFTER_CADENCES * threshold_minutes else "stale"


def all_freshness(
    newest: Mapping[str, datetime | None], now: datetime, thresholds: Mapping[str, int], *, reachable: bool = True
) -> list[Freshness]:
    """Each source's freshness; `reachable=False` when the fetch of the newest records failed or timed out: then no
    source is live, whatever the last good records said (figures that cannot be checked are not "sống")."""
    items = [freshness(source, newest.get(source), now, thresholds[source]) for source in SOURCES]
    return items if reachable else [replace(item, live=False, reachable=False) for item in items]


def lag_parts(minutes: int) -> tuple[int, str]:
    """A delay in the unit a person reads best: (35, "minutes"), (5, "hours") from 2 h, (3, "days") from 2 days."""
    if minutes < 120:
        return minutes, "minutes"
    if minutes < 48 * 60:
        return minutes // 60, "hours"
    return minutes // (24 * 60), "days"


# ---------------------------------------------------------------- alerts for the ticker
@dataclass(frozen=True)
class Alert:
    kind: str  # unreachable, stale_source, no_data, silent_sensors, overdue_feedback, anomaly_up, anomaly_down,
    # all_clear
    level: str  # critical, warning, info
    values: dict[str, Any] = field(default_factory=dict)


LEVEL_ORDER = {"critical": 0, "warning": 1, "info": 2}


def build_alerts(
    sources: Iterable[Freshness],
    silent: pd.DataFrame | None,
    sensor_total: int,
    overdue: pd.DataFrame | None,
    overdue_after_days: int,
    anomalies: pd.DataFrame | None,
    max_anomalies: int = MAX_ALERT_ANOMALIES,
) -> list[Alert]:
    """What the ticker says, most serious first; "all clear" when nothing needs attention.

    `silent`: rows of traffic_queries.silent_sensors (name); `overdue`: agency, reports (most first);
    `anomalies`: rows of forecast_queries.recent_anomalies (area_name, category, ds, actual, expected, size).
    """
    alerts: list[Alert] = []
    sources = list(sources)
    if any(not item.reachable for item in sources):  # one line says it; "no data" per source would be untrue
        alerts.append(Alert("unreachable", "critical", {}))
        sources = []
    for item in sources:
        if item.newest is None:
            alerts.append(Alert("no_data", "critical", {"source": item.source}))
        elif not item.live:
            amount, unit = lag_parts(item.minutes_late or 0)
            alerts.append(
                Alert(
                    "stale_source",
                    "critical",
                    {"source": item.source, "amount": amount, "unit": unit, "newest": item.newest},
                )
            )
    if silent is not None and not silent.empty:
        names = [str(n) for n in silent["name"].head(3)]
        alerts.append(
            Alert(
                "silent_sensors",
                "warning",
                {"count": len(silent), "total": sensor_total, "names": names, "more": max(0, len(silent) - len(names))},
            )
        )
    if overdue is not None and not overdue.empty:
        count = int(overdue["reports"].sum())
        if count:
            top = [(str(a), int(n)) for a, n in zip(overdue["agency"].head(3), overdue["reports"].head(3), strict=True)]
            alerts.append(
                Alert("overdue_feedback", "warning", {"count": count, "days": overdue_after_days, "agencies": top})
            )
    if anomalies is not None and not anomalies.empty:
        for row in anomalies.head(max_anomalies).to_dict("records"):
            kind = "anomaly_up" if float(row["size"]) > 0 else "anomaly_down"
            alerts.append(
                Alert(
                    kind,
                    "info",
                    {
                        "area": row.get("area_name") or row.get("area_code") or "",
                        "category": row.get("category"),
                        "day": pd.Timestamp(row["ds"]).date(),
                        "actual": float(row["actual"]),
                        "expected": float(row["expected"]),
                    },
                )
            )
    alerts.sort(key=lambda alert: LEVEL_ORDER[alert.level])
    return alerts or [Alert("all_clear", "info")]


# ---------------------------------------------------------------- the ticker from the worker's alerts table
ALERTS_CURRENT_MINUTES = 20  # the alerts job runs every 5 minutes: older than this, the worker is not keeping up
CASE_RULES = {"feedback_overdue": "warning", "dossier_overdue": "warning", "feedback_due_soon": "info"}


def alerts_current(last_run: datetime | None, now: datetime) -> bool:
    """Whether the alerts table is kept current: the alerts job finished a run in the last ALERTS_CURRENT_MINUTES."""
    return last_run is not None and now - last_run <= timedelta(minutes=ALERTS_CURRENT_MINUTES)


def _params(value: Any) -> dict[str, Any]:
    try:
        loaded = json.loads(value) if isinstance(value, str) else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _top_agencies(counts: pd.DataFrame, rule: str, top: int = 3) -> list[tuple[str, int]]:
    rows = counts[counts["rule"] == rule].copy()
    rows["agency"] = rows["agency"].fillna("–")
    rows = rows.sort_values(["alerts", "agency"], ascending=[False, True]).head(top)
    return [(str(a), int(n)) for a, n in zip(rows["agency"], rows["alerts"], strict=True)]


def alerts_from_table(
    table: Mapping[str, Any], sensor_total: int, reachable: bool = True, max_anomalies: int = MAX_ALERT_ANOMALIES
) -> list[Alert]:
    """What the ticker says from the open alerts the worker keeps (`alert_queries.open_alert_rows`): one line per
    late source and failing job, one summary line per case rule (count, how many escalated to the leaders, the
    agencies with most), one for the silent sensors, and the largest ward anomalies; "all clear" when none is open.
    `reachable` False (the data database does not answer the wall) adds the line that says so first."""
    counts: pd.DataFrame = table["counts"]
    rows: Mapping[str, pd.DataFrame] = table["rows"]
    alerts: list[Alert] = [] if reachable else [Alert("unreachable", "critical", {})]
    for row in rows.get("source_late", pd.DataFrame()).to_dict("records"):
        params = _params(row["params"])
        if params.get("newest"):
            amount, unit = lag_parts(int(params.get("minutes_late") or 0))
            newest = datetime.fromisoformat(params["newest"])
            alerts.append(
                Alert(
                    "stale_source",
                    "critical",
                    {"source": params["source"], "amount": amount, "unit": unit, "newest": newest},
                )
            )
        else:
            alerts.append(Alert("no_data", "critical", {"source": params.get("source", row["subject"])}))
    for row in rows.get("job_failing", pd.DataFrame()).to_dict("records"):
        params = _params(row["params"])
        alerts.append(Alert("job_failing", "critical", {"job": row["subject"], "failures": params.get("failures", 0)}))
    for rule, level in CASE_RULES.items():
        of_rule = counts[counts["rule"] == rule]
        count = int(of_rule["alerts"].sum())
        if count:
            escalated = int(of_rule["escalated"].sum())
            values = {"count": count, "escalated": escalated, "agencies": _top_agencies(counts, rule)}
            alerts.append(Alert(rule, "critical" if escalated else level, values))
    silent = rows.get("sensor_silent")
    if silent is not None and not silent.empty:
        total_silent = int(counts.loc[counts["rule"] == "sensor_silent", "alerts"].sum())
        names = [str(_params(p).get("name") or s) for p, s in zip(silent["params"], silent["subject"], strict=True)]
        names = names[:3]
        values = {"count": total_silent, "total": sensor_total, "names": names, "more": total_silent - len(names)}
        alerts.append(Alert("silent_sensors", "warning", values))
    anomalies = [_params(p) for p in rows.get("anomaly", pd.DataFrame({"params": []}))["params"]]
    anomalies.sort(key=lambda p: -abs(float(p.get("size") or 0)))
    for params in anomalies[:max_anomalies]:
        kind = "anomaly_up" if float(params.get("size") or 0) > 0 else "anomaly_down"
        values = {
            "area": params.get("area") or "",
            "category": params.get("category"),
            "day": date.fromisoformat(params["day"]),
            "actual": float(params.get("actual") or 0),
            "expected": float(params.get("expected") or 0),
        }
        alerts.append(Alert(kind, "info", values))
    alerts.sort(key=lambda alert: LEVEL_ORDER[alert.level])
    return alerts or [Alert("all_clear", "info")]


def without_worker(alerts: list[Alert], last_run: datetime | None) -> list[Alert]:
    """The alerts the wall computed itself, with a last line saying the worker's alerts are not current."""
    note = Alert("alerts_offline", "info", {"since": last_run}) if last_run else Alert("alerts_never", "info")
    return [alert for alert in alerts if alert.kind != "all_clear"] + [note]


# ---------------------------------------------------------------- last good figures while the database is away
@dataclass(frozen=True)
class Loaded:
    value: Any  # the figures (the last good ones when `fresh` is False; None if never loaded)
    loaded_at: datetime | None
    fresh: bool


class LastGood:
    """Keeps each panel's last good figures in `store` (Streamlit's session state, or a dict in tests).

    `load` runs a loader; when it raises one of `errors` (the database went away), the previous figures are
    returned and the time of the first failure is remembered until a load succeeds again.
    """

    OUTAGE_KEY = "wall_outage_since"

    def __init__(self, store: MutableMapping[str, Any], errors: tuple[type[BaseException], ...]) -> None:
        self.store = store
        self.errors = errors

    def load(self, key: str, loader: Callable[[], Any], now: datetime, *, tracks_outage: bool = True) -> Loaded:
        """`tracks_outage=False` for loaders that may be answered from a cache (`cache.query` with a TTL): their
        success says nothing about the database, so it must not end an outage (their failure still starts one).
        A loader that tracks the outage must reach the database each time (the wall reads its data clock with
        `cache.query(..., ttl=0)` first)."""
        try:
            value = loader()
        except self.errors:
            self.store.setdefault(self.OUTAGE_KEY, now)
            previous = self.store.get(f"wall_last_{key}")
            return Loaded(previous[1], previous[0], False) if previous else Loaded(None, None, False)
        if tracks_outage:
            self.store.pop(self.OUTAGE_KEY, None)
        self.store[f"wall_last_{key}"] = (now, value)
        return Loaded(value, now, True)

    @property
    def outage_since(self) -> datetime | None:
        return self.store.get(self.OUTAGE_KEY)
