"""Dự báo — forecasts with their 80 % band, how they did in the backtest against "same as last week",
the next four weeks of feedback per agency against its capacity, and recent anomalies.

The page only reads what `python -m dashboard forecast` stored; it never fits a model.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard.charts import forecast as charts
from dashboard.db import forecast_queries as fq
from dashboard.db import queries
from dashboard.i18n import format_date, format_datetime, format_number, t
from dashboard.safe_text import chart_text
from dashboard.web import cache, events, url_state, widgets

HISTORY_CHOICES = (90, 180, 365, 730)
NO_MARKERS = pd.DataFrame(columns=["ds", "holiday"])
ANOMALY_DAYS = 30
ANOMALIES_SHOWN = 500

lang = url_state.lang()
selection = url_state.current()

title_column, badge_column = st.columns([5, 1], vertical_alignment="center")
title_column.title(t("forecast.heading", lang))
with badge_column:
    widgets.demo_badge(lang)

runs = cache.query(fq.current_runs, ttl=0)  # never reused: a new run shows on the next rerun


def run_line(run: pd.Series, series_count: int) -> str:
    line = t(
        "forecast.run_line",
        lang,
        time=format_datetime(pd.Timestamp(run["created_at"]).to_pydatetime(), lang),
        series=format_number(series_count, lang),
        folds=4,
        horizon=int(run["horizon_days"]),
    )
    if run["holdout_days"]:
        line += t("forecast.run_holdout", lang, days=int(run["holdout_days"]))
    return line


def scorecard(row: pd.Series, run: pd.Series) -> None:
    st.subheader(t("forecast.score.heading", lang))
    improvement = row["improvement_pct"]
    known = improvement is not None and not pd.isna(improvement)
    model = t(f"forecast.model.{row['model']}", lang)
    if row["model"] == "naive" or not known:
        st.markdown("**" + t("forecast.score.not_better", lang) + "**")
    elif improvement > 0:
        better = t("forecast.score.better_model", lang, model=model, pct=format_number(improvement, lang, 0))
        st.markdown("**" + better + "**")
    else:
        st.markdown("**" + t("forecast.score.worse", lang, pct=format_number(-improvement, lang, 0)) + "**")
    columns = st.columns(4)
    columns[0].metric(
        t("forecast.tile.improvement", lang),
        charts.percent_text(improvement, lang),
        border=True,
        help=t("forecast.tile.improvement_help", lang),
    )
    columns[1].metric(
        t("forecast.tile.mase", lang),
        format_number(row["mase_model"], lang, 2),
        border=True,
        help=t("forecast.tile.mase_help", lang, naive=format_number(row["mase_naive"], lang, 2)),
    )
    coverage = None if pd.isna(row["coverage_80"]) else 100 * row["coverage_80"]
    columns[2].metric(
        t("forecast.tile.coverage", lang),
        charts.percent_text(coverage, lang),
        border=True,
        help=t("forecast.tile.coverage_help", lang),
    )
    columns[3].metric(
        t("forecast.tile.model", lang),
        t(f"forecast.model.{row['model']}", lang),
        border=True,
        help=t("forecast.tile.model_help", lang),
    )
    if row["is_holdout"]:
        st.caption(t("forecast.score.method_holdout", lang, days=int(run["holdout_days"])))
    else:
        st.caption(t("forecast.score.method", lang, folds=4, horizon=int(run["horizon_days"])))


def coverage_sentence(row: pd.Series) -> str:
    """The measured coverage of the band, in words, beside the chart ("khoảng 80 % đã chứa 78 % …")."""
    if pd.isna(row["coverage_80"]):
        return t("forecast.coverage.unmeasured", lang)
    where = "holdout" if row["is_holdout"] else "backtest"
    text = t(f"forecast.coverage.{where}", lang, pct=format_number(100 * row["coverage_80"], lang, 0))
    raw = row.get("coverage_80_raw")
    if raw is not None and not pd.isna(raw):
        text += " " + t("forecast.coverage.raw", lang, pct=format_number(100 * raw, lang, 0))
    return text


def agency_section(run_id: str) -> None:
    st.subheader(t("forecast.agency.heading", lang))
    outlook = cache.query(fq.agency_outlook, run_id)
    if outlook.empty:
        st.info(t("forecast.agency.none", lang))
        return
    st.caption(t("forecast.agency.note", lang, share_days=fq.SHARE_DAYS, weeks=fq.CAPACITY_WEEKS))
    over = int((pd.to_numeric(outlook["load_pct"]) > charts.OVER_CAPACITY_PCT).sum())
    if over:
        st.warning(t("forecast.agency.over_count", lang, count=over), icon=":material/warning:")
    st.plotly_chart(charts.agency_chart(outlook, lang), key="forecast_agencies")
    with st.expander(t("forecast.agency.table", lang, count=len(outlook))):
        table = charts.agency_table(outlook, lang)
        st.dataframe(table, hide_index=True)
        widgets.download_buttons(table, "du_bao_theo_don_vi", lang)


def anomaly_section(series_id: str, last_day) -> None:
    st.subheader(t("forecast.anomalies.heading", lang))
    st.caption(t("forecast.anomalies.note", lang))
    since = last_day - timedelta(days=ANOMALY_DAYS - 1)
    parts = series_id.split(":", 2) + ["", "", ""]
    level, key = parts[1], parts[2]
    area = key if level == "area" else None
    category = key if level == "category" else None
    found = cache.query(fq.recent_anomalies, since, ANOMALIES_SHOWN, area, category)
    if found.empty:
        st.info(t("forecast.anomalies.none", lang, since=since.strftime("%d/%m/%Y")), icon=":material/check_circle:")
        return
    if area or category:
        st.caption(t("forecast.anomalies.filtered", lang))
    table = charts.anomaly_table(found, lang)
    st.dataframe(table, hide_index=True)
    widgets.download_buttons(table, "bat_thuong", lang)


def series_section(metric: str, run: pd.Series) -> str:
    """Chooser, chart, scorecard and score table of one metric's run; returns the chosen series id ("" if none)."""
    run_id = str(run["run_id"])
    rows = charts.score_rows(cache.query(fq.series_scores, run_id))
    st.caption(run_line(run, len(rows)) + " · " + t("forecast.scope_note", lang))
    if rows.empty:
        st.info(t("forecast.no_series", lang), icon=":material/info:")
        return ""
    area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
    sensors = cache.query(fq.sensor_names) if metric == "traffic" else {}
    options = charts.series_options(list(rows["series_id"]), lang, area_names, sensors)
    summary = charts.metric_summary(rows)
    median = summary["median_improvement_pct"]
    st.markdown(
        t(
            "forecast.summary_worse" if median is not None and median < 0 else "forecast.summary",
            lang,
            total=summary["total"],
            metric=t(f"forecast.metric.{metric}", lang).lower(),
            better=summary["better"],
            pct=format_number(abs(median) if median is not None else None, lang, 0),
        )
    )

    preferred = f"feedback:area:{selection.areas[0]}" if metric == "feedback" and len(selection.areas) == 1 else ""
    choices = list(options)
    chooser, history = st.columns([3, 1])
    series_id = chooser.selectbox(
        t("forecast.series", lang),
        choices,
        format_func=options.get,
        key=f"forecast_series_{metric}",
        index=choices.index(preferred) if preferred in choices else 0,
    )
    days_back = history.selectbox(
        t("forecast.history", lang),
        HISTORY_CHOICES,
        index=1,
        key="forecast_history",
        format_func=lambda n: t("forecast.days", lang, n=n),
    )

    forecast = cache.query(fq.series_forecast, run_id, series_id)
    first_day = pd.Timestamp(forecast["ds"].min()).date()
    start = first_day - timedelta(days=days_back)
    actual = cache.query(fq.series_actuals, series_id, start, first_day - timedelta(days=1))
    end = pd.Timestamp(forecast["ds"].max()).date()
    figure = charts.forecast_chart(
        actual,
        forecast,
        NO_MARKERS,  # the events table holds the holidays and the operators' events: one set of markers
        lang=lang,
        unit=t(f"forecast.unit.{metric}", lang),
        title=t("forecast.chart.title", lang, series=chart_text(options[series_id]), days=len(forecast)),
    )
    st.plotly_chart(events.mark(figure, start, end, selection.areas), key="forecast_chart")
    row = rows.set_index("series_id").loc[series_id]
    st.markdown(coverage_sentence(row))
    st.caption(t("forecast.chart.caption_calibrated", lang))
    scorecard(row, run)

    with st.expander(t("forecast.scores.heading", lang)):
        table = charts.score_table(rows, options, lang)
        st.dataframe(table, hide_index=True)
        widgets.download_buttons(table, f"diem_du_bao_{metric}", lang)
    return series_id


def history_without_forecast() -> None:
    """With no stored run, the city's recent daily reports still show, so the page is useful and honest."""
    end = selection.period.end
    start = end - timedelta(days=HISTORY_CHOICES[1])
    actual = cache.query(fq.series_actuals, fq.series_id("feedback", "city"), start, end)
    if actual.empty:  # e.g. a link to a period before the data
        st.info(t("forecast.history_none", lang, days=HISTORY_CHOICES[1], end=format_date(end)), icon=":material/info:")
        return
    figure = charts.forecast_chart(
        actual,
        pd.DataFrame(columns=["ds", "yhat", "yhat_lower", "yhat_upper"]),
        NO_MARKERS,
        lang=lang,
        unit=t("forecast.unit.feedback", lang),
        title=t("forecast.history_only", lang, days=HISTORY_CHOICES[1]),
    )
    st.plotly_chart(events.mark(figure, start, end, selection.areas), key="forecast_history_only")


if runs.empty:
    st.info(t("forecast.empty", lang), icon=":material/insights:")
    st.code("python -m dashboard forecast", language="bash")
    history_without_forecast()
else:
    by_metric = runs.set_index("metric")
    metrics = [m for m in fq.METRICS if m in by_metric.index]
    metric = st.segmented_control(
        t("forecast.metric", lang),
        metrics,
        key="forecast_metric",
        default=metrics[0],
        format_func=lambda m: t(f"forecast.metric.{m}", lang),
        required=True,
    )
    series_id = series_section(metric, by_metric.loc[metric])

    if "feedback" in by_metric.index:
        feedback_run_id = str(by_metric.loc["feedback", "run_id"])
        first_feedback_day = cache.query(fq.first_forecast_day, feedback_run_id)
        if first_feedback_day is not None:
            agency_section(feedback_run_id)
            anomaly_section(series_id if metric == "feedback" else "", first_feedback_day - timedelta(days=1))
