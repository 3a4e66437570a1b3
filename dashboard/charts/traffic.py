"""Charts of the traffic page: pure functions from query results to Plotly figures.

The congestion index shown is always the TomTom-style one of `dashboard.metrics` (extra travel time
against free flow, %); each chart's title or axis says whether it is the peak hour or a mean.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.charts.map_layers import (
    CONGESTION_SCALE,
    CONGESTION_TARGET,
    fit_view,
    ward_outline_layers,
)
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import format_value, separators
from dashboard.safe_text import chart_texts

SENSOR_MAP_HEIGHT = 520
RANKING_SHOWN = 10
PEAK_KPI = definitions.KPI_BY_KEY["traffic.congestion_index_peak"]
WEEKDAYS = range(1, 8)  # ISO: 1 = Monday … 7 = Sunday


def _layout(figure: go.Figure, title: str | None, lang: str, height: int = theme.CHART_HEIGHT, **extra) -> go.Figure:
    figure.update_layout(
        title=dict(text=title or "", x=0, font=dict(size=16)), height=height, separators=separators(lang), **extra
    )
    return figure


def _hour_label(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{pd.Timestamp(value):%H:00 %d/%m/%Y}"


def _index_text(value, lang: str) -> str:
    return format_value(definitions.KPI_BY_KEY["traffic.congestion_index_peak"], value, lang, "table")


def sensor_map(
    sensors: pd.DataFrame,
    areas: pd.DataFrame,
    lang: str,
    selected: Sequence[str] = (),
    height: int = SENSOR_MAP_HEIGHT,
    width_px: int = 560,
) -> go.Figure:
    """Sensors over the ward outlines: marker area ∝ vehicles, colour = peak-hour congestion index.

    `sensors` are `traffic_queries.congestion_ranking(..., "sensor")` rows (key = sensor id, which
    each marker carries as customdata[0] for click-to-filter). Sensors without data are grey.
    """
    figure = go.Figure()
    has_data = sensors["vehicles"] > 0
    biggest = float(sensors.loc[has_data, "vehicles"].max()) if has_data.any() else 1.0
    hover = (
        f"<b>%{{customdata[1]}}</b><br>{t('traffic.hover.vehicles', lang)}: %{{customdata[2]}}"
        f"<br>{t('traffic.hover.peak', lang)}: %{{customdata[3]}}<br>{t('traffic.hover.mean', lang)}: %{{customdata[4]}}"
        f"<br>{t('traffic.hover.peak_hour', lang)}: %{{customdata[5]}}<extra></extra>"
    )

    def customdata(rows: pd.DataFrame) -> np.ndarray:
        return (
            np.column_stack(
                [
                    chart_texts(rows["key"].astype(str)),
                    chart_texts(rows["name"].astype(str)),  # a click's key is unescaped
                    [format_number(v, lang) for v in rows["vehicles"]],
                    [_index_text(v, lang) for v in rows["congestion_index_peak"]],
                    [_index_text(v, lang) for v in rows["congestion_index_mean"]],
                    [_hour_label(v) for v in rows["peak_hour"]],
                ]
            )
            if len(rows)
            else np.empty((0, 6))
        )

    def selection(rows: pd.DataFrame):
        return None if not selected else [i for i, key in enumerate(rows["key"]) if key in selected]

    idle = sensors[~has_data]
    if len(idle):
        figure.add_trace(
            go.Scattermap(
                lat=idle["lat"],
                lon=idle["lon"],
                mode="markers",
                name=t("traffic.map.no_data", lang),
                marker=dict(size=9, color=theme.MUTED, opacity=0.8),
                customdata=customdata(idle),
                hovertemplate=hover,
                selectedpoints=selection(idle),
                showlegend=True,
            )
        )
    active = sensors[has_data]
    if len(active):
        peak = active["congestion_index_peak"].astype(float).fillna(0.0)
        figure.add_trace(
            go.Scattermap(
                lat=active["lat"],
                lon=active["lon"],
                mode="markers",
                name=t("traffic.map.legend_sensors", lang),
                marker=dict(
                    size=7 + 17 * np.sqrt(active["vehicles"].to_numpy(float) / biggest),
                    color=peak,
                    colorscale=CONGESTION_SCALE,
                    cmin=0,
                    cmax=2 * CONGESTION_TARGET,
                    opacity=0.9,
                    colorbar=dict(
                        title=dict(text=t("traffic.map.colorbar", lang), side="right"),
                        thickness=14,
                        len=0.85,
                        ticksuffix=" %",
                    ),
                ),
                customdata=customdata(active),
                hovertemplate=hover,
                selectedpoints=selection(active),
                showlegend=False,
            )
        )
    view = fit_view(list(sensors["lat"]), list(sensors["lon"]), width_px, height)
    figure.update_layout(
        map=dict(style="white-bg", layers=ward_outline_layers(areas), **view),
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        clickmode="event+select",
        separators=separators(lang),
        legend=dict(orientation="h", x=0.01, y=0.99, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.85)"),
    )
    return figure


def hour_weekday_heatmap(frame: pd.DataFrame, measure: str, lang: str) -> go.Figure:
    """Weekday (rows, Monday on top) × hour of day (columns) of `vehicles_per_day` or `congestion_index`."""
    column = "vehicles_per_day" if measure == "vehicles" else "congestion_index"
    grid = (
        frame.pivot_table(index="weekday", columns="hour", values=column, aggfunc="first").reindex(
            index=list(WEEKDAYS), columns=range(24)
        )
        if not frame.empty
        else pd.DataFrame(index=list(WEEKDAYS), columns=range(24), dtype=float)
    )
    grid = grid.astype(float)
    labels = [t(f"traffic.weekday.{day}", lang) for day in WEEKDAYS]
    decimals = 0 if measure == "vehicles" else 1
    text = [[("" if pd.isna(v) else format_number(v, lang, decimals)) for v in row] for row in grid.to_numpy()]
    # One sequential scale over the range present: hourly means sit far below the peak-hour target, so
    # the status colours of the map would paint every cell green.
    scale, bounds = theme.SEQUENTIAL_SCALE, ({} if measure == "vehicles" else dict(zmin=0))
    title = t(f"traffic.heatmap.{measure}", lang)
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{h}h" for h in range(24)],
            y=labels,
            colorscale=scale,
            text=text,
            **bounds,
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
            xgap=1,
            ygap=1,
            colorbar=dict(
                title=dict(text=title, side="right"), thickness=12, ticksuffix=" %" if measure == "congestion" else ""
            ),
        )
    )
    return _layout(
        figure,
        None,
        lang,
        height=330,
        yaxis=dict(autorange="reversed", automargin=True),
        xaxis=dict(title=t("traffic.hour", lang), tickmode="array", tickvals=[f"{h}h" for h in range(0, 24, 2)]),
        margin=dict(t=10, b=10, l=10, r=10),
    )


def profile_chart(frame: pd.DataFrame, day_label: str, weeks: int, lang: str) -> go.Figure:
    """Hourly vehicles of one day (bars) against the typical day: the median of previous same weekdays (line)."""
    hours = [f"{h}h" for h in frame["hour"]]
    today = frame["vehicles"].astype("Float64").astype(float)
    figure = go.Figure(
        [
            go.Bar(
                x=hours,
                y=today,
                name=day_label,
                marker_color=theme.PRIMARY,
                hovertemplate="%{x}: %{y:,.0f}<extra>" + day_label + "</extra>",
            ),
            go.Scatter(
                x=hours,
                y=frame["typical_vehicles"],
                name=t("traffic.profile.typical_series", lang, weeks=weeks),
                mode="lines+markers",
                line=dict(color=theme.SERIES_COLOURS[1], width=3),
                marker=dict(size=5),
                hovertemplate="%{x}: %{y:,.0f}<extra>"
                + t("traffic.profile.typical_series", lang, weeks=weeks)
                + "</extra>",
            ),
        ]
    )
    return _layout(
        figure,
        None,
        lang,
        height=theme.CHART_HEIGHT,
        bargap=0.15,
        yaxis=dict(title=t("traffic.profile.axis", lang)),
        xaxis=dict(tickmode="array", tickvals=[f"{h}h" for h in range(0, 24, 2)]),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
        margin=dict(t=30, b=10, l=10, r=10),
    )


def congestion_ranking_chart(
    frame: pd.DataFrame, group: str, measure: str, lang: str, limit: int = RANKING_SHOWN
) -> go.Figure:
    """The `limit` worst segments (or roads) by `measure` (congestion_index_peak or _mean), worst on top.

    Each bar carries its sensor id / road as customdata[0] for click-to-filter; the KPI target is a
    dashed line on the peak measure.
    """
    rows = frame.dropna(subset=[measure]).nlargest(limit, measure).iloc[::-1]
    labels = chart_texts(rows["name"] if group == "sensor" else rows["key"])  # data text, shown as text
    values = rows[measure].astype(float)
    colours = [theme.status_colour(definitions.status(PEAK_KPI, v)) for v in values]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=labels,
            orientation="h",
            marker_color=colours if measure == "congestion_index_peak" else theme.PRIMARY,
            customdata=np.column_stack(
                [
                    chart_texts(rows["key"].astype(str)),
                    [format_number(v, lang) for v in rows["vehicles"]],
                    [_hour_label(v) for v in rows["peak_hour"]],
                ]
            )
            if len(rows)
            else None,
            text=[format_number(v, lang, 1) + " %" for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="<b>%{y}</b><br>"
            + t("traffic.ranking.axis", lang)
            + ": %{x:.1f}<br>"
            + t("traffic.hover.vehicles", lang)
            + ": %{customdata[1]}<br>"
            + t("traffic.hover.peak_hour", lang)
            + ": %{customdata[2]}<extra></extra>",
        )
    )
    upper = max([*values, CONGESTION_TARGET if measure == "congestion_index_peak" else 0, 1.0]) * 1.18
    if measure == "congestion_index_peak":
        figure.add_vline(
            x=CONGESTION_TARGET,
            line=dict(color=theme.TEXT, dash="dash", width=1.5),
            annotation_text=t("traffic.ranking.target", lang, target=f"{CONGESTION_TARGET:.0f}"),
            annotation_position="top",
        )
    height = max(200, 34 * len(rows) + 120)
    return _layout(
        figure,
        None,
        lang,
        height=height,
        showlegend=False,
        bargap=0.25,
        xaxis=dict(
            title=t("traffic.ranking.axis", lang),
            range=[min(0.0, values.min() if len(values) else 0.0), upper],
            ticksuffix=" %",
        ),
        yaxis=dict(automargin=True),
        margin=dict(t=40, b=10, l=10, r=10),
    )


# ---------------------------------------------------------------- tables (what is shown is what is downloaded)
def _headed(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.rename(columns={c: t(f"traffic.column.{c}", lang) for c in frame.columns})


def ranking_table(frame: pd.DataFrame, group: str, measure: str, lang: str) -> pd.DataFrame:
    """Every segment (or road) of the ranking, worst first by `measure`."""
    rows = frame.sort_values(measure, ascending=False, na_position="last")
    if group == "sensor":
        rows = rows.rename(columns={"key": "sensor"})[
            ["sensor", "name", "road", "vehicles", "congestion_index_peak", "congestion_index_mean", "peak_hour"]
        ]
    else:
        rows = rows.rename(columns={"key": "road"})[
            ["road", "sensors", "vehicles", "congestion_index_peak", "congestion_index_mean", "peak_hour"]
        ]
    rows = rows.assign(peak_hour=[_hour_label(v) for v in rows["peak_hour"]])
    return _headed(rows.reset_index(drop=True), lang)


def silent_table(silent: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Silent sensors with when they last reported (or that they never did) and for how long."""
    rows = silent.rename(columns={"id": "sensor"})[["sensor", "name", "road", "last_observed_at", "minutes_silent"]]
    rows = rows.assign(
        last_observed_at=[
            t("traffic.silent.never", lang) if pd.isna(v) else f"{pd.Timestamp(v):%H:%M %d/%m/%Y}"
            for v in rows["last_observed_at"]
        ]
    )
    return _headed(rows.reset_index(drop=True), lang)
