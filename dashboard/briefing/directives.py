"""The briefing's chapter "Ý kiến chỉ đạo": every leader directive still open when the briefing is made and those
closed during its week (dashboard.db.directive_queries.for_briefing), with assignee, due date and status — so a
directive appears week after week until it is done. Also the events of the weeks the briefing's trend chart shows
(dashboard.db.event_queries), which dashboard.briefing.charts marks on it.

Directives and events live in the operational store of the data database (dashboard.db.ops), reached through the
engine's URL.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.briefing.tables import table
from dashboard.db import directive_queries, event_queries
from dashboard.i18n import format_date, t

if TYPE_CHECKING:
    from dashboard.briefing.content import Briefing

HISTORY_DAYS = 28  # as content.HISTORY_DAYS: the trend chart's four weeks before the next one


def data_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _subject(kind: str, key: str, lang: str) -> str:
    return f"{t(f'directives.subject.{kind}', lang)}: {key}"


def directive_sections(engine: Engine, briefing: Briefing) -> None:
    """Fill the table `directives` and the notes `directives` (counts) and `directives_none` of the briefing."""
    lang = briefing.lang
    url = data_url(engine)
    week = briefing.week
    frame = directive_queries.for_briefing(url, week.start, week.end, briefing.generated_at, scope=briefing.access)
    if briefing.area_code and not frame.empty:  # a ward's briefing: the directives about this ward
        frame = frame[(frame["subject_kind"] != "ward") | (frame["subject_key"] == briefing.area_code)]
    open_rows = frame[frame["status"] != "done"] if not frame.empty else frame
    overdue = int((frame["shown_status"] == "overdue").sum()) if not frame.empty else 0
    closed = len(frame) - len(open_rows)
    briefing.notes["directives"] = t(
        "briefing.directives.counts", lang, open=len(open_rows), overdue=overdue, closed=closed
    )
    rows = []
    for row in frame.itertuples(index=False):
        due = "—" if row.due_date is None or pd.isna(row.due_date) else format_date(row.due_date)
        status = t(f"directives.status.{row.shown_status}", lang)
        if row.status == "done" and row.closed_at is not None and not pd.isna(row.closed_at):
            status = f"{status} ({format_date(pd.Timestamp(row.closed_at).date())})"
        rows.append(
            [
                f"#{int(row.id)}",
                str(row.text),
                _subject(row.subject_kind, row.subject_key, lang),
                row.assignee or "—",
                due,
                status,
            ]
        )
    briefing.tables["directives"] = table(
        [
            ("#", False),
            (t("directives.column.text", lang), False),
            (t("directives.column.subject", lang), False),
            (t("directives.column.assignee", lang), False),
            (t("directives.column.due_date", lang), False),
            (t("directives.column.status", lang), False),
        ],
        rows,
    )


def chart_events(engine: Engine, briefing: Briefing) -> pd.DataFrame:
    """The events of the trend chart's span (four weeks before the next week, and the next week)."""
    start = briefing.week.end - timedelta(days=HISTORY_DAYS - 1)
    end = briefing.next_week.end
    areas = [briefing.area_code] if briefing.area_code else []
    events = event_queries.chart_events(engine, data_url(engine), start, end, areas)
    lang = briefing.lang
    rows = [
        [
            format_date(row.start_date, lang)
            + ("" if row.end_date == row.start_date else f"–{format_date(row.end_date, lang)}"),
            t(f"events.kind.{row.kind}", lang),
            str(row.title),
        ]
        for row in events.itertuples(index=False)
    ]
    briefing.tables["events"] = table(
        [
            (t("events.column.dates", lang), False),
            (t("events.column.kind", lang), False),
            (t("events.column.title", lang), False),
        ],
        rows,
    )
    return events
