"""Charts and display tables of the forecast page: pure functions of stored forecasts and scores.

Nothing here fits a model; everything reads what `python -m dashboard forecast` stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import theme
from dashboard.i18n import CATALOGUE, format_number, t
from dashboard.metrics.format import separators
from dashboard.safe_text import chart_texts

LEVEL_ORDER = ("city", "category", "sector", "area", "sensor")
OVER_CAPACITY_PCT = 110.0
NEAR_CAPACITY_PCT = 90.0
AGENCIES_CHARTED = 15
AGENCY_ROW_HEIGHT = 34


def _rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _code_label(prefix: str, code: str, lang: str) -> str:
    key = f"{prefix}.{code}"
    return CATALOGUE.get(lang, CATALOGUE["vi"]).get(key, code)


# ---------------------------------------------------------------- series names
def series_label(series_id: str, lang: str, area_names: Mapping[str, str], sensor_names: Mapping[str, str]) -> str:
    """ "Toàn thành phố", "Lĩnh vực: Chiếu sáng", "Phường An Cựu", "Cảm biến: Cầu Trường Tiền" …"""
    parts = series_id.split(":", 2)
    level, key = parts[1], parts[2] if len(parts) > 2 else ""
    if level == "city":
        return t("forecast.series.city", lang)
    label = {
        "category": lambda: _code_label("category", key, lang),
        "sector": lambda: _code_label("sector", key, lang),
        "area": lambda: area_names.get(key, key),
        "sensor": lambda: sensor_names.get(key, key),
    }.get(level, lambda: key)()
    return t(f"forecast.series.{level}", lang, label=label)


def series_options(
    series_ids: Sequence[str], lang: str, area_names: Mapping[str, str], sensor_names: Mapping[str, str]
) -> dict[str, str]:
    """Series id → label, city first, then categories/sectors, wards and sensors, each alphabetically."""
    labels = {sid: series_label(sid, lang, area_names, sensor_names) for sid in series_ids}

    def order(sid: str) -> tuple[int, str]:
        level = sid.split(":")[1]
        return (LEVEL_ORDER.index(level) if level in LEVEL_ORDER else len(LEVEL_ORDER), labels[sid])

    return {sid: labels[sid] for sid in sorted(series_ids, key=order)}


# ---------------------------------------------------------------- the forecast chart
LABEL_GAP_SHARE = 0.03  # holidays closer than this share of the time axis share one label


def _span_days(*frames: pd.DataFrame) -> int:
    filled = [pd.to_datetime(f["ds"]) for f in frames if not f.empty]
    if not filled:  # nothing to draw (pd.concat of no frames raises)
        return 1
    days = pd.concat(filled)
    return int((days.max() - days.min()).days) + 1


def holiday_labels(holidays: pd.DataFrame, lang: str, span_days: int) -> list[tuple[pd.Timestamp, str]]:
    """(day, text) per label; holidays within 3 % of the axis of the previous one are joined ("A · B")."""
    labels: list[tuple[pd.Timestamp, str]] = []
    for row in holidays.sort_values("ds").itertuples():
        name = getattr(row, "name", None)  # another country's holiday: its name from the `holidays` package
        text = name if isinstance(name, str) and name else t(f"forecast.holiday.{row.holiday}", lang)
        if labels and (row.ds - labels[-1][0]).days < LABEL_GAP_SHARE * span_days:
            labels[-1] = (labels[-1][0], labels[-1][1] + " · " + text)
        else:
            labels.append((row.ds, text))
    return labels


def forecast_chart(
    actual: pd.DataFrame,
    forecast: pd.DataFrame,
    holidays: pd.DataFrame,
    *,
    title: str,
    unit: str,
    lang: str,
    height: int = theme.TREND_HEIGHT - 80,
) -> go.Figure:
    """Actual days, their 7-day mean, the forecast with its 80 % band, and holiday markers.

    actual: ds, y; forecast: ds, yhat, yhat_lower, yhat_upper; holidays: ds, holiday.
    """
    figure = go.Figure()
    if not forecast.empty:
        days = pd.to_datetime(forecast["ds"])
        figure.add_trace(
            go.Scatter(
                x=days, y=forecast["yhat_upper"], mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False
            )
        )
        figure.add_trace(
            go.Scatter(
                x=days,
                y=forecast["yhat_lower"],
                mode="lines",
                line=dict(width=0),
                fill="tonexty",
                fillcolor=_rgba(theme.PRIMARY, 0.18),
                name=t("forecast.chart.band", lang),
                customdata=np.stack([forecast["yhat_lower"], forecast["yhat_upper"]], axis=1),
                hovertemplate="%{customdata[0]:,.0f} – %{customdata[1]:,.0f}<extra></extra>",
            )
        )
        figure.add_trace(
            go.Scatter(
                x=days,
                y=forecast["yhat"],
                mode="lines",
                name=t("forecast.chart.forecast", lang),
                line=dict(color=theme.PRIMARY, width=2.5, dash="dash"),
                hovertemplate="%{y:,.0f}<extra>" + t("forecast.chart.forecast", lang) + "</extra>",
            )
        )
    if not actual.empty:
        days = pd.to_datetime(actual["ds"])
        values = actual.set_index(days)["y"].astype(float)
        figure.add_trace(
            go.Scatter(
                x=days,
                y=values,
                mode="lines",
                name=t("forecast.chart.actual", lang),
                line=dict(color=theme.SERIES_COLOURS[5], width=1),
                hovertemplate="%{y:,.0f}<extra>" + t("forecast.chart.actual", lang) + "</extra>",
            )
        )
        rolling = values.asfreq("D").rolling(7, min_periods=7).mean()
        figure.add_trace(
            go.Scatter(
                x=rolling.index,
                y=rolling.round(1),
                mode="lines",
                name=t("forecast.chart.rolling", lang),
                line=dict(color=theme.TEXT, width=2),
                hovertemplate="%{y:,.1f}<extra>" + t("forecast.chart.rolling", lang) + "</extra>",
            )
        )
    for day, text in holiday_labels(holidays, lang, _span_days(actual, forecast)):
        figure.add_annotation(
            x=day,
            y=1,
            yref="paper",
            text=text,
            showarrow=False,
            textangle=-90,
            xanchor="right",
            yanchor="top",
            xshift=-2,
            font=dict(size=11, color=theme.MUTED),
            bgcolor=_rgba(theme.BACKGROUND, 0.8),
        )
    for day in holidays["ds"]:
        figure.add_shape(
            type="line", x0=day, x1=day, y0=0, y1=1, yref="paper", line=dict(color=theme.MUTED, width=1, dash="dot")
        )
    figure.update_layout(
        title=dict(text=title, x=0, font=dict(size=16)),
        height=height,
        hovermode="x unified",
        separators=separators(lang),
        yaxis=dict(title=unit, rangemode="tozero", tickformat=",.0f"),
        xaxis=dict(tickformat="%d/%m/%Y"),
        legend=dict(orientation="h", yanchor="top", y=-0.1, xanchor="left", x=0),
        margin=dict(l=10, r=10, t=50, b=10),
    )
    return figure


# ---------------------------------------------------------------- scores
def _improvement_pct(mase_model, mase_naive) -> float | None:
    if mase_model is None or mase_naive is None or pd.isna(mase_model) or pd.isna(mase_naive) or mase_naive <= 0:
        return None
    return 100.0 * (1.0 - float(mase_model) / float(mase_naive))


def score_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per series from the stored scores (holdout rows when the run has them, backtest rows otherwise).

    Columns series_id, model, mase_model, mase_naive, improvement_pct, coverage_80 (calibrated band), coverage_80_raw
    (the model's own band; NaN when not stored), smape, is_holdout.
    """
    columns = [
        "series_id",
        "model",
        "mase_model",
        "mase_naive",
        "improvement_pct",
        "coverage_80",
        "coverage_80_raw",
        "smape",
        "is_holdout",
    ]
    if scores.empty:
        return pd.DataFrame(columns=columns)
    holdout = scores["is_holdout"].astype(bool)
    used = scores[holdout] if holdout.any() else scores[~holdout]
    chosen_models = scores[scores["chosen"].astype(bool)].drop_duplicates("series_id").set_index("series_id")["model"]
    rows = []
    for series_id, group in used.groupby("series_id", sort=False):
        model = chosen_models.get(series_id, "naive")
        by_model = group.set_index("model")
        chosen = by_model.loc[model] if model in by_model.index else by_model.iloc[0]
        naive = by_model.loc["naive"] if "naive" in by_model.index else chosen
        rows.append(
            {
                "series_id": series_id,
                "model": model,
                "mase_model": chosen["mase"],
                "mase_naive": naive["mase"],
                "improvement_pct": _improvement_pct(chosen["mase"], naive["mase"]),
                "coverage_80": chosen["coverage_80"],
                "coverage_80_raw": chosen.get("coverage_80_raw", float("nan")),
                "smape": chosen["smape"],
                "is_holdout": bool(holdout.any()),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def metric_summary(rows: pd.DataFrame) -> dict[str, float | int | None]:
    """How many series beat the baseline, and the median improvement (%)."""
    improvement = pd.to_numeric(rows["improvement_pct"], errors="coerce")
    return {
        "total": int(len(rows)),
        "better": int((improvement > 0).sum()),
        "median_improvement_pct": float(improvement.median()) if improvement.notna().any() else None,
    }


def score_table(rows: pd.DataFrame, labels: Mapping[str, str], lang: str) -> pd.DataFrame:
    """The scores as shown and downloaded: readable names, percentages."""
    table = pd.DataFrame(
        {
            t("forecast.col.series", lang): rows["series_id"].map(lambda s: labels.get(s, s)),
            t("forecast.col.model", lang): rows["model"].map(lambda m: t(f"forecast.model.{m}", lang)),
            t("forecast.col.improvement_pct", lang): pd.to_numeric(rows["improvement_pct"], errors="coerce").round(1),
            t("forecast.col.mase_model", lang): pd.to_numeric(rows["mase_model"], errors="coerce").round(3),
            t("forecast.col.mase_naive", lang): pd.to_numeric(rows["mase_naive"], errors="coerce").round(3),
            t("forecast.col.coverage_pct", lang): (100 * pd.to_numeric(rows["coverage_80"], errors="coerce")).round(1),
            t("forecast.col.smape_pct", lang): (100 * pd.to_numeric(rows["smape"], errors="coerce")).round(1),
        }
    )
    return table.reset_index(drop=True)


def percent_text(value, lang: str, decimals: int = 0) -> str:
    return "–" if value is None or pd.isna(value) else format_number(value, lang, decimals) + " %"


# ---------------------------------------------------------------- agencies
def load_status(load_pct) -> str:
    if load_pct is None or pd.isna(load_pct):
        return "unknown"
    if load_pct > OVER_CAPACITY_PCT:
        return "over"
    return "near" if load_pct >= NEAR_CAPACITY_PCT else "under"


_STATUS_THEME = {"over": "off_target", "near": "near_target", "under": "on_target", "unknown": None}


def agency_chart(outlook: pd.DataFrame, lang: str, limit: int = AGENCIES_CHARTED) -> go.Figure:
    """Load against capacity (forecast per week ÷ resolved per week) of the `limit` agencies expecting most reports.

    One bar per agency coloured by status, a line at 100 %; the weekly numbers are in the hover.
    """
    figure = go.Figure()
    top = outlook.dropna(subset=["load_pct"]).nlargest(limit, "forecast_per_week").sort_values("load_pct")
    if top.empty:
        return figure.update_layout(height=theme.CHART_HEIGHT)
    colours = [theme.STATUS_COLOURS[_STATUS_THEME[load_status(v)]] for v in top["load_pct"]]
    hover = [
        t("forecast.agency.forecast", lang)
        + f": {format_number(f, lang, 1)}<br>"
        + t("forecast.agency.capacity", lang)
        + f": {format_number(r, lang, 1)}"
        for f, r in zip(top["forecast_per_week"], top["resolved_per_week"], strict=True)
    ]
    figure.add_trace(
        go.Bar(
            y=chart_texts(top["agency"]),
            x=top["load_pct"],
            orientation="h",
            marker_color=colours,
            text=[percent_text(v, lang) for v in top["load_pct"]],
            textposition="outside",
            cliponaxis=False,
            customdata=hover,
            hovertemplate="%{customdata}<extra>%{y}</extra>",
            name=t("forecast.agency.load", lang),
        )
    )
    figure.add_vline(x=100, line=dict(color=theme.TEXT, width=1.5, dash="dot"))
    right = max(130.0, float(top["load_pct"].max()) * 1.15)
    figure.update_layout(
        height=max(theme.CHART_HEIGHT, AGENCY_ROW_HEIGHT * len(top) + 110),
        showlegend=False,
        title=dict(text=t("forecast.agency.chart_title", lang, count=len(top)), x=0, font=dict(size=16)),
        separators=separators(lang),
        bargap=0.3,
        xaxis=dict(title=t("forecast.agency.load", lang) + " (%)", range=[0, right]),
        yaxis=dict(automargin=True),
        margin=dict(l=10, r=50, t=50, b=10),
    )
    return figure


def agency_table(outlook: pd.DataFrame, lang: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            t("forecast.agency.col.agency", lang): outlook["agency"],
            t("forecast.agency.col.forecast_per_week", lang): pd.to_numeric(outlook["forecast_per_week"]).round(1),
            t("forecast.agency.col.resolved_per_week", lang): pd.to_numeric(outlook["resolved_per_week"]).round(1),
            t("forecast.agency.col.load_pct", lang): pd.to_numeric(outlook["load_pct"]).round(0),
            t("forecast.agency.col.status", lang): [
                t(f"forecast.agency.status.{load_status(v)}", lang) for v in outlook["load_pct"]
            ],
        }
    ).reset_index(drop=True)


# ---------------------------------------------------------------- anomalies
def anomaly_table(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Anomalies as shown and downloaded (newest first within the list the query returned)."""
    range_text = [
        f"{format_number(lo, lang, 0)} – {format_number(hi, lang, 0)}"
        for lo, hi in zip(frame["lower"], frame["upper"], strict=True)
    ]
    return pd.DataFrame(
        {
            t("forecast.anomalies.col.ds", lang): pd.to_datetime(frame["ds"]).dt.strftime("%d/%m/%Y"),
            t("forecast.anomalies.col.area", lang): frame["area_name"].fillna(frame["area_code"]),
            t("forecast.anomalies.col.category", lang): [_code_label("category", c, lang) for c in frame["category"]],
            t("forecast.anomalies.col.direction", lang): [
                t(f"forecast.anomalies.direction.{'high' if s > 0 else 'low'}", lang) for s in frame["size"]
            ],
            t("forecast.anomalies.col.actual", lang): pd.to_numeric(frame["actual"]).round(0).astype("Int64"),
            t("forecast.anomalies.col.expected", lang): pd.to_numeric(frame["expected"]).round(1),
            t("forecast.anomalies.col.range", lang): range_text,
            t("forecast.anomalies.col.size", lang): pd.to_numeric(frame["size"]).round(1),
        }
    ).reset_index(drop=True)


def history_start(first_forecast_day: date, days: int) -> date:
    return (pd.Timestamp(first_forecast_day) - pd.Timedelta(days=days)).date()
