"""Thủ tục hành chính — dossiers: received, completed, on time and late; channel mix; lead time per
procedure; agency ranking; open dossiers past due; top procedures. Click a bar to filter the page."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import dossiers as charts
from dashboard.db import dossier_queries as dq
from dashboard.db import queries
from dashboard.i18n import format_datetime, t
from dashboard.metrics import kpis
from dashboard.periods import local_now
from dashboard.web import cache, drill, records_view, url_state, widgets
from dashboard.web import events as events_web


def column_config(table) -> dict:
    """Dates as dd/mm/yyyy hh:mm (as on the other pages); numbers in the reader's browser locale (1.234,5 in Vietnamese)."""
    config = {}
    for column in table.columns:
        if str(table[column].dtype).startswith("datetime"):
            config[column] = st.column_config.DatetimeColumn(format="DD/MM/YYYY HH:mm")
        elif table[column].dtype.kind == "f":
            config[column] = st.column_config.NumberColumn(format="localized")
    return config


lang = url_state.lang()
options = cache.query(dq.filter_options)
labels = charts.option_labels(options, lang)
for name in dq.PAGE_DIMENSIONS:
    url_state.dimension_filter(name, labels[name], t(f"procedures.filter.{name}", lang))
selection = url_state.current()
query = selection.query()
dimensions = dict(query.dimensions)
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
now = local_now()
as_of = dq.as_of_instant(selection.period, now)

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("procedures.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
st.caption(f"{widgets.period_caption(selection)} · {widgets.freshness_line('dossiers', lang)}")
url_state.chips(selection, {"area": area_names.get, **{name: labels[name].get for name in dq.PAGE_DIMENSIONS}})


def kpi_values(period, moment) -> dict:
    values = cache.query(kpis.section_kpis, "dossiers", period, selection.areas, dimensions)
    return {"dossiers": {**values, **cache.query(dq.extra_counts, query.with_period(period), moment)}}


current = kpi_values(selection.period, as_of)
previous = kpi_values(selection.compared_period, dq.as_of_instant(selection.compared_period, now))
widgets.kpi_grid(
    dq.page_kpis(), current, previous, selection.comparison, lang, after_tile=records_view.tile_button(lang)
)
records_view.open_chosen(selection)  # the records behind a tile, bar or row that was clicked
st.caption(t("procedures.click_hint", lang) + " " + t("drill.hint", lang))

if current["dossiers"]["received"] == 0 and current["dossiers"]["completed"] == 0:
    st.info(t("procedures.no_data", lang), icon=":material/inbox:")

share_column, sector_column = st.columns([3, 2])
with share_column:
    grain = dq.channel_grain(selection.period)
    st.plotly_chart(
        events_web.mark(
            charts.channel_share(
                cache.query(dq.channel_mix, query, grain), grain, lang, (selection.period.start, selection.period.end)
            ),
            selection.period.start,
            selection.period.end,
            selection.areas,
            daily=grain == "day",
        ),
        key="procedures_channels",
        on_select=drill.on_chart(
            "procedures_channels", "dossiers.received", "channel", "customdata[2]", day_field="x", grain=grain
        ),
        selection_mode="points",
    )
    if grain == "week":
        st.caption(t("procedures.channel_note", lang))
with sector_column:
    sectors = cache.query(dq.sector_stats, query.without("sector"))
    st.plotly_chart(
        charts.sector_volume(sectors, lang, query.values("sector")),
        key="procedures_sectors",
        on_select=drill.on_chart("procedures_sectors", "dossiers.received", "sector", "y", filters_page=True),
        selection_mode="points",
    )

procedures = cache.query(dq.procedure_stats, query.without("procedure"))
procedure_column, agency_column = st.columns(2)
with procedure_column:
    lead_times = cache.query(dq.lead_time_quantiles, query.without("procedure"))
    st.plotly_chart(
        charts.lead_time_ranges(lead_times, lang, query.values("procedure")),
        key="procedures_lead_times",
        on_select=drill.on_chart(
            "procedures_lead_times", "dossiers.median_lead_time_days", "procedure", "y", filters_page=True
        ),
        selection_mode="points",
    )
    st.caption(t("procedures.lead_note", lang))
    st.plotly_chart(
        charts.top_procedures(dq.top_procedures(procedures, "received"), "received", lang, query.values("procedure")),
        key="procedures_top_volume",
        selection_mode="points",
        on_select=drill.on_chart("procedures_top_volume", "dossiers.received", "procedure", "y", filters_page=True),
    )
    late = dq.top_procedures(procedures, "late")
    st.plotly_chart(
        charts.top_procedures(late, "late", lang, query.values("procedure")),
        key="procedures_top_late",
        selection_mode="points",
        on_select=drill.on_chart("procedures_top_late", "dossiers.late", "procedure", "y", filters_page=True),
    )
    if late.empty:
        st.caption(t("procedures.none_late", lang))
with agency_column:
    agencies = cache.query(dq.agency_ranking, query.without("agency"))
    st.plotly_chart(
        charts.agency_ranking(agencies, lang, query.values("agency")),
        key="procedures_agencies",
        on_select=drill.on_chart(
            "procedures_agencies", "dossiers.completed_on_time_pct", "agency", "y", filters_page=True
        ),
        selection_mode="points",
    )
    with st.expander(t("procedures.table", lang)):
        agency_table = charts.display_table(agencies, charts.AGENCY_COLUMNS, lang)
        drill.table(
            agency_table,
            "procedures_agency_table",
            "dossiers.completed_on_time_pct",
            "agency",
            agencies["agency"],
            column_config=column_config(agency_table),
        )
        widgets.download_buttons(agency_table, "procedures_agencies", lang)
with st.expander(t("procedures.procedure_table_title", lang)):
    procedure_table = charts.display_table(procedures, charts.PROCEDURE_COLUMNS, lang)
    drill.table(
        procedure_table,
        "procedures_procedure_table",
        "dossiers.received",
        "procedure",
        procedures["procedure_code"],
        column_config=column_config(procedure_table),
    )
    widgets.download_buttons(procedure_table, "procedures_by_procedure", lang)

st.subheader(t("procedures.past_due_title", lang, as_of=format_datetime(as_of, lang)))
past_due = cache.query(dq.past_due, query, as_of)
total = current["dossiers"]["past_due_open"]
if past_due.empty:
    st.success(t("procedures.none_past_due", lang), icon=":material/task_alt:")
else:
    st.caption(t("procedures.past_due_note", lang, shown=len(past_due), total=total))
    past_due_table = charts.display_table(past_due, charts.PAST_DUE_COLUMNS, lang)
    st.dataframe(past_due_table, hide_index=True, column_config=column_config(past_due_table))
    widgets.download_buttons(past_due_table, "procedures_past_due", lang)
