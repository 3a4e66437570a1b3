"""Map layers that work offline (MapLibre on "white-bg", no tiles): ward outlines under point layers,
the map page's ward choropleth layers, the feedback point/density layer and the ward-vs-city table.

Pure functions from DataFrames to figures/tables; no Streamlit, no SQL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from dashboard.boundaries import feature_collection
from dashboard.charts import maps, theme
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import format_value, separators

if TYPE_CHECKING:  # the shape of a query result; charts never run a query
    from dashboard.db.map_queries import FeedbackLayer

MAP_PAGE_HEIGHT = 640
CONGESTION_TARGET = definitions.KPI_BY_KEY["traffic.congestion_index_peak"].target or 50.0
# Green at free flow, amber at the target, red at twice the target and beyond (status colours of the theme).
CONGESTION_SCALE = [
    [0.0, theme.STATUS_COLOURS["on_target"]],
    [0.5, theme.STATUS_COLOURS["near_target"]],
    [1.0, theme.STATUS_COLOURS["off_target"]],
]
OUTLINE_FILL = "#f4f6f8"


def fit_view(
    lats: Sequence[float],
    lons: Sequence[float],
    width_px: int,
    height_px: int,
    padding: float = 0.2,
    max_zoom: float = 15.0,
) -> dict:
    """MapLibre centre and zoom that show every point with `padding` (a share of the span) around them."""
    lats = [v for v in lats if v is not None and not math.isnan(v)]
    lons = [v for v in lons if v is not None and not math.isnan(v)]
    if not lats:
        return dict(center=dict(lat=16.46, lon=107.59), zoom=11)
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    lat_span = max(north - south, 0.005) * (1 + 2 * padding)
    lon_span = max(east - west, 0.005) * (1 + 2 * padding)
    zoom_lon = math.log2(360.0 * width_px / (256.0 * lon_span))
    zoom_lat = math.log2(180.0 * height_px / (256.0 * lat_span * 1.05))
    return dict(
        center=dict(lat=(south + north) / 2, lon=(west + east) / 2), zoom=round(min(zoom_lon, zoom_lat, max_zoom), 2)
    )


def ward_outline_layers(areas: pd.DataFrame) -> list[dict]:
    """Ward polygons as non-interactive MapLibre layers (a light fill and white-on-grey borders).

    Layers are not traces, so clicks on them never reach a chart's selection (only the markers do).
    """
    collection = feature_collection(areas)
    return [
        dict(sourcetype="geojson", source=collection, type="fill", color=OUTLINE_FILL, below="traces"),
        dict(
            sourcetype="geojson",
            source=collection,
            type="line",
            color=theme.MUTED,
            opacity=0.45,
            line=dict(width=1),
            below="traces",
        ),
    ]


# ---------------------------------------------------------------- ward choropleth layers of the map page
@dataclass(frozen=True)
class WardLayer:
    key: str  # URL value and i18n key wardmap.layer.<key>
    column: str  # column of metrics.kpis.compute_area_kpis
    higher_is_better: bool | None
    decimals: int


WARD_LAYERS: tuple[WardLayer, ...] = (
    WardLayer("feedback_per_10k", "feedback.received_per_10k", None, 1),
    WardLayer("feedback_per_km2", "feedback.received_per_km2", None, 2),
    WardLayer("feedback_on_time", "feedback.resolved_on_time_pct", True, 1),
    WardLayer("dossiers_received", "dossiers.received", None, 0),
    WardLayer("dossiers_per_10k", "dossiers.received_per_10k", None, 1),
    WardLayer("congestion", "traffic.congestion_index_peak", False, 1),
)
WARD_LAYER_BY_KEY = {layer.key: layer for layer in WARD_LAYERS}


def has_polygons(geometry: pd.DataFrame) -> bool:
    """Whether any ward has a polygon to draw (a database without areas has none)."""
    return bool(len(geometry)) and geometry["geometry_geojson"].map(lambda g: isinstance(g, str) and bool(g)).any()


def ward_layer_map(
    geometry: pd.DataFrame,
    area_table: pd.DataFrame,
    layer: WardLayer,
    lang: str,
    selected: Sequence[str] = (),
    height: int = MAP_PAGE_HEIGHT,
    width_px: int = 900,
) -> go.Figure:
    """The ward choropleth of one layer (values from `metrics.kpis.compute_area_kpis` rows), zoomed to fill a map
    about `width_px` wide (the page's map is wider than the overview's) with the city or the selected wards."""
    values = area_table.set_index("code")[layer.column]
    # Darker always means a larger value (more reports, a higher on-time rate, more congestion): on a map
    # that reads more naturally than "darker is better", and the caption says what the layer measures.
    figure = maps.choropleth(
        geometry,
        values,
        title=t(f"wardmap.layer.{layer.key}", lang),
        value_format=f",.{layer.decimals}f",
        higher_is_better=None,
        no_data_label=t("map.no_data", lang),
        height=height,
        selected=list(selected),
    )
    # Zoomed to the selected wards (so their reports can be told apart), else to the whole city.
    focus = geometry[geometry["code"].isin(list(selected))] if selected else geometry
    west, south, east, north = _bounds(focus if len(focus) else geometry)
    figure.update_layout(
        separators=separators(lang),
        map=fit_view([south, north], [west, east], width_px, height, padding=0.15 if selected else 0.02),
    )
    return figure


def _bounds(geometry: pd.DataFrame) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the wards' polygons."""
    shapes = shapely.from_geojson([g for g in geometry["geometry_geojson"] if isinstance(g, str) and g])
    return tuple(float(v) for v in shapely.total_bounds(shapes))


def add_feedback_layer(figure: go.Figure, layer: FeedbackLayer, lang: str) -> go.Figure:
    """Draw individual reports (small dots) or, above the threshold, grid cells sized by their report count.

    The markers carry no `location` or `customdata`, so clicking one never changes the area filter.
    """
    frame = layer.frame
    if frame.empty:
        return figure
    if layer.kind == "points":
        text = [
            f"<b>{t(f'category.{c}', lang)}</b><br>{t(f'wardmap.status.{s}', lang)} · {pd.Timestamp(at):%H:%M %d/%m/%Y}"
            for c, s, at in zip(frame["category"], frame["status"], frame["received_at"], strict=True)
        ]
        figure.add_trace(
            go.Scattermap(
                lat=frame["lat"],
                lon=frame["lon"],
                mode="markers",
                name=t("wardmap.points_legend", lang),
                marker=dict(size=7, color=theme.SERIES_COLOURS[3], opacity=0.8),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    else:
        counts = frame["reports"].to_numpy(float)
        sizes = 3 + 13 * np.sqrt(counts / max(counts.max(), 1.0))
        text = [t("wardmap.hover.reports", lang) + ": " + format_number(c, lang) for c in counts]
        figure.add_trace(
            go.Scattermap(
                lat=frame["lat"],
                lon=frame["lon"],
                mode="markers",
                name=t("wardmap.density_legend", lang),
                marker=dict(size=sizes, color=theme.SERIES_COLOURS[3], opacity=0.5),
                text=text,
                hovertemplate="%{text}<extra></extra>",
            )
        )
    figure.update_layout(
        showlegend=True,
        legend=dict(orientation="h", x=0.01, y=0.99, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.85)"),
    )
    if layer.kind == "density":  # said on the map itself, not only in the caption
        figure.add_annotation(
            text=feedback_layer_note(layer, lang, short=True),
            xref="paper",
            yref="paper",
            x=0.01,
            y=0.01,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            align="left",
            bgcolor="rgba(255,255,255,0.9)",
            font=dict(size=13, color=theme.TEXT),
        )
    return figure


def feedback_layer_note(layer: FeedbackLayer, lang: str, short: bool = False) -> str:
    """What the point layer shows, in words: the points themselves, or a density and why."""
    if layer.kind == "points":
        return t("wardmap.points_shown", lang, count=format_number(layer.total, lang))
    key = "wardmap.density_badge" if short else "wardmap.density_shown"
    return t(key, lang, count=format_number(layer.total, lang), threshold=format_number(layer.threshold, lang))


# ---------------------------------------------------------------- a ward beside the city
COMPARED_KPIS = definitions.KPI_DEFINITIONS


def comparison_table(columns: Mapping[str, Mapping], lang: str) -> pd.DataFrame:
    """KPIs side by side: one row per KPI, one column per place (e.g. wards then the city).

    `columns` maps a column heading to a `metrics.kpis.compute_kpis` result.
    """
    rows = []
    for definition in COMPARED_KPIS:
        row = {t("wardmap.compare.indicator", lang): t(f"kpi.{definition.key}", lang)}
        for heading, figures in columns.items():
            row[heading] = format_value(definition, figures[definition.section][definition.name], lang, "table")
        rows.append(row)
    return pd.DataFrame(rows)


def ward_ranking(area_table: pd.DataFrame, layer: WardLayer, lang: str) -> pd.DataFrame:
    """Wards that have a value for the layer, worst (or largest) first: columns code, name, value."""
    frame = area_table[["code", "name", layer.column]].rename(columns={layer.column: "value"}).dropna(subset=["value"])
    ascending = layer.higher_is_better is True
    frame = frame.sort_values(["value", "name"], ascending=[ascending, True]).reset_index(drop=True)
    frame["value"] = frame["value"].astype(float).round(layer.decimals)
    return frame.rename(
        columns={
            "code": t("wardmap.column.code", lang),
            "name": t("wardmap.column.name", lang),
            "value": t(f"wardmap.layer.{layer.key}", lang),
        }
    )
