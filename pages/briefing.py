"""Báo cáo tuần — preview of the weekly PDF briefing for leaders, and the PDF itself to download.

The preview shows the `Briefing` that `dashboard.briefing.content.build_briefing` makes; the download
button's bytes come from `render_briefing` for the same week, scope, language and minute, the same
function `python -m dashboard brief` calls.
"""

from __future__ import annotations

import streamlit as st

from dashboard.briefing import charts
from dashboard.briefing.content import build_briefing, weeks_with_data
from dashboard.briefing.render import render_briefing
from dashboard.briefing.tables import Table
from dashboard.briefing.weeks import last_complete_week, week_code
from dashboard.db import queries
from dashboard.i18n import format_datetime, t
from dashboard.jobs.briefing import archived_briefings
from dashboard.periods import local_now
from dashboard.safe_text import markdown_text
from dashboard.web import audit, cache, url_state, widgets
from dashboard.web.scope_notice import user_scope

STATUS_COLOUR = {"on_target": "green", "near_target": "orange", "off_target": "red"}


def show(table: Table) -> None:
    """A briefing table as printed in the PDF: the same cells, numbers aligned right, every row visible."""
    config = {
        column: st.column_config.TextColumn(alignment="right" if numeric else "left")
        for column, numeric in zip(table.columns, table.numeric, strict=True)
    }
    st.dataframe(table.frame(), hide_index=True, column_config=config, height="content")


selection = url_state.current()
lang = selection.lang
now = local_now().replace(second=0, microsecond=0)

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("briefing.page.heading", lang))
with badge_column:
    widgets.demo_badge(lang)

weeks = cache.query(weeks_with_data, now.date())
if not weeks:
    st.info(t("briefing.page.no_weeks", lang))
    st.stop()
default_week = week_code(last_complete_week(now.date()))
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
scopes = ["", *sorted(area_names, key=lambda code: area_names[code])]
default_scope = selection.areas[0] if len(selection.areas) == 1 else ""

week_column, scope_column, button_column = st.columns([1, 2, 1], vertical_alignment="bottom")
week = week_column.selectbox(
    t("briefing.page.week", lang),
    weeks,
    key="briefing_week",
    index=weeks.index(default_week) if default_week in weeks else 0,
)
area = (
    scope_column.selectbox(
        t("briefing.page.area", lang),
        scopes,
        key="briefing_area",
        index=scopes.index(default_scope),
        format_func=lambda code: area_names.get(code, t("briefing.scope_city", lang)),
    )
    or None
)
with button_column:
    st.download_button(
        t("briefing.page.download", lang),
        key="briefing_download",
        data=audit.download(
            "pdf_download", week, lambda: cache.query(render_briefing, week, area, lang, now), area=area, lang=lang
        ),
        file_name=f"bao-cao-tuan-{week}{'-' + area if area else ''}-{lang}.pdf",
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        type="primary",
        on_click="ignore",
        help=t("briefing.page.download_help", lang),
    )
st.caption(t("briefing.page.scope_note", lang) + " " + t("briefing.page.cli", lang, week=week))

# The archive holds the worker's city-wide PDFs: an officer limited to some agencies or wards is not shown it.
if not user_scope().restricted:
    archive = archived_briefings(cache.current_url())
    with st.expander(t("briefing.archive.heading", lang), expanded=False):
        st.caption(t("briefing.archive.caption", lang))
        if not archive:
            st.caption(t("briefing.archive.none", lang))
        for number, entry in enumerate(archive):
            line = t(
                "briefing.archive.row",
                lang,
                week=entry["week"],
                language=entry["lang"],
                pages=entry["pages"] or "–",
                created=format_datetime(entry["created_at"], lang),
            )
            if entry["emailed"]:
                line += " · " + t("briefing.archive.emailed", lang)
            text_column, download_column = st.columns([4, 1], vertical_alignment="center")
            text_column.markdown(line)
            if entry["exists"]:
                download_column.download_button(
                    t("briefing.archive.download", lang),
                    key=f"briefing_archive_{number}",
                    data=audit.download(
                        "pdf_download", entry["week"], entry["file"].read_bytes, lang=entry["lang"], archived=True
                    ),
                    file_name=f"bao-cao-tuan-{entry['week']}-{entry['lang']}.pdf",
                    mime="application/pdf",
                    icon=":material/download:",
                    on_click="ignore",
                )
            else:
                download_column.caption(t("briefing.archive.missing", lang))

briefing = cache.query(build_briefing, week, area, lang, now)
figures = charts.figures(briefing)

st.subheader(f"{briefing.week_title} · {markdown_text(briefing.scope)}")  # a ward name is data text
st.caption(f"{briefing.week_range} · {t('briefing.generated_at', lang)} {format_datetime(briefing.generated_at)}")
if briefing.partial:
    st.warning(
        f"**{t('briefing.partial_title', lang)}**\n\n" + "\n".join(f"- {reason}" for reason in briefing.partial),
        icon=":material/hourglass_bottom:",
    )
st.markdown(briefing.notes["scorecard"])

st.header(t("briefing.summary.heading", lang), divider="gray")
for line in briefing.headlines:
    st.markdown(f":{STATUS_COLOUR.get(line.status, 'gray')}[●] {line.sentence}")
st.subheader(t("briefing.table.heading", lang))
show(briefing.tables["kpis"])

st.header(t("briefing.feedback.heading", lang), divider="gray")
map_column, wards_column = st.columns([3, 2])
with map_column:
    st.subheader(t("briefing.map.heading", lang))
    st.plotly_chart(figures["ward_map"].update_layout(width=None), key="briefing_map", config={"displaylogo": False})
    st.caption(t("briefing.map.caption", lang))
with wards_column:
    st.subheader(t("briefing.wards.heading", lang))
    show(briefing.tables["wards"])
    st.caption(t("briefing.wards.note", lang))
st.subheader(t("briefing.categories.heading", lang))
chart_column, table_column = st.columns(2)
if "categories" in figures:
    chart_column.plotly_chart(figures["categories"].update_layout(width=None), key="briefing_categories")
with table_column:
    show(briefing.tables["categories"])
st.subheader(t("briefing.agencies.heading", lang))
st.caption(briefing.notes["agencies"])
show(briefing.tables["agencies"])

st.header(t("briefing.dossiers.heading", lang), divider="gray")
for name, heading in (
    ("sectors", "briefing.sectors.heading"),
    ("dossier_agencies", "briefing.dossier_agencies.heading"),
    ("late_procedures", "briefing.late_procedures.heading"),
):
    st.subheader(t(heading, lang))
    if briefing.tables[name]:
        show(briefing.tables[name])
    else:
        st.caption(t("briefing.none_late", lang) if name == "late_procedures" else "–")

st.header(t("briefing.traffic.heading", lang), divider="gray")
st.subheader(t("briefing.hotspots.heading", lang))
if "hot_spots" in figures:
    st.caption(briefing.notes["hot_spots"])
    st.plotly_chart(figures["hot_spots"].update_layout(width=None), key="briefing_hot_spots")
    show(briefing.tables["hot_spots"])
else:
    st.caption(t("briefing.no_traffic", lang))

st.header(t("briefing.outlook.heading", lang), divider="gray")
if "outlook" in briefing.notes:
    st.info(briefing.notes["outlook"], icon=":material/insights:")
else:
    st.subheader(t("briefing.anomalies.heading", lang))
    st.caption(t("briefing.anomalies.note", lang))
    if briefing.tables.get("anomalies"):
        show(briefing.tables["anomalies"])
    else:
        st.markdown(briefing.notes.get("anomalies", ""))
    st.subheader(
        t(
            "briefing.forecast.heading",
            lang,
            start=briefing.next_week.start.strftime("%d/%m"),
            end=briefing.next_week.end.strftime("%d/%m/%Y"),
        )
    )
    if briefing.tables.get("forecast"):
        st.caption(t("briefing.forecast.note", lang))
        show(briefing.tables["forecast"])
        if "forecast" in figures:
            st.plotly_chart(figures["forecast"].update_layout(width=None), key="briefing_forecast")
    else:
        st.markdown(briefing.notes.get("forecast", ""))

st.header(t("briefing.league.heading", lang), divider="gray")
if "league" in briefing.notes:
    st.info(briefing.notes["league"], icon=":material/leaderboard:")
else:
    st.caption(f"{t('briefing.league.note', lang)} {briefing.notes['league_measured']}")
    for unit in ("agency", "area"):
        st.subheader(t(f"briefing.league.{unit}", lang))
        st.caption(briefing.notes[f"league_{unit}"])
        if briefing.tables[f"league_{unit}"]:
            show(briefing.tables[f"league_{unit}"])
    st.subheader(t("briefing.league.lost_heading", lang))
    if briefing.tables["league_lost"]:
        show(briefing.tables["league_lost"])
    else:
        st.markdown(briefing.notes["league_lost"])

with st.expander(t("briefing.appendix.heading", lang)):
    st.markdown(briefing.notes["conventions"])
    show(briefing.tables["definitions"])
    st.subheader(t("briefing.appendix.sources", lang))
    show(briefing.tables["sources"])
