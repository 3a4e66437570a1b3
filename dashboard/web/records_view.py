"""The records behind a KPI tile, in a dialog: numerator or denominator, most urgent first, paged on the server,
with a CSV of every record (through `dashboard.exports`).

A tile's "Hồ sơ" button sets the session's chosen metric (mirrored in the URL as `metric=` by
`url_state.sync_url`, so a copied link opens the same dialog); closing the dialog clears it. The rows and their count
come from `dashboard.db.records_queries`, which derives them from the same declarations as the KPI, so the count in the
dialog is the tile's numerator (or denominator) exactly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.access.pii import PII_COLUMNS
from dashboard.db import queries
from dashboard.db import records_queries as rq
from dashboard.i18n import VI, format_date, format_number, t
from dashboard.metrics import definitions
from dashboard.periods import Period, parse_date
from dashboard.safe_text import markdown_text
from dashboard.web import audit, cache, url_state
from dashboard.web.directives import case_popover
from dashboard.web.url_state import RECORDS_METRIC_KEY, Filters

PART_KEY = "records_part"
PAGE_KEY = "records_page"
NARROW_KEY = url_state.RECORDS_NARROW_KEY  # a click: {"dims": {name: [values]}, "days": (first, last)}
LINK_READ_KEY = "_records_link_read"
EXPORT_LIMIT = 200_000  # most records in one CSV download (the count above says how many there are)
CODED = {  # section → column → catalogue prefix of its codes
    "feedback": {"category": "category.", "channel": "feedback_channel.", "status": "status."},
    "dossiers": {"sector": "sector.", "channel": "channel.", "status": "records.dossier_status."},
    "traffic": {},
}
SHOWN = {  # the columns the dialog shows, in order (the CSV has every column of records_queries)
    "feedback": [
        "source_id",
        "received_at",
        "category",
        "area_name",
        "agency",
        "status",
        "due_at",
        "resolved_at",
        "late_hours",
        "satisfaction",
        "reopened",
        "channel",
        "source_category",  # the source's own words for the category (issue 17)
        "duplicate_of",  # "Có thể trùng với": the likely original's source_id (issue 18)
        *PII_COLUMNS,  # masked unless IOC_PII_ROLES lets the user see them; shown only when the data has them
    ],
    "dossiers": [
        "source_id",
        "procedure_name",
        "sector",
        "area_name",
        "agency",
        "status",
        "received_at",
        "due_at",
        "completed_at",
        "late_days",
        "channel",
        *PII_COLUMNS,
    ],
    "traffic": [
        "sensor_name",
        "road",
        "area_name",
        "observed_at",
        "vehicle_count",
        "mean_speed_kmh",
        "free_flow_speed_kmh",
        "travel_time_ratio",
    ],
}
ROUNDED = {"late_hours": 1, "late_days": 1, "mean_speed_kmh": 1, "travel_time_ratio": 2}


def choose(metric: str, narrow: Mapping | None = None) -> None:
    """Open the records of `metric` on the next run (a callback), narrowed to a click's units and days."""
    st.session_state[RECORDS_METRIC_KEY] = metric
    st.session_state[PART_KEY] = "numerator"
    st.session_state[PAGE_KEY] = 1
    if narrow:
        st.session_state[NARROW_KEY] = dict(narrow)
    else:
        st.session_state.pop(NARROW_KEY, None)


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


def _dismiss() -> None:
    for key in (RECORDS_METRIC_KEY, PART_KEY, PAGE_KEY, NARROW_KEY):
        st.session_state.pop(key, None)


def tile_button(language: str) -> Callable[[definitions.KpiDefinition], None]:
    """What `widgets.kpi_grid` draws under each tile: the button opening the records behind it."""

    def draw(definition: definitions.KpiDefinition) -> None:
        if rq.known(definition.key):  # every tile has its records; a new one without them gets no dead button
            button(definition.key, language)

    return draw


def button(metric: str, language: str) -> None:
    """The "Hồ sơ" button opening the records of `metric` (under a tile)."""
    st.button(
        t("records.open", language),
        key=f"records_open_{metric}",
        icon=":material/list_alt:",
        type="tertiary",
        on_click=choose,
        args=(metric,),
        help=t("records.open_help", language),
    )


def narrowed(filters: Filters, narrow: Mapping | None) -> Filters:
    """The page's filters narrowed to a click (never widened): a dimension the page filters keeps only the clicked
    values it already holds (none of them: the click is ignored for it), one it does not filter takes the clicked
    values; the days are cut to the page's period (outside it: ignored)."""
    if not narrow:
        return filters
    areas, dimensions, period = filters.areas, dict(filters.dimensions), filters.period
    for name, values in (narrow.get("dims") or {}).items():
        given = areas if name == "area" else dimensions.get(name, ())
        kept = tuple(v for v in values if not given or v in given)
        if not kept:
            continue
        if name == "area":
            areas = kept
        else:
            dimensions[name] = kept
    days = narrow.get("days")
    if days:
        first, last = max(days[0], period.start), min(days[1], period.end)
        if first <= last:
            period = Period(first, last)
    return dataclasses.replace(filters, areas=areas, dimensions=dimensions, period=period)


def linked_narrowing(params: Mapping[str, str], metric: str) -> tuple[dict | None, list[tuple[str, str]]]:
    """A link's `metric_<name>=` and `metric_days=` (url_state.narrowing_params) as a narrowing of `metric`'s records,
    and the (parameter, value) pairs that cannot narrow them (a name the records have no column for, a bad date)."""
    allowed = {"area", *rq.fact_dimensions(metric)}
    narrow: dict = {}
    problems: list[tuple[str, str]] = []
    for param, value in params.items():
        if not param.startswith(url_state.NARROW_PREFIX):
            continue
        name = param[len(url_state.NARROW_PREFIX) :]
        if name == "days":
            try:
                first, _, last = value.partition("..")
                days = (parse_date(first), parse_date(last or first))
            except ValueError:
                problems.append((param, value))
                continue
            narrow["days"] = (min(days), max(days))
        elif name in allowed:
            values = url_state.split_values(value)
            if values:
                narrow.setdefault("dims", {})[name] = values
        else:
            problems.append((param, value))
    return narrow or None, problems


def kpi_name(metric: str, language: str) -> str:
    """The tile's name of a KPI or a page tile (feedback.overdue is the feedback page's "Quá hạn chưa xử lý")."""
    key = "feedback.overdue_tile" if metric == "feedback.overdue" else f"kpi.{metric}"
    return t(key, language)


def open_chosen(filters: Filters) -> None:
    """Open the dialog of the chosen metric (a tile's button, a click on a chart, a map or a table, or `metric=` in
    the link the session opened with) with the page's `filters`, narrowed to the click."""
    if not st.session_state.get(LINK_READ_KEY):
        st.session_state[LINK_READ_KEY] = True
        linked = st.query_params.get("metric")
        if linked is not None and not rq.known(linked):
            url_state.note_link_problem("filter.problem.unknown", param="metric", values=[linked])
        elif linked is not None and RECORDS_METRIC_KEY not in st.session_state:
            narrow, problems = linked_narrowing(st.query_params.to_dict(), linked)
            for param, value in problems:
                url_state.note_link_problem("filter.problem.unknown", param=param, values=[value])
            choose(linked, narrow)
    metric = st.session_state.get(RECORDS_METRIC_KEY)
    if not rq.known(metric):
        st.session_state.pop(RECORDS_METRIC_KEY, None)
        return
    shown = narrowed(filters, st.session_state.get(NARROW_KEY))
    title = t("records.title", filters.lang, kpi=kpi_name(metric, filters.lang))
    st.dialog(title, width="large", on_dismiss=_dismiss)(_records_body)(metric, shown)


def scope_words(filters: Filters) -> str:
    """ "Toàn thành phố" / the ward's name (or "3 phường/xã"), then each page dimension's values as labels."""
    language = filters.lang
    if len(filters.areas) == 1:
        names = cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS)
        name = dict(zip(names["code"], names["name"], strict=True)).get(filters.areas[0], filters.areas[0])
        words = [markdown_text(name)]
    elif filters.areas:
        words = [t("overview.scope_areas", language, count=len(filters.areas))]
    else:
        words = [t("overview.scope_city", language)]
    for name, values in filters.dimensions.items():
        labels = [_label(name, value, language) for value in values[:3]]
        more = f" (+{len(values) - 3})" if len(values) > 3 else ""
        words.append(f"{t(f'records.column.{_COLUMN.get(name, name)}', language)}: {', '.join(labels)}{more}")
    return " · ".join(words)


_COLUMN = {"procedure": "procedure_code", "sensor": "sensor_id"}
_LABELS = {"category": "category.", "sector": "sector."}


def _label(name: str, value: str, language: str) -> str:
    prefix = _LABELS.get(name)
    if prefix is None and name == "channel":
        prefix = "feedback_channel." if "feedback_channel." + value in VI else "channel."
    if prefix is not None and prefix + value in VI:
        return t(prefix + value, language)
    return markdown_text(value)


def readable(frame: pd.DataFrame, section: str, language: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The records as a person reads them: `columns` only (default: all), codes as labels, computed columns
    rounded, headers in the language."""
    if columns is not None:  # personal details only when the data has some (most sources carry none)
        columns = [c for c in columns if c not in PII_COLUMNS or (c in frame and frame[c].notna().any())]
    table = frame[columns].copy() if columns is not None else frame.copy()
    for column, prefix in CODED[section].items():
        if column in table:
            table[column] = [
                t(prefix + value, language) if isinstance(value, str) and prefix + value in VI else value
                for value in table[column]
            ]
    table = table.round({name: digits for name, digits in ROUNDED.items() if name in table.columns})
    if "satisfaction" in table:
        table["satisfaction"] = table["satisfaction"].astype("Int64")
    return table.rename(columns={c: t(f"records.column.{c}", language) for c in table.columns})


def _records_body(metric: str, filters: Filters) -> None:
    language = filters.lang
    query_filter = filters.query()
    parts = rq.parts_of(metric)
    if st.session_state.get(PART_KEY) not in parts:
        st.session_state[PART_KEY] = parts[0]
    if len(parts) > 1:
        st.segmented_control(
            t("records.part", language),
            list(parts),
            key=PART_KEY,
            format_func=lambda part: t(f"records.part.{part}", language),
            selection_mode="single",
            required=True,
            on_change=_first_page,
        )
    part = st.session_state[PART_KEY]
    total = cache.query(rq.count, metric, part, query_filter)
    scope = scope_words(filters)
    period = _period_words(filters.period)
    st.markdown(f"**{t(f'records.what.{metric}.{part}', language)}**")
    st.caption(
        f"{scope} · {period} · "
        + t("records.count", language, count=format_number(total, language))
        + " · "
        + t(f"records.order.{rq.section_of(metric)}", language)
    )
    if not total:
        st.info(t("records.none", language), icon=":material/inbox:")
        return
    page = page_number(total, PAGE_KEY, language)
    sees_pii = audit.sees_pii()
    offset = (int(page) - 1) * rq.PAGE_SIZE
    frame = cache.query(rq.page, metric, part, query_filter, rq.PAGE_SIZE, offset, sees_pii=sees_pii)
    table = readable(frame, rq.section_of(metric), language, SHOWN[rq.section_of(metric)])
    show_records(table)
    audit.log_once("record_view", metric, part=part, page=int(page), **audit.filter_details(query_filter))
    case_popover(frame, language)  # the leader's directive about one of these cases (administrator only)
    first = (int(page) - 1) * rq.PAGE_SIZE + 1
    st.caption(
        t(
            "records.showing",
            language,
            first=format_number(first, language),
            last=format_number(first + len(frame) - 1, language),
            total=format_number(total, language),
        )
    )
    if total > EXPORT_LIMIT:
        st.caption(t("records.export_limit", language, limit=format_number(EXPORT_LIMIT, language)))
    st.download_button(
        t("download.csv", language),
        data=audit.download(
            "export",
            metric,
            lambda: exports.table_bytes(_export(metric, part, query_filter, language, sees_pii), "csv"),
            part=part,
            format="csv",
            **audit.filter_details(query_filter),
        ),
        file_name=f"{metric.replace('.', '-')}-{part}-{filters.period.start}-{filters.period.end}.csv",
        mime="text/csv",
        key="records_download_csv",
        icon=":material/download:",
        on_click="ignore",
    )


def show_records(table: pd.DataFrame) -> None:
    """A page of readable records: dates as dd/mm/yyyy hh:mm, only as tall as its rows (at most 12 shown at once)."""
    dates = {
        column: st.column_config.DatetimeColumn(column, format="DD/MM/YYYY HH:mm")
        for column in table.columns
        if pd.api.types.is_datetime64_any_dtype(table[column])
    }
    st.dataframe(table, hide_index=True, column_config=dates, height=min(420, 35 * (len(table) + 1) + 3))


def _period_words(period: Period) -> str:
    if period.start == period.end:
        return format_date(period.start)
    return f"{format_date(period.start)} – {format_date(period.end)}"


def _export(metric: str, part: str, query_filter, language: str, sees_pii: bool) -> pd.DataFrame:
    frame = cache.query(rq.page, metric, part, query_filter, EXPORT_LIMIT, 0, ttl=0, sees_pii=sees_pii)
    return readable(frame, rq.section_of(metric), language)


def page_number(total: int, key: str, language: str) -> int:
    """The page of PAGE_SIZE rows to show (1-based), kept within 1..pages in the session; a number input when there
    are several pages."""
    pages = max(1, math.ceil(total / rq.PAGE_SIZE))
    st.session_state[key] = min(max(int(st.session_state.get(key, 1) or 1), 1), pages)
    if pages == 1:
        return 1
    return int(
        st.number_input(
            t("records.page", language, pages=format_number(pages, language)),
            min_value=1,
            max_value=pages,
            step=1,
            key=key,
            width=220,
        )
    )
