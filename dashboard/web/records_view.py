"""The records behind a KPI tile, in a dialog: numerator or denominator, most urgent first, paged on the server,
with a CSV of every record (through `dashboard.exports`).

A tile's "Hồ sơ" button sets the session's chosen metric (mirrored in the URL as `metric=` by
`url_state.sync_url`, so a copied link opens the same dialog); closing the dialog clears it. The rows and their count
come from `dashboard.db.records_queries`, which derives them from the same declarations as the KPI, so the count in the
dialog is the tile's numerator (or denominator) exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.db import records_queries as rq
from dashboard.i18n import VI, format_date, format_number, t
from dashboard.metrics import definitions
from dashboard.web import cache
from dashboard.web.url_state import RECORDS_METRIC_KEY, Filters

PART_KEY = "records_part"
PAGE_KEY = "records_page"
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


def _choose(metric: str) -> None:
    st.session_state[RECORDS_METRIC_KEY] = metric
    st.session_state[PART_KEY] = "numerator"
    st.session_state[PAGE_KEY] = 1


def _first_page() -> None:
    st.session_state[PAGE_KEY] = 1


def _dismiss() -> None:
    for key in (RECORDS_METRIC_KEY, PART_KEY, PAGE_KEY):
        st.session_state.pop(key, None)


def tile_button(language: str) -> Callable[[definitions.KpiDefinition], None]:
    """What `widgets.kpi_grid` draws under each tile: the button opening the records behind it."""

    def draw(definition: definitions.KpiDefinition) -> None:
        st.button(
            t("records.open", language),
            key=f"records_open_{definition.key}",
            icon=":material/list_alt:",
            type="tertiary",
            on_click=_choose,
            args=(definition.key,),
            help=t("records.open_help", language),
        )

    return draw


def open_chosen(filters: Filters) -> None:
    """Open the dialog of the chosen metric (a tile's button, or `metric=` in the link the session opened with)."""
    if not st.session_state.get(LINK_READ_KEY):
        st.session_state[LINK_READ_KEY] = True
        linked = st.query_params.get("metric")
        if linked in rq.BEHIND and RECORDS_METRIC_KEY not in st.session_state:
            _choose(linked)
    metric = st.session_state.get(RECORDS_METRIC_KEY)
    if metric not in rq.BEHIND:
        st.session_state.pop(RECORDS_METRIC_KEY, None)
        return
    title = t("records.title", filters.lang, kpi=t(f"kpi.{metric}", filters.lang))
    st.dialog(title, width="large", on_dismiss=_dismiss)(_records_body)(metric, filters)


def readable(frame: pd.DataFrame, section: str, language: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The records as a person reads them: `columns` only (default: all), codes as labels, computed columns
    rounded, headers in the language."""
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
    scope = (
        t("overview.scope_areas", language, count=len(filters.areas))
        if filters.areas
        else t("overview.scope_city", language)
    )
    period = f"{format_date(filters.period.start)} – {format_date(filters.period.end)}"
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
    pages = max(1, math.ceil(total / rq.PAGE_SIZE))
    st.session_state[PAGE_KEY] = min(max(int(st.session_state.get(PAGE_KEY, 1) or 1), 1), pages)
    page = (
        st.number_input(
            t("records.page", language, pages=format_number(pages, language)),
            min_value=1,
            max_value=pages,
            step=1,
            key=PAGE_KEY,
            width=220,
        )
        if pages > 1
        else 1
    )
    frame = cache.query(rq.page, metric, part, query_filter, rq.PAGE_SIZE, (int(page) - 1) * rq.PAGE_SIZE)
    table = readable(frame, rq.section_of(metric), language, SHOWN[rq.section_of(metric)])
    dates = {
        column: st.column_config.DatetimeColumn(column, format="DD/MM/YYYY HH:mm")
        for column in table.columns
        if pd.api.types.is_datetime64_any_dtype(table[column])
    }
    st.dataframe(table, hide_index=True, column_config=dates, height=420)
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
        data=lambda: exports.table_bytes(_export(metric, part, query_filter, language), "csv"),
        file_name=f"{metric.replace('.', '-')}-{part}-{filters.period.start}-{filters.period.end}.csv",
        mime="text/csv",
        key="records_download_csv",
        icon=":material/download:",
        on_click="ignore",
    )


def _export(metric: str, part: str, query_filter, language: str) -> pd.DataFrame:
    frame = cache.query(rq.page, metric, part, query_filter, EXPORT_LIMIT, 0, ttl=0)
    return readable(frame, rq.section_of(metric), language)
