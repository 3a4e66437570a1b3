"""Xếp hạng — agencies or wards ranked by the Decision 766-style scorecard (data/scorecard.yaml), with points, CityScore
and change against the previous period; units below the minimum volume listed apart; what is not measured said so.
The same table as `python -m dashboard scorecard`."""

from __future__ import annotations

import streamlit as st

from dashboard.charts import ranking as ranking_chart
from dashboard.db import queries
from dashboard.i18n import format_date, format_number, t
from dashboard.metrics.scorecard import ScorecardRulesError
from dashboard.metrics.scorecard_table import compute_scorecard, load_rules
from dashboard.web import cache, drill, ranking, url_state, widgets

lang = url_state.lang()
selection = url_state.current()
area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("ranking.heading", lang))
with badge_column:
    widgets.demo_badge(lang)
url_state.chips(selection, {"area": area_names.get})
by = url_state.page_choice(
    "by", {u: t(f"ranking.by.{u}", lang) for u in ("agency", "area")}, t("ranking.by", lang), "agency", "ranking_by"
)

try:
    rules = load_rules()
except ScorecardRulesError as error:
    st.error(t("ranking.rules_error", lang, error=str(error)), icon=":material/error:")
    st.stop()
card = cache.query(compute_scorecard, selection.period, by, rules=rules)
rows = card.rows
if by == "area" and selection.areas:  # the chosen wards keep their city-wide ranks
    rows = [r for r in rows if r["unit"] in selection.areas]
measured = sum(r.max_points for r in rules.indicators)
st.caption(
    t(
        "ranking.caption",
        lang,
        start=format_date(card.period.start),
        end=format_date(card.period.end),
        pstart=format_date(card.previous.start),
        pend=format_date(card.previous.end),
        measured=format_number(measured, lang, 0),
        total=format_number(rules.total_points, lang, 0),
    )
)

ranked = [r for r in rows if r["rank"] is not None]
apart = [r for r in rows if r["rank"] is None]
if ranked:
    st.plotly_chart(ranking_chart.points_chart(ranking.chart_frame(ranked), lang), config={"displaylogo": False})
    table = ranking.display_table(ranked, by, lang)
    widgets.show_table(table)
    widgets.download_buttons(table, f"xep_hang_{by}", lang)
else:
    st.info(t("ranking.none", lang, min=format_number(card.min_cases, lang, 0)), icon=":material/leaderboard:")
if apart:
    st.subheader(t("ranking.apart_heading", lang, min=format_number(card.min_cases, lang, 0)))
    table = ranking.display_table(apart, by, lang)
    widgets.show_table(table)
    widgets.download_buttons(table, f"xep_hang_{by}_chua_xep", lang)

st.subheader(t("ranking.rules_heading", lang))
st.markdown("\n".join(f"- {line}" for line in ranking.rules_lines(rules, lang)))
st.caption(t("ranking.about", lang, min=format_number(card.min_cases, lang, 0)))

# ---------------------------------------------------------------- Điểm bị trừ: the cases behind a unit's lost points
drill.points_lost(card, ranked + apart, lang)
