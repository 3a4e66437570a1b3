"""Chart builders: pure functions from DataFrames to Plotly figures (no Streamlit, no SQL)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import t
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_text

ROLLING_DAYS = 7


def daily_trend(
    daily: pd.DataFrame,
    *,
    title: str,
    lang: str = "vi",
    stack_column: str | None = None,
    value_column: str = "received",
    label_prefix: str = "",
    height: int = theme.TREND_HEIGHT,
    display_start=None,
) -> go.Figure:
    """Daily bars (stacked by `stack_column` when given) with the 7-day rolling mean of the total as a line.

    Pass rows from six days before `display_start` so the first points of the line are full 7-day means;
    only days from `display_start` on are drawn.
    """
    figure = go.Figure()
    if daily.empty:
        figure.update_layout(height=height, title=title)
        return figure
    frame = daily.copy()
    frame["day"] = pd.to_datetime(frame["day"])
    if stack_column:
        wide = frame.pivot_table(index="day", columns=stack_column, values=value_column, aggfunc="sum", fill_value=0)
        order = wide.sum().sort_values(ascending=False).index
        for key in order:
            figure.add_trace(
                go.Bar(
                    x=wide.index,
                    y=wide[key],
                    name=t(f"{label_prefix}{key}", lang) if label_prefix else chart_text(key),
                    customdata=[chart_text(key)] * len(wide),  # the stack's code, for a click's drill-down
                )
            )
        total = wide.sum(axis=1)
    else:
        total = frame.groupby("day")[value_column].sum()
        figure.add_trace(go.Bar(x=total.index, y=total.values, name=title, marker_color=theme.SERIES_COLOURS[0]))
    full_days = pd.date_range(total.index.min(), total.index.max(), freq="D")
    rolling = total.reindex(full_days, fill_value=0).rolling(ROLLING_DAYS, min_periods=1).mean().round(1)
    if display_start is not None:
        shown_from = pd.Timestamp(display_start)
        rolling = rolling[rolling.index >= shown_from]
        for trace in figure.data:
            keep = [i for i, x in enumerate(trace.x) if pd.Timestamp(x) >= shown_from]
            customdata = trace.customdata
            trace.x = [trace.x[i] for i in keep]
            trace.y = [trace.y[i] for i in keep]
            if customdata is not None:
                trace.customdata = [customdata[i] for i in keep]
    figure.add_trace(
        go.Scatter(
            x=rolling.index,
            y=rolling,
            name=t("trend.rolling", lang),
            mode="lines",
            line=dict(color=theme.TEXT, width=2.5),
        )
    )
    figure.update_layout(
        barmode="stack",
        height=height,
        bargap=0.1,
        title=dict(text=title, x=0, font=dict(size=16)),
        xaxis=dict(tickformat="%d/%m/%Y"),
        yaxis=dict(title=t("trend.count", lang)),
        separators=separators(lang),
        hovermode="closest",  # a click selects the bar under it (with "x unified" Streamlit misses clicks)
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=40, b=10),
    )
    return figure
