"""Bản đồ — the ward map: a choice of layers (feedback density, on-time rate, dossiers, congestion), individual
feedback reports or their density on top, and a clicked ward's figures beside the whole city's."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import hotspots as hotspot_charts
from dashboard.charts import map_layers
from dashboard.db import map_queries, queries
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions, kpis
from dashboard.web import audit, cache, drill, records_view, url_state, widgets
from dashboard.web import hotspots as hotspots_web

COMPARED_WARDS = 3  # columns of the ward-vs-city table besides the city

lang = url_state.lang()
selection = url_state.current()
query = selection.query()
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("wardmap.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
st.caption(widgets.period_caption(selection))
url_state.chips(selection, {"area": area_names.get})

layer_column, points_column = st.columns([4, 1], vertical_alignment="bottom")
with layer_column:
    layer_key = url_state.page_choice(
        "layer",
        {layer.key: t(f"wardmap.choice.{layer.key}", lang) for layer in map_layers.WARD_LAYERS},
        t("wardmap.layer", lang),
        default=map_layers.WARD_LAYERS[0].key,
        key="map_layer",
    )
with points_column:
    show_points = st.toggle(t("wardmap.points", lang), key="map_points", help=t("wardmap.points_help", lang))
layer = map_layers.WARD_LAYER_BY_KEY[layer_key]
show_hotspots = hotspots_web.only_in_hotspots(lang, "map_hotspot")  # `hotspot=1`: the repeat locations layer

area_table = cache.query(kpis.compute_area_kpis, selection.period)
geometry = cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS)
feedback_layer = None
if map_layers.has_polygons(geometry):
    figure = map_layers.ward_layer_map(geometry, area_table, layer, lang, selected=selection.areas)
    if show_points:
        feedback_layer = audit.for_viewer(cache.query(map_queries.feedback_layer, query, map_queries.POINT_THRESHOLD))
        map_layers.add_feedback_layer(figure, feedback_layer, lang)
    if show_hotspots:
        hotspot_charts.add_hotspot_layer(figure, hotspots_web.table_for(selection)[0], lang)
    st.plotly_chart(
        figure,
        key="ward_map",
        on_select=drill.on_chart("ward_map", drill.map_kpi(layer.column), "area", "location", filters_page=True),
        selection_mode="points",
        config={"displaylogo": False, "scrollZoom": True},
    )
else:
    st.info(t("wardmap.no_polygons", lang), icon=":material/map:")
records_view.open_chosen(selection)  # the records of the layer's figure for a clicked ward (or table row)
notes = [
    t(
        f"wardmap.about.{layer.key}",
        lang,
        target=format_number(definitions.KPI_BY_KEY["feedback.resolved_on_time_pct"].target, lang),
    )
]
if "per_10k" in layer.key:
    notes.append(t("map.population_note", lang))
if feedback_layer is not None:
    notes.append(map_layers.feedback_layer_note(feedback_layer, lang))
notes.append(t("drill.hint", lang))
st.caption(" ".join(notes))

if show_hotspots:
    hotspots_web.section(selection, lang, "map_hotspots", area_names, with_map=False)

compare_column, ranking_column = st.columns([3, 2])
with compare_column:
    st.subheader(t("wardmap.compare.heading", lang))
    if selection.areas:
        shown = selection.areas[:COMPARED_WARDS]
        places = {
            area_names.get(code, code): cache.query(kpis.compute_kpis, selection.period, [code]) for code in shown
        }
        places[t("wardmap.city", lang)] = cache.query(kpis.compute_kpis, selection.period, None)
        comparison = map_layers.comparison_table(places, lang)
        st.dataframe(comparison, hide_index=True, height=35 * (len(comparison) + 1) + 3)
        if len(selection.areas) > COMPARED_WARDS:
            st.caption(t("wardmap.compare.more", lang, count=len(selection.areas), shown=COMPARED_WARDS))
        widgets.download_buttons(comparison, "ward_vs_city", lang)
    else:
        st.info(t("wardmap.click_hint", lang), icon=":material/touch_app:")
with ranking_column:
    st.subheader(t("wardmap.ranking.heading", lang))
    ranking = map_layers.ward_ranking(area_table, layer, lang)
    drill.table(ranking, "ward_ranking_table", drill.map_kpi(layer.column), "area", ranking.iloc[:, 0], height=420)
    widgets.download_buttons(ranking, f"wards_{layer.key}", lang)
