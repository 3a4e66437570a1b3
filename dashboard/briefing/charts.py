"""The briefing's charts: pure builders from a `Briefing` to Plotly figures, and PNG export through kaleido.

The ward map is drawn from our own ward polygons as filled shapes (see `ward_map` for why not MapLibre).
Every PNG of one briefing is made by ONE kaleido server (one Chromium), started and stopped here.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.boundaries import feature_collection
from dashboard.briefing.content import Briefing
from dashboard.charts import theme
from dashboard.charts.events import add_event_markers
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_text, chart_texts

NO_DATA_COLOUR = "#d9dde1"  # as dashboard.maps
PNG_SCALE = 1.5  # 900 CSS px × 1.5 ≈ 190 dpi across the A4 text width: sharp on paper, quick to embed
_KALEIDO_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChartSize:
    width: int
    height: int


SIZES = {
    "ward_map": ChartSize(900, 560),
    "categories": ChartSize(900, 420),
    "hot_spots": ChartSize(900, 400),
    "forecast": ChartSize(900, 360),
}


class ChartExportError(RuntimeError):
    """Chromium/kaleido could not turn the charts into images."""


def _layout(figure: go.Figure, name: str, lang: str, **extra) -> go.Figure:
    size = SIZES[name]
    figure.update_layout(
        template="plotly_white+" + theme.TEMPLATE_NAME,
        width=size.width,
        height=size.height,
        separators=separators(lang),
        font=dict(family=theme.FONT_FAMILY, size=15, color=theme.TEXT),
        **extra,
    )
    return figure


def ward_map(briefing: Briefing) -> go.Figure:
    """On-time rate of reports per ward (grey: nothing resolved in the week); the briefing's ward outlined.

    The app's map (`dashboard.maps.choropleth`) is a MapLibre `Choroplethmap`. Kaleido can draw it, but
    headless Chromium has no GPU and emulates WebGL in software: about 2 s of the 10 s budget per
    briefing. On paper nothing pans or zooms, so the PDF draws the same polygons (our own GeoJSON, no
    tiles, no `go.Choropleth`, which would fetch topojson from the internet) as filled `go.Scatter`
    shapes with the same colour scale, in about 0.2 s.
    """
    lang = briefing.lang
    title = t("map.metric.feedback.resolved_on_time_pct", lang)
    values = briefing.ward_on_time.dropna()
    low, high = (float(values.min()), float(values.max())) if not values.empty else (0.0, 100.0)
    high = high if high > low else low + 1.0
    figure = go.Figure()
    latitudes = []
    for feature in feature_collection(briefing.areas)["features"]:
        value = briefing.ward_on_time.get(feature["id"])
        missing = value is None or pd.isna(value)
        colour = (
            NO_DATA_COLOUR
            if missing
            else sample_colorscale(theme.SEQUENTIAL_SCALE, (float(value) - low) / (high - low))[0]
        )
        outline = (
            dict(color=theme.TEXT, width=2.5)
            if feature["id"] == briefing.area_code
            else dict(color="#ffffff", width=0.8)
        )
        label = (
            chart_text(feature["properties"]["name"])
            + ": "
            + (t("map.no_data", lang) if missing else format_number(value, lang, 1) + " %")
        )
        for ring in _outer_rings(feature["geometry"]):
            xs, ys = zip(*[(point[0], point[1]) for point in ring], strict=True)
            latitudes.extend(ys)
            figure.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    fill="toself",
                    fillcolor=colour,
                    line=outline,
                    hoveron="fills",
                    hoverinfo="text",
                    text=label,
                    showlegend=False,
                )
            )
    # an invisible marker carries the colour bar of the scale
    figure.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            showlegend=False,
            hoverinfo="skip",
            marker=dict(
                color=[low, high],
                cmin=low,
                cmax=high,
                colorscale=theme.SEQUENTIAL_SCALE,
                showscale=True,
                colorbar=dict(title=dict(text=title, side="right"), ticksuffix=" %", thickness=16, len=0.9),
            ),
        )
    )
    mid_latitude = sum(latitudes) / len(latitudes) if latitudes else 16.0
    hidden = dict(visible=False, showgrid=False, zeroline=False)
    return _layout(
        figure,
        "ward_map",
        lang,
        margin=dict(l=0, r=0, t=0, b=0),
        xaxis=hidden,
        # one degree of longitude is cos(latitude) as long as one of latitude
        yaxis=dict(**hidden, scaleanchor="x", scaleratio=1 / math.cos(math.radians(mid_latitude))),
    )


def _outer_rings(geometry: dict) -> list[list]:
    """The outer ring of each polygon of a GeoJSON Polygon/MultiPolygon (ward boundaries have no holes)."""
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []


def categories(briefing: Briefing) -> go.Figure:
    """Reports received per category this week, with last week beside it."""
    lang = briefing.lang
    frame = briefing.categories.iloc[::-1]  # largest at the top of a horizontal bar chart
    figure = go.Figure(
        [
            go.Bar(
                y=chart_texts(frame["label"]),
                x=frame["previous_received"],
                orientation="h",
                name=t("briefing.categories.previous_week", lang),
                marker_color=theme.GRID,
                marker_line=dict(color=theme.MUTED, width=0.5),
            ),
            go.Bar(
                y=chart_texts(frame["label"]),
                x=frame["received"],
                orientation="h",
                name=t("briefing.categories.this_week", lang),
                marker_color=theme.PRIMARY,
                text=frame["received"],
                textposition="outside",
                texttemplate="%{x:,}",
            ),
        ]
    )
    return _layout(
        figure,
        "categories",
        lang,
        barmode="group",
        bargap=0.25,
        bargroupgap=0.05,
        xaxis=dict(title=t("briefing.categories.axis", lang), tickformat=",d"),
        yaxis=dict(automargin=True),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0, traceorder="reversed"),
        margin=dict(l=10, r=40, t=40, b=10),
    )


def hot_spots(briefing: Briefing) -> go.Figure:
    """Peak-hour congestion index of the ten most congested sensors, coloured by target status."""
    lang = briefing.lang
    definition = definitions.KPI_BY_KEY["traffic.congestion_index_peak"]
    frame = briefing.hot_spots.iloc[::-1]
    colours = [theme.status_colour(definitions.status(definition, value)) for value in frame["congestion_index_peak"]]
    figure = go.Figure(
        go.Bar(
            y=chart_texts(frame["label"]),
            x=frame["congestion_index_peak"],
            orientation="h",
            marker_color=colours,
            text=frame["congestion_index_peak"],
            texttemplate="%{x:.1f}",
            textposition="outside",
        )
    )
    figure.add_vline(
        x=definition.target,
        line=dict(color=theme.TEXT, dash="dash", width=1.5),
        annotation_text=t("briefing.hotspots.target", lang, target=f"{definition.target:.0f}"),
        annotation_position="top",
    )
    top = max([*frame["congestion_index_peak"], definition.target]) if not frame.empty else definition.target
    return _layout(
        figure,
        "hot_spots",
        lang,
        showlegend=False,
        xaxis=dict(title=t("briefing.hotspots.axis", lang), range=[0, top * 1.15]),
        yaxis=dict(automargin=True),
        margin=dict(l=10, r=20, t=40, b=10),
    )


def forecast(briefing: Briefing) -> go.Figure:
    """The last four weeks of reports per day, then next week's forecast with its 80 % band."""
    lang = briefing.lang
    history, ahead = briefing.forecast_history, briefing.forecast_next
    figure = go.Figure(
        [
            go.Scatter(
                x=pd.concat([ahead["ds"], ahead["ds"][::-1]]),
                y=pd.concat([ahead["yhat_upper"], ahead["yhat_lower"][::-1]]),
                fill="toself",
                fillcolor="rgba(11, 94, 115, 0.18)",
                line=dict(width=0),
                mode="lines",
                hoverinfo="skip",
                name=t("briefing.forecast.interval", lang),
            ),
            go.Scatter(
                x=history["ds"],
                y=history["y"],
                mode="lines+markers",
                name=t("briefing.forecast.actual", lang),
                line=dict(color=theme.TEXT, width=2),
                marker=dict(size=5),
            ),
            go.Scatter(
                x=ahead["ds"],
                y=ahead["yhat"],
                mode="lines+markers",
                name=t("briefing.forecast.predicted", lang),
                line=dict(color=theme.PRIMARY, width=2.5, dash="dash"),
                marker=dict(size=6),
            ),
        ]
    )
    if not briefing.events.empty:
        first = pd.Timestamp(history["ds"].min() if not history.empty else ahead["ds"].min()).date()
        last = pd.Timestamp(ahead["ds"].max()).date()
        add_event_markers(figure, briefing.events, first, last)
    return _layout(
        figure,
        "forecast",
        lang,
        xaxis=dict(tickformat="%d/%m", dtick=7 * 24 * 3600 * 1000),
        yaxis=dict(title=t("trend.count", lang), rangemode="tozero"),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, x=0),
        margin=dict(l=10, r=10, t=30, b=10),
    )


def figures(briefing: Briefing) -> dict[str, go.Figure]:
    """Every chart the briefing has data for, by name (the keys of SIZES)."""
    theme.register_template()
    result = {"ward_map": ward_map(briefing)}
    if not briefing.categories.empty:
        result["categories"] = categories(briefing)
    if not briefing.hot_spots.empty:
        result["hot_spots"] = hot_spots(briefing)
    if not briefing.forecast_next.empty:
        result["forecast"] = forecast(briefing)
    return result


@contextmanager
def png_export() -> Iterator[Callable[[dict[str, go.Figure]], dict[str, bytes]]]:
    """One kaleido server (one headless Chromium) for a whole briefing; yields `export(figures) -> {name: PNG}`.

    Chromium starts in the background as soon as the block is entered, so the briefing's queries run while
    it starts. MathJax is switched off: the page kaleido draws in never reaches for the internet.
    """
    import kaleido

    def export(charts: dict[str, go.Figure]) -> dict[str, bytes]:
        try:
            return {
                name: kaleido.calc_fig_sync(
                    figure.to_dict(),
                    opts=dict(format="png", width=SIZES[name].width, height=SIZES[name].height, scale=PNG_SCALE),
                )
                for name, figure in charts.items()
            }
        except Exception as error:  # Chromium missing or crashed: say what to install
            raise ChartExportError(
                f"could not draw the briefing's charts with kaleido/Chromium ({error}); "
                "install Chromium (Debian: apt-get install chromium)"
            ) from error

    with _KALEIDO_LOCK:  # kaleido's sync server is one per process: briefings made at once take turns
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
        try:
            yield export
        finally:
            kaleido.stop_sync_server(silence_warnings=True)


def to_png(charts: dict[str, go.Figure]) -> dict[str, bytes]:
    """PNG bytes of every chart, from one kaleido server for the whole set."""
    with png_export() as export:
        return export(charts)
