"""Everything a weekly briefing says, as plain data: `build_briefing(engine, week, area, lang, now)`.

Every figure comes from `dashboard.metrics` and the query modules of `dashboard.db` (the same calls
as the pages and `python -m dashboard kpi`); this module only chooses, orders and writes them down.
The PDF (render.py) and the page (pages/briefing.py) both show a `Briefing`, so they cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.briefing import directives, league, text
from dashboard.briefing.tables import Table
from dashboard.briefing.tables import table as _table
from dashboard.briefing.weeks import BriefingInputError, as_week, week_code
from dashboard.db import (
    briefing_queries,
    dossier_queries,
    feedback_queries,
    forecast_queries,
    queries,
    traffic_queries,
)
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import (
    CATALOGUE,
    format_date,
    format_datetime,
    format_number,
    format_signed,
    t,
)
from dashboard.i18n.scope_words import scope_words
from dashboard.metrics import kpis
from dashboard.periods import Period, local_now

FACT_TABLES = ("feedback", "dossiers", "traffic_observations")
TOP_WARDS = 10
TOP_AGENCIES = 10
TOP_ROWS = 10
HISTORY_DAYS = 28
FORECAST_METRICS = ("feedback", "dossiers", "traffic")


@dataclass
class Briefing:
    lang: str
    week: Period
    week_code: str
    city: str
    area_code: str | None
    scope: str  # "Toàn thành phố" or the ward's name
    generated_at: datetime
    is_demo: bool
    dataset: dict[str, str]
    freshness: list[tuple[str, str]]  # (source, "cập nhật đến 19:09 23/11/2026")
    partial: list[str]  # why the week's data is incomplete (empty when complete)
    current: dict  # compute_kpis of the week: the structure `kpi --json` prints
    previous: dict  # compute_kpis of the week before
    lines: list[text.KpiLine]
    headlines: list[text.KpiLine]
    areas: pd.DataFrame  # code, name, geometry_geojson (for the map)
    ward_on_time: pd.Series  # resolved_on_time_pct by area code
    categories: pd.DataFrame  # category, label, received, previous_received
    tables: dict[str, Table] = field(default_factory=dict)
    hot_spots: pd.DataFrame = field(default_factory=pd.DataFrame)  # label, congestion_index_peak (top first)
    forecast_history: pd.DataFrame = field(default_factory=pd.DataFrame)  # ds, y
    forecast_next: pd.DataFrame = field(default_factory=pd.DataFrame)  # ds, yhat, yhat_lower, yhat_upper
    events: pd.DataFrame = field(default_factory=pd.DataFrame)  # events marked on the trend chart (briefing.directives)
    notes: dict[str, str] = field(default_factory=dict)
    access: Scope = WHOLE_CITY  # the cases the reader may see (issue 19): every case figure is counted within it

    @property
    def next_week(self) -> Period:
        return Period(self.week.start + timedelta(days=7), self.week.end + timedelta(days=7))

    @property
    def week_title(self) -> str:
        year, number, _ = self.week.start.isocalendar()
        return t("briefing.week_label", self.lang, week=number, year=year)

    @property
    def week_range(self) -> str:
        return t("briefing.week_range", self.lang, start=format_date(self.week.start), end=format_date(self.week.end))


# ---------------------------------------------------------------- checks
def _coverage(engine: Engine) -> dict[str, tuple[datetime | None, datetime | None]]:
    frame = queries.table_coverage(engine).set_index("table")
    result = {}
    for table in FACT_TABLES:
        first, last = frame.at[table, "first_at"], frame.at[table, "last_at"]
        result[table] = (
            None if pd.isna(first) else pd.Timestamp(first).to_pydatetime(),
            None if pd.isna(last) else pd.Timestamp(last).to_pydatetime(),
        )
    return result


def _check_has_data(week: Period, coverage: dict) -> None:
    spans = [(first, last) for first, last in coverage.values() if first is not None]
    if not spans:
        raise BriefingInputError(
            "the database holds no feedback, dossiers or traffic data yet; load data or run `python -m dashboard demo`"
        )
    if not any(first < week.end_before and last >= week.start_at for first, last in spans):
        first = min(s[0] for s in spans).date()
        last = max(s[1] for s in spans).date()
        raise BriefingInputError(
            f"no data in {week_code(week)} ({week.start}…{week.end}); the database holds data from {first} to {last}"
        )


def _area(engine: Engine, area: str | None) -> tuple[str | None, str | None]:
    if not area:
        return None, None
    frame = queries.area_list(engine)
    names = dict(zip(frame["code"].astype(str), frame["name"], strict=True))
    if area not in names:
        raise BriefingInputError(
            f"unknown area code {area!r}; the areas table holds {len(names)} codes such as "
            f"{', '.join(sorted(names)[:3])} (`python -m dashboard info` names the database)"
        )
    return area, names[area]


def _partial(week: Period, coverage: dict, now: datetime, lang: str) -> list[str]:
    reasons = []
    if now < week.end_before:
        reasons.append(t("briefing.partial.unfinished", lang, time=format_datetime(min(now, week.end_before))))
    for table, (first, last) in coverage.items():
        if first is None:
            continue
        source = t(f"briefing.source.{table}", lang)
        if first > week.start_at:
            reasons.append(t("briefing.partial.starts", lang, source=source, time=format_datetime(first)))
        if now >= week.end_before and last.date() < week.end:  # a finished week without rows on its last day
            reasons.append(t("briefing.partial.ends", lang, source=source, time=format_datetime(last)))
    return reasons


def _freshness(coverage: dict, lang: str) -> list[tuple[str, str]]:
    rows = []
    for table, (_first, last) in coverage.items():
        words = (
            t("briefing.freshness_row", lang, time=format_datetime(last))
            if last
            else t("briefing.freshness_none", lang)
        )
        rows.append((t(f"briefing.source.{table}", lang), words))
    return rows


# ---------------------------------------------------------------- sections
def _label(prefix: str, code, lang: str) -> str:
    """The catalogue label of a code (category, sector), or the code itself when the catalogue has none."""
    key = f"{prefix}.{code}"
    return CATALOGUE[lang][key] if key in CATALOGUE[lang] else str(code)


def _num(value, lang: str, decimals: int = 0) -> str:
    return format_number(None if value is None or pd.isna(value) else value, lang, decimals)


def _pct(value, lang: str) -> str:
    text_value = _num(value, lang, 1)
    return text_value if text_value == "–" else f"{text_value}{text.NBSP}%"


def _feedback_sections(engine: Engine, briefing: Briefing, query_filter: QueryFilter) -> None:
    lang = briefing.lang
    week_volume = feedback_queries.volume(engine, query_filter, "week").groupby("category")["received"].sum()
    before = query_filter.with_period(briefing.week.previous())
    previous_volume = feedback_queries.volume(engine, before, "week").groupby("category")["received"].sum()
    resolution = kpis.feedback_rates(feedback_queries.resolution_by_category(engine, query_filter)).set_index(
        "category"
    )
    categories = sorted(
        set(week_volume.index) | set(previous_volume.index) | set(resolution.index),
        key=lambda c: (-int(week_volume.get(c, 0)), c),
    )
    briefing.categories = pd.DataFrame(
        {
            "category": categories,
            "label": [_label("category", c, lang) for c in categories],
            "received": [int(week_volume.get(c, 0)) for c in categories],
            "previous_received": [int(previous_volume.get(c, 0)) for c in categories],
        }
    )
    rows = []
    for category, label in zip(briefing.categories["category"], briefing.categories["label"], strict=True):
        res = resolution.loc[category] if category in resolution.index else None
        rows.append(
            [
                label,
                _num(week_volume.get(category, 0), lang),
                _num(res["resolved"] if res is not None else 0, lang),
                _pct(res["resolved_on_time_pct"] if res is not None else None, lang),
                _num(res["median_resolution_hours"] if res is not None else None, lang, 1),
            ]
        )
    briefing.tables["categories"] = _table(
        [
            (t("briefing.column.category", lang), False),
            (t("briefing.column.received", lang), True),
            (t("briefing.column.resolved", lang), True),
            (t("briefing.column.on_time", lang), True),
            (t("briefing.column.median_hours", lang), True),
        ],
        rows,
    )

    agencies = kpis.feedback_rates(feedback_queries.by_agency(engine, query_filter))
    agencies = agencies[agencies["resolved"] > 0].nlargest(TOP_AGENCIES, ["resolved"])
    agencies = agencies.sort_values(["resolved_on_time_pct", "agency"], na_position="last")
    briefing.notes["agencies"] = t(
        "briefing.agencies.note",
        lang,
        count=len(agencies),
        target=_num(kpis.KPI_BY_KEY["feedback.resolved_on_time_pct"].target, lang),
    )
    briefing.tables["agencies"] = _table(
        [
            (t("briefing.column.agency", lang), False),
            (t("briefing.column.resolved", lang), True),
            (t("briefing.column.on_time", lang), True),
            (t("briefing.column.reopened", lang), True),
            (t("briefing.column.received", lang), True),
            (t("briefing.column.open_backlog", lang), True),
        ],
        [
            [
                str(r.agency),
                _num(r.resolved, lang),
                _pct(r.resolved_on_time_pct, lang),
                _pct(r.reopened_pct, lang),
                _num(r.received, lang),
                _num(r.open_backlog, lang),
            ]
            for r in agencies.itertuples()
        ],
    )


def _ward_sections(engine: Engine, briefing: Briefing) -> None:
    """The ward map and the ten wards with most reports per 10,000 residents (always city-wide, for context)."""
    lang = briefing.lang
    area_kpis = kpis.compute_area_kpis(engine, briefing.week, sections=("feedback",), scope=briefing.access)
    briefing.areas = queries.area_list(engine, with_geometry=True)[["code", "name", "geometry_geojson"]]
    briefing.ward_on_time = area_kpis.set_index("code")["feedback.resolved_on_time_pct"]
    top = area_kpis.dropna(subset=["feedback.received_per_10k"])
    top = top.sort_values(["feedback.received_per_10k", "name"], ascending=[False, True]).head(TOP_WARDS)
    briefing.tables["wards"] = _table(
        [
            (t("briefing.column.rank", lang), True),
            (t("briefing.column.area", lang), False),
            (t("briefing.column.received", lang), True),
            (t("briefing.column.per_10k", lang), True),
            (t("briefing.column.on_time", lang), True),
        ],
        [
            [
                str(rank),
                str(r["name"]),
                _num(r["feedback.received"], lang),
                _num(r["feedback.received_per_10k"], lang, 1),
                _pct(r["feedback.resolved_on_time_pct"], lang),
            ]
            for rank, (_, r) in enumerate(top.iterrows(), start=1)
        ],
    )


def _dossier_sections(engine: Engine, briefing: Briefing, query_filter: QueryFilter) -> None:
    lang = briefing.lang
    sectors = dossier_queries.sector_stats(engine, query_filter)
    briefing.tables["sectors"] = _table(
        [
            (t("briefing.column.sector", lang), False),
            (t("briefing.column.received", lang), True),
            (t("briefing.column.completed", lang), True),
            (t("briefing.column.on_time", lang), True),
            (t("briefing.column.late", lang), True),
        ],
        [
            [
                _label("sector", r.sector, lang),
                _num(r.received, lang),
                _num(r.completed, lang),
                _pct(r.on_time_pct, lang),
                _num(r.late, lang),
            ]
            for r in sectors.itertuples()
        ],
    )
    agencies = dossier_queries.agency_ranking(engine, query_filter).dropna(subset=["on_time_pct"]).head(TOP_ROWS)
    briefing.tables["dossier_agencies"] = _table(
        [
            (t("briefing.column.agency", lang), False),
            (t("briefing.column.completed", lang), True),
            (t("briefing.column.on_time", lang), True),
            (t("briefing.column.late", lang), True),
        ],
        [
            [str(r.agency), _num(r.completed, lang), _pct(r.on_time_pct, lang), _num(r.late, lang)]
            for r in agencies.itertuples()
        ],
    )
    late = dossier_queries.top_procedures(
        dossier_queries.procedure_stats(engine, query_filter), by="late", top=TOP_ROWS
    )
    briefing.tables["late_procedures"] = _table(
        [
            (t("briefing.column.procedure", lang), False),
            (t("briefing.column.completed", lang), True),
            (t("briefing.column.late", lang), True),
            (t("briefing.column.on_time", lang), True),
        ],
        [
            [
                f"{r.procedure_name} ({r.procedure_code})",
                _num(r.completed, lang),
                _num(r.late, lang),
                _pct(r.on_time_pct, lang),
            ]
            for r in late.itertuples()
        ],
    )


def _traffic_sections(engine: Engine, briefing: Briefing, query_filter: QueryFilter) -> None:
    lang = briefing.lang
    ranking = traffic_queries.congestion_ranking(engine, query_filter, "sensor")
    ranking = ranking.dropna(subset=["congestion_index_peak"])
    ranking = ranking.sort_values(["congestion_index_peak", "key"], ascending=[False, True]).head(TOP_ROWS)
    briefing.notes["hot_spots"] = t(
        "briefing.hotspots.note", lang, target=_num(kpis.KPI_BY_KEY["traffic.congestion_index_peak"].target, lang)
    )
    briefing.hot_spots = pd.DataFrame(
        {
            "label": [str(n) for n in ranking["name"]],
            "congestion_index_peak": ranking["congestion_index_peak"].astype(float).to_numpy(),
        }
    )
    briefing.tables["hot_spots"] = _table(
        [
            (t("briefing.column.sensor", lang), False),
            (t("briefing.column.road", lang), False),
            (t("briefing.column.peak_index", lang), True),
            (t("briefing.column.peak_hour", lang), True),
            (t("briefing.column.mean_index", lang), True),
            (t("briefing.column.vehicles", lang), True),
        ],
        [
            [
                str(r.name),
                str(r.road),
                _num(r.congestion_index_peak, lang, 1),
                format_datetime(pd.Timestamp(r.peak_hour).to_pydatetime()) if not pd.isna(r.peak_hour) else "–",
                _num(r.congestion_index_mean, lang, 1),
                _num(r.vehicles, lang),
            ]
            for r in ranking.itertuples()
        ],
    )


def _outlook_sections(engine: Engine, briefing: Briefing) -> None:
    """Anomalies of the week and next week's forecast from the stored forecast runs (the forecast tables)."""
    lang = briefing.lang
    runs = forecast_queries.current_runs(engine)
    if runs.empty:
        briefing.notes["outlook"] = t("briefing.forecast.missing", lang)
        return
    runs = runs.set_index("metric")
    if "feedback" in runs.index:
        found = briefing_queries.anomalies_between(engine, briefing.week.start, briefing.week.end, briefing.area_code)
        if found.empty:
            briefing.notes["anomalies"] = _no_anomaly_note(
                engine,
                briefing,
                runs.at["feedback", "run_id"],
                pd.Timestamp(runs.at["feedback", "created_at"]).to_pydatetime(),
            )
        briefing.tables["anomalies"] = _table(
            [
                (t("briefing.column.day", lang), False),
                (t("briefing.column.area", lang), False),
                (t("briefing.column.category", lang), False),
                (t("briefing.column.actual", lang), True),
                (t("briefing.column.expected", lang), True),
                (t("briefing.column.size", lang), True),
            ],
            [
                [
                    format_date(pd.Timestamp(r.ds).date()),
                    str(r.area_name or r.area_code),
                    _label("category", r.category, lang),
                    _num(r.actual, lang),
                    _num(r.expected, lang, 1),
                    format_signed(r.size, lang, 1),
                ]
                for r in found.itertuples()
            ],
        )
    next_week = briefing.next_week
    rows = []
    metrics = FORECAST_METRICS if briefing.area_code is None else ("feedback",)
    actual = {
        "feedback": briefing.current["feedback"]["received"],
        "dossiers": briefing.current["dossiers"]["received"],
        "traffic": briefing.current["traffic"]["vehicles"],
    }
    for metric in metrics:
        if metric not in runs.index:
            continue
        series = (
            forecast_queries.series_id(metric, "city")
            if briefing.area_code is None
            else forecast_queries.series_id(metric, "area", briefing.area_code)
        )
        daily = forecast_queries.series_forecast(engine, runs.at[metric, "run_id"], series)
        daily["ds"] = pd.to_datetime(daily["ds"])
        week_rows = daily[(daily["ds"] >= pd.Timestamp(next_week.start)) & (daily["ds"] <= pd.Timestamp(next_week.end))]
        if week_rows.empty:
            continue
        if metric == "feedback":
            briefing.forecast_next = week_rows[["ds", "yhat", "yhat_lower", "yhat_upper"]].reset_index(drop=True)
        rows.append(
            [
                t(f"briefing.forecast.metric.{metric}", lang),
                _num(actual[metric], lang),
                _num(week_rows["yhat"].sum(), lang),
                f"{_num(week_rows['yhat_lower'].sum(), lang)} – {_num(week_rows['yhat_upper'].sum(), lang)}",
                str(len(week_rows)),
            ]
        )
    if not rows:
        created = pd.Timestamp(runs["created_at"].max()).to_pydatetime()
        briefing.notes["forecast"] = t("briefing.forecast.none_for_week", lang, time=format_datetime(created))
    briefing.tables["forecast"] = _table(
        [
            (t("briefing.forecast.metric", lang), False),
            (t("briefing.forecast.this_week", lang), True),
            (t("briefing.forecast.next_week", lang), True),
            (t("briefing.forecast.range", lang), True),
            (t("briefing.forecast.days", lang), True),
        ],
        rows,
    )
    if not briefing.forecast_next.empty:
        series = (
            forecast_queries.series_id("feedback", "city")
            if briefing.area_code is None
            else forecast_queries.series_id("feedback", "area", briefing.area_code)
        )
        history = forecast_queries.series_actuals(
            engine, series, briefing.week.end - timedelta(days=HISTORY_DAYS - 1), briefing.week.end
        )
        history["ds"] = pd.to_datetime(history["ds"])
        briefing.forecast_history = history


def _no_anomaly_note(engine: Engine, briefing: Briefing, run_id: str, created_at: datetime) -> str:
    """Why the week lists no anomaly: none found, or the run did not scan that week (it scans its last
    `models.anomalies.WINDOW_DAYS` days of data, which end the day before its first forecast day)."""
    from models.anomalies import WINDOW_DAYS

    first_forecast = forecast_queries.first_forecast_day(engine, run_id)
    if first_forecast is not None:
        scan_end = first_forecast - timedelta(days=1)
        scan_start = scan_end - timedelta(days=WINDOW_DAYS - 1)
        if briefing.week.end < scan_start or briefing.week.start > scan_end:
            return t(
                "briefing.anomalies.outside",
                briefing.lang,
                time=format_datetime(created_at),
                start=format_date(scan_start),
                end=format_date(scan_end),
            )
    return t("briefing.anomalies.none", briefing.lang, time=format_datetime(created_at))


def _appendix(engine: Engine, briefing: Briefing, coverage: dict) -> None:
    lang = briefing.lang
    briefing.tables["definitions"] = _table(
        [
            (t("briefing.table.kpi", lang), False),
            (t("briefing.column.key", lang), False),
            (t("briefing.column.definition", lang), False),
        ],
        [[t(f"kpi.{d.key}", lang), d.key, text.help_text(d, lang)] for d in kpis.KPI_DEFINITIONS],
    )
    systems = briefing_queries.source_systems(engine)
    systems["traffic_observations"] = [t("briefing.sensors", lang, count=forecast_queries.sensor_count(engine))]
    counts = queries.table_coverage(engine).set_index("table")["rows"]
    rows = []
    for table, (first, last) in coverage.items():
        rows.append(
            [
                t(f"briefing.source.{table}", lang),
                ", ".join(systems.get(table, [])),
                _num(counts.get(table, 0), lang),
                format_datetime(first),
                format_datetime(last),
            ]
        )
    briefing.tables["sources"] = _table(
        [
            (t("briefing.column.source", lang), False),
            (t("briefing.column.systems", lang), False),
            (t("briefing.column.rows", lang), True),
            (t("briefing.column.first", lang), True),
            (t("briefing.column.last", lang), True),
        ],
        rows,
    )


# ---------------------------------------------------------------- the briefing
def check_request(
    engine: Engine, week: str | Period, area: str | None, lang: str
) -> tuple[Period, str | None, str | None, dict]:
    """(week, area code, area name, coverage) after checking the request; BriefingInputError when it cannot be met.

    Cheap (two small queries), so callers can refuse bad input before starting anything slow.
    """
    if lang not in ("vi", "en"):
        raise BriefingInputError(f"unknown language {lang!r}; expected vi or en")
    period = as_week(week)
    area_code, area_name = _area(engine, area)
    coverage = _coverage(engine)
    _check_has_data(period, coverage)
    return period, area_code, area_name, coverage


def scope_text(engine: Engine, scope: Scope, lang: str, viewer: str = "") -> str:
    """The cover's words for a restricted scope: "Đơn vị: A, B; Phường/xã: X (viewer)"."""
    names = dict(zip(*[queries.area_list(engine)[c].astype(str) for c in ("code", "name")], strict=True))
    words = scope_words(scope, lang, names)
    return t("briefing.scope.of_user", lang, scope=words, user=viewer) if viewer else words


def build_briefing(
    engine: Engine,
    week: str | Period,
    area: str | None = None,
    lang: str = "vi",
    now: datetime | None = None,
    *,
    scope: Scope = WHOLE_CITY,
    viewer: str = "",
) -> Briefing:
    """Every figure, table and sentence of one week's briefing (for the whole city or one ward/commune), counting
    only the cases `scope` allows; a restricted scope is named on the cover (with `viewer`, the user's name).

    Raises BriefingInputError for a malformed week, an unknown area or a week without any data.
    """
    period, area_code, area_name, coverage = check_request(engine, week, area, lang)
    now = (now or local_now()).replace(second=0, microsecond=0)
    areas = [area_code] if area_code else None
    current = kpis.compute_kpis(engine, period, areas, scope=scope)
    previous = kpis.compute_kpis(engine, period.previous(), areas, scope=scope)
    lines = text.kpi_lines(current, previous, lang)
    by_key = {line.key: line for line in lines}
    dataset = queries.dataset_info(engine)
    notes = {"conventions": t("briefing.appendix.conventions", lang, timezone=config.timezone())}
    briefing = Briefing(
        lang=lang,
        week=period,
        week_code=week_code(period),
        city=t("app.city", lang),
        area_code=area_code,
        scope=area_name or t("briefing.scope_city", lang),
        access=scope,
        generated_at=now,
        is_demo=dataset.get("kind") == "demo",
        dataset=dataset,
        freshness=_freshness(coverage, lang),
        partial=_partial(period, coverage, now, lang),
        current=current,
        previous=previous,
        lines=lines,
        headlines=[by_key[k] for k in text.HEADLINE_KEYS],
        areas=pd.DataFrame(),
        ward_on_time=pd.Series(dtype=float),
        categories=pd.DataFrame(),
        notes=notes,
    )
    briefing.tables["kpis"] = _table(
        [
            (t("briefing.table.kpi", lang), False),
            (t("briefing.table.this_week", lang), True),
            (t("briefing.table.previous_week", lang), True),
            (t("briefing.table.change", lang), True),
            (t("briefing.table.target", lang), True),
            (t("briefing.table.status", lang), False),
        ],
        [
            [line.label, line.value_text, line.previous_text, line.change_text, line.target_text, line.status_text]
            for line in lines
        ],
    )
    statuses = [line.status for line in lines if line.status]
    briefing.notes["scorecard"] = t(
        "briefing.cover.scorecard",
        lang,
        total=len(statuses),
        on=statuses.count("on_target"),
        near=statuses.count("near_target"),
        off=statuses.count("off_target"),
    )
    if scope.restricted:
        briefing.scope = (f"{area_name} — " if area_name else "") + scope_text(engine, scope, lang, viewer)
    query_filter = QueryFilter.build(period, areas or (), scope=scope)
    _feedback_sections(engine, briefing, query_filter)
    _ward_sections(engine, briefing)
    _dossier_sections(engine, briefing, query_filter)
    _traffic_sections(engine, briefing, query_filter)
    _outlook_sections(engine, briefing)
    league.league_sections(engine, briefing)
    directives.directive_sections(engine, briefing)
    briefing.events = directives.chart_events(engine, briefing)
    _appendix(engine, briefing, coverage)
    return briefing


def weeks_with_data(engine: Engine, today: date, limit: int = 104) -> list[str]:
    """ISO week codes from the newest week with data back to the oldest (at most `limit`), newest first."""
    spans = [(first, last) for first, last in _coverage(engine).values() if first is not None]
    if not spans:
        return []
    first = min(s[0] for s in spans).date()
    last = min(max(s[1] for s in spans).date(), today)
    monday = last - timedelta(days=last.weekday())
    codes = []
    while monday + timedelta(days=6) >= first and len(codes) < limit:
        year, number, _ = monday.isocalendar()
        codes.append(f"{year}-W{number:02d}")
        monday -= timedelta(days=7)
    return codes
