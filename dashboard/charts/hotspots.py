"""Hotspot (repeat location) figures: dots sized by their reports and coloured by category, on the offline ward map
(MapLibre "white-bg", no tiles). Frames in (dashboard.metrics.hotspots.hotspots), figures out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import map_layers, theme
from dashboard.domain import FEEDBACK_CATEGORIES
from dashboard.i18n import t
from dashboard.safe_text import chart_text

MOST_SHOWN = 500  # dots drawn at most (the largest hotspots); the caption says how many there are
HEIGHT = 480


def category_colour(category: str) -> str:
    index = FEEDBACK_CATEGORIES.index(category) if category in FEEDBACK_CATEGORIES else len(FEEDBACK_CATEGORIES) - 1
    return theme.SERIES_COLOURS[index % len(theme.SERIES_COLOURS)]


def add_hotspot_layer(figure: go.Figure, table: pd.DataFrame, lang: str, most: int = MOST_SHOWN) -> go.Figure:
    """One dot per hotspot (the largest `most`), size ∝ √reports, one legend entry per category. The dots carry no
    `location`, so a click on one never changes the ward filter."""
    shown = table.head(most)
    if shown.empty:
        return figure
    largest = max(float(shown["reports"].max()), 1.0)
    for category, rows in shown.groupby("category", sort=False):
        label = t(f"category.{category}", lang)
        text = [
            t(
                "hotspots.hover",
                lang,
                category=chart_text(label),
                reports=int(reports),
                reopened=int(reopened),
                first=f"{pd.Timestamp(first):%d/%m/%Y}",
                last=f"{pd.Timestamp(last):%d/%m/%Y}",
            )
            for reports, reopened, first, last in zip(
                rows["reports"], rows["reopened"], rows["first"], rows["last"], strict=True
            )
        ]
        figure.add_trace(
            go.Scattermap(
                lat=rows["lat"],
                lon=rows["lon"],
                mode="markers",
                name=label,
                legendgroup="hotspots",
                marker=dict(
                    size=8 + 22 * np.sqrt(rows["reports"].to_numpy(float) / largest),
                    color=category_colour(str(category)),
                    opacity=0.85,
                ),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_layout(
        showlegend=True,
        legend=dict(orientation="h", x=0.01, y=0.99, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.85)"),
    )
    return figure


def hotspot_map(geometry: pd.DataFrame, table: pd.DataFrame, lang: str, width_px: int = 700) -> go.Figure:
    """Ward outlines (no fill by value) with the hotspot dots, zoomed to the dots (or the city when there are none)."""
    figure = go.Figure()
    outlined = geometry[geometry["geometry_geojson"].notna()] if "geometry_geojson" in geometry else geometry.iloc[:0]
    add_hotspot_layer(figure, table, lang)
    shown = table.head(MOST_SHOWN)
    if len(shown):
        lats, lons = shown["lat"].tolist(), shown["lon"].tolist()
    elif len(outlined):
        lats = outlined["centroid_lat"].dropna().tolist() or [16.46]
        lons = outlined["centroid_lon"].dropna().tolist() or [107.59]
    else:
        lats, lons = [16.46], [107.59]
    view = map_layers.fit_view(lats, lons, width_px, HEIGHT, padding=0.1)
    layers = map_layers.ward_outline_layers(outlined) if len(outlined) else []
    figure.update_layout(
        map={**view, "style": "white-bg", "layers": layers}, height=HEIGHT, margin=dict(l=0, r=0, t=0, b=0)
    )
    return figure
