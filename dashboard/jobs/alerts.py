"""The `alerts` job: every five minutes, each enabled rule of the rules file (dashboard.jobs.alert_rules) is
evaluated at `ctx.now` against the data, and the ops `alerts` table follows: one open alert per (rule, subject)
while its condition holds, opened when it appears, resolved (resolved_at = now) when it clears, escalated
(escalated_at = now, severity critical) when an overdue case passes the rule's `escalate_after_hours`.

New alerts are handed to `dashboard.jobs.delivery.deliver_alerts`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.db import alert_queries, directive_queries, forecast_queries, traffic_queries
from dashboard.db.engine import shared_engine, translating_errors
from dashboard.db.ops import ops_engine
from dashboard.db.predicates import QueryFilter
from dashboard.jobs.alert_rules import RULES, Rule, load_rules
from dashboard.jobs.delivery import deliver_alerts
from dashboard.jobs.registry import JobContext, JobOutcome, job
from dashboard.periods import Period
from dashboard.wall import data as wall_data
from dashboard.wall import rules as wall_rules


@dataclass(frozen=True)
class Condition:
    """One (rule, subject) whose condition holds at `now`."""

    rule: str
    subject: str
    subject_kind: str
    severity: str
    title: str
    agency: str | None = None
    area_code: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    escalate: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.subject)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _when(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat(timespec="minutes")


# ---------------------------------------------------------------- the rules
def _feedback_conditions(frame: pd.DataFrame, rule: Rule, title: str, escalate_before: datetime | None):
    for row in frame.itertuples(index=False):
        case = f"{row.source}:{row.source_id}"
        yield Condition(
            rule.name,
            case,
            "feedback",
            rule.severity,
            f"{title} {case}",
            _text(row.agency),
            _text(row.area_code),
            {"case": case, "category": _text(row.category), "due_at": _when(row.due_at)},
            escalate_before is not None and pd.Timestamp(row.due_at) < pd.Timestamp(escalate_before),
        )


def feedback_due_soon(engine, ops, now: datetime, rule: Rule):
    frame = alert_queries.feedback_due_soon(engine, now, rule["due_within_hours"])
    yield from _feedback_conditions(frame, rule, "Feedback due soon:", None)


def feedback_overdue(engine, ops, now: datetime, rule: Rule):
    frame = alert_queries.feedback_overdue(engine, now)
    yield from _feedback_conditions(
        frame, rule, "Feedback overdue:", now - timedelta(hours=rule["escalate_after_hours"])
    )


def dossier_overdue(engine, ops, now: datetime, rule: Rule):
    escalate_before = pd.Timestamp(now - timedelta(hours=rule["escalate_after_hours"]))
    for row in alert_queries.dossiers_overdue(engine, now).itertuples(index=False):
        case = f"{row.source}:{row.source_id}"
        yield Condition(
            rule.name,
            case,
            "dossier",
            rule.severity,
            f"Dossier overdue: {case}",
            _text(row.agency),
            _text(row.area_code),
            {"case": case, "procedure": _text(row.procedure_code), "due_at": _when(row.due_at)},
            pd.Timestamp(row.due_at) < escalate_before,
        )


def anomaly(engine, ops, now: datetime, rule: Rule):
    scan_end = forecast_queries.anomaly_scan_end(engine)
    if scan_end is None:
        return
    scan_end = min(scan_end, now.date())
    since = scan_end - timedelta(days=rule["lookback_days"] - 1)
    frame = alert_queries.recent_ward_anomalies(engine, since, scan_end, float(rule["min_size"]))
    for row in frame.drop_duplicates(["area_code", "category"]).itertuples(index=False):
        subject = f"{row.area_code}:{row.category or ''}"
        yield Condition(
            rule.name,
            subject,
            "ward_category",
            rule.severity,
            f"Anomaly: {row.area_name or row.area_code} {row.category or ''}".strip(),
            None,
            _text(row.area_code),
            {
                "area": _text(row.area_name) or _text(row.area_code),
                "category": _text(row.category),
                "day": pd.Timestamp(row.ds).date().isoformat(),
                "actual": float(row.actual),
                "expected": round(float(row.expected), 1),
                "size": round(float(row.size), 2),
            },
        )


def source_late(engine, ops, now: datetime, rule: Rule):
    thresholds = wall_rules.freshness_thresholds()
    for item in wall_rules.all_freshness(wall_data.newest_records(engine), now, thresholds):
        status = wall_rules.freshness_status(item, thresholds[item.source])
        if status in ("late", "stale"):
            yield Condition(
                rule.name,
                item.source,
                "source",
                rule.severity,
                f"Source {item.source} {status}",
                params={
                    "source": item.source,
                    "status": status,
                    "minutes_late": item.minutes_late,
                    "newest": _when(item.newest),
                },
            )


def sensor_silent(engine, ops, now: datetime, rule: Rule):
    query_filter = QueryFilter(Period(now.date(), now.date()))
    silent = traffic_queries.silent_sensors(engine, query_filter, now, rule["silent_minutes"])
    for row in silent.itertuples(index=False):
        minutes = None if pd.isna(row.minutes_silent) else int(row.minutes_silent)
        yield Condition(
            rule.name,
            str(row.id),
            "sensor",
            rule.severity,
            f"Sensor {row.id} silent",
            area_code=_text(row.area_code),
            params={"sensor": str(row.id), "name": _text(row.name), "minutes": minutes},
        )


def job_failing(engine, ops, now: datetime, rule: Rule):
    for row in alert_queries.failing_jobs(ops, now, rule["failures_in_a_row"]).itertuples(index=False):
        yield Condition(
            rule.name,
            str(row.job),
            "job",
            rule.severity,
            f"Job {row.job} failing",
            params={"job": str(row.job), "failures": int(row.failures), "error": (_text(row.last_error) or "")[:500]},
        )


def directive_overdue(engine, ops, now: datetime, rule: Rule):
    """A leader directive not done whose due date has passed (dashboard.db.directive_queries); to its assignee."""
    for row in directive_queries.overdue(ops, now).itertuples(index=False):
        text = str(row.text)
        yield Condition(
            rule.name,
            f"directive:{int(row.id)}",
            "directive",
            rule.severity,
            f"Directive #{int(row.id)} overdue",
            _text(row.assignee),
            str(row.subject_key) if row.subject_kind == "ward" else None,
            {
                "directive": int(row.id),
                "text": text if len(text) <= 200 else text[:199] + "…",
                "due_date": pd.Timestamp(row.due_date).date().isoformat(),
                "subject": f"{row.subject_kind}:{row.subject_key}",
            },
        )


EVALUATORS = {
    "feedback_due_soon": feedback_due_soon,
    "feedback_overdue": feedback_overdue,
    "dossier_overdue": dossier_overdue,
    "anomaly": anomaly,
    "source_late": source_late,
    "sensor_silent": sensor_silent,
    "job_failing": job_failing,
    "directive_overdue": directive_overdue,
}
assert set(EVALUATORS) == set(RULES)


def conditions_at(engine, ops, now: datetime, rules: dict[str, Rule]) -> dict[tuple[str, str], Condition]:
    """Every condition of the enabled rules at `now`, by (rule, subject)."""
    found: dict[tuple[str, str], Condition] = {}
    for name, rule in rules.items():
        if rule.enabled:
            for condition in EVALUATORS[name](engine, ops, now, rule):
                found.setdefault(condition.key, condition)
    return found


# ---------------------------------------------------------------- the table
def apply(ops, now: datetime, found: dict[tuple[str, str], Condition]) -> tuple[dict, dict, list[int]]:
    """Open the new conditions, resolve the cleared ones, escalate; (opened per rule, resolved per rule, new ids)."""
    opened = dict.fromkeys(RULES, 0)
    resolved = dict.fromkeys(RULES, 0)
    with translating_errors(ops), ops.begin() as connection:
        current = alert_queries.open_alerts_by_key(connection)
        gone = [row for key, row in current.items() if key not in found]
        for row in gone:
            resolved[row["rule"]] = resolved.get(row["rule"], 0) + 1
        alert_queries.resolve_alerts(connection, [row["id"] for row in gone], now)
        escalate = [
            row["id"]
            for key, row in current.items()
            if key in found and found[key].escalate and row["escalated_at"] is None
        ]
        alert_queries.escalate_alerts(connection, escalate, now)
        new_rows = []
        for key, condition in found.items():
            if key in current:
                continue
            opened[condition.rule] += 1
            new_rows.append(
                {
                    "rule": condition.rule,
                    "subject": condition.subject,
                    "subject_kind": condition.subject_kind,
                    "agency": condition.agency,
                    "area_code": condition.area_code,
                    "severity": "critical" if condition.escalate else condition.severity,
                    "title": condition.title,
                    "params": json.dumps(condition.params, ensure_ascii=False, sort_keys=True),
                    "opened_at": now,
                    "escalated_at": now if condition.escalate else None,
                }
            )
        new_ids = alert_queries.insert_alerts(connection, new_rows)
    return opened, resolved, new_ids


def deliver(ctx: JobContext, new_ids: list[int]) -> dict[str, int]:
    """Hand the new alerts to the channels (dashboard.jobs.delivery); sent and failed message counts."""
    counts = deliver_alerts(ctx, new_ids)
    return {"sent": int(counts.get("sent", 0)), "failed": int(counts.get("failed", 0))}


@job("alerts", "*/5 * * * *", "Evaluate the alert rules; open, resolve and escalate alerts; deliver the new ones")
def run_alerts(ctx: JobContext) -> JobOutcome:
    rules = load_rules()
    engine = shared_engine(ctx.url, read_only=True)
    ops = ops_engine(ctx.url)
    found = conditions_at(engine, ops, ctx.now, rules)
    opened, resolved, new_ids = apply(ops, ctx.now, found)
    deliveries = deliver(ctx, new_ids)
    details = {"opened": opened, "resolved": resolved, "deliveries": deliveries}
    return JobOutcome(rows=sum(opened.values()) + sum(resolved.values()), details=details)
