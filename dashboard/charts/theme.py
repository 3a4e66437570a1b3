"""Colours, fonts and the Plotly template: the one place for how things look."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

FONT_FAMILY = "Noto Sans, DejaVu Sans, Arial, sans-serif"

PRIMARY = "#0B5E73"        # deep teal, also primaryColor in .streamlit/config.toml
TEXT = "#1f2a33"
MUTED = "#5f6b76"
GRID = "#e3e8ec"
BACKGROUND = "#ffffff"

STATUS_COLOURS = {
    "on_target": "#1a7f37",    # green
    "near_target": "#b7791f",  # amber
    "off_target": "#c53030",   # red
    None: MUTED,
}

# Qualitative palette (colour-blind friendly, Okabe–Ito order) for categories and series.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#7f7f7f", "#8C564B")

# Sequential scale for choropleths (light → dark teal); reversed for "lower is better" metrics.
SEQUENTIAL_SCALE = ["#f0f9f8", "#bfe3df", "#7cc4bd", "#3a9c97", "#0b6e78", "#08434a"]

MAP_HEIGHT = 520
CHART_HEIGHT = 360
TREND_HEIGHT = 560  # leaves room for a legend of up to ten series under the plot

TEMPLATE_NAME = "ioc"


def register_template() -> None:
    """Register and select the project's Plotly template (idempotent)."""
    template = go.layout.Template()
    template.layout = go.Layout(
        font=dict(family=FONT_FAMILY, size=14, color=TEXT),
        paper_bgcolor=BACKGROUND,
        plot_bgcolor=BACKGROUND,
        colorway=list(SERIES_COLOURS),
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(gridcolor=GRID, zeroline=False, showline=False),
        yaxis=dict(gridcolor=GRID, zeroline=False, showline=False),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        hoverlabel=dict(font_family=FONT_FAMILY),
    )
    pio.templates[TEMPLATE_NAME] = template
    pio.templates.default = "plotly_white+" + TEMPLATE_NAME


def status_colour(status: str | None) -> str:
    return STATUS_COLOURS.get(status, MUTED)
