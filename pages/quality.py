"""Chất lượng dữ liệu — is the data correct, complete, clean and live ("đúng, đủ, sạch, sống"), per table and
source, over all the data (the period and area filters do not apply here)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.charts import quality as charts
from dashboard.db import quality_queries as qq
from dashboard.i18n import format_datetime, format_number, t
from dashboard.ingest.upload import reason_label
from dashboard.jobs import status as job_status
from dashboard.metrics import hotspots as hotspot_metrics
from dashboard.metrics import quality
from dashboard.periods import local_now
from dashboard.safe_text import markdown_text
from dashboard.wall import rules as wall
from dashboard.web import cache, replica_status, url_state, widgets

STATUS_COLOUR = {"live": "green", "late": "orange", "stale": "red", "none": "gray"}
STATUS_ICON = {
    "live": ":material/check_circle:",
    "late": ":material/schedule:",
    "stale": ":material/error:",
    "none": ":material/help:",
}

COUNT_COLUMNS = {
    "rows",
    "failures",
    "unknown_area",
    "outside_city",
    "last_import_rejected",
    "rows_read",
    "rows_inserted",
    "rows_updated",
    "rows_rejected",
    "rows_duplicate",
    "rows_unknown_area",
    "rows_crosswalk",
    "rows_crosswalk_share",
}

lang = url_state.lang()
now = local_now()
since = quality.reject_window_start(now)
bbox = cache.query(qq.city_bbox)
summary = cache.query(qq.source_summary, bbox)
imports = cache.query(qq.last_imports)
rejects = cache.query(qq.reject_reasons, since)
duplicates = cache.query(qq.likely_duplicates)
freshness = quality.freshness_rows(summary, imports, now, wall.freshness_thresholds())
figures = quality.headline(freshness, summary, duplicates, rejects)
days = quality.REJECT_WINDOW_DAYS


def table_label(name) -> str:
    return t(f"quality.table.{name}", lang)


def source_label(value) -> str:
    return "–" if value is None or pd.isna(value) else str(value)


def lag_text(minutes) -> str:
    if minutes is None or pd.isna(minutes):
        return "–"
    n, unit = wall.lag_parts(int(minutes))
    return t("quality.lag", lang, n=format_number(n, lang), unit=t(f"quality.unit.{unit}", lang))


def readable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns a person reads, with table, kind and status codes turned into words and headers translated."""
    table = frame[columns].copy()
    if "table" in table:
        table["table"] = table["table"].map(table_label)
    if "kind" in table:
        table["kind"] = table["kind"].map(lambda kind: t(f"quality.kind.{kind}", lang))
    if "source" in table:
        table["source"] = table["source"].map(source_label)
    if "column" in table:
        table["column"] = table["column"].map(lambda name: t(f"quality.column.{name}", lang))
    if "reason" in table:
        table["reason"] = table["reason"].map(lambda code: reason_label(code, lang))
    for column in ("status", "last_import_status"):
        if column in table:
            prefix = "quality.status." if column == "status" else "quality.import_status."
            table[column] = table[column].map(
                lambda code, p=prefix: "–" if code is None or pd.isna(code) else t(p + code, lang)
            )
    for column in table.columns:  # counts in the local format; a missing value as an en dash, not "None"
        if pd.api.types.is_integer_dtype(table[column]) or column in COUNT_COLUMNS:
            table[column] = [format_number(v, lang) if v is not None and not pd.isna(v) else "–" for v in table[column]]
        elif pd.api.types.is_datetime64_any_dtype(table[column]) and table[column].isna().any():
            # the same dd/mm/yyyy HH:mm as ui.show_table gives the other date columns
            table[column] = [v.strftime("%d/%m/%Y %H:%M") if not pd.isna(v) else "–" for v in table[column]]
        elif table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(
                lambda v: "–" if v is None or (isinstance(v, float) and pd.isna(v)) else v
            )
    return table.rename(columns={c: t(f"quality.col.{c}", lang) for c in table.columns})


title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("quality.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
st.markdown(t("quality.intro", lang))

tiles = st.columns(5)
tiles[0].metric(
    t("quality.tile.live", lang),
    t("quality.tile.live_value", lang, live=figures["live"], sources=figures["sources"]),
    help=t("quality.tile.live_help", lang, late=figures["late"], stale=figures["stale"]),
    border=True,
)
tiles[1].metric(
    t("quality.tile.unknown_area", lang),
    format_number(figures["unknown_area"], lang),
    help=t("quality.tile.unknown_area_help", lang),
    border=True,
)
tiles[2].metric(
    t("quality.tile.outside_city", lang),
    format_number(figures["outside_city"], lang),
    help=t("quality.tile.outside_city_help", lang),
    border=True,
)
tiles[3].metric(
    t("quality.tile.duplicates", lang),
    format_number(figures["duplicate_rows"], lang),
    help=t("quality.tile.duplicates_help", lang),
    border=True,
)
tiles[4].metric(
    t("quality.tile.rejected", lang, days=days),
    format_number(figures["rejected_rows"], lang),
    help=t("quality.tile.rejected_help", lang, days=days),
    border=True,
)

# ---------------------------------------------------------------- sống (live)
st.subheader(t("quality.live.heading", lang))
st.caption(t("quality.live.caption", lang, factor=wall.STALE_AFTER_CADENCES))
replica_kind, replica_line = replica_status.line(lang)  # the read replica's lag (IOC_DATABASE_READ_URL; issue 20)
if replica_kind == "warning":
    st.warning(replica_line, icon=":material/sync_problem:")
else:
    st.caption(replica_line)
for first in range(0, len(freshness), widgets.TILES_PER_ROW):
    row = freshness.iloc[first : first + widgets.TILES_PER_ROW].to_dict("records")
    for column, item in zip(st.columns(widgets.TILES_PER_ROW), row, strict=False):
        status = item["status"]
        label = (
            f":{STATUS_COLOUR[status]}[●] {table_label(item['table'])} · {markdown_text(source_label(item['source']))}"
        )
        value = t(f"quality.status.{status}", lang)
        last = format_datetime(None if pd.isna(item["last_at"]) else item["last_at"].to_pydatetime(), lang)
        imported = (
            t("quality.never_imported", lang)
            if pd.isna(item["last_import_at"])
            else format_datetime(item["last_import_at"].to_pydatetime(), lang)
        )
        column.metric(
            label,
            value,
            delta=None if status in ("live", "none") else lag_text(item["minutes_late"]),
            delta_color="off",
            delta_arrow="off",
            border=True,
            help=t("quality.tile.source_help", lang, last=last, cadence=item["cadence_minutes"], imported=imported),
        )
shown = freshness.assign(lag=freshness["minutes_late"].map(lag_text))
widgets.show_table(
    readable(
        shown,
        [
            "table",
            "source",
            "rows",
            "last_at",
            "status",
            "lag",
            "cadence_minutes",
            "last_import_at",
            "last_import_status",
            "last_import_file",
            "last_import_rejected",
        ],
    )
)

st.markdown(f"**{t('quality.imports.heading', lang)}**")
history = cache.query(qq.import_history)
if history.empty:
    st.info(t("quality.imports.none", lang), icon=":material/upload_file:")
else:
    widgets.show_table(
        readable(
            history.rename(columns={"status": "last_import_status"}),
            [
                "started_at",
                "kind",
                "source",
                "file_name",
                "last_import_status",
                "rows_read",
                "rows_inserted",
                "rows_updated",
                "rows_rejected",
                "rows_duplicate",
                "rows_unknown_area",
                "rows_crosswalk",
                "rows_crosswalk_share",
            ],
        )
    )
    if pd.to_numeric(history["rows_crosswalk"], errors="coerce").fillna(0).sum() > 0:
        st.caption(t("quality.imports.crosswalk_note", lang))

# ---------------------------------------------------------------- đúng (correct)
st.subheader(t("quality.correct.heading", lang))
if bbox is None:
    st.caption(t("quality.correct.caption_nobox", lang))
else:
    south, west, north, east = (format_number(value, lang, 3) for value in bbox)
    st.caption(t("quality.correct.caption", lang, south=south, north=north, west=west, east=east))
widgets.show_table(
    readable(
        quality.location_rows(summary), ["table", "source", "rows", "unknown_area", "unknown_area_pct", "outside_city"]
    )
)

# ---------------------------------------------------------------- đủ (complete)
st.subheader(t("quality.complete.heading", lang))
st.caption(t("quality.complete.caption", lang))
gaps = quality.completeness_gaps(cache.query(qq.completeness))
st.plotly_chart(charts.completeness_bars(gaps, lang), key="quality_completeness")
with st.expander(t("quality.complete.table", lang)):
    st.dataframe(
        readable(gaps, ["table", "source", "column", "filled_pct", "missing", "expected"]),
        hide_index=True,
        column_config={
            t("quality.col.filled_pct", lang): st.column_config.ProgressColumn(
                t("quality.col.filled_pct", lang), min_value=0, max_value=100, format="%.1f %%"
            )
        },
    )

# ---------------------------------------------------------------- sạch (clean)
st.subheader(t("quality.clean.heading", lang))
st.caption(t("quality.clean.duplicates_caption", lang))
widgets.show_table(readable(duplicates, ["table", "groups", "extra_rows"]))
flagged = cache.query(qq.flagged_duplicates)  # likely duplicates of open reports (issue 18; the duplicates job)
st.markdown(f"**{t('quality.duplicates.heading', lang)}**")
if flagged:
    hotspot_rules = hotspot_metrics.Rules.from_settings()
    share = quality.flagged_share(flagged)
    st.caption(
        t(
            "quality.duplicates.text",
            lang,
            duplicates=format_number(flagged["flagged"], lang),
            received=format_number(flagged["reports"], lang),
            pct="—" if share is None else f"{format_number(share, lang, 1)} %",
            radius=f"{hotspot_rules.radius_m:g}",
            hours=hotspot_rules.duplicate_hours,
        )
    )
else:
    st.caption(t("quality.duplicates.missing", lang))
st.markdown(f"**{t('quality.clean.rejects', lang, days=days)}**")
if rejects.empty:
    st.caption(t("quality.clean.no_rejects", lang, days=days))
else:
    widgets.show_table(readable(rejects, ["kind", "source", "reason", "rows", "imports"]))

# ---------------------------------------------------------------- the worker's jobs
st.subheader(t("quality.jobs.heading", lang))
st.caption(t("quality.jobs.caption", lang))
try:
    job_rows = job_status.job_overview(cache.current_url())
except Exception:  # the operational store cannot be read (in-memory test database, a store that went away)
    job_rows = None
if job_rows is None or job_rows["status"].isna().all():
    st.info(t("quality.jobs.none", lang), icon=":material/schedule:")
if job_rows is not None:
    for item in job_rows[job_rows["status"] == "failed"].to_dict("records"):
        st.warning(
            t("quality.jobs.failing", lang, job=t(f"quality.job.{item['job']}", lang), failures=item["failures"])
            + " "
            + markdown_text(item["error"] or "–"),
            icon=":material/error:",
        )
    shown_jobs = job_rows.assign(
        job=job_rows["job"].map(lambda name: t(f"quality.job.{name}", lang)),
        last_import_status=job_rows["status"],
    )
    widgets.show_table(
        readable(
            shown_jobs,
            [
                "job",
                "schedule",
                "started_at",
                "finished_at",
                "last_import_status",
                "rows",
                "failures",
                "last_done_at",
                "error",
            ],
        ).rename(columns={t("quality.col.last_import_status", lang): t("quality.col.job_status", lang)})
    )
