"""SQL of the scorecard: one grouped query per source (dossiers, feedback), counting per unit (agency or area) what
the indicators of `metrics.scorecard` divide. Base tables (the rollups keep no supplement or complaint field);
values are bound parameters, both engines. The rules in words: data/scorecard.yaml. With a restricted scope an
officer's scorecard counts only the cases of the scope (their own units, ranked among themselves).
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import DateTime, and_, func, literal, or_, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import schema
from dashboard.db.engine import DatabaseOutdated, fetch_frame, redact_url, run
from dashboard.db.predicates import CLOSED_WITHOUT_RESULT, FEEDBACK_OUT_OF_BACKLOG, in_scope
from dashboard.db.queries import hours_between
from dashboard.periods import Period

D = schema.dossiers.c
F = schema.feedback.c
UNIT_COLUMNS = {"agency": (D.agency, F.agency), "area": (D.area_code, F.area_code)}
DOSSIER_COUNTS = ("in_set", "on_time", "complaints", "complaint_known", "received", "online")
FEEDBACK_COUNTS = ("due", "due_on_time", "total", "bad")


def _unit(by: str, table: str):
    if by not in UNIT_COLUMNS:
        raise ValueError(f"unknown unit {by!r}; expected agency or area")
    return UNIT_COLUMNS[by][0 if table == "dossiers" else 1]


def check_columns(engine: Engine) -> None:
    """DatabaseOutdated (with the command that fixes it) when the dossiers table predates its optional columns."""
    missing = run(engine, schema.missing_columns)
    if missing:
        names = ", ".join(f"{table}.{column}" for table, columns in missing.items() for column in columns)
        raise DatabaseOutdated(
            f"The database at {redact_url(str(engine.url))} lacks the columns {names} (made before they existed).",
            hint="python -m dashboard init-db",
        )


def dossier_counts(
    engine: Engine, period: Period, as_of: datetime, by: str, *, scope: Scope = WHOLE_CITY
) -> pd.DataFrame:
    """Per unit: the on-time set and its on-time dossiers, complaints, dossiers with the complaint field filled,
    dossiers received in the period and those filed online. `as_of` = the period end (or now, if earlier)."""
    unit = _unit(by, "dossiers")
    start, end = literal(period.start_at, DateTime), literal(as_of, DateTime)
    in_set = and_(
        D.status.not_in(CLOSED_WITHOUT_RESULT),
        D.due_at.is_not(None),
        D.received_at < end,
        or_(D.received_at >= start, D.completed_at.is_(None), D.completed_at >= start),
    )
    allowance = func.coalesce(D.supplement_days, 0.0) * 24.0  # hours waiting for the citizen: not counted
    done = and_(D.completed_at.is_not(None), D.completed_at < end)
    on_time = and_(
        in_set,
        func.coalesce(D.supplement_requests, 0) <= 1,  # more than one request for papers counts as late
        or_(
            and_(done, hours_between(D.due_at, D.completed_at) <= allowance),
            and_(~done, hours_between(D.due_at, end) <= allowance),
        ),
    )
    received = and_(D.received_at >= start, D.received_at < end)
    statement = (
        select(
            unit.label("unit"),
            func.count().filter(in_set).label("in_set"),
            func.count().filter(on_time).label("on_time"),
            func.count().filter(and_(in_set, D.complaint.is_(True))).label("complaints"),
            func.count().filter(and_(in_set, D.complaint.is_not(None))).label("complaint_known"),
            func.count().filter(received).label("received"),
            func.count().filter(and_(received, D.channel == "online")).label("online"),
        )
        .where(
            unit.is_not(None),
            D.received_at < end,
            or_(D.completed_at.is_(None), D.completed_at >= start),
            in_scope(scope, D.agency, D.area_code),
        )
        .group_by(unit)
    )
    return fetch_frame(engine, statement)


def feedback_counts(
    engine: Engine, period: Period, as_of: datetime, by: str, *, scope: Scope = WHOLE_CITY
) -> pd.DataFrame:
    """Per unit: reports due in the period (before `as_of`) and those resolved by their due time; reports received in
    the period and those rated dissatisfied (≤ 2), reopened or overdue (due before `as_of`, not resolved by due_at)."""
    unit = _unit(by, "feedback")
    start, end = literal(period.start_at, DateTime), literal(as_of, DateTime)
    kept = F.status != FEEDBACK_OUT_OF_BACKLOG
    due = and_(kept, F.due_at >= start, F.due_at < end)
    total = and_(kept, F.received_at >= start, F.received_at < end)
    overdue = and_(F.due_at < end, or_(F.resolved_at.is_(None), F.resolved_at > F.due_at))
    bad = and_(total, or_(F.satisfaction <= 2, F.reopened.is_(True), overdue))
    statement = (
        select(
            unit.label("unit"),
            func.count().filter(due).label("due"),
            func.count().filter(and_(due, F.resolved_at <= F.due_at)).label("due_on_time"),
            func.count().filter(total).label("total"),
            func.count().filter(bad).label("bad"),
        )
        .where(
            unit.is_not(None),
            kept,
            F.received_at < end,
            or_(F.received_at >= start, F.due_at >= start),
            in_scope(scope, F.agency, F.area_code),
        )
        .group_by(unit)
    )
    return fetch_frame(engine, statement)


def area_names(engine: Engine) -> dict[str, str]:
    frame = fetch_frame(engine, select(schema.areas.c.code, schema.areas.c.name))
    return dict(zip(frame["code"].astype(str), frame["name"].astype(str), strict=True))
