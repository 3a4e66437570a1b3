"""The hotspot (repeat location) block of the feedback and map pages: the layer, the "top repeat locations" table
with its drill-down dialog, and the `hotspot=1` filter ("only reports at repeat locations"). Computations:
dashboard/metrics/hotspots.py and dashboard/db/hotspot_queries.py; figures: dashboard/charts/hotspots.py."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import hotspots as hotspot_charts
from dashboard.db import hotspot_queries as hq
from dashboard.db import queries
from dashboard.i18n import t
from dashboard.metrics import hotspots as hs
from dashboard.safe_text import markdown_text
from dashboard.web import audit, cache, url_state, widgets

TOP_ROWS = 20
REPORT_LIMIT = 5_000
PARAM = "hotspot"


def rules() -> hs.Rules:
    return hs.Rules.from_settings()


def only_in_hotspots(lang: str, key: str) -> bool:
    """The page's "only reports at repeat locations" choice, kept in the address as `hotspot=1`."""
    choice = url_state.page_choice(
        PARAM,
        {"0": t("hotspots.filter.all", lang), "1": t("hotspots.filter.only", lang)},
        t("hotspots.filter", lang),
        default="0",
        key=key,
    )
    return choice == "1"


def table_for(selection) -> tuple[pd.DataFrame, object]:
    """The hotspots of the last IOC_HOTSPOT_DAYS days of the page's period, and that window's filter."""
    current = rules()
    window = hq.hotspot_period(selection.query(), current.days)
    return audit.for_viewer(cache.query(hq.hotspots_for, window, (), current)), window  # viewers: ~1 km


def caption(table: pd.DataFrame, window, lang: str) -> str:
    current = rules()
    values = dict(
        count=widgets.format_count(len(table), lang),
        min=current.min_reports,
        radius=f"{current.radius_m:g}",
        start=f"{window.period.start:%d/%m/%Y}",
        end=f"{window.period.end:%d/%m/%Y}",
        days=current.days,
    )
    return t("hotspots.caption" if len(table) else "hotspots.none", lang, **values)


def top_table(table: pd.DataFrame, lang: str, area_names: dict[str, str]) -> pd.DataFrame:
    """The largest TOP_ROWS hotspots as a person reads them (labels, ward names, dates)."""
    top = table.head(TOP_ROWS)
    return pd.DataFrame(
        {
            t("hotspots.column.category", lang): [t(f"category.{c}", lang) for c in top["category"]],
            t("hotspots.column.reports", lang): top["reports"].astype(int).to_numpy(),
            t("hotspots.column.reopened", lang): top["reopened"].astype(int).to_numpy(),
            t("hotspots.column.area", lang): [area_names.get(code, code or "—") for code in top["area_code"]],
            t("hotspots.column.agencies", lang): [", ".join(names) for names in top["agencies"]],
            t("hotspots.column.first", lang): pd.to_datetime(top["first"]).to_numpy(),
            t("hotspots.column.last", lang): pd.to_datetime(top["last"]).to_numpy(),
        }
    )


def section(selection, lang: str, key: str, area_names: dict[str, str], with_map: bool) -> pd.DataFrame:
    """Heading, caption, (map,) top table with drill-down. Returns the hotspot table."""
    table, window = table_for(selection)
    st.subheader(t("hotspots.heading", lang))
    st.caption(caption(table, window, lang))
    if with_map and len(table):
        geometry = cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS)
        st.plotly_chart(
            hotspot_charts.hotspot_map(geometry, table, lang),
            key=f"{key}_map",
            config={"displaylogo": False, "scrollZoom": True},
        )
    if len(table):
        st.markdown(f"**{t('hotspots.top', lang)}**")
        shown = top_table(table, lang, area_names)
        config = {
            column: st.column_config.DatetimeColumn(column, format="DD/MM/YYYY HH:mm")
            for column in shown.columns
            if pd.api.types.is_datetime64_any_dtype(shown[column])
        }
        event = st.dataframe(
            shown,
            hide_index=True,
            column_config=config,
            key=f"{key}_table",
            on_select="rerun",
            selection_mode="single-row",
        )
        st.caption(t("hotspots.table_hint", lang))
        widgets.download_buttons(shown, f"{key}_hotspots", lang)
        rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
        if rows and rows[0] < len(table):
            _reports_dialog(table.iloc[rows[0]].to_dict(), lang, area_names)
    return table


def reports_table(ids: list[int], lang: str, area_names: dict[str, str] | None = None) -> pd.DataFrame:
    """The reports with these ids as a person reads them, with "Có thể trùng với" (the original's source_id)."""
    frame = cache.query(hq.reports_by_ids, sorted(ids)[:REPORT_LIMIT])
    if "duplicate_of" in frame:
        source_of = dict(zip(frame["id"], frame["source_id"], strict=True))
        missing = [int(v) for v in frame["duplicate_of"].dropna() if int(v) not in source_of]
        if missing:
            extra = cache.query(hq.reports_by_ids, sorted(set(missing)))
            source_of.update(zip(extra["id"], extra["source_id"], strict=True))
        frame["duplicate_of"] = [
            None if pd.isna(v) else source_of.get(int(v), str(int(v))) for v in frame["duplicate_of"]
        ]
    columns = [
        c
        for c in (
            "source_id",
            "received_at",
            "category",
            "area_code",
            "agency",
            "status",
            "resolved_at",
            "reopened",
            "duplicate_of",
        )
        if c in frame
    ]
    shown = frame[columns].copy()
    shown["category"] = [t(f"category.{c}", lang) for c in shown["category"]]
    shown["status"] = [t(f"status.{s}", lang) for s in shown["status"]]
    shown["area_code"] = [(area_names or {}).get(code, code) for code in shown["area_code"]]
    for name in ("area_code", "agency", "duplicate_of"):  # blank, not "None"
        if name in shown:
            shown[name] = [value if isinstance(value, str) and value else "" for value in shown[name]]
    shown = shown.rename(columns={"area_code": "area_name"})
    return shown.rename(columns=lambda name: t(f"records.column.{name}", lang))


@st.dialog(" ", width="large")
def _reports_dialog(hotspot: dict, lang: str, area_names: dict[str, str]) -> None:
    st.markdown(f"### {t('hotspots.dialog_title', lang)}")
    st.caption(
        t(
            "hotspots.dialog_caption",
            lang,
            category=t(f"category.{hotspot['category']}", lang),
            area=markdown_text(area_names.get(hotspot["area_code"], hotspot["area_code"] or "—")),
            reports=int(hotspot["reports"]),
            reopened=int(hotspot["reopened"]),
        )
    )
    table = reports_table(list(hotspot["report_ids"]), lang, area_names)
    widgets.show_table(table)
    audit.log_once("record_view", "hotspot", category=hotspot["category"], area=hotspot["area_code"], rows=len(table))
    widgets.download_buttons(table, "hotspot_reports", lang)


def reports_in_hotspots(table: pd.DataFrame, lang: str, area_names: dict[str, str] | None = None) -> None:
    """The records list of `hotspot=1`: every report of the hotspots (at most REPORT_LIMIT rows)."""
    ids = sorted(hs.in_hotspots(table))
    st.subheader(t("hotspots.records_title", lang))
    shown = reports_table(ids, lang, area_names) if ids else pd.DataFrame()
    st.caption(
        t(
            "hotspots.records_note",
            lang,
            shown=widgets.format_count(len(shown), lang),
            count=widgets.format_count(len(table), lang),
            limit=widgets.format_count(REPORT_LIMIT, lang),
        )
    )
    if len(shown):
        widgets.show_table(shown)
        widgets.download_buttons(shown, "hotspot_records", lang)
