"""Streamlit building blocks shared by the router and the pages: KPI tiles, freshness lines,
the demo badge, downloads and the friendly error pages."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard import config, exports
from dashboard.boundaries import merger_date
from dashboard.db import queries
from dashboard.db.engine import (
    DatabaseError,
    DatabaseNotInitialised,
    DatabaseOutdated,
    DatabaseUnavailable,
    redact_url,
)
from dashboard.i18n import format_date, format_datetime, format_number, format_signed, t
from dashboard.metrics import definitions
from dashboard.metrics.format import format_value, target_number
from dashboard.web import audit, cache
from dashboard.web.directives import tile_popover
from dashboard.web.url_state import Filters, lang

STATUS_MARKDOWN_COLOUR = {"on_target": "green", "near_target": "orange", "off_target": "red"}


def demo_badge(language: str) -> None:
    """A visible badge whenever the database holds demo data."""
    if cache.query(queries.dataset_info, ttl=cache.STATUS_TTL_SECONDS).get("kind") == "demo":
        st.badge(
            t("app.demo_badge", language), icon=":material/science:", color="orange", help=t("app.demo_help", language)
        )


def freshness_line(table: str, language: str) -> str:
    """ "Cập nhật lúc 14:30 20/11/2026" for a fact table, from its newest timestamp."""
    coverage = cache.query(queries.table_coverage, ttl=cache.STATUS_TTL_SECONDS).set_index("table")
    last = coverage["last_at"].get(table) if "last_at" in coverage else None
    if last is None or pd.isna(last):
        return t("freshness.none", language)
    return t("freshness.updated", language, time=format_datetime(pd.Timestamp(last).to_pydatetime(), language))


def kpi_tile(
    definition: definitions.KpiDefinition, current: dict, previous: dict, comparison: str, language: str
) -> None:
    """One KPI as a bordered metric: value, change against the comparison period, target status, formula."""
    value = current[definition.section][definition.name]
    before = previous[definition.section][definition.name]
    change = definitions.change(value, before)
    if change["absolute"] is None:
        delta = None
    elif definition.unit in ("pct", "index_pct"):
        delta = format_signed(change["absolute"], language, 1) + " " + t("unit.points", language)
    elif change["relative_pct"] is not None:
        delta = format_signed(change["relative_pct"], language, 1) + " %"
    else:
        delta = format_signed(change["absolute"], language, 1)
    colour = "off" if definition.higher_is_better is None else ("normal" if definition.higher_is_better else "inverse")
    unchanged = change["absolute"] == 0
    help_text = t(f"help.{definition.key}", language, target=target_number(definition, language))
    label = t(f"kpi.{definition.key}", language)
    state = definitions.status(definition, value)
    if state:  # the coloured dot says how the figure stands against its target; the (?) says it in words
        label = f":{STATUS_MARKDOWN_COLOUR[state]}[●] {label}"
        help_text += f"\n\n**{t(f'status.{state}', language)}**"
    st.metric(
        label,
        format_value(definition, value, language, "tile"),
        delta=delta,
        delta_color="off" if unchanged else colour,
        delta_arrow="off" if unchanged else "auto",
        help=help_text,
        border=True,
        delta_description=t("delta.vs", language, comparison=comparison_words(comparison, language)) if delta else None,
    )


TILES_PER_ROW = 4


def kpi_grid(
    definitions: list[definitions.KpiDefinition],
    current: dict,
    previous: dict,
    comparison: str,
    language: str,
    after_tile: Callable[[definitions.KpiDefinition], None] | None = None,
) -> None:
    """KPI tiles in rows of at most four, so labels stay readable; `after_tile` draws under each (the records
    button of web/records_view.py), then an administrator gets the "Ghi ý kiến chỉ đạo" popover (web/directives.py)."""
    for first in range(0, len(definitions), TILES_PER_ROW):
        row = definitions[first : first + TILES_PER_ROW]
        for column, definition in zip(st.columns(TILES_PER_ROW), row, strict=False):
            with column:
                kpi_tile(definition, current, previous, comparison, language)
                if after_tile is not None:
                    after_tile(definition)
                tile_popover(definition, language)  # the leader's directive on this figure (administrator only)


def database_error_page(error: DatabaseError) -> None:
    """What a person sees instead of a traceback when the database cannot serve the app."""
    language = lang()
    if isinstance(error, DatabaseOutdated):
        st.error(t("error.outdated_title", language), icon=":material/database:")
        st.markdown(f"**{t('error.what_to_do', language)}:** {t('error.run_init_db', language)}")
    elif isinstance(error, DatabaseNotInitialised):
        st.error(t("error.not_initialised_title", language), icon=":material/database:")
        st.markdown(f"**{t('error.what_to_do', language)}:** {t('error.run_demo', language)}")
    elif isinstance(error, DatabaseUnavailable):
        st.error(t("error.unavailable_title", language), icon=":material/cloud_off:")
        st.markdown(
            f"**{t('error.what_to_do', language)}:** "
            f"{t('error.check_url', language, url=redact_url(cache.current_url()))}"
        )
    else:
        st.error(t("error.query_title", language), icon=":material/error:")
        st.markdown(
            f"**{t('error.what_to_do', language)}:** "
            f"{t('error.check_url', language, url=redact_url(cache.current_url()))}"
        )
    with st.expander(t("error.details", language)):
        st.code(str(error) + (f"\n→ {error.hint}" if error.hint else ""), language=None)


def unexpected_error_page() -> None:
    """Shown when a page fails for a reason other than the database; details go to the server log."""
    language = lang()
    st.error(t("error.page_title", language), icon=":material/error:")
    st.markdown(t("error.page_hint", language))


def comparison_words(comparison: str, language: str) -> str:
    """The comparison's name inside a sentence: its first letter in lower case ("so với cùng kỳ theo Tết"; proper
    nouns such as Tết keep their capital)."""
    name = t(f"compare.{comparison}", language)
    return name[:1].lower() + name[1:]


def merger_clause(filters: Filters) -> str:
    """ " · Số liệu trước 01/07/2025 hiển thị theo phường/xã mới (quy đổi từ đơn vị cũ)" when the period or its
    comparison starts before the city's ward merger (boundaries.merger_date; no crosswalk: nothing)."""
    merger = merger_date(config.city())
    if merger is None or min(filters.period.start, filters.compared_period.start) >= merger:
        return ""
    return " · " + t("period.merger_note", filters.lang, date=format_date(merger))


def period_caption(filters: Filters) -> str:
    language = filters.lang
    compared = filters.compared_period
    return t(
        "overview.period_line",
        language,
        start=format_date(filters.period.start),
        end=format_date(filters.period.end),
        comparison=comparison_words(filters.comparison, language),
        cstart=format_date(compared.start),
        cend=format_date(compared.end),
    ) + merger_clause(filters)


def table_bytes(frame: pd.DataFrame, kind: str) -> bytes:
    """A table as CSV (UTF-8 with BOM) or as an .xlsx workbook, never with a live formula (dashboard.exports)."""
    return exports.table_bytes(frame, kind)


def download_buttons(frame: pd.DataFrame, name: str, language: str) -> None:
    """CSV and Excel downloads of exactly the table shown (the file name carries the table's name)."""
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            t("download.csv", language),
            data=audit.download("export", name, lambda: table_bytes(frame, "csv"), format="csv", rows=len(frame)),
            file_name=f"{name}.csv",
            mime="text/csv",
            key=f"download_csv_{name}",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            t("download.excel", language),
            data=audit.download("export", name, lambda: table_bytes(frame, "xlsx"), format="xlsx", rows=len(frame)),
            file_name=f"{name}.xlsx",
            mime=exports.XLSX_MIME,
            key=f"download_xlsx_{name}",
            icon=":material/table_view:",
            on_click="ignore",
        )


def labelled_table(frame: pd.DataFrame, language: str, code_prefixes: dict[str, str] | None = None) -> pd.DataFrame:
    """The table a person reads: coded values turned into labels (e.g. category → "Cây xanh") and headers translated
    through `column.<name>`; numbers of days rounded to one decimal."""
    table = frame.copy()
    for column, prefix in (code_prefixes or {}).items():
        if column in table:
            table[column] = [
                t(f"{prefix}{value}", language) if isinstance(value, str) else value for value in table[column]
            ]
    for column in [c for c in table.columns if c.endswith("_days")]:
        table[column] = table[column].astype(float).round(1)
    return table.rename(columns={c: t(f"column.{c}", language) for c in table.columns})


def format_count(value, language: str) -> str:
    return format_number(value, language, 0)


def show_table(table: pd.DataFrame, height: int | str = "auto") -> None:
    """A read-only table with local date formats (dd/mm/yyyy HH:mm) and no index."""
    config = {
        column: st.column_config.DatetimeColumn(column, format="DD/MM/YYYY HH:mm")
        for column in table.columns
        if pd.api.types.is_datetime64_any_dtype(table[column])
    }
    st.dataframe(table, hide_index=True, column_config=config, height=height)
