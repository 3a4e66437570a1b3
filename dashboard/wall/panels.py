"""The traffic, procedures and forecast panels of the wall screen (HTML blocks and one Plotly chart).

Split from wall/render.py (stylesheet, header, ticker, overview and map) to keep both short; the same
rules hold: pure functions, sizes in wall units, database text escaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from html import escape
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import format_value
from dashboard.wall.render import WEEKDAY_SHORT, compact, congestion_band, hhmm

STATUS_COLOURS = {"on_target": theme.WALL_GOOD, "near_target": theme.WALL_WARN, "off_target": theme.WALL_BAD}
CONGESTION = definitions.KPI_BY_KEY["traffic.congestion_index_peak"]


def _bar_row(name: str, share: float, value_text: str, colour: str, value_units: float = 5.2) -> str:
    width = max(0.0, min(100.0, share))
    columns = f"minmax(0,1.6fr) minmax(0,1fr) calc({value_units}*var(--u))"
    return (
        f'<div class="wall-bar-row" style="grid-template-columns:{columns}"><span class="wall-bar-name">{escape(name)}</span>'
        f'<span class="wall-bar-track"><span class="wall-bar-fill" style="display:block;width:{width:.1f}%;background:{colour}">'
        f'</span></span><span class="wall-bar-value">{escape(value_text)}</span></div>'
    )


# ---------------------------------------------------------------- traffic
def profile_figure(profile: pd.DataFrame, lang: str, unit_px: float, height_px: float, day_label: str) -> go.Figure:
    """Vehicles per hour on the day (bars, up to the last complete hour; `day_label` names it) against the
    typical day (line)."""
    font = dict(family=theme.WALL_FONT_FAMILY, size=round(unit_px), color=theme.WALL_TEXT)
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=profile["hour"],
            y=profile["vehicles"].astype("Float64").astype(float) / 1000,
            name=day_label,
            marker_color=theme.WALL_ACCENT,
            hoverinfo="skip",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=profile["hour"],
            y=profile["typical_vehicles"] / 1000,
            mode="lines",
            name=t("wall.traffic.typical", lang),
            hoverinfo="skip",
            line=dict(color=theme.WALL_WARN, width=max(3, unit_px / 8), shape="spline"),
        )
    )
    figure.update_layout(
        height=int(height_px),
        margin=dict(l=round(unit_px * 2.2), r=round(unit_px * 0.6), t=round(unit_px * 3.4), b=round(unit_px * 1.6)),
        paper_bgcolor=theme.WALL_SURFACE,
        plot_bgcolor=theme.WALL_SURFACE,
        font=font,
        bargap=0.15,
        title=dict(
            text=t("wall.traffic.profile", lang),
            x=0.02,
            xanchor="left",
            y=1 - 0.5 * unit_px / height_px,
            yanchor="top",
            font=dict(family=theme.WALL_FONT_FAMILY, size=round(unit_px), color=theme.WALL_TEXT, weight=700),
        ),
        legend=dict(
            orientation="h",
            x=0,
            y=1.01,
            yanchor="bottom",
            font=font,
            bgcolor="rgba(0,0,0,0)",
            entrywidth=round(unit_px * 6),
        ),
        xaxis=dict(
            tickmode="array",
            tickvals=[0, 6, 12, 18, 23],
            ticktext=["0h", "6h", "12h", "18h", "23h"],
            showgrid=False,
            color=theme.WALL_MUTED,
            tickfont=font,
        ),
        yaxis=dict(gridcolor=theme.WALL_BORDER, color=theme.WALL_MUTED, tickfont=font, nticks=4, zeroline=False),
        dragmode=False,
    )
    return figure


def traffic_side_html(today: Mapping[str, Any], typical: Mapping[str, Any], data: Mapping[str, Any], lang: str) -> str:
    """Congestion in the last complete hour and vehicles today (each against the typical day), the most
    congested segments and the silent sensors."""
    hour: datetime = data["hour_start"]
    now_index = today["traffic_hour"]["congestion_index_peak"]
    usual_index = typical["traffic_hour"]["congestion_index_peak"]
    vehicles, usual_vehicles = today["kpis"]["traffic"]["vehicles"], typical["kpis"]["traffic"]["vehicles"]
    colour = theme.WALL_BAND_COLOURS[congestion_band(now_index)]
    top = data["top"]
    rows = []
    for row in top.to_dict("records"):
        index = row["congestion_index_mean"]
        rows.append(
            _bar_row(
                str(row["name"]),
                100.0 * float(index) / 60.0,
                format_number(round(index) or 0, lang, 0) + " %",
                theme.WALL_BAND_COLOURS[congestion_band(index)],
                value_units=3.2,
            )
        )
    silent, total = len(data["silent"]), data["sensor_total"]
    silent_line = (
        t("wall.traffic.silent", lang, count=silent, total=total)
        if silent
        else t("wall.traffic.all_reporting", lang, total=total)
    )
    silent_colour = theme.WALL_WARN if silent else theme.WALL_GOOD
    usual_index_text = (
        t("wall.typical", lang, value=format_value(CONGESTION, usual_index, lang, "wall"))
        if usual_index is not None
        else ""
    )
    usual_vehicles_text = (
        t("wall.typical", lang, value=compact(usual_vehicles, lang)) if usual_vehicles is not None else ""
    )
    return (
        f'<div class="wall wall-side wall-fill" style="display:flex;flex-direction:column">'
        f'<div class="wall-row"><div><div class="wall-muted">{escape(t("wall.traffic.now", lang, start=hhmm(hour), end=f"{hour.hour + 1:02d}:00"))}</div>'
        f'<div class="wall-big" style="color:{colour}">{escape(format_value(CONGESTION, now_index, lang, "wall"))}</div>'
        f'<div class="wall-muted">{escape(usual_index_text)}</div></div>'
        f'<div><div class="wall-muted">{escape(t("wall.traffic.vehicles_today", lang))}</div>'
        f'<div class="wall-big">{escape(compact(vehicles, lang))}</div><div class="wall-muted">{escape(usual_vehicles_text)}</div></div></div>'
        f'<div class="wall-heading" style="margin-top:calc(0.5*var(--u))">{escape(t("wall.traffic.top", lang))}</div>'
        f'<div class="wall-bars" style="flex:1;align-content:space-evenly">{"".join(rows)}</div>'
        f'<div class="wall-heading" style="color:{silent_colour};margin-top:calc(0.5*var(--u))">● {escape(silent_line)}</div></div>'
    )


# ---------------------------------------------------------------- procedures
def procedures_html(today: Mapping[str, Any], typical: Mapping[str, Any], data: Mapping[str, Any], lang: str) -> str:
    """Dossiers today: received, completed, on time (against the typical day and the target), past due now;
    then the on-time share per sector."""
    figures, usual = today["kpis"]["dossiers"], typical["kpis"]["dossiers"]
    on_time_definition = definitions.KPI_BY_KEY["dossiers.completed_on_time_pct"]
    on_time = figures["completed_on_time_pct"]
    on_time_colour = STATUS_COLOURS.get(definitions.status(on_time_definition, on_time), theme.WALL_MUTED)

    def block(label: str, value: str, note: str, colour: str = theme.WALL_TEXT) -> str:
        return (
            f'<div class="wall-tile"><div class="wall-tile-label">{escape(label)}</div>'
            f'<div class="wall-tile-value" style="color:{colour}">{escape(value)}</div>'
            f'<div class="wall-muted" style="white-space:nowrap">{escape(note)}</div></div>'
        )

    def typical_of(name: str, decimals: int = 0, suffix: str = "") -> str:
        value = usual.get(name)
        return (
            t("wall.typical", lang, value=format_number(value, lang, decimals) + suffix)
            if value is not None
            else t("wall.no_typical", lang)
        )

    blocks = [
        block(t("wall.procedures.received", lang), format_number(figures["received"], lang), typical_of("received")),
        block(t("wall.procedures.completed", lang), format_number(figures["completed"], lang), typical_of("completed")),
        block(
            t("wall.procedures.on_time", lang),
            format_value(on_time_definition, on_time, lang, "wall"),
            t("wall.procedures.target", lang, target=format_number(on_time_definition.target, lang)),
            on_time_colour,
        ),
        block(
            t("wall.procedures.past_due", lang),
            format_number(data["past_due_open"], lang),
            t("wall.procedures.past_due_note", lang),
            theme.WALL_WARN if data["past_due_open"] else theme.WALL_GOOD,
        ),
    ]
    sectors = data["sectors"]
    done = sectors[sectors["completed_with_due"] > 0] if not sectors.empty else sectors
    rows = []
    for row in done.sort_values(["on_time_pct", "sector"]).to_dict("records"):
        colour = STATUS_COLOURS.get(definitions.status(on_time_definition, row["on_time_pct"]), theme.WALL_MUTED)
        value = f"{format_number(row['on_time_pct'], lang, 0)} % ({format_number(row['completed'], lang)})"
        rows.append(_bar_row(t(f"sector.{row['sector']}", lang), float(row["on_time_pct"]), value, colour))
    body = (
        f'<div class="wall-bars" style="grid-template-columns:repeat(2,minmax(0,1fr));align-content:start;row-gap:calc(0.55*var(--u))">'
        f"{''.join(rows)}</div>"
        if rows
        else f'<div class="wall-muted">{escape(t("wall.procedures.none_completed", lang))}</div>'
    )
    return (
        f'<div class="wall wall-fill" style="display:flex;flex-direction:column;gap:calc(0.6*var(--u))">'
        f'<div class="wall-tiles" style="grid-template-rows:1fr;height:auto;flex:0 0 calc(6.8*var(--u))">{"".join(blocks)}</div>'
        f'<div class="wall-side" style="flex:1;display:flex;flex-direction:column">'
        f'<div class="wall-heading">{escape(t("wall.procedures.sectors", lang))}</div>{body}</div></div>'
    )


# ---------------------------------------------------------------- forecast
def forecast_html(outlook: Mapping[str, Any], lang: str) -> str:
    """One row per metric: tomorrow's forecast with its 80 % range, then the next seven days as bars."""
    if not outlook["available"]:
        return f'<div class="wall wall-panel wall-waiting">{escape(t("wall.forecast.none", lang))}</div>'
    series = {metric: rows for metric, rows in outlook["series"].items() if not rows.empty}
    if not series:
        made = max(outlook["created_at"].values())
        return (
            f'<div class="wall wall-panel wall-waiting">'
            f"{escape(t('wall.forecast.old', lang, time=pd.Timestamp(made).strftime('%H:%M %d/%m/%Y')))}</div>"
        )
    rows = []
    for metric in ("feedback", "dossiers", "traffic"):
        if metric not in series:
            continue
        frame = series[metric]
        first = frame.iloc[0]
        value = compact if metric == "traffic" else (lambda v, language: format_number(v, language))
        tallest = float(frame["yhat"].max()) or 1.0
        days = []
        for row in frame.to_dict("records"):
            height = max(4.0, 100.0 * float(row["yhat"]) / tallest)
            label = f"{WEEKDAY_SHORT[lang][row['ds'].weekday()]} {row['ds']:%d/%m}"
            days.append(
                f'<div class="wall-day"><span class="wall-day-value">{escape(value(row["yhat"], lang))}</span>'
                f'<span class="wall-day-bar" style="height:calc({height / 100:.2f} * (100% - 2.6 * var(--u)))"></span>'
                f'<span class="wall-day-label">{escape(label)}</span></div>'
            )
        rows.append(
            f'<div class="wall-forecast-row wall-side" data-metric="{metric}"><div>'
            f'<div class="wall-heading">{escape(t(f"wall.forecast.{metric}", lang))} · '
            f"{escape(t('wall.forecast.tomorrow', lang, date=first['ds'].strftime('%d/%m')))}</div>"
            f'<div class="wall-big">{escape(value(first["yhat"], lang))}</div>'
            f'<div class="wall-muted">{escape(t("wall.forecast.range", lang, low=value(first["yhat_lower"], lang), high=value(first["yhat_upper"], lang)))}'
            f"</div></div>"
            f'<div class="wall-week">{"".join(days)}</div></div>'
        )
    return f'<div class="wall wall-forecast">{"".join(rows)}</div>'


def day_label(as_of: datetime, today: date, lang: str) -> str:
    """ "Hôm nay" when the data clock is today, else "Ngày 20/11"."""
    return (
        t("wall.traffic.today", lang)
        if as_of.date() == today
        else t("wall.traffic.day", lang, date=as_of.strftime("%d/%m"))
    )


def forecast_caption(outlook: Mapping[str, Any], lang: str) -> str:
    """ "7 ngày tới · lập lúc 05:10 23/11" (the newest of the current runs)."""
    caption = t("wall.forecast.week", lang)
    if outlook.get("created_at"):
        made = pd.Timestamp(max(outlook["created_at"].values())).strftime("%H:%M %d/%m")
        caption += " · " + t("wall.forecast.made", lang, time=made)
    return caption
