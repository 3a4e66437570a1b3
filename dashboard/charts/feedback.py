"""Charts of the citizen-feedback page: pure functions from query results to Plotly figures."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import format_number, t
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_texts

AGE_COLOURS = ("#9ecae1", "#4292c6", "#e6550d", "#a50f15")  # fresher → older


def _layout(figure: go.Figure, title: str, lang: str, height: int = theme.CHART_HEIGHT, **extra) -> go.Figure:
    figure.update_layout(
        title=dict(text=title, x=0, font=dict(size=16)), height=height, separators=separators(lang), **extra
    )
    return figure


def volume(frame: pd.DataFrame, grain: str, lang: str) -> go.Figure:
    """Reports received per bucket stacked by category; each bar carries its category code for click-to-filter."""
    figure = go.Figure()
    if not frame.empty:
        wide = frame.pivot_table(index="bucket", columns="category", values="received", aggfunc="sum", fill_value=0)
        for category in wide.sum().sort_values(ascending=False).index:
            figure.add_trace(
                go.Bar(
                    x=wide.index,
                    y=wide[category],
                    name=t(f"category.{category}", lang),
                    customdata=[category] * len(wide),
                    hovertemplate="%{x|%d/%m/%Y}<br>%{fullData.name}: %{y:,}<extra></extra>",
                )
            )
    tick = {"day": "%d/%m", "week": "%d/%m/%Y", "month": "%m/%Y"}[grain]
    return _layout(
        figure,
        t(f"feedback.volume_title.{grain}", lang),
        lang,
        height=theme.TREND_HEIGHT,
        barmode="stack",
        xaxis=dict(tickformat=tick),
        yaxis=dict(title=t("trend.count", lang)),
        legend=dict(orientation="h", yanchor="top", y=-0.12, x=0),
        margin=dict(t=40, b=10, l=10, r=10),
    )


AGENCIES_SHOWN = 15


def agency_ranking(frame: pd.DataFrame, target: float, lang: str, limit: int = AGENCIES_SHOWN) -> go.Figure:
    """The `limit` agencies that resolved most reports, ranked by on-time rate, with the target as a vertical line."""
    rows = frame.dropna(subset=["resolved_on_time_pct"]).nlargest(limit, "resolved").sort_values("resolved_on_time_pct")
    colours = [
        theme.status_colour("on_target" if v >= target else ("near_target" if v >= 0.9 * target else "off_target"))
        for v in rows["resolved_on_time_pct"]
    ]
    agencies = chart_texts(
        rows["agency"]
    )  # data text: shown as text, never as Plotly's HTML (a click's y is unescaped)
    figure = go.Figure(
        go.Bar(
            x=rows["resolved_on_time_pct"],
            y=agencies,
            orientation="h",
            marker_color=colours,
            customdata=list(zip(agencies, rows["resolved"], rows["reopened_pct"], strict=True)),
            hovertemplate="<b>%{customdata[0]}</b><br>"
            + t("feedback.on_time", lang)
            + ": %{x:.1f} %<br>"
            + t("feedback.resolved_count", lang)
            + ": %{customdata[1]:,}<br>"
            + t("kpi.feedback.reopened_pct", lang)
            + ": %{customdata[2]:.1f} %<extra></extra>",
        )
    )
    figure.add_vline(
        x=target,
        line=dict(color=theme.TEXT, dash="dash", width=1.5),
        annotation_text=t("feedback.target_line", lang, target=f"{target:.0f}"),
        annotation_position="top",
    )
    height = max(theme.CHART_HEIGHT, 34 * len(rows) + 90)
    return _layout(
        figure,
        t("feedback.agency_title", lang, count=limit),
        lang,
        height=height,
        xaxis=dict(range=[max(0, min([*rows["resolved_on_time_pct"], target]) - 5), 101], ticksuffix=" %", dtick=10),
        yaxis=dict(automargin=True),
        margin=dict(t=60, b=10, l=10, r=10),
    )


def resolution_times(frame: pd.DataFrame, lang: str) -> go.Figure:
    """Median and 90th-percentile resolution time per category (hours)."""
    rows = frame.sort_values("median_resolution_hours")
    labels = [t(f"category.{c}", lang) for c in rows["category"]]
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=rows["median_resolution_hours"],
                orientation="h",
                name=t("feedback.median", lang),
                marker_color=theme.SERIES_COLOURS[0],
                customdata=rows["category"],
            ),
            go.Bar(
                y=labels,
                x=rows["p90_resolution_hours"],
                orientation="h",
                name=t("feedback.p90", lang),
                marker_color=theme.SERIES_COLOURS[5],
                customdata=rows["category"],
            ),
        ]
    )
    return _layout(
        figure,
        t("feedback.resolution_title", lang) + f" ({t('unit.hours', lang)})",
        lang,
        barmode="group",
        yaxis=dict(automargin=True),
        legend=dict(orientation="h", yanchor="top", y=-0.15, x=0),
        margin=dict(t=40, b=10, l=10, r=10),
    )


def backlog_ageing(frame: pd.DataFrame, lang: str) -> go.Figure:
    labels = [t(f"feedback.age.{bucket}", lang) for bucket in frame["age_bucket"]]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=frame["open_reports"],
            marker_color=list(AGE_COLOURS),
            text=frame["open_reports"],
            textposition="outside",
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        )
    )
    return _layout(figure, t("feedback.ageing_title", lang), lang, yaxis=dict(title=t("trend.count", lang)))


def satisfaction(frame: pd.DataFrame, lang: str) -> go.Figure:
    total = frame["reports"].sum()
    shares = (100 * frame["reports"] / total).round(1) if total else frame["reports"] * 0
    colours = ["#c53030", "#dd6b20", "#b7791f", "#38a169", "#1a7f37"]
    figure = go.Figure(
        go.Bar(
            x=[f"{r} ★" for r in frame["rating"]],
            y=frame["reports"],
            marker_color=colours,
            text=[format_number(s, lang, 1) + " %" for s in shares],
            textposition="outside",
            hovertemplate="%{x}: %{y:,}<extra></extra>",
        )
    )
    return _layout(figure, t("feedback.satisfaction_title", lang), lang, yaxis=dict(title=t("trend.count", lang)))
