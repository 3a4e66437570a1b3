"""Charts of the administrative-procedures page: pure functions from query results to Plotly figures.

Bars that filter the page carry the filter value itself on their category axis (agency name,
procedure code, sector code) and show a readable label as tick text, so a click's `y` is the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.domain import DOSSIER_CHANNELS
from dashboard.i18n import CATALOGUE, format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_text, chart_texts

ON_TIME = definitions.KPI_BY_KEY["dossiers.completed_on_time_pct"]
CHANNEL_COLOURS = dict(zip(DOSSIER_CHANNELS, theme.SERIES_COLOURS, strict=False))
ROW_HEIGHT = 26  # pixels per bar of a horizontal ranking
LABEL_CHARACTERS = 42  # longer procedure names are shortened on the axis (the hover shows them whole)
MIN_RANKING_HEIGHT = 220
PARTIAL_OPACITY = 0.45  # weeks only partly inside the period


def _layout(
    figure: go.Figure, title: str, lang: str, height: int = theme.CHART_HEIGHT, subtitle: str = "", **extra
) -> go.Figure:
    heading = dict(text=title, x=0, font=dict(size=16))
    if subtitle:
        heading["subtitle"] = dict(text=subtitle, font=dict(size=13, color=theme.MUTED))
    extra.setdefault("margin", dict(l=10, r=20, t=70 if subtitle else 50, b=10))
    figure.update_layout(title=heading, height=height, separators=separators(lang), **extra)
    return figure


def _ranking_height(rows: int) -> int:
    """Tall enough for every bar, short enough that one or two bars do not turn into slabs."""
    return max(MIN_RANKING_HEIGHT, ROW_HEIGHT * rows + 120)


def shorten(text: str, limit: int = LABEL_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip(" ,") + "…"


def procedure_label(code: str, name: str) -> str:
    return f"{code} · {shorten(name)}"


def _outline(values: Sequence[str], selected: Sequence[str]) -> dict:
    """A dark outline on bars whose value (drawn with `chart_text`) is already a filter."""
    chosen = set(chart_texts(selected))
    return dict(width=[2.5 if v in chosen else 0 for v in values], color=theme.TEXT)


def _category_axis(values: Sequence[str], labels: Sequence[str], **extra) -> dict:
    return dict(
        type="category", tickmode="array", tickvals=list(values), ticktext=list(labels), automargin=True, **extra
    )


# ---------------------------------------------------------------- channel mix over time
def partial_weeks(buckets: pd.Series | pd.Index, first_day: date, last_day: date) -> list[bool]:
    """For Monday-based week buckets: whether each week reaches outside the period (so holds fewer than 7 days of it)."""
    starts = pd.to_datetime(pd.Series(buckets)).dt.normalize()
    return [
        bool(start < pd.Timestamp(first_day) or start + pd.Timedelta(days=6) > pd.Timestamp(last_day))
        for start in starts
    ]


def channel_share(
    frame: pd.DataFrame, grain: str, lang: str, period_days: tuple[date, date] | None = None
) -> go.Figure:
    """100 % stacked bars: the share of each submission channel per day or week (counts in the hover).

    With `period_days` (first, last) weekly bars that do not lie wholly inside the period are drawn lighter.
    """
    figure = go.Figure()
    if not frame.empty:
        wide = frame.pivot_table(index="bucket", columns="channel", values="received", aggfunc="sum", fill_value=0)
        total = wide.sum(axis=1)
        bucket_word = t("procedures.week_of" if grain == "week" else "procedures.day_of", lang)
        partial = partial_weeks(wide.index, *period_days) if grain == "week" and period_days else [False] * len(wide)
        opacity = [PARTIAL_OPACITY if p else 1.0 for p in partial]
        for channel in [c for c in DOSSIER_CHANNELS if c in wide.columns]:
            share = (100.0 * wide[channel] / total).round(1)
            figure.add_trace(
                go.Bar(
                    x=wide.index,
                    y=share,
                    name=t(f"channel.{channel}", lang),
                    marker=dict(color=CHANNEL_COLOURS[channel], opacity=opacity),
                    customdata=[[n, all_, channel] for n, all_ in zip(wide[channel], total, strict=True)],
                    hovertemplate=f"{bucket_word} %{{x|%d/%m/%Y}}<br>%{{fullData.name}}: %{{y:.1f}} % "
                    "(%{customdata[0]:,} / %{customdata[1]:,})<extra></extra>",
                )
            )
    return _layout(
        figure,
        t(f"procedures.channel_title.{grain}", lang),
        lang,
        barmode="stack",
        bargap=0.15,
        xaxis=dict(tickformat="%d/%m"),
        yaxis=dict(title=t("procedures.share_axis", lang), range=[0, 100], ticksuffix=" %"),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        hovermode="closest",  # a click selects the bar under it (with "x unified" Streamlit misses clicks)
    )


# ---------------------------------------------------------------- lead time per procedure
def lead_time_ranges(frame: pd.DataFrame, lang: str, selected: Sequence[str] = ()) -> go.Figure:
    """Box-like ranges per procedure from SQL quantiles: P10–P90 thin bar, P25–P75 thick bar, median tick.

    `frame` is `dossier_queries.lead_time_quantiles` (most completed first, which is drawn on top).
    """
    figure = go.Figure()
    if frame.empty:
        return _layout(figure, t("procedures.lead_title", lang), lang)
    rows = frame.reset_index(drop=True)
    raw_codes = rows["procedure_code"].astype(str).tolist()
    codes = chart_texts(raw_codes)  # data text: shown as text, never as Plotly's HTML (a click's y is unescaped)
    labels = chart_texts(procedure_label(c, n) for c, n in zip(raw_codes, rows["procedure_name"], strict=True))
    details = [
        [chart_text(name), *values]
        for name, values in zip(
            rows["procedure_name"],
            rows[["completed", "p10", "p25", "p50", "p75", "p90"]].to_numpy().tolist(),
            strict=True,
        )
    ]
    hover = (
        "<b>%{customdata[0]}</b><br>" + t("procedures.col.completed", lang) + ": %{customdata[1]:,}<br>"
        "P10: %{customdata[2]:.1f} · P25: %{customdata[3]:.1f} · "
        + t("procedures.median", lang)
        + ": %{customdata[4]:.1f} · P75: %{customdata[5]:.1f} · "
        "P90: %{customdata[6]:.1f} " + t("unit.days", lang) + "<extra></extra>"
    )
    figure.add_trace(
        go.Bar(
            y=codes,
            x=rows["p90"] - rows["p10"],
            base=rows["p10"],
            orientation="h",
            width=0.18,
            name=t("procedures.p10_p90", lang),
            marker=dict(color=theme.MUTED),
            customdata=details,
            hovertemplate=hover,
        )
    )
    figure.add_trace(
        go.Bar(
            y=codes,
            x=rows["p75"] - rows["p25"],
            base=rows["p25"],
            orientation="h",
            width=0.6,
            name=t("procedures.p25_p75", lang),
            marker=dict(color=theme.SEQUENTIAL_SCALE[2], line=_outline(codes, selected)),
            customdata=details,
            hovertemplate=hover,
        )
    )
    figure.add_trace(
        go.Scatter(
            y=codes,
            x=rows["p50"],
            mode="markers",
            name=t("procedures.median", lang),
            marker=dict(symbol="line-ns", size=18, line=dict(width=3, color=theme.TEXT)),
            customdata=details,
            hovertemplate=hover,
        )
    )
    # No legend: the caption under the chart says what the bars and the tick are.
    return _layout(
        figure,
        t("procedures.lead_title", lang),
        lang,
        height=_ranking_height(len(rows)),
        subtitle=t("procedures.lead_subtitle", lang, count=len(rows)),
        barmode="overlay",
        showlegend=False,
        xaxis=dict(title=t("procedures.lead_axis", lang), rangemode="tozero"),
        yaxis=_category_axis(codes, labels, autorange="reversed"),
    )


# ---------------------------------------------------------------- agency ranking
def agency_ranking(frame: pd.DataFrame, lang: str, selected: Sequence[str] = ()) -> go.Figure:
    """Agencies by on-time completion rate (lowest on top), coloured by target status, target as a line.

    `frame` is `dossier_queries.agency_ranking`; agencies with nothing completed are left out.
    """
    rows = frame.dropna(subset=["on_time_pct"]).reset_index(drop=True)
    target = ON_TIME.target
    figure = go.Figure()
    if not rows.empty:
        agencies = chart_texts(rows["agency"].astype(str))  # shown as text; a click's y is unescaped
        colours = [theme.status_colour(definitions.status(ON_TIME, v)) for v in rows["on_time_pct"]]
        figure.add_trace(
            go.Bar(
                x=rows["on_time_pct"],
                y=agencies,
                orientation="h",
                marker=dict(color=colours, line=_outline(agencies, selected)),
                text=[format_number(v, lang, 1) + " %" for v in rows["on_time_pct"]],
                textposition="outside",
                cliponaxis=False,
                textfont=dict(color=theme.TEXT, size=12),
                customdata=rows[["completed_with_due", "late", "received"]].to_numpy().tolist(),
                hovertemplate="<b>%{y}</b><br>"
                + t("procedures.col.on_time_pct", lang)
                + ": %{x:.1f} %<br>"
                + t("procedures.col.completed_with_due", lang)
                + ": %{customdata[0]:,}<br>"
                + t("procedures.col.late", lang)
                + ": %{customdata[1]:,}<br>"
                + t("procedures.col.received", lang)
                + ": %{customdata[2]:,}<extra></extra>",
            )
        )
        figure.update_yaxes(autorange="reversed", automargin=True, type="category")
    figure.add_vline(
        x=target,
        line=dict(color=theme.TEXT, dash="dash", width=1.5),
        annotation_text=t("procedures.target_line", lang, target=f"{target:.0f}"),
        annotation_position="top",
        annotation_yanchor="bottom",
    )
    return _layout(
        figure,
        t("procedures.agency_title", lang),
        lang,
        height=_ranking_height(len(rows)),
        showlegend=False,
        subtitle=t("procedures.agency_subtitle", lang),
        xaxis=dict(
            range=[0, 114], tickvals=[0, 20, 40, 60, 80, 100], ticksuffix=" %", title=t("procedures.on_time_axis", lang)
        ),
    )


# ---------------------------------------------------------------- volume bars
def _volume_bars(
    codes: list[str],
    labels: list[str],
    values: pd.Series,
    hover_rows: list,
    hover: str,
    *,
    title: str,
    axis_title: str,
    lang: str,
    selected: Sequence[str],
    colour: str,
    text: list[str] | None = None,
) -> go.Figure:
    figure = go.Figure()
    if codes:
        figure.add_trace(
            go.Bar(
                x=values,
                y=codes,
                orientation="h",
                marker=dict(color=colour, line=_outline(codes, selected)),
                customdata=hover_rows,
                hovertemplate=hover,
                text=text,
                textposition="outside",
                cliponaxis=False,
            )
        )
    top = float(values.max()) if codes else 1.0
    return _layout(
        figure,
        title,
        lang,
        height=_ranking_height(len(codes)),
        showlegend=False,
        xaxis=dict(title=axis_title, range=[0, top * (1.3 if text else 1.05)]),
        yaxis=_category_axis(codes, labels, autorange="reversed"),
    )


def top_procedures(frame: pd.DataFrame, by: str, lang: str, selected: Sequence[str] = ()) -> go.Figure:
    """Procedures ranked by dossiers received (`by="received"`) or completed late (`by="late"`), top on top."""
    raw_codes = frame["procedure_code"].astype(str).tolist()
    codes = chart_texts(raw_codes)  # data text: shown as text, never as Plotly's HTML (a click's y is unescaped)
    labels = chart_texts(procedure_label(c, n) for c, n in zip(raw_codes, frame["procedure_name"], strict=True))
    rows = [
        [chart_text(name), *values]
        for name, values in zip(
            frame["procedure_name"],
            frame[["received", "completed", "late", "late_pct"]].to_numpy().tolist(),
            strict=True,
        )
    ]
    hover = (
        "<b>%{customdata[0]}</b><br>"
        + t("procedures.col.received", lang)
        + ": %{customdata[1]:,}<br>"
        + t("procedures.col.completed", lang)
        + ": %{customdata[2]:,}<br>"
        + t("procedures.col.late", lang)
        + ": %{customdata[3]:,} (%{customdata[4]:.1f} %)<extra></extra>"
    )
    if by == "late":
        text = [_late_text(late, pct, lang) for late, pct in zip(frame["late"], frame["late_pct"], strict=True)]
        return _volume_bars(
            codes,
            labels,
            frame["late"],
            rows,
            hover,
            title=t("procedures.top_late_title", lang),
            axis_title=t("procedures.late_axis", lang),
            lang=lang,
            selected=selected,
            colour=theme.status_colour("off_target"),
            text=text,
        )
    return _volume_bars(
        codes,
        labels,
        frame["received"],
        rows,
        hover,
        title=t("procedures.top_volume_title", lang),
        axis_title=t("procedures.count_axis", lang),
        lang=lang,
        selected=selected,
        colour=theme.PRIMARY,
    )


def _late_text(late, pct, lang: str) -> str:
    return f"{format_number(late, lang, 0)} ({format_number(pct, lang, 1)} %)"


def sector_volume(frame: pd.DataFrame, lang: str, selected: Sequence[str] = ()) -> go.Figure:
    """Dossiers received per sector, most on top; on-time rate in the hover (a sector without a label shows its code)."""
    raw_codes = frame["sector"].astype(str).tolist()
    codes = chart_texts(raw_codes)  # data text: shown as text, never as Plotly's HTML (a click's y is unescaped)
    labels = chart_texts(_code_label("sector", c, lang) for c in raw_codes)
    rows = [
        [name, *values]
        for name, values in zip(labels, frame[["completed", "on_time_pct"]].to_numpy().tolist(), strict=True)
    ]
    hover = (
        "<b>%{customdata[0]}</b><br>"
        + t("procedures.col.received", lang)
        + ": %{x:,}<br>"
        + t("procedures.col.completed", lang)
        + ": %{customdata[1]:,}<br>"
        + t("procedures.col.on_time_pct", lang)
        + ": %{customdata[2]:.1f} %<extra></extra>"
    )
    return _volume_bars(
        codes,
        labels,
        frame["received"],
        rows,
        hover,
        title=t("procedures.sector_title", lang),
        axis_title=t("procedures.count_axis", lang),
        lang=lang,
        selected=selected,
        colour=theme.SERIES_COLOURS[0],
    )


# ---------------------------------------------------------------- labels and tables
def _code_label(prefix: str, code: str, lang: str) -> str:
    key = f"{prefix}.{code}"
    return t(key, lang) if key in CATALOGUE[lang] else code


def option_labels(options: dict[str, dict[str, str]], lang: str) -> dict[str, dict[str, str]]:
    """Display names of the filter options from `dossier_queries.filter_options` (codes without a label stay as they are)."""
    return {
        "sector": {c: _code_label("sector", c, lang) for c in options.get("sector", {})},
        "agency": dict(options.get("agency", {})),
        "procedure": {c: procedure_label(c, n) for c, n in options.get("procedure", {}).items()},
        "channel": {c: _code_label("channel", c, lang) for c in options.get("channel", {})},
    }


AGENCY_COLUMNS = ("agency", "received", "completed", "completed_with_due", "completed_on_time", "late", "on_time_pct")
PROCEDURE_COLUMNS = (
    "procedure_code",
    "procedure_name",
    "sector",
    "received",
    "completed",
    "completed_with_due",
    "completed_on_time",
    "late",
    "on_time_pct",
    "late_pct",
)
PAST_DUE_COLUMNS = (
    "source_id",
    "overdue_days",
    "age_days",
    "procedure_name",
    "agency",
    "area_name",
    "channel",
    "status",
    "received_at",
    "due_at",
)
_CODED = {"sector": "sector", "channel": "channel", "status": "procedures.status"}


def display_table(frame: pd.DataFrame, columns: Sequence[str], lang: str) -> pd.DataFrame:
    """`columns` of a query result with codes turned into labels and headers translated (what is shown and downloaded)."""
    table = frame.loc[:, list(columns)].copy()
    for column, prefix in _CODED.items():
        if column in table:
            table[column] = [_code_label(prefix, str(code), lang) for code in table[column]]
    return table.rename(columns={c: t(f"procedures.col.{c}", lang) for c in columns})
