"""The `alerts` job, its rules file and the "Cảnh báo" page: on the seeded demo at fixed instants, the alerts opened
equal an independent SQL count, a second run opens nothing, a cleared condition resolves its alert."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from page_support import sign_in
from sqlalchemy import delete, insert, select, text, update

from dashboard.db import ops, schema
from dashboard.db.engine import make_engine, writing
from dashboard.jobs.alert_rules import RULES, RulesError, parse_rules
from dashboard.jobs.registry import JobContext, load_all

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGE = APP.parent.parent / "pages" / "alerts.py"

DUE_SOON_SQL = text(
    "SELECT source || ':' || source_id AS subject FROM feedback"
    " WHERE received_at <= :now AND status <> 'rejected' AND (resolved_at IS NULL OR resolved_at > :now)"
    " AND due_at > :now AND due_at <= :until"
)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A writable demo database (its own ops store): a copy of the DuckDB demo, or the demo on PostgreSQL."""
    if request.param == "duckdb":
        return request.getfixturevalue("demo_copy_url")
    from dashboard.db.engine import create_schema
    from dashboard.demo.generator import build_demo

    url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        create_schema(engine, drop_first=True)
        build_demo(
            engine, seed=7, scale=0.03, start=DEMO_NOW.date() - timedelta(days=60), end=DEMO_NOW.date(), now=DEMO_NOW
        )
    finally:
        engine.dispose()
    with ops.ops_engine(url).begin() as connection:  # ops tables persist on PostgreSQL
        connection.execute(delete(ops.alerts))
        connection.execute(delete(ops.job_runs))
    return url


def run_alerts(url: str, now: datetime) -> dict:
    return load_all()["alerts"].run(JobContext(url, now)).details


def due_soon_subjects(url: str, now: datetime, hours: int) -> set[str]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(DUE_SOON_SQL, {"now": now, "until": now + timedelta(hours=hours)}).all()
    finally:
        engine.dispose()
    return {row.subject for row in rows}


def open_alerts(url: str, rule: str) -> list[dict]:
    with ops.ops_engine(url).connect() as connection:
        statement = select(ops.alerts).where(ops.alerts.c.rule == rule, ops.alerts.c.resolved_at.is_(None))
        return [dict(row) for row in connection.execute(statement).mappings()]


def test_due_soon_equals_an_independent_count_and_a_second_run_opens_nothing(db_url):
    now = DEMO_NOW + timedelta(days=1)
    expected = due_soon_subjects(db_url, now, 24)
    if db_url.startswith("duckdb"):
        assert len(expected) == 3
    assert expected

    details = run_alerts(db_url, now)
    assert set(details) == {"opened", "resolved", "deliveries"}
    assert set(details["opened"]) == set(RULES) == set(details["resolved"])
    assert details["opened"]["feedback_due_soon"] == len(expected)
    assert {a["subject"] for a in open_alerts(db_url, "feedback_due_soon")} == expected
    assert set(details["deliveries"]) == {"sent", "failed"}

    again = run_alerts(db_url, now)
    assert again["opened"] == dict.fromkeys(RULES, 0)
    assert again["resolved"] == dict.fromkeys(RULES, 0)
    assert {a["subject"] for a in open_alerts(db_url, "feedback_due_soon")} == expected


def test_a_later_now_resolves_due_soon_and_escalates_overdue(db_url):
    now = DEMO_NOW + timedelta(days=1)
    expected = due_soon_subjects(db_url, now, 24)
    run_alerts(db_url, now)
    later = now + timedelta(days=10)  # every open report is then overdue by more than 48 hours
    details = run_alerts(db_url, later)
    assert due_soon_subjects(db_url, later, 24) == set()
    assert details["resolved"]["feedback_due_soon"] == len(expected)
    assert open_alerts(db_url, "feedback_due_soon") == []
    overdue = {a["subject"]: a for a in open_alerts(db_url, "feedback_overdue")}
    assert expected <= set(overdue)
    assert all(a["escalated_at"] is not None and a["severity"] == "critical" for a in overdue.values())
    assert {overdue[subject]["escalated_at"] for subject in expected} == {later}  # opened and escalated by this run
    with ops.ops_engine(db_url).connect() as connection:
        resolved = connection.execute(
            select(ops.alerts.c.resolved_at).where(ops.alerts.c.rule == "feedback_due_soon")
        ).scalars()
        assert set(resolved) == {later}


def test_resolving_the_reports_resolves_their_alerts(db_url):
    now = DEMO_NOW + timedelta(days=1)
    expected = due_soon_subjects(db_url, now, 24)
    run_alerts(db_url, now)
    feedback = schema.feedback.c
    with writing(db_url) as engine, engine.begin() as connection:
        connection.execute(
            update(schema.feedback)
            .where((feedback.source + ":" + feedback.source_id).in_(sorted(expected)))
            .values(status="resolved", resolved_at=DEMO_NOW)
        )
    assert due_soon_subjects(db_url, now, 24) == set()
    details = run_alerts(db_url, now)
    assert details["resolved"]["feedback_due_soon"] == len(expected)
    assert details["opened"] == dict.fromkeys(RULES, 0)


def test_a_job_failing_three_times_in_a_row_opens_an_alert_until_it_succeeds(demo_copy_url):
    url = demo_copy_url
    runs = ops.job_runs

    def record(status: str, minutes: int) -> None:
        started = DEMO_NOW - timedelta(minutes=minutes)
        with ops.ops_engine(url).begin() as connection:
            connection.execute(
                insert(runs).values(
                    job="open311_pull", started_at=started, finished_at=started, status=status, error="boom"
                )
            )

    record("failed", 30)
    record("failed", 20)
    run_alerts(url, DEMO_NOW)
    assert open_alerts(url, "job_failing") == []
    record("failed", 10)
    assert run_alerts(url, DEMO_NOW)["opened"]["job_failing"] == 1
    [alert] = open_alerts(url, "job_failing")
    assert alert["subject"] == "open311_pull" and alert["severity"] == "critical"
    record("done", 5)
    assert run_alerts(url, DEMO_NOW)["resolved"]["job_failing"] == 1


def test_rules_file_defaults_and_overrides():
    rules = parse_rules("feedback_due_soon:\n  due_within_hours: 6\nanomaly:\n  enabled: false\n")
    assert rules["feedback_due_soon"]["due_within_hours"] == 6
    assert rules["feedback_due_soon"].severity == "warning"
    assert not rules["anomaly"].enabled
    assert rules["feedback_overdue"]["escalate_after_hours"] == 48
    assert rules["sensor_silent"]["silent_minutes"] == 60


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "feedback_due_soon:\n  due_within_hours: 6\nnoise_level:\n  enabled: true\n",
            "line 3: unknown rule 'noise_level'",
        ),
        ("anomaly:\n  enabled: true\n  min_sise: 2\n", "line 3: rule 'anomaly' has no parameter 'min_sise'"),
        (
            "feedback_due_soon:\n  due_within_hours: soon\n",
            "line 2: rule 'feedback_due_soon', parameter 'due_within_hours'",
        ),
        ("job_failing:\n\n  severity: loud\n", "line 3: rule 'job_failing': severity must be one of"),
        ("source_late:\n  enabled: [x\n", "not valid YAML"),
    ],
)
def test_rules_file_errors_name_the_line(text, message):
    with pytest.raises(RulesError) as error:
        parse_rules(text, "rules.yaml")
    assert f"rules.yaml, {message}" in str(error.value) or message in str(error.value)


def test_the_committed_rules_file_is_valid_and_holds_every_rule():
    from dashboard.jobs.alert_rules import default_rules, load_rules

    assert load_rules() == default_rules()


def test_the_page_lists_open_alerts_and_the_administrator_acknowledges_one(monkeypatch, demo_copy_url):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.web import admin

    now = DEMO_NOW + timedelta(days=1)
    run_alerts(demo_copy_url, now)
    due_soon = sorted(open_alerts(demo_copy_url, "feedback_due_soon"), key=lambda a: a["id"])
    assert len(due_soon) == 3
    monkeypatch.setenv("IOC_DATABASE_URL", demo_copy_url)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("x", iterations=1000))
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.query_params["rule"] = "feedback_due_soon"
    sign_in(app, demo_copy_url)
    app.run()
    app.switch_page(str(PAGE))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    warning = next(m for m in app.metric if m.label == t("alerts.severity.warning"))
    assert warning.value == "3"
    assert [int(i) for i in app.dataframe[1].value[t("alerts.column.id")]] == [a["id"] for a in due_soon][::-1]
    app.selectbox(key="alerts_ack_id").select(due_soon[0]["id"])
    app.text_area(key="alerts_ack_note").input("Đã gọi phường")
    next(b for b in app.button if b.label == t("alerts.ack.submit")).click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert [s.value for s in app.success] == [t("alerts.ack.done", id=due_soon[0]["id"])]
    [acked] = [a for a in open_alerts(demo_copy_url, "feedback_due_soon") if a["acknowledged_at"] is not None]
    assert acked["id"] == due_soon[0]["id"] and acked["acknowledged_note"] == "Đã gọi phường"


# ---------------------------------------------------------------- the wall's ticker reads the alerts table
OVERDUE_SQL = text(
    "SELECT count(*) FROM feedback WHERE received_at <= :now AND status <> 'rejected'"
    " AND (resolved_at IS NULL OR resolved_at > :now) AND due_at <= :now"
)


def test_the_wall_ticker_says_what_the_alerts_table_holds(db_url):
    from dashboard.wall import data as wall_data
    from dashboard.wall import render as draw
    from dashboard.wall import rules as wall

    now = DEMO_NOW + timedelta(days=1)
    run_alerts(db_url, now)
    engine = make_engine(db_url, read_only=True)
    try:
        with engine.connect() as connection:
            overdue = connection.execute(OVERDUE_SQL, {"now": now}).scalar_one()
        table = wall_data.alert_table(engine, db_url)
    finally:
        engine.dispose()
    escalated = sum(a["escalated_at"] is not None for a in open_alerts(db_url, "feedback_overdue"))
    alerts = {alert.kind: alert for alert in wall.alerts_from_table(table, table["sensor_total"])}
    assert alerts["feedback_overdue"].values["count"] == overdue > 0
    assert alerts["feedback_overdue"].values["escalated"] == escalated > 0
    assert alerts["feedback_overdue"].level == "critical"  # some are escalated to the leaders
    assert alerts["feedback_due_soon"].values["count"] == len(due_soon_subjects(db_url, now, 24))
    top = alerts["feedback_overdue"].values["agencies"]
    assert sum(n for _, n in top) <= overdue and [n for _, n in top] == sorted((n for _, n in top), reverse=True)
    html = draw.ticker_html(list(alerts.values()), "vi")
    assert f"{overdue} phản ánh đã quá hạn, {escalated} đã báo lãnh đạo" in html.replace(".", "")
    assert table["last_run"] is None  # the job function ran, not the runner: no job_runs row
    assert not wall.alerts_current(table["last_run"], now)
    assert wall.alerts_current(now - timedelta(minutes=5), now)
    assert not wall.alerts_current(now - timedelta(minutes=wall.ALERTS_CURRENT_MINUTES + 1), now)


def test_the_wall_ticker_without_open_alerts_is_all_clear_and_without_worker_says_so():
    import pandas as pd

    from dashboard.wall import rules as wall

    empty = {"counts": pd.DataFrame(columns=["rule", "agency", "alerts", "escalated"]), "rows": {}}
    assert [a.kind for a in wall.alerts_from_table(empty, 60)] == ["all_clear"]
    assert [a.kind for a in wall.alerts_from_table(empty, 60, reachable=False)] == ["unreachable"]
    live = [wall.Alert("silent_sensors", "warning", {}), wall.Alert("all_clear", "info")]
    assert [a.kind for a in wall.without_worker(live, None)] == ["silent_sensors", "alerts_never"]
    assert wall.without_worker(live[1:], datetime(2026, 12, 1, 8, 0))[0].values == {"since": datetime(2026, 12, 1, 8)}
