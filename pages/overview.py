"""Tổng quan — the city's operational picture: KPI tiles, a ward map and the daily trend."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard.charts import ROLLING_DAYS, daily_trend, maps
from dashboard.charts.forecast import anomaly_table
from dashboard.db import forecast_queries, queries
from dashboard.i18n import t
from dashboard.metrics import definitions, kpis
from dashboard.periods import Period
from dashboard.web import admin, cache, drill, records_view, widgets
from dashboard.web import events as events_web
from dashboard.web.overview import MAP_METRICS, trend_window
from dashboard.web.scope_notice import user_scope
from dashboard.web.url_state import current as current_filters

filters = current_filters()
lang = filters.lang

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("overview.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
if filters.areas:
    scope = t("overview.scope_areas", lang, count=len(filters.areas))
elif user_scope().restricted:  # an officer's figures are their own cases, never "the whole city"
    scope = admin.scope_text(lang)
else:
    scope = t("overview.scope_city", lang)
st.caption(f"{scope} · {widgets.period_caption(filters)}")

current = cache.query(kpis.compute_kpis, filters.period, list(filters.areas) or None)
previous = cache.query(kpis.compute_kpis, filters.compared_period, list(filters.areas) or None)

for section, table in (("feedback", "feedback"), ("dossiers", "dossiers"), ("traffic", "traffic_observations")):
    st.subheader(t(f"section.{section}", lang))
    st.caption(widgets.freshness_line(table, lang))
    widgets.kpi_grid(
        [d for d in definitions.KPI_DEFINITIONS if d.section == section],
        current,
        previous,
        filters.comparison,
        lang,
        after_tile=records_view.tile_button(lang),
    )
records_view.open_chosen(filters)  # the records behind a tile, when one was chosen (or linked with metric=)

map_column, trend_column = st.columns([1, 1])
with map_column:
    st.subheader(t("map.heading", lang))
    metric = st.selectbox(
        t("map.metric", lang),
        list(MAP_METRICS),
        key="overview_map_metric",
        format_func=lambda key: t(f"map.metric.{key}", lang),
    )
    table = cache.query(kpis.compute_area_kpis, filters.period)
    geometry = cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS)
    figure = maps.choropleth(
        geometry,
        table.set_index("code")[metric],
        title=t(f"map.metric.{metric}", lang),
        higher_is_better=MAP_METRICS[metric],
        no_data_label=t("map.no_data", lang),
        selected=list(filters.areas),
    )
    st.plotly_chart(
        figure,
        key="overview_map",
        on_select=drill.on_chart("overview_map", drill.map_kpi(metric), "area", "location"),
        selection_mode="points",
        config={"displaylogo": False, "scrollZoom": True},
    )
    if "per_10k" in metric:
        st.caption(t("map.population_note", lang))
with trend_column:
    st.subheader(t("trend.heading", lang))
    window = trend_window(filters.period)
    fetched = Period(window.start - timedelta(days=ROLLING_DAYS - 1), window.end)  # full 7-day means from day one
    titles = [t("trend.feedback_received", lang), t("trend.dossiers_received", lang), t("trend.traffic_vehicles", lang)]
    tabs = st.tabs(titles)
    areas = list(filters.areas) or None
    vehicles = cache.query(queries.traffic_daily, fetched, areas)
    trends = (  # chart key, the KPI a click opens the records of, the day frame, daily_trend's options
        ("trend_feedback", "feedback.received", cache.query(queries.feedback_daily, fetched, areas),
         {"stack_column": "category", "label_prefix": "category."}),
        ("trend_dossiers", "dossiers.received", cache.query(queries.dossier_daily, fetched, areas),
         {"stack_column": "channel", "label_prefix": "channel."}),
        ("trend_traffic", "traffic.vehicles", vehicles.assign(vehicles=vehicles["vehicles"] / 1000.0),
         {"value_column": "vehicles"}),
    )  # fmt: skip
    for tab, title, (key, metric, frame, options) in zip(tabs, titles, trends, strict=True):
        figure = daily_trend(frame, title=title, lang=lang, display_start=window.start, **options)
        with tab:
            st.plotly_chart(
                events_web.mark(figure, window.start, window.end, filters.areas),
                key=key,
                on_select=drill.on_chart(key, metric, options.get("stack_column"), day_field="x"),
                selection_mode="points",
            )

# Recent anomalies (written by `python -m dashboard forecast`; see pages/forecast.py).
st.subheader(t("forecast.overview.heading", lang))
scan_end = cache.query(forecast_queries.anomaly_scan_end)
if scan_end is None:
    st.caption(t("forecast.overview.not_run", lang))
else:
    recent = cache.query(forecast_queries.recent_anomalies, scan_end - timedelta(days=6), 8)
    st.caption(t("forecast.overview.caption", lang))
    if recent.empty:
        st.info(t("forecast.overview.none", lang), icon=":material/check_circle:")
    else:
        st.dataframe(anomaly_table(recent, lang), hide_index=True)
