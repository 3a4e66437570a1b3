"""The scorecard's chart (page "Xếp hạng"): ranked units by the share of their measured points, from a frame."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import format_number, t
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_texts, shorten

ROW_HEIGHT = 26
MIN_HEIGHT = 220
LABEL_CHARACTERS = 40


def _colour(cityscore: float | None) -> str:
    """CityScore status: ≥ 1 on target, ≥ 0.9 near, below off target (as the KPI tiles)."""
    if cityscore is None or cityscore != cityscore:
        return theme.status_colour(None)
    return theme.status_colour("on_target" if cityscore >= 1 else "near_target" if cityscore >= 0.9 else "off_target")


def points_chart(frame: pd.DataFrame, lang: str) -> go.Figure:
    """Horizontal bars of `score_pct` (points ÷ measured maximum, %) in rank order, labelled "rank · unit", the bar
    text "points / max"; colour = CityScore status. `frame`: the ranked rows (rank, unit_name, points, max_points,
    score_pct, cityscore, cases, change)."""
    figure = go.Figure()
    if not frame.empty:
        names = [shorten(name, LABEL_CHARACTERS) for name in chart_texts(frame["unit_name"].astype(str))]
        labels = [f"{rank} · {name}" for rank, name in zip(frame["rank"], names, strict=True)]
        figure.add_trace(
            go.Bar(
                x=frame["score_pct"],
                y=list(range(len(frame))),
                orientation="h",
                marker=dict(color=[_colour(v) for v in frame["cityscore"]]),
                text=[
                    f"{format_number(p, lang, 2)} / {format_number(m, lang, 0)}"
                    for p, m in zip(frame["points"], frame["max_points"], strict=True)
                ],
                textposition="outside",
                cliponaxis=False,
                textfont=dict(color=theme.TEXT, size=12),
                customdata=[
                    [label, format_number(c, lang, 2), format_number(n, lang, 0)]
                    for label, c, n in zip(labels, frame["cityscore"], frame["cases"], strict=True)
                ],
                hovertemplate="<b>%{customdata[0]}</b><br>"
                + t("ranking.col.score_pct", lang)
                + ": %{x:.2f} %<br>"
                + t("ranking.col.cityscore", lang)
                + ": %{customdata[1]}<br>"
                + t("ranking.col.cases", lang)
                + ": %{customdata[2]}<extra></extra>",
            )
        )
        figure.update_yaxes(
            autorange="reversed",
            automargin=True,
            tickmode="array",
            tickvals=list(range(len(frame))),
            ticktext=labels,
        )
    figure.update_layout(
        title=dict(
            text=t("ranking.chart.title", lang),
            x=0,
            font=dict(size=16),
            subtitle=dict(text=t("ranking.chart.subtitle", lang), font=dict(size=13, color=theme.MUTED)),
        ),
        height=max(MIN_HEIGHT, ROW_HEIGHT * len(frame) + 120),
        separators=separators(lang),
        showlegend=False,
        margin=dict(l=10, r=20, t=70, b=10),
        xaxis=dict(range=[0, 118], tickvals=[0, 20, 40, 60, 80, 100], ticksuffix=" %", title=t("ranking.axis", lang)),
    )
    return figure
