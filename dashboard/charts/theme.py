"""Colours, fonts and the Plotly template: the one place for how things look."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

FONT_FAMILY = "Noto Sans, DejaVu Sans, Arial, sans-serif"

PRIMARY = "#0B5E73"  # deep teal, also primaryColor in .streamlit/config.toml
TEXT = "#1f2a33"
MUTED = "#5f6b76"
GRID = "#e3e8ec"
BACKGROUND = "#ffffff"

STATUS_COLOURS = {
    "on_target": "#1a7f37",  # green
    "near_target": "#b7791f",  # amber
    "off_target": "#c53030",  # red
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


# ---------------------------------------------------------------- wall screen (/wall): dark, high contrast
# Read from across the operations room: light text on a near-black blue; status colours brighter than
# the analyst ones so they hold on a dark background. Sizes are in "wall units" (see wall/render.py).
WALL_BACKGROUND = "#0a1120"
WALL_SURFACE = "#141e33"  # panels and tiles
WALL_BORDER = "#2a3a57"
WALL_TEXT = "#f4f7fb"
WALL_MUTED = "#b4c0d3"  # secondary text; contrast ≥ 9:1 on WALL_BACKGROUND
WALL_ACCENT = "#4cc9f0"
WALL_GOOD = "#4ade80"
WALL_WARN = "#fbbf24"
WALL_BAD = "#f87171"
WALL_NEUTRAL = "#93a4bf"
WALL_TONE_COLOURS = {
    "better": WALL_GOOD,
    "worse": WALL_BAD,
    "same": WALL_MUTED,
    "neutral": WALL_MUTED,
    "unknown": WALL_MUTED,
}
WALL_LEVEL_COLOURS = {"critical": WALL_BAD, "warning": WALL_WARN, "info": WALL_ACCENT}
WALL_MAP_LAND = "#1b2942"  # ward polygons
WALL_MAP_EDGE = "#4a5f82"  # ward borders
WALL_MAP_WATER = "#0a1120"  # everything outside the city (the map background)
# Feedback categories on the map (bright Okabe–Ito order, readable on WALL_MAP_LAND).
WALL_CATEGORY_COLOURS = (
    "#56B4E9",
    "#F0E442",
    "#E69F00",
    "#CC79A7",
    "#FFFFFF",
    "#009E73",
    "#D55E00",
    "#A6D854",
    "#8DA0CB",
)
# Sensor congestion bands: free flow, busy, congested, no data.
WALL_BAND_COLOURS = {"free": WALL_GOOD, "busy": WALL_WARN, "jam": WALL_BAD, "none": WALL_NEUTRAL}
WALL_FONT_FAMILY = "Noto Sans, DejaVu Sans, Arial, sans-serif"
# One wall unit is the body text size: at least 28 px, 1.6 % of the screen width (≈ 31 px at 1920×1080,
# 61 px at 3840×2160), never taller than 2.84 % of the height so a wide screen still fits.
WALL_UNIT_MIN_PX = 28
WALL_UNIT_VW = 1.6
WALL_UNIT_VH = 2.84


def wall_unit_px(width: int, height: int) -> float:
    """The wall unit in pixels for a screen of width × height CSS pixels (the CSS `--u` of the wall)."""
    return max(WALL_UNIT_MIN_PX, min(width * WALL_UNIT_VW / 100, height * WALL_UNIT_VH / 100))
