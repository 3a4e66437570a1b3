"""Ward maps that work offline: MapLibre `Choroplethmap` on a blank ("white-bg") style.

No tile server is ever contacted; the polygons come from our own GeoJSON (data/boundaries/).
"""

from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go

from dashboard.boundaries import feature_collection
from dashboard.charts import theme
from dashboard.safe_text import chart_texts


def _bounds(collection: dict) -> tuple[float, float, float, float]:
    """(west, south, east, north) of every coordinate in a FeatureCollection."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for part in coords:
                walk(part)

    for feature in collection["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def _zoom_for(west: float, south: float, east: float, north: float, width_px: int = 400, height_px: int = 520) -> float:
    """A MapLibre zoom level that fits the bounds into a frame of the given size."""
    import math

    lon_span = max(east - west, 1e-6)
    lat_span = max(north - south, 1e-6)
    zoom_lon = math.log2(360.0 * width_px / (256.0 * lon_span))
    zoom_lat = math.log2(180.0 * height_px / (256.0 * lat_span * 1.05))
    return round(
        min(zoom_lon, zoom_lat) - 0.85, 2
    )  # margin measured on screenshots: the whole city with a little space around


def choropleth(
    areas: pd.DataFrame,
    values: pd.Series,
    *,
    title: str,
    value_format: str = ",.1f",
    higher_is_better: bool | None = True,
    no_data_label: str = "–",
    height: int = theme.MAP_HEIGHT,
    selected: list[str] | None = None,
) -> go.Figure:
    """A ward choropleth of `values` (indexed by area code) over `areas` (code, name, geometry_geojson).

    Wards without a value are drawn in grey. Hover shows the ward's name (with diacritics) and value.
    """
    collection = feature_collection(areas)
    frame = areas[["code", "name"]].copy()
    frame["name"] = chart_texts(frame["name"])  # data text: shown as text, never as Plotly's HTML
    frame["value"] = frame["code"].map(values)
    has_value = frame["value"].notna()
    scale = theme.SEQUENTIAL_SCALE if higher_is_better is not False else list(reversed(theme.SEQUENTIAL_SCALE))
    west, south, east, north = _bounds(collection)

    figure = go.Figure()
    if (~has_value).any():
        missing = frame[~has_value]
        figure.add_trace(
            go.Choroplethmap(
                geojson=collection,
                locations=missing["code"],
                z=[0] * len(missing),
                featureidkey="id",
                colorscale=[[0, "#d9dde1"], [1, "#d9dde1"]],
                showscale=False,
                marker=dict(line=dict(width=0.6, color="#ffffff")),
                customdata=missing[["name"]],
                hovertemplate="<b>%{customdata[0]}</b><br>" + no_data_label + "<extra></extra>",
            )
        )
    present = frame[has_value]
    figure.add_trace(
        go.Choroplethmap(
            geojson=collection,
            locations=present["code"],
            z=present["value"],
            featureidkey="id",
            colorscale=scale,
            marker=dict(opacity=0.85, line=dict(width=0.8, color="#ffffff")),
            colorbar=dict(title=dict(text=title, side="right"), thickness=14, len=0.85),
            customdata=present[["name", "value"]],
            hovertemplate="<b>%{customdata[0]}</b><br>"
            + title
            + ": %{customdata[1]:"
            + value_format
            + "}<extra></extra>",
            selectedpoints=None if not selected else [i for i, c in enumerate(present["code"]) if c in selected],
        )
    )
    figure.update_layout(
        map=dict(
            style="white-bg",
            center=dict(lat=(south + north) / 2, lon=(west + east) / 2),
            zoom=_zoom_for(west, south, east, north, height_px=height),
        ),
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        clickmode="event+select",
    )
    return figure


def geojson_size_bytes(areas: pd.DataFrame) -> int:
    """Size of the GeoJSON sent to the browser (kept small so the map loads fast)."""
    return len(json.dumps(feature_collection(areas)))
