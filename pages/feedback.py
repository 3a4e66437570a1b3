"""Phản ánh hiện trường — citizen field reports: volume, timeliness by agency, resolution times, backlog,
satisfaction, "closed is not fixed", wards, overdue and record lists. Click a bar or ward to filter."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import feedback as charts
from dashboard.charts import maps
from dashboard.db import feedback_queries as fq
from dashboard.db import queries
from dashboard.i18n import t
from dashboard.metrics import kpis
from dashboard.web import cache, drill, records_view, url_state, widgets
from dashboard.web import events as events_web
from dashboard.web import hotspots as hotspots_web

lang = url_state.lang()
category_codes = cache.query(fq.distinct_values, "category")
url_state.dimension_filter(
    "category", {c: t(f"category.{c}", lang) for c in category_codes}, t("feedback.filter.category", lang)
)
url_state.dimension_filter(
    "agency", {a: a for a in cache.query(fq.distinct_values, "agency")}, t("feedback.filter.agency", lang)
)
url_state.dimension_filter(
    "channel",
    {c: t(f"feedback_channel.{c}", lang) for c in cache.query(fq.distinct_values, "channel")},
    t("feedback.filter.channel", lang),
)
if source_categories := cache.query(fq.distinct_values, "source_category"):  # the source's own words (issue 17)
    url_state.dimension_filter(
        "source_category", {c: c for c in source_categories}, t("feedback.filter.source_category", lang)
    )
selection = url_state.current()
query = selection.query()
dimensions = dict(query.dimensions)
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("feedback.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
st.caption(f"{widgets.period_caption(selection)} · {widgets.freshness_line('feedback', lang)}")
url_state.chips(
    selection,
    {
        "area": area_names.get,
        "category": lambda c: t(f"category.{c}", lang),
        "channel": lambda c: t(f"feedback_channel.{c}", lang),
    },
)

current = {"feedback": cache.query(kpis.section_kpis, "feedback", selection.period, selection.areas, dimensions)}
previous = {
    "feedback": cache.query(kpis.section_kpis, "feedback", selection.compared_period, selection.areas, dimensions)
}
widgets.kpi_grid(
    [d for d in kpis.KPI_DEFINITIONS if d.section == "feedback"],
    current,
    previous,
    selection.comparison,
    lang,
    after_tile=records_view.tile_button(lang),
)
overdue_total = cache.query(fq.overdue_count, query)
st.session_state["overdue_shown"] = overdue_total
st.metric(
    t("feedback.overdue_tile", lang),
    widgets.format_count(overdue_total, lang),
    help=t("feedback.overdue_help", lang),
    border=True,
    width=300,
)
records_view.button("feedback.overdue", lang)
records_view.open_chosen(selection)  # the records behind a tile, bar, ward or row that was clicked
st.caption(t("feedback.click_hint", lang) + " " + t("drill.hint", lang))

grain = url_state.page_choice(
    "grain",
    {g: t(f"feedback.grain.{g}", lang) for g in fq.GRAINS},
    t("feedback.grain", lang),
    default="day",
    key="feedback_grain",
)
st.plotly_chart(
    events_web.mark(
        charts.volume(cache.query(fq.volume, query, grain), grain, lang),
        selection.period.start,
        selection.period.end,
        selection.areas,
        daily=grain == "day",
    ),
    key="feedback_volume",
    on_select=drill.on_chart(
        "feedback_volume", "feedback.received", "category", day_field="x", grain=grain, filters_page=True
    ),
    selection_mode="points",
)

agency_column, resolution_column = st.columns(2)
agencies = kpis.feedback_rates(cache.query(fq.by_agency, query))
with agency_column:
    st.plotly_chart(
        charts.agency_ranking(agencies, kpis.KPI_BY_KEY["feedback.resolved_on_time_pct"].target, lang),
        key="feedback_agencies",
        on_select=drill.on_chart(
            "feedback_agencies", "feedback.resolved_on_time_pct", "agency", "y", filters_page=True
        ),
        selection_mode="points",
    )
with resolution_column:
    st.plotly_chart(
        charts.resolution_times(cache.query(fq.resolution_by_category, query), lang),
        key="feedback_resolution",
        on_select=drill.on_chart(
            "feedback_resolution", "feedback.median_resolution_hours", "category", filters_page=True
        ),
        selection_mode="points",
    )
with st.expander(t("feedback.agency_table", lang)):
    by_received = agencies[
        ["agency", "received", "resolved", "resolved_on_time_pct", "reopened_pct", "open_backlog"]
    ].sort_values("received", ascending=False)
    agency_table = widgets.labelled_table(by_received, lang)
    drill.table(agency_table, "feedback_agency_table", "feedback.received", "agency", by_received["agency"])
    widgets.download_buttons(agency_table, "feedback_agencies", lang)

ageing_column, satisfaction_column = st.columns(2)
with ageing_column:
    st.plotly_chart(charts.backlog_ageing(cache.query(fq.backlog_ageing, query), lang), key="feedback_ageing")
with satisfaction_column:
    st.plotly_chart(charts.satisfaction(cache.query(fq.satisfaction, query), lang), key="feedback_satisfaction")

map_column, overdue_column = st.columns(2)
with map_column:
    st.subheader(t("feedback.map_title", lang))
    metric = url_state.page_choice(
        "density",
        {m: t(f"map.metric.{m}", lang) for m in ("feedback.received_per_10k", "feedback.received_per_km2")},
        t("feedback.map_metric", lang),
        default="feedback.received_per_10k",
        key="feedback_density",
    )
    by_area = cache.query(kpis.compute_area_kpis, selection.period, dimensions, ("feedback",)).set_index("code")
    figure = maps.choropleth(
        cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS),
        by_area[metric],
        title=t(f"map.metric.{metric}", lang),
        higher_is_better=None,
        no_data_label=t("map.no_data", lang),
        selected=list(selection.areas),
    )
    st.plotly_chart(
        figure,
        key="feedback_map",
        on_select=drill.on_chart("feedback_map", "feedback.received", "area", "location", filters_page=True),
        selection_mode="points",
        config={"displaylogo": False, "scrollZoom": True},
    )
    st.caption(t("map.population_note", lang))
with overdue_column:
    st.subheader(t("feedback.overdue_title", lang))
    overdue = widgets.labelled_table(
        cache.query(fq.overdue, query), lang, {"category": "category.", "status": "status."}
    )
    widgets.show_table(overdue)
    widgets.download_buttons(overdue, "feedback_overdue", lang)

# Repeat locations (issue 18): layer, top table with drill-down, and `hotspot=1` for their reports only
hotspot_table = hotspots_web.section(selection, lang, "feedback_hotspots", area_names, with_map=True)
if hotspots_web.only_in_hotspots(lang, "feedback_hotspot"):
    hotspots_web.reports_in_hotspots(hotspot_table, lang, area_names)
else:
    st.subheader(t("feedback.records_title", lang))
    records = cache.query(fq.records, query)
    st.caption(
        t(
            "feedback.records_note",
            lang,
            shown=widgets.format_count(len(records), lang),
            total=widgets.format_count(current["feedback"]["received"], lang),
        )
    )
    record_table = widgets.labelled_table(
        records, lang, {"category": "category.", "status": "status.", "channel": "feedback_channel."}
    )
    widgets.show_table(record_table)
    widgets.download_buttons(record_table, "feedback_records", lang)
