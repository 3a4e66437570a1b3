"""Giao thông — traffic: vehicles and congestion per sensor on a map, hour × weekday pattern, today against a
typical day, the most congested segments and sensors that went silent. Click a sensor or a bar to filter."""

from __future__ import annotations

import streamlit as st

from dashboard import periods
from dashboard.charts import traffic as charts
from dashboard.db import queries
from dashboard.db import traffic_queries as tq
from dashboard.i18n import format_date, format_datetime, format_number, t
from dashboard.metrics import kpis
from dashboard.safe_text import markdown_text
from dashboard.web import cache, drill, records_view, url_state, widgets

lang = url_state.lang()
sensor_table = cache.query(tq.sensor_list)
sensor_names = dict(zip(sensor_table["id"], sensor_table["name"], strict=True))
url_state.dimension_filter("sensor", sensor_names, t("traffic.filter.sensor", lang))
url_state.dimension_filter(
    "road", {road: road for road in sorted(set(sensor_table["road"]))}, t("traffic.filter.road", lang)
)
selection = url_state.current()
query = selection.query()
dimensions = dict(query.dimensions)
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
now = periods.local_now().replace(second=0, microsecond=0)  # to the minute, so the cache is reused

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("traffic.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
st.caption(f"{widgets.period_caption(selection)} · {widgets.freshness_line('traffic_observations', lang)}")
url_state.chips(selection, {"area": area_names.get, "sensor": lambda s: sensor_names.get(s, s)})

# ---------------------------------------------------------------- KPI tiles
current = {"traffic": cache.query(kpis.section_kpis, "traffic", selection.period, selection.areas, dimensions)}
previous = {
    "traffic": cache.query(kpis.section_kpis, "traffic", selection.compared_period, selection.areas, dimensions)
}
last_seen = cache.query(tq.sensor_last_seen, query, now)
silent = tq.flag_silent(last_seen, now)
tile_columns = st.columns(4)
for column, definition in zip(tile_columns, [d for d in kpis.KPI_DEFINITIONS if d.section == "traffic"], strict=False):
    with column:
        widgets.kpi_tile(definition, current, previous, selection.comparison, lang)
        records_view.button(definition.key, lang)
with tile_columns[2]:
    st.metric(
        t("traffic.silent.kpi", lang),
        f"{len(silent)} / {len(last_seen)}",
        border=True,
        help=t(
            "traffic.silent.help",
            lang,
            minutes=tq.SILENCE_MINUTES,
            time=format_datetime(now, lang),
            total=len(last_seen),
        ),
    )
records_view.open_chosen(selection)  # the records behind a tile, sensor, bar or row that was clicked
if not current["traffic"]["vehicles"]:
    st.info(t("traffic.no_data", lang), icon=":material/info:")
st.caption(t("traffic.click_hint", lang) + " " + t("drill.hint", lang))

# ---------------------------------------------------------------- map and ranking
map_column, ranking_column = st.columns([6, 5])
with map_column:
    st.subheader(t("traffic.map.heading", lang))
    on_map = cache.query(tq.congestion_ranking, query.without("sensor"), "sensor")
    st.plotly_chart(
        charts.sensor_map(
            on_map,
            cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS),
            lang,
            selected=selection.dimensions.get("sensor", ()),
        ),
        key="traffic_map",
        on_select=drill.on_chart("traffic_map", "traffic.congestion_index_peak", "sensor", filters_page=True),
        selection_mode="points",
        config={"displaylogo": False, "scrollZoom": True},
    )
    st.caption(t("traffic.map.caption", lang, target=format_number(charts.PEAK_KPI.target, lang)))
    unplaced = sensor_table[sensor_table["lat"].isna() | sensor_table["lon"].isna()]  # registered from a counts file
    if len(unplaced):
        names = ", ".join(markdown_text(name) for name in unplaced["name"].head(12)) + (
            "…" if len(unplaced) > 12 else ""
        )
        st.caption(t("traffic.sensors.no_location", lang, count=format_number(len(unplaced), lang), names=names))
with ranking_column:
    st.subheader(t("traffic.ranking.heading", lang))
    group = url_state.page_choice(
        "rank",
        {g: t(f"traffic.ranking.group.{g}", lang) for g in tq.RANKING_GROUPS},
        t("traffic.ranking.group", lang),
        default="sensor",
        key="traffic_rank_group",
    )
    measure = url_state.page_choice(
        "rank_by",
        {m: t(f"traffic.ranking.measure.{m}", lang) for m in ("congestion_index_peak", "congestion_index_mean")},
        t("traffic.ranking.measure", lang),
        default="congestion_index_peak",
        key="traffic_rank_measure",
    )
    ranking = cache.query(tq.congestion_ranking, query, group)
    st.plotly_chart(
        charts.congestion_ranking_chart(ranking, group, measure, lang),
        key="traffic_ranking",
        on_select=drill.on_chart("traffic_ranking", "traffic.congestion_index_peak", group, filters_page=True),
        selection_mode="points",
    )
    st.caption(t("traffic.ranking.caption", lang))
with st.expander(t("traffic.ranking.heading", lang) + " — " + t(f"traffic.ranking.group.{group}", lang).lower()):
    ranking_table = charts.ranking_table(ranking, group, measure, lang)
    ranked = ranking.sort_values(measure, ascending=False, na_position="last")  # the table's order
    drill.table(ranking_table, "traffic_ranking_table", "traffic.congestion_index_peak", group, ranked["key"])
    widgets.download_buttons(ranking_table, f"traffic_ranking_{group}", lang)

# ---------------------------------------------------------------- patterns
heat_column, profile_column = st.columns(2)
with heat_column:
    st.subheader(t("traffic.heatmap.heading", lang))
    heat = url_state.page_choice(
        "heat",
        {m: t(f"traffic.heatmap.{m}", lang) for m in ("vehicles", "congestion")},
        t("traffic.heatmap.measure", lang),
        default="vehicles",
        key="traffic_heat_measure",
    )
    st.plotly_chart(charts.hour_weekday_heatmap(cache.query(tq.hour_weekday, query), heat, lang), key="traffic_heatmap")
    st.caption(t(f"traffic.heatmap.caption.{heat}", lang))
with profile_column:
    newest = (
        cache.query(queries.table_coverage, ttl=cache.STATUS_TTL_SECONDS)
        .set_index("table")["last_at"]
        .get("traffic_observations")
    )
    day, until = tq.profile_day(selection.period, now, newest)
    is_today = day == now.date()
    st.subheader(
        t("traffic.profile.heading", lang)
        if is_today
        else t("traffic.profile.heading_day", lang, date=format_date(day))
    )
    profile = cache.query(tq.profile_comparison, query, day, until)
    label = (
        t("traffic.profile.today_series", lang)
        if is_today
        else t("traffic.profile.day_series", lang, date=format_date(day))
    )
    st.plotly_chart(charts.profile_chart(profile, label, tq.PROFILE_WEEKS, lang), key="traffic_profile")
    weeks = tq.previous_same_weekdays(day)
    caption = t(
        "traffic.profile.caption",
        lang,
        weekday=t(f"traffic.weekday.{day.isoweekday()}", lang),
        date=format_date(day),
        weeks=tq.PROFILE_WEEKS,
        first=format_date(weeks[-1]),
        last=format_date(weeks[0]),
    )
    st.caption(caption + (" " + t("traffic.profile.running_hour", lang) if until is not None else ""))

# ---------------------------------------------------------------- silent sensors
st.subheader(t("traffic.silent.heading", lang))
if silent.empty:
    st.success(
        t(
            "traffic.silent.none",
            lang,
            total=len(last_seen),
            minutes=tq.SILENCE_MINUTES,
            time=format_datetime(now, lang),
        ),
        icon=":material/sensors:",
    )
else:
    st.caption(t("traffic.silent.caption", lang, minutes=tq.SILENCE_MINUTES, time=format_datetime(now, lang)))
    silent_table = charts.silent_table(silent, lang)
    st.dataframe(silent_table, hide_index=True)
    widgets.download_buttons(silent_table, "traffic_silent_sensors", lang)
