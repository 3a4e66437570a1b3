"""Drill-down: a chart's bar or point, a ward on a map or a table's row opens the records behind it.

A click is turned into a *narrowing* of the records dialog (`records_view`): the clicked units (an agency, a
category, a ward …) and, for a point in time, the days of its bar. The dialog applies the page's filters first and
the narrowing inside them (`records_view.narrowed`), so a click can narrow what the page shows, never widen it.
Charts that already filtered the page on a click (`url_state.click_to_filter`) keep doing so: the clicked value is
added to the page's filter and the dialog opens on it.

The pure part (`point_values`, `bucket_days`, `narrowing`) maps Plotly's selection to the narrowing; the callbacks
(`on_chart`, `on_row`) are what the pages pass as `on_select`.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.db import records_queries as rq
from dashboard.i18n import format_datetime, format_number, t
from dashboard.safe_text import chart_value
from dashboard.web import audit, cache, records_view, url_state

GRAINS = ("day", "week", "month")
# The ward layers' and the overview map's figures → the KPI whose records lie behind them (a density per 10 000
# people or per km² is a count of the same records divided by a constant of the ward).
MAP_KPIS = {
    "feedback.received_per_10k": "feedback.received",
    "feedback.received_per_km2": "feedback.received",
    "dossiers.received_per_10k": "dossiers.received",
}


def map_kpi(column: str) -> str:
    """The KPI behind a map layer's column (`feedback.received_per_10k` → `feedback.received`)."""
    return MAP_KPIS.get(column, column)


def _points(state: object) -> list:
    if state is None:
        return []
    if isinstance(state, Mapping):
        return list((state.get("selection") or {}).get("points") or [])
    selection = getattr(state, "selection", None)
    return list(getattr(selection, "points", None) or [])


def point_values(state: object, field: str) -> list[str]:
    """The `field` of each selected point (its first element when it is a list, as `customdata` often is; its
    third with "customdata[2]"), as the
    text the chart was given (labels are drawn escaped: `safe_text.chart_value` undoes it), each once."""
    name, _, rest = field.partition("[")
    index = int(rest.rstrip("]")) if rest else 0
    values: list[str] = []
    for point in _points(state):
        value = point.get(name) if isinstance(point, Mapping) else None
        if isinstance(value, (list, tuple)):
            value = value[index] if len(value) > index else None
        if value is None or (isinstance(value, float) and pd.isna(value)):
            continue
        text = chart_value(value)
        if text not in values:
            values.append(text)
    return values


def bucket_days(value: object, grain: str = "day") -> tuple[date, date] | None:
    """The first and last day of the bar starting at `value` (a date, or Plotly's "2026-11-03" / "2026-11-03
    00:00"): the day itself, its week (Monday to Sunday) or its month; None when it is not a date."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}, not {grain!r}")
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    first = stamp.date()
    if grain == "day":
        return first, first
    if grain == "week":
        return first, first + timedelta(days=6)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def narrowing(
    state: object,
    dimension: str | None = None,
    field: str = "customdata",
    day_field: str | None = None,
    grain: str = "day",
) -> dict | None:
    """What a chart selection narrows the records to: {"dims": {dimension: [values]}, "days": (first, last)}
    (with `day_field` the days are needed and the units optional — the line of a total has none; without it the
    units are needed); None when the selection holds nothing usable (a click on empty space)."""
    result: dict = {}
    if dimension is not None:
        values = point_values(state, field)
        if values:
            result["dims"] = {dimension: values}
    if day_field is not None:
        spans = [bucket_days(value, grain) for value in point_values(state, day_field)]
        spans = [span for span in spans if span is not None]
        if spans:
            result["days"] = (min(s[0] for s in spans), max(s[1] for s in spans))
    if day_field is not None:  # a point in time: its days are needed, its units are optional (a total's line)
        return result if "days" in result else None
    return result or None


def on_chart(
    chart_key: str,
    metric: str,
    dimension: str | None = None,
    field: str = "customdata",
    *,
    day_field: str | None = None,
    grain: str = "day",
    filters_page: bool = False,
) -> Callable[[], None]:
    """An `on_select` callback: the clicked bar/point/ward opens the records of `metric` narrowed to it. With
    `filters_page` the clicked value is also added to the page's filter (as `url_state.click_to_filter` does)."""

    def callback() -> None:
        narrow = narrowing(st.session_state.get(chart_key), dimension, field, day_field, grain)
        if narrow is None:
            return
        if filters_page and dimension is not None:
            for value in narrow.get("dims", {}).get(dimension, []):
                url_state.add_value(dimension, value)
        records_view.choose(metric, narrow)

    return callback


def row_units(state: object, units: Sequence[str]) -> list[str]:
    """The units (first column's keys, in the table's order) of the selected rows of a dataframe."""
    if state is None:
        return []
    selection = state.get("selection") if isinstance(state, Mapping) else getattr(state, "selection", None)
    rows = (selection or {}).get("rows") if isinstance(selection, Mapping) else getattr(selection, "rows", None)
    return [str(units[row]) for row in rows or [] if isinstance(row, int) and 0 <= row < len(units)]


def on_row(table_key: str, metric: str, dimension: str, units: Sequence[str]) -> Callable[[], None]:
    """An `on_select` callback of a one-row-selectable table: the row's unit opens the records of `metric`."""
    units = list(units)

    def callback() -> None:
        chosen = row_units(st.session_state.get(table_key), units)
        if chosen:
            records_view.choose(metric, {"dims": {dimension: chosen}})

    return callback


def table(frame: pd.DataFrame, key: str, metric: str, dimension: str, units: Sequence[str], **options) -> None:
    """`st.dataframe` whose row opens the records of its unit (`units`: the rows' keys, in order)."""
    st.dataframe(
        frame,
        key=key,
        on_select=on_row(key, metric, dimension, units),
        selection_mode="single-row",
        hide_index=True,
        **options,
    )
    st.caption(t("drill.row_hint", url_state.lang()))


# ---------------------------------------------------------------- "Điểm bị trừ" on the page Xếp hạng
LOST_UNIT_KEY = "points_lost_unit"
LOST_KIND_KEY = "points_lost_kind"
LOST_PAGE_KEY = "points_lost_page"


def _first_lost_page() -> None:
    st.session_state[LOST_PAGE_KEY] = 1


def points_lost(card, rows: Sequence[Mapping], language: str) -> None:
    """For one unit of the scorecard `card` (its `rows`: ranked first, then those listed apart), the dossiers and
    reports that cost it points, by kind with their number, most urgent first, 50 a page, and a CSV of them."""
    st.subheader(t("points_lost.heading", language))
    if not rows:
        return
    names = {
        str(row["unit"]): str(row["unit_name"]) if row["rank"] is None else f"{row['rank']}. {row['unit_name']}"
        for row in rows
    }
    if st.session_state.get(LOST_UNIT_KEY) not in names:  # the lowest ranked unit first: the one a review asks about
        ranked = [str(row["unit"]) for row in rows if row["rank"] is not None]
        st.session_state[LOST_UNIT_KEY] = ranked[-1] if ranked else next(iter(names))
    unit = st.selectbox(
        t(f"ranking.col.unit_{card.by}", language),
        list(names),
        key=LOST_UNIT_KEY,
        format_func=names.get,
        on_change=_first_lost_page,
    )
    counts = {
        kind: cache.query(rq.points_lost_count, card.period, card.as_of, card.by, unit, kind) for kind in rq.POINTS_LOST
    }
    if st.session_state.get(LOST_KIND_KEY) not in rq.POINTS_LOST:
        st.session_state[LOST_KIND_KEY] = max(rq.POINTS_LOST, key=lambda kind: counts[kind])
    kind = st.segmented_control(
        t("points_lost.kind", language),
        list(rq.POINTS_LOST),
        key=LOST_KIND_KEY,
        format_func=lambda k: t(f"points_lost.kind.{k}", language, count=format_number(counts[k], language)),
        selection_mode="single",
        required=True,
        on_change=_first_lost_page,
    )
    total = counts[kind]
    st.caption(
        t(f"points_lost.what.{kind}", language)
        + " "
        + t("points_lost.as_of", language, time=format_datetime(card.as_of, language))
    )
    if not total:
        st.success(t("points_lost.none", language), icon=":material/task_alt:")
        return
    page = records_view.page_number(total, LOST_PAGE_KEY, language)
    section = "dossiers" if kind.startswith("dossiers") else "feedback"
    args = (card.period, card.as_of, card.by, unit, kind)
    sees_pii = audit.sees_pii()
    frame = cache.query(rq.points_lost, *args, rq.PAGE_SIZE, (int(page) - 1) * rq.PAGE_SIZE, sees_pii=sees_pii)
    table = records_view.readable(frame, section, language, records_view.SHOWN[section])
    records_view.show_records(table)
    what = {"by": card.by, "unit": unit, "kind": kind, "from": str(card.period.start), "to": str(card.period.end)}
    audit.log_once("record_view", "points_lost", page=int(page), **what)
    first = (int(page) - 1) * rq.PAGE_SIZE + 1
    st.caption(
        t(
            "records.showing",
            language,
            first=format_number(first, language),
            last=format_number(first + len(frame) - 1, language),
            total=format_number(total, language),
        )
    )
    st.download_button(
        t("download.csv", language),
        data=audit.download(
            "export",
            "points_lost",
            lambda: exports.table_bytes(
                records_view.readable(
                    cache.query(rq.points_lost, *args, records_view.EXPORT_LIMIT, 0, ttl=0, sees_pii=sees_pii),
                    section,
                    language,
                ),
                "csv",
            ),
            format="csv",
            **what,
        ),
        file_name=f"diem-bi-tru-{kind}-{card.period.start}-{card.period.end}.csv",
        mime="text/csv",
        key="points_lost_csv",
        icon=":material/download:",
        on_click="ignore",
    )
