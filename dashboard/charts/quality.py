"""Chart of the data-quality page: the share of filled values per column, least complete at the top."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import format_number, t
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_text

ROW_HEIGHT = 24
COMPLETE_PCT = 99.0  # at or above: green; at or above NEAR_PCT: amber; below: red
NEAR_PCT = 90.0


def band(filled_pct: float | None) -> str | None:
    """The status colour band of a completeness share (None when no row needs the column)."""
    if filled_pct is None or pd.isna(filled_pct):
        return None
    if filled_pct >= COMPLETE_PCT:
        return "on_target"
    return "near_target" if filled_pct >= NEAR_PCT else "off_target"


def completeness_bars(gaps: pd.DataFrame, lang: str) -> go.Figure:
    """Horizontal bars of filled % per table, source and column (rows from quality.completeness_gaps)."""
    frame = gaps[gaps["expected"] > 0].sort_values(["filled_pct", "table", "column"], ascending=[False, True, True])
    labels = [
        f"{t(f'quality.table.{row.table}', lang)}"
        + (f" ({chart_text(row.source)})" if isinstance(row.source, str) else "")  # a source name is data text
        + f" · {t(f'quality.column.{row.column}', lang)}"
        for row in frame.itertuples()
    ]
    values = frame["filled_pct"].astype(float)
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=[theme.status_colour(band(v)) for v in values],
            text=[format_number(v, lang, 1) + " %" for v in values],
            textposition=["outside" if v < 15 else "inside" for v in values],  # a 0 % bar still shows its label
            customdata=list(zip(frame["filled"], frame["expected"], strict=True)),
            hovertemplate="%{y}<br>%{text} (%{customdata[0]:,} / %{customdata[1]:,})<extra></extra>",
        )
    )
    figure.update_layout(
        title=dict(text=t("quality.complete.chart", lang), x=0, font=dict(size=16)),
        height=max(220, 80 + ROW_HEIGHT * len(frame)),
        separators=separators(lang),
        margin=dict(l=10, r=20, t=50, b=10),
        xaxis=dict(range=[0, 100], ticksuffix=" %"),
        showlegend=False,
    )
    return figure
