"""The SQL of the alerts: what each rule finds in the data at an instant (read-only), and the ops `alerts` table
(open, resolve, escalate, acknowledge, list) — see dashboard.jobs.alerts for the rules themselves.

Definitions (the issue fixes them): an open feedback report was received at or before `now`, is not resolved at
`now` (no resolved_at, or one after `now`) and is not rejected; "due soon" means due after `now` and at most N
hours later; "overdue" means due at or before `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import ops, schema
from dashboard.db.engine import fetch_frame, translating_errors
from dashboard.db.forecast_queries import anomalies, anomaly_rows
from dashboard.db.predicates import FEEDBACK_OUT_OF_BACKLOG, dossier_past_due_at, in_scope

F = schema.feedback.c
D = schema.dossiers.c
A = ops.alerts.c
R = ops.job_runs.c


# ---------------------------------------------------------------- conditions in the data
def feedback_open(now: datetime):
    return and_(
        F.received_at <= now,
        F.status != FEEDBACK_OUT_OF_BACKLOG,
        or_(F.resolved_at.is_(None), F.resolved_at > now),
    )


def feedback_due_soon(engine: Engine, now: datetime, hours: int) -> pd.DataFrame:
    """Open reports due after `now` and at most `hours` later: source, source_id, agency, area_code, category,
    due_at."""
    statement = select(F.source, F.source_id, F.agency, F.area_code, F.category, F.due_at).where(
        feedback_open(now), F.due_at > now, F.due_at <= now + timedelta(hours=hours)
    )
    return fetch_frame(engine, statement.order_by(F.due_at, F.source, F.source_id))


def feedback_overdue(engine: Engine, now: datetime) -> pd.DataFrame:
    """Open reports due at or before `now`: source, source_id, agency, area_code, category, due_at."""
    statement = select(F.source, F.source_id, F.agency, F.area_code, F.category, F.due_at).where(
        feedback_open(now), F.due_at <= now
    )
    return fetch_frame(engine, statement.order_by(F.due_at, F.source, F.source_id))


def dossiers_overdue(engine: Engine, now: datetime) -> pd.DataFrame:
    """Dossiers past due at `now` (see predicates.dossier_past_due_at): source, source_id, agency, area_code,
    procedure_code, due_at."""
    statement = select(D.source, D.source_id, D.agency, D.area_code, D.procedure_code, D.due_at).where(
        dossier_past_due_at(now)
    )
    return fetch_frame(engine, statement.order_by(D.due_at, D.source, D.source_id))


def recent_ward_anomalies(engine: Engine, since: date, until: date, min_size: float) -> pd.DataFrame:
    """Ward/category anomalies of the current feedback run between `since` and `until` with |size| ≥ min_size,
    columns forecast_queries.ANOMALY_COLUMNS, largest first."""
    conditions = [
        anomalies.ds >= since,
        anomalies.ds <= until,
        anomalies.area_code.is_not(None),
        func.abs(anomalies.size) >= min_size,
    ]
    return anomaly_rows(engine, conditions, [func.abs(anomalies.size).desc(), anomalies.ds.desc()], 10_000)


def failing_jobs(ops_engine: Engine, now: datetime, in_a_row: int) -> pd.DataFrame:
    """Jobs whose last `in_a_row` finished runs (started at or before `now`) all failed: job, failures, last_error,
    last_failed_at."""
    frame = fetch_frame(
        ops_engine,
        select(R.job, R.status, R.started_at, R.error)
        .where(R.status.in_(("done", "failed")), R.started_at <= now)
        .where(R.started_at >= now - timedelta(days=30))
        .order_by(R.job, R.started_at.desc(), R.id.desc()),
    )
    rows = []
    for job, runs in frame.groupby("job", sort=True):
        last = runs.head(in_a_row)
        if len(last) == in_a_row and (last["status"] == "failed").all():
            rows.append(
                {
                    "job": job,
                    "failures": in_a_row,
                    "last_error": last["error"].iloc[0],
                    "last_failed_at": last["started_at"].iloc[0],
                }
            )
    return pd.DataFrame(rows, columns=["job", "failures", "last_error", "last_failed_at"])


# ---------------------------------------------------------------- the ops alerts table
ALERT_COLUMNS = [c.name for c in ops.alerts.columns]


def open_alerts_by_key(connection) -> dict[tuple[str, str], dict[str, Any]]:
    rows = connection.execute(select(ops.alerts).where(A.resolved_at.is_(None))).mappings().all()
    return {(row["rule"], row["subject"]): dict(row) for row in rows}


def insert_alerts(connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert the alerts; their ids in order."""
    if not rows:
        return []
    statement = ops.alerts.insert().returning(A.id, sort_by_parameter_order=True)
    return list(connection.execute(statement, list(rows)).scalars())


def resolve_alerts(connection, ids: Iterable[int], now: datetime) -> None:
    ids = list(ids)
    for start in range(0, len(ids), 500):
        connection.execute(update(ops.alerts).where(A.id.in_(ids[start : start + 500])).values(resolved_at=now))


def escalate_alerts(connection, ids: Iterable[int], now: datetime) -> None:
    ids = list(ids)
    for start in range(0, len(ids), 500):
        connection.execute(
            update(ops.alerts).where(A.id.in_(ids[start : start + 500])).values(escalated_at=now, severity="critical")
        )


def acknowledge(ops_engine: Engine, alert_id: int, who: str, note: str, now: datetime) -> bool:
    """Mark one open alert acknowledged; False when it is not open (or already acknowledged)."""
    with translating_errors(ops_engine), ops_engine.begin() as connection:
        result = connection.execute(
            update(ops.alerts)
            .where(A.id == alert_id, A.resolved_at.is_(None), A.acknowledged_at.is_(None))
            .values(acknowledged_at=now, acknowledged_by=who, acknowledged_note=note)
        )
        return result.rowcount == 1


def list_alerts(
    ops_engine: Engine,
    *,
    open_only: bool = False,
    rules: Sequence[str] = (),
    severities: Sequence[str] = (),
    agencies: Sequence[str] = (),
    opened_from: datetime | None = None,
    opened_before: datetime | None = None,
    limit: int = 5000,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """Alerts (newest first) with ALERT_COLUMNS; `open_only` for those not resolved. A restricted `scope` keeps the
    alerts of its agencies and areas (the city-wide ones — sources, sensors, jobs — are not an officer's)."""
    conditions = [in_scope(scope, A.agency, A.area_code)]
    if open_only:
        conditions.append(A.resolved_at.is_(None))
    if rules:
        conditions.append(A.rule.in_(list(rules)))
    if severities:
        conditions.append(A.severity.in_(list(severities)))
    if agencies:
        conditions.append(A.agency.in_(list(agencies)))
    if opened_from is not None:
        conditions.append(A.opened_at >= opened_from)
    if opened_before is not None:
        conditions.append(A.opened_at < opened_before)
    statement = select(ops.alerts).where(*conditions).order_by(A.opened_at.desc(), A.id.desc()).limit(limit)
    frame = fetch_frame(ops_engine, statement)
    return frame.reindex(columns=ALERT_COLUMNS)


def open_alert_rows(ops_engine: Engine, limit_per_rule: int = 200, *, scope: Scope = WHOLE_CITY) -> dict[str, Any]:
    """What the wall's ticker reads: the open alerts of each rule (most serious and oldest first, at most
    `limit_per_rule` rows each, with rule, subject, agency, area_code, severity, params, opened_at, escalated_at,
    acknowledged_at), their full count per rule, and per rule and agency for the case rules."""
    allowed = in_scope(scope, A.agency, A.area_code)
    counts = fetch_frame(
        ops_engine,
        select(
            A.rule,
            A.agency,
            func.count().label("alerts"),
            func.count(A.escalated_at).label("escalated"),
        )
        .where(A.resolved_at.is_(None), allowed)
        .group_by(A.rule, A.agency),
    )
    rows = {}
    for rule in sorted(set(counts["rule"])):
        rows[rule] = fetch_frame(
            ops_engine,
            select(
                A.rule,
                A.subject,
                A.agency,
                A.area_code,
                A.severity,
                A.params,
                A.opened_at,
                A.escalated_at,
                A.acknowledged_at,
            )
            .where(A.resolved_at.is_(None), A.rule == rule, allowed)
            .order_by(A.escalated_at.is_(None), A.opened_at, A.id)
            .limit(limit_per_rule),
        )
    return {"counts": counts, "rows": rows}


def last_done_run(ops_engine: Engine, job: str) -> datetime | None:
    """When the newest successful run of `job` finished (None: never)."""
    frame = fetch_frame(ops_engine, select(func.max(R.finished_at).label("at")).where(R.job == job, R.status == "done"))
    value = frame["at"].iloc[0] if len(frame) else None
    return None if value is None or pd.isna(value) else pd.Timestamp(value).to_pydatetime()
