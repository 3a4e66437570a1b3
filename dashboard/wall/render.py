"""What the wall screen draws: its stylesheet, HTML blocks and Plotly figures, as pure functions.

Sizes are in wall units (`theme.wall_unit_px`): the CSS uses `--u`, the Plotly figures the same unit in
pixels for the screen the browser reported, so text stays readable from across the room at 1080p and 4K.
Every value coming from the database is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from pathlib import Path
from string import Template
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.boundaries import feature_collection
from dashboard.charts import theme
from dashboard.charts.maps import _bounds
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import ATTACHED_UNITS, compact, format_value, value_parts
from dashboard.wall import rules as wall

CSS_TEMPLATE = Path(__file__).with_name("wall.css")

# Layout of the screen in wall units (the CSS reads these too).
HEADER_U = 2.8
TABS_U = 1.9
TICKER_U = 2.1
GAP_U = 0.6
SUBTITLE_U = 1.8  # the panel's subtitle line, above its content
MAP_SHARES = (0.375, 0.375, 0.25)  # widths of the city map, the inner-city map and the legend
CONGESTION_BANDS = (15.0, 35.0)  # congestion index (%) where "busy" and "congested" start

OVERVIEW_TILES = (
    "feedback.received",
    "feedback.resolved",
    "feedback.resolved_on_time_pct",
    "feedback.open_backlog",
    "dossiers.received",
    "dossiers.completed_on_time_pct",
    "traffic.vehicles",
    "traffic.congestion_now",
)
WEEKDAY_SHORT = {
    "vi": ("T2", "T3", "T4", "T5", "T6", "T7", "CN"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def stylesheet() -> str:
    """The wall's CSS (without the <style> tag)."""
    values = {
        "unit_min": theme.WALL_UNIT_MIN_PX,
        "unit_vw": theme.WALL_UNIT_VW,
        "unit_vh": theme.WALL_UNIT_VH,
        "background": theme.WALL_BACKGROUND,
        "surface": theme.WALL_SURFACE,
        "border": theme.WALL_BORDER,
        "text": theme.WALL_TEXT,
        "muted": theme.WALL_MUTED,
        "accent": theme.WALL_ACCENT,
        "good": theme.WALL_GOOD,
        "warn": theme.WALL_WARN,
        "bad": theme.WALL_BAD,
        "font": theme.WALL_FONT_FAMILY,
        "header_u": HEADER_U,
        "tabs_u": TABS_U,
        "ticker_u": TICKER_U,
        "gap_u": GAP_U,
        "subtitle_u": SUBTITLE_U,
    }
    return Template(CSS_TEMPLATE.read_text(encoding="utf-8")).substitute(values)


def stage_size(width: int, height: int) -> tuple[float, float]:
    """Width and height in pixels of the area the panels fill, on a width × height screen."""
    unit = theme.wall_unit_px(width, height)
    return width - 2 * GAP_U * unit, height - (HEADER_U + TABS_U + TICKER_U) * unit


def panel_height(width: int, height: int) -> float:
    """Height in pixels left for a panel's content under its subtitle line (the CSS `--panel-h`)."""
    return stage_size(width, height)[1] - (GAP_U + SUBTITLE_U) * theme.wall_unit_px(width, height)


def _number(value: Any, lang: str, decimals: int = 0) -> str:
    return format_number(value, lang, decimals)


def hhmm(moment: datetime | None) -> str:
    return "–" if moment is None else moment.strftime("%H:%M")


def weekday_name(day: date, lang: str) -> str:
    return t(f"traffic.weekday.{day.isoweekday()}", lang)


# ---------------------------------------------------------------- header, banner, tabs, ticker
def lag_text(item: wall.Freshness, lang: str) -> str:
    if not item.reachable:
        return t("wall.fresh.unreachable", lang)
    if item.newest is None:
        return t("wall.fresh.none", lang)
    if item.live:
        return t("wall.fresh.live", lang)
    amount, unit = wall.lag_parts(item.minutes_late or 0)
    return t(f"wall.lag.{unit}", lang, n=_number(amount, lang))


def header_html(now: datetime, sources: Sequence[wall.Freshness], lang: str, *, demo: bool) -> str:
    """City name, demo badge, per-source freshness and the clock (the JS clock keeps `.wall-clock-time` ticking)."""
    chips = []
    for item in sources:
        colour = (
            theme.WALL_GOOD
            if item.live
            else theme.WALL_BAD
            if item.newest is None or not item.reachable
            else theme.WALL_WARN
        )
        chips.append(
            f'<span class="wall-source" data-source="{item.source}" data-live="{str(item.live).lower()}" '
            f'data-reachable="{str(item.reachable).lower()}">'
            f'<span class="wall-dot" style="background:{colour}"></span>'
            f'{escape(t(f"wall.source.{item.source}", lang))}: <b style="color:{colour}">{escape(lag_text(item, lang))}</b></span>'
        )
    badge = (
        f'<span class="wall-demo-slot"><span class="wall-demo">{escape(t("app.demo_badge", lang))}</span></span>'
        if demo
        else ""
    )
    date_line = t("wall.date", lang, weekday=weekday_name(now.date(), lang), date=now.strftime("%d/%m/%Y"))
    return (
        f'<div class="wall wall-header"><span class="wall-city">{escape(t("app.city", lang))}</span>{badge}'
        f'<span class="wall-sources">{"".join(chips)}</span>'
        f'<span class="wall-clock"><span class="wall-clock-time">{now:%H:%M}</span>'
        f'<span class="wall-muted">{escape(date_line)}</span></span></div>'
    )


def banner_html(outage_since: datetime | None, last_good: datetime | None, lang: str) -> str:
    """The red "database unreachable since hh:mm" line; empty when the database answers."""
    if outage_since is None:
        return ""
    text = (
        t("wall.banner.offline", lang, since=hhmm(outage_since), last=hhmm(last_good))
        if last_good
        else t("wall.banner.never", lang, since=hhmm(outage_since))
    )
    return f'<div class="wall wall-banner" role="alert" data-testid="wall-banner">⚠ {escape(text)}</div>'


def tabs_html(rotation: wall.Rotation, index: int, lang: str, note: str = "") -> str:
    """The panel names with the one on screen highlighted and a bar that fills during its dwell."""
    tabs = []
    for position, panel in enumerate(rotation.panels):
        if position == index:
            progress = (
                f'<span class="wall-tab-progress" style="animation-duration:{rotation.dwell_seconds[index]}s"></span>'
            )
            tabs.append(
                f'<span class="wall-tab wall-tab-current" data-panel="{panel}">'
                f"{escape(t(f'wall.panel.{panel}', lang))}{progress}</span>"
            )
        elif panel not in rotation.panels[:position]:
            tabs.append(f'<span class="wall-tab">{escape(t(f"wall.panel.{panel}", lang))}</span>')
    note_html = f'<span class="wall-tab-note">{escape(note)}</span>' if note else ""
    return f'<div class="wall wall-tabs" data-current="{rotation.panels[index]}">{"".join(tabs)}{note_html}</div>'


def visible_panel_css(panel: str) -> str:
    return (
        f".st-key-wall_panel_{panel}{{opacity:1!important;visibility:visible!important;z-index:1;"
        "transition:opacity .5s ease-in}"
    )


def alert_text(alert: wall.Alert, lang: str) -> str:
    values = dict(alert.values)
    if "source" in values:
        values["source"] = t(f"wall.source.{values['source']}", lang)
    if alert.kind == "stale_source":
        values["lag"] = t(f"wall.lag.{values['unit']}", lang, n=_number(values["amount"], lang))
        values["newest"] = values["newest"].strftime("%H:%M %d/%m")
    elif alert.kind == "silent_sensors":
        names = ", ".join(values["names"])
        values["names"] = names + (t("wall.alert.silent_more", lang, n=values["more"]) if values["more"] else "")
    elif alert.kind == "overdue_feedback":
        values["agencies"] = ", ".join(f"{name} ({_number(n, lang)})" for name, n in values["agencies"])
        values["count"] = _number(values["count"], lang)
    elif alert.kind in wall.CASE_RULES:
        values["agencies"] = ", ".join(f"{name} ({_number(n, lang)})" for name, n in values["agencies"])
        values["count"] = _number(values["count"], lang)
        values["escalated"] = (
            t("wall.alert.escalated", lang, n=_number(values["escalated"], lang)) if values["escalated"] else ""
        )
    elif alert.kind == "alerts_offline":
        values["since"] = values["since"].strftime("%H:%M %d/%m")
    elif alert.kind.startswith("anomaly_"):
        category = values.get("category")
        values["category"] = t(f"category.{category}", lang) if category else ""
        values["day"] = values["day"].strftime("%d/%m")
        values["actual"] = _number(values["actual"], lang)
        values["expected"] = _number(values["expected"], lang)
    return t(f"wall.alert.{alert.kind}", lang, **values)


def ticker_html(alerts: Sequence[wall.Alert], lang: str) -> str:
    """The bottom line: alerts scroll by, most serious first, each in its level's colour."""
    calm = all(alert.kind == "all_clear" for alert in alerts)
    items = "".join(
        f'<span class="wall-alert" data-kind="{alert.kind}" style="color:{theme.WALL_LEVEL_COLOURS[alert.level]}">'
        f"● {escape(alert_text(alert, lang))}</span>"
        for alert in alerts
    )
    length = sum(len(alert_text(alert, lang)) for alert in alerts)
    seconds = max(20, round(length * 0.22))  # about the same reading speed whatever the number of alerts
    moving = "wall-still" if calm else ""
    return (
        f'<div class="wall wall-ticker"><span class="wall-ticker-label {"wall-calm" if calm else ""}">'
        f'{escape(t("wall.ticker.label", lang))}</span><span class="wall-ticker-track">'
        f'<span class="wall-ticker-text {moving}" style="animation-duration:{seconds}s">{items}</span></span></div>'
    )


def waiting_html(lang: str) -> str:
    return f'<div class="wall wall-panel wall-waiting">{escape(t("wall.waiting", lang))}</div>'


def subtitle_html(text: str, stale_since: datetime | None, lang: str) -> str:
    stale = (
        f'<span class="wall-stale">{escape(t("wall.stale_panel", lang, time=hhmm(stale_since)))}</span> · '
        if stale_since
        else ""
    )  # first, so a long subtitle never hides it
    return f'<div class="wall wall-subtitle">{stale}{escape(text)}</div>'


def day_caption(as_of: datetime, today: date, lang: str) -> str:
    """ "Hôm nay, đến 14:37", or the date when the newest data is older than today."""
    if as_of.date() == today:
        return t("wall.today_until", lang, time=hhmm(as_of))
    return t("wall.day_until", lang, date=as_of.strftime("%d/%m/%Y"), time=hhmm(as_of))


# ---------------------------------------------------------------- overview tiles
def _delta_text(definition: definitions.KpiDefinition, comparison: wall.Comparison, lang: str) -> str:
    if comparison.change is None:
        return ""
    arrow = "▲" if comparison.change > 0 else ("▼" if comparison.change < 0 else "=")
    if definition.unit in ("pct", "index_pct"):
        return f"{arrow} {_number(abs(comparison.change), lang, 1)} {t('unit.points', lang)}"
    if comparison.change_pct is None:
        return f"{arrow} {compact(abs(comparison.change), lang)}"
    return f"{arrow} {_number(abs(comparison.change_pct), lang, 1 if abs(comparison.change_pct) < 10 else 0)} %"


def tile_definition(key: str) -> definitions.KpiDefinition:
    if key == "traffic.congestion_now":  # the congestion index of the last complete hour (a peak over one hour)
        return definitions.KPI_BY_KEY["traffic.congestion_index_peak"]
    return definitions.KPI_BY_KEY[key]


def overview_html(today: Mapping[str, Any], typical: Mapping[str, Any], lang: str) -> str:
    """Eight tiles: today's value, its typical-day value and the change, coloured good/bad news.

    `today`/`typical` are the dicts of wall_queries.today_so_far / typical_day.
    """
    hour = today["hour_start"]
    tiles = []
    for key in OVERVIEW_TILES:
        definition = tile_definition(key)
        if key == "traffic.congestion_now":
            value = today["traffic_hour"]["congestion_index_peak"]
            usual = typical["traffic_hour"]["congestion_index_peak"]
            label = t("wall.kpi.traffic.congestion_now", lang, start=f"{hour:%H:%M}", end=f"{hour.hour + 1:02d}:00")
        else:
            value = today["kpis"][definition.section][definition.name]
            usual = typical["kpis"][definition.section][definition.name]
            label = t(f"wall.kpi.{key}", lang)
        comparison = wall.compare(definition, value, usual)
        number, unit = value_parts(definition, value, lang, "wall")
        usual_text = (
            t("wall.typical", lang, value=format_value(definition, usual, lang, "wall"))
            if usual is not None
            else t("wall.no_typical", lang)
        )
        colour = theme.WALL_TONE_COLOURS[comparison.tone]
        space = "" if definition.unit in ATTACHED_UNITS else " "
        unit_html = f'{space}<span class="wall-tile-unit">{escape(unit)}</span>' if unit else ""
        tiles.append(
            f'<div class="wall-tile" data-kpi="{key}"><div class="wall-tile-label">{escape(label)}</div>'
            f'<div class="wall-tile-value">{escape(number)}{unit_html}</div>'
            f'<div class="wall-delta" style="color:{colour}">{escape(_delta_text(definition, comparison, lang)) or "&nbsp;"}</div>'
            f'<div class="wall-tile-typical">{escape(usual_text)}</div></div>'
        )
    return f'<div class="wall wall-tiles">{"".join(tiles)}</div>'


# ---------------------------------------------------------------- map
def congestion_band(index: Any) -> str:
    number = wall.as_float(index)
    if number is None:
        return "none"
    low, high = CONGESTION_BANDS
    return "free" if number < low else ("busy" if number <= high else "jam")


def _fit_zoom(west: float, south: float, east: float, north: float, width_px: float, height_px: float) -> float:
    """The MapLibre zoom that fits the bounds into width × height pixels (the world is 512 px wide at zoom 0),
    with a small margin; latitudes are stretched by Mercator's 1 ÷ cos(latitude)."""
    stretch = 1.0 / math.cos(math.radians((south + north) / 2))
    zoom_lon = math.log2(360.0 * width_px / (512.0 * max(east - west, 1e-6)))
    zoom_lat = math.log2(360.0 * height_px / (512.0 * max(north - south, 1e-6) * stretch))
    return round(min(zoom_lon, zoom_lat) - 0.08, 2)


def category_colours(categories: Sequence[str]) -> dict[str, str]:
    from dashboard.domain import FEEDBACK_CATEGORIES

    ordered = list(FEEDBACK_CATEGORIES) + sorted(set(categories) - set(FEEDBACK_CATEGORIES))
    palette = theme.WALL_CATEGORY_COLOURS
    return {code: palette[i % len(palette)] for i, code in enumerate(ordered)}


def sensor_bounds(sensors: pd.DataFrame, margin: float = 0.18) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) around the sensors with a margin, for the inner-city map (None without sensors)."""
    located = sensors.dropna(subset=["lat", "lon"]) if not sensors.empty else sensors
    if located.empty:
        return None
    west, east = float(located["lon"].min()), float(located["lon"].max())
    south, north = float(located["lat"].min()), float(located["lat"].max())
    pad_lon, pad_lat = max((east - west) * margin, 0.005), max((north - south) * margin, 0.005)
    return west - pad_lon, south - pad_lat, east + pad_lon, north + pad_lat


def map_figure(
    areas: pd.DataFrame,
    points: pd.DataFrame,
    sensors: pd.DataFrame,
    width_px: float,
    height_px: float,
    unit_px: float,
    bounds: tuple[float, float, float, float] | None = None,
) -> go.Figure:
    """Wards in the dark land colour, the last 24 h of feedback as dots coloured by category and the sensors as
    larger dots coloured by congestion band, fitted to `bounds` (default: the whole city). No tiles: a plain
    background with a dark polygon under everything."""
    collection = feature_collection(areas)
    west, south, east, north = bounds or _bounds(collection)
    codes = [feature["id"] for feature in collection["features"]]
    figure = go.Figure(
        go.Choroplethmap(
            geojson=collection,
            locations=codes,
            z=[0] * len(codes),
            featureidkey="id",
            showscale=False,
            colorscale=[[0, theme.WALL_MAP_LAND], [1, theme.WALL_MAP_LAND]],
            hoverinfo="skip",
            marker=dict(line=dict(width=max(1.0, unit_px / 20), color=theme.WALL_MAP_EDGE)),
        )
    )
    if not points.empty:
        colours = category_colours(list(points["category"].astype(str)))
        figure.add_trace(
            go.Scattermap(
                lat=points["lat"],
                lon=points["lon"],
                mode="markers",
                hoverinfo="skip",
                marker=dict(
                    size=unit_px * (0.38 if bounds is None else 0.45),
                    color=[colours[c] for c in points["category"].astype(str)],
                    opacity=0.9,
                ),
            )
        )
    located = sensors.dropna(subset=["lat", "lon"]) if not sensors.empty else sensors
    if not located.empty:
        size = unit_px * (0.6 if bounds is None else 1.0)
        bands = [congestion_band(v) for v in located["congestion_index_mean"]]
        figure.add_trace(
            go.Scattermap(  # a dark ring under each sensor so it stands out from the dots
                lat=located["lat"],
                lon=located["lon"],
                mode="markers",
                hoverinfo="skip",
                marker=dict(size=size * 1.35, color=theme.WALL_BACKGROUND),
            )
        )
        figure.add_trace(
            go.Scattermap(
                lat=located["lat"],
                lon=located["lon"],
                mode="markers",
                hoverinfo="skip",
                marker=dict(size=size, color=[theme.WALL_BAND_COLOURS[b] for b in bands]),
            )
        )
    figure.update_layout(
        map=dict(
            style="white-bg",
            center=dict(lat=(south + north) / 2, lon=(west + east) / 2),
            zoom=_fit_zoom(west, south, east, north, width_px, height_px),
            layers=[
                dict(
                    below="traces",
                    sourcetype="geojson",
                    type="fill",
                    color=theme.WALL_MAP_WATER,
                    source={
                        "type": "Feature",
                        "properties": {},
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [[[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]]],
                        },
                    },
                )
            ],
        ),
        height=int(height_px),
        margin=dict(l=0, r=0, t=0, b=0),
        showlegend=False,
        paper_bgcolor=theme.WALL_BACKGROUND,
        plot_bgcolor=theme.WALL_BACKGROUND,
        dragmode=False,
    )
    return figure


def map_legend_html(
    points: pd.DataFrame, located_total: int, sensors: pd.DataFrame, hour_start: datetime, lang: str
) -> str:
    """Beside the map: how many reports, the biggest categories in their colours, and the congestion bands."""
    shown = len(points)
    rows = []
    if shown:
        colours = category_colours(list(points["category"].astype(str)))
        counts = points["category"].astype(str).value_counts()
        for code, count in counts.head(5).items():
            rows.append(
                f'<div class="wall-legend-row"><span class="wall-dot" style="background:{colours[code]}"></span>'
                f'<span class="wall-legend-name">{escape(t(f"category.{code}", lang))}</span>'
                f'<span class="wall-count">{_number(count, lang)}</span></div>'
            )
    capped = (
        f'<div class="wall-muted">{escape(t("wall.map.capped", lang, shown=_number(shown, lang)))}</div>'
        if located_total > shown
        else ""
    )
    low, high = (int(v) for v in CONGESTION_BANDS)
    bands = [congestion_band(v) for v in sensors["congestion_index_mean"]] if not sensors.empty else []
    band_rows = []
    for band in ("free", "busy", "jam", "none"):
        count = bands.count(band)
        if band == "none" and not count:
            continue
        band_rows.append(
            f'<div class="wall-legend-row"><span class="wall-dot" style="background:{theme.WALL_BAND_COLOURS[band]};'
            f'width:calc(0.8*var(--u));height:calc(0.8*var(--u))"></span>'
            f'<span class="wall-legend-name">{escape(t(f"wall.map.band.{band}", lang, low=low, high=high))}</span>'
            f'<span class="wall-count">{count}</span></div>'
        )
    sensors_heading = t("wall.map.sensors", lang, start=f"{hour_start:%H:%M}", end=f"{hour_start.hour + 1:02d}:00")
    return (
        f'<div class="wall wall-side wall-fill"><div class="wall-heading">{escape(t("wall.map.points", lang))}</div>'
        f'<div class="wall-big">{_number(located_total, lang)}</div>{capped}{"".join(rows)}'
        f'<div class="wall-heading" style="margin-top:calc(0.6*var(--u))">{escape(sensors_heading)}</div>{"".join(band_rows)}</div>'
    )
