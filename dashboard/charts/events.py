"""Events on a time chart: a shaded band for an event of several days, a dashed line for a one-day event, a short
label above the plot for at most `max_labels` of them (the longest first) and a small hover-only mark for the rest,
so a month with many events stays readable. Figures only: it takes a frame of events
(dashboard.db.event_queries.events_between) and never queries.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import plotly.graph_objects as go

from dashboard.safe_text import chart_text

MAX_LABELS = 4
LABEL_CHARS = 16
LABEL_ROW = 0.07  # height of a label row, in parts of the plot
KIND_COLOURS = {
    "holiday": "#b71c1c",
    "weather": "#1565c0",
    "festival": "#6a1b9a",
    "incident": "#e65100",
    "policy": "#2e7d32",
}
MARKER_NAME = "event"  # every shape and annotation this module adds carries name "event:<id>"


def _short(title: str) -> str:
    title = str(title)
    return title if len(title) <= LABEL_CHARS else title[: LABEL_CHARS - 1].rstrip() + "…"


def _span_text(start: date, end: date) -> str:
    return f"{start:%d/%m/%Y}" if start == end else f"{start:%d/%m}–{end:%d/%m/%Y}"


def add_event_markers(
    figure: go.Figure,
    events: pd.DataFrame | None,
    start: date | None = None,
    end: date | None = None,
    *,
    max_labels: int = MAX_LABELS,
    daily: bool = True,
) -> go.Figure:
    """Mark `events` (columns id, start_date, end_date, kind, title) on `figure`'s x axis of dates, clipped to
    [start, end] when given. `daily`: the x values are days drawn as bars, so a band covers whole days (from half a
    day before its first to half a day after its last). Returns the same figure."""
    if events is None or events.empty:
        return figure
    frame = events.copy()
    frame["start_date"] = pd.to_datetime(frame["start_date"]).dt.date
    frame["end_date"] = pd.to_datetime(frame["end_date"]).dt.date
    if start is not None:
        frame = frame[frame["end_date"] >= start]
        frame["start_date"] = frame["start_date"].map(lambda d: max(d, start))
    if end is not None:
        frame = frame[frame["start_date"] <= end]
        frame["end_date"] = frame["end_date"].map(lambda d: min(d, end))
    if frame.empty:
        return figure
    frame = frame.assign(days=[(b - a).days + 1 for a, b in zip(frame["start_date"], frame["end_date"], strict=True)])
    labelled = set(frame.sort_values(["days", "start_date"], ascending=[False, True]).head(max_labels)["id"])
    half = timedelta(hours=12) if daily else timedelta(0)
    shown = 0
    for row in frame.sort_values("start_date").itertuples(index=False):
        colour = KIND_COLOURS.get(row.kind, "#616161")
        name = f"{MARKER_NAME}:{row.id}"
        first = pd.Timestamp(row.start_date)
        if row.days > 1 or daily:
            x0, x1 = first - half, pd.Timestamp(row.end_date) + half
            if row.days > 1:
                figure.add_shape(
                    type="rect",
                    xref="x",
                    yref="paper",
                    x0=x0,
                    x1=x1,
                    y0=0,
                    y1=1,
                    fillcolor=colour,
                    opacity=0.10,
                    line_width=0,
                    layer="below",
                    name=name,
                )
            else:
                figure.add_shape(
                    type="line",
                    xref="x",
                    yref="paper",
                    x0=first,
                    x1=first,
                    y0=0,
                    y1=1,
                    line={"color": colour, "width": 1, "dash": "dot"},
                    layer="below",
                    name=name,
                )
        hover = chart_text(f"{row.title} · {_span_text(row.start_date, row.end_date)}")
        middle = first + (pd.Timestamp(row.end_date) - first) / 2
        if row.id in labelled:  # labels inside the plot's top edge, every other one a row lower so they never overlap
            row_index = shown % 2
            shown += 1
            text, y = chart_text(_short(row.title)), round(1.0 - LABEL_ROW * row_index, 3)
        else:
            text, y = "◆", 1.0
        figure.add_annotation(
            x=middle,
            xref="x",
            y=y,
            yref="paper",
            yanchor="top",
            text=text,
            hovertext=hover,
            showarrow=False,
            font={"size": 10, "color": colour},
            bgcolor="rgba(255,255,255,0.85)",
            name=name,
        )
    return figure


def event_marker_names(figure: go.Figure) -> list[str]:
    """The names of the event shapes and annotations on `figure` (tests, and the PDF's own check)."""
    names = [s.name for s in figure.layout.shapes if (s.name or "").startswith(MARKER_NAME)]
    names += [a.name for a in figure.layout.annotations if (a.name or "").startswith(MARKER_NAME)]
    return names
