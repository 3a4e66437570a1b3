"""Leader directives ("ý kiến chỉ đạo", issue 18): status history with who and when, "quá hạn" derived from the due
date, listed in the weekly briefing until closed (and the week it closed), an overdue one opens an alert through the
alerts job at a fixed now and the alert resolves when it is done, the CLI and the page "Chỉ đạo" — on DuckDB and
PostgreSQL (directives live in the operational store)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
from page_support import sign_in
from sqlalchemy import select
from test_events import clean_ops

from dashboard.cli import main
from dashboard.db import directive_queries as dq
from dashboard.db import ops
from dashboard.db.engine import make_engine
from dashboard.jobs.registry import JobContext, load_all

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGE = APP.parent.parent / "pages" / "directives.py"


@pytest.fixture
def url(any_db_url):
    clean_ops(any_db_url)
    return any_db_url


def test_status_history_and_overdue_derived(url):
    first = dq.add_directive(
        url,
        "Rà soát 12 điểm ngập trên đường Hùng Vương",
        "ward",
        "19753",
        assignee="UBND phường Phú Hội",
        due_date=date(2026, 11, 10),
        created_by="lanh_dao",
        now=datetime(2026, 11, 2, 9, 0),
    )
    second = dq.add_directive(
        url, "Giảm tỷ lệ hồ sơ trễ hạn", "figure", "dossiers.completed_on_time_pct", now=datetime(2026, 11, 3, 8, 0)
    )
    assert dq.set_status(url, first, "in_progress", "admin", datetime(2026, 11, 5, 10, 0), "Đã giao tổ công tác")
    assert not dq.set_status(url, first, "in_progress", "admin", datetime(2026, 11, 5, 11, 0))  # no change
    listed = dq.list_directives(url, datetime(2026, 11, 11, 8, 0))
    assert dict(zip(listed["id"], listed["shown_status"], strict=True)) == {first: "overdue", second: "new"}
    assert dq.set_status(url, first, "done", "admin", datetime(2026, 11, 12, 16, 30))
    history = dq.history(url, first)
    assert list(history["status"]) == ["new", "in_progress", "done"]
    assert list(history["changed_by"]) == ["lanh_dao", "admin", "admin"]
    assert [str(v) for v in history["changed_at"]] == [
        "2026-11-02 09:00:00",
        "2026-11-05 10:00:00",
        "2026-11-12 16:30:00",
    ]
    assert history["note"].iloc[1] == "Đã giao tổ công tác"
    listed = dq.list_directives(url, datetime(2026, 11, 13, 8, 0), open_only=True)
    assert list(listed["id"]) == [second]
    with pytest.raises(dq.DirectiveError, match="overdue is derived"):
        dq.set_status(url, second, "overdue", "admin")
    with pytest.raises(dq.DirectiveError, match="text is empty"):
        dq.add_directive(url, "  ", "figure", "feedback.received")


def test_in_the_briefing_every_week_until_closed(url):
    open_one = dq.add_directive(url, "Xử lý rác tồn đọng", "agency", "Công ty Môi trường", now=datetime(2026, 11, 2))
    closed = dq.add_directive(url, "Sửa đèn đường", "case", "hue_s:PA-1", now=datetime(2026, 11, 3))
    week = (date(2026, 11, 9), date(2026, 11, 15))
    assert list(dq.for_briefing(url, *week, datetime(2026, 11, 16, 7))["id"]) == [open_one, closed]
    dq.set_status(url, closed, "done", "admin", datetime(2026, 11, 18, 9, 0))
    next_week = (date(2026, 11, 16), date(2026, 11, 22))
    assert list(dq.for_briefing(url, *next_week, datetime(2026, 11, 23, 7))["id"]) == [open_one, closed]  # closed then
    later = (date(2026, 11, 23), date(2026, 11, 29))
    assert list(dq.for_briefing(url, *later, datetime(2026, 11, 30, 7))["id"]) == [open_one]


def test_the_pdf_lists_open_directives(demo_copy_url, demo_now):
    from dashboard.briefing.content import build_briefing

    clean_ops(demo_copy_url)
    dq.add_directive(
        demo_copy_url,
        "Rà soát điểm ngập",
        "ward",
        "19753",
        assignee="UBND phường Phú Hội",
        due_date=date(2026, 11, 13),
        now=datetime(2026, 11, 10, 9),
    )
    engine = make_engine(demo_copy_url, read_only=True)
    try:
        briefing = build_briefing(engine, "2026-W46", lang="vi", now=demo_now)
    finally:
        engine.dispose()
    assert briefing.notes["directives"] == "1 ý kiến chỉ đạo đang mở (trong đó 1 quá hạn), 0 đã xong trong tuần."
    [row] = briefing.tables["directives"].rows
    assert row[1:] == ("Rà soát điểm ngập", "Phường/xã: 19753", "UBND phường Phú Hội", "13/11/2026", "Quá hạn")


def _alerts(url: str) -> list[dict]:
    with ops.ops_engine(url).connect() as connection:
        statement = select(ops.alerts).where(ops.alerts.c.rule == "directive_overdue").order_by(ops.alerts.c.id)
        return [dict(row) for row in connection.execute(statement).mappings()]


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_url(request):
    if request.param == "duckdb":
        url = request.getfixturevalue("demo_copy_url")
    else:
        url = request.getfixturevalue("pg_url")
        from dashboard.db.engine import create_schema
        from dashboard.demo.generator import build_demo

        engine = make_engine(url)
        try:
            create_schema(engine, drop_first=True)
            build_demo(engine, seed=7, scale=0.01, start=date(2026, 11, 1), end=DEMO_NOW.date(), now=DEMO_NOW)
        finally:
            engine.dispose()
    clean_ops(url)
    return url


def test_an_overdue_directive_opens_an_alert_resolved_when_done(demo_url):
    directive = dq.add_directive(
        demo_url,
        "Khắc phục ổ gà đường Lê Duẩn",
        "agency",
        "Sở Xây dựng",
        assignee="Sở Xây dựng",
        due_date=date(2026, 11, 19),
        now=datetime(2026, 11, 12, 9),
    )
    alerts_job = load_all()["alerts"]
    details = alerts_job.run(JobContext(demo_url, datetime(2026, 11, 19, 23, 0))).details  # due today: not yet
    assert details["opened"]["directive_overdue"] == 0 and _alerts(demo_url) == []
    details = alerts_job.run(JobContext(demo_url, DEMO_NOW)).details
    assert details["opened"]["directive_overdue"] == 1
    [alert] = _alerts(demo_url)
    assert (alert["subject"], alert["subject_kind"], alert["agency"], alert["severity"]) == (
        f"directive:{directive}",
        "directive",
        "Sở Xây dựng",
        "warning",
    )
    assert json.loads(alert["params"])["due_date"] == "2026-11-19" and alert["resolved_at"] is None
    assert alerts_job.run(JobContext(demo_url, DEMO_NOW)).details["opened"]["directive_overdue"] == 0
    dq.set_status(demo_url, directive, "done", "admin", datetime(2026, 11, 20, 15, 0))
    later = datetime(2026, 11, 20, 15, 5)
    assert alerts_job.run(JobContext(demo_url, later)).details["resolved"]["directive_overdue"] == 1
    [alert] = _alerts(demo_url)
    assert alert["resolved_at"] == later


def test_cli_lists_directives(capsys, url):
    done = dq.add_directive(url, "Báo cáo số liệu", "figure", "feedback.received", now=datetime(2026, 11, 1, 8))
    dq.set_status(url, done, "done", "admin", datetime(2026, 11, 2, 8))
    still = dq.add_directive(
        url, "Xử lý hồ sơ tồn", "agency", "Sở Tư pháp", assignee="Sở Tư pháp", now=datetime(2026, 11, 3, 8)
    )
    assert main(["--database-url", url, "directives", "list", "--open", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["id"] for item in listed] == [still]
    assert listed[0]["status"] == "new" and listed[0]["history"] == [
        {"status": "new", "changed_by": None, "changed_at": "2026-11-03T08:00", "note": None}
    ]
    assert main(["--database-url", url, "directives", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "2 directives" and "done" in out and "Báo cáo số liệu" in out


def test_the_administrator_writes_a_directive_and_closes_it_on_the_page(monkeypatch, demo_copy_url):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.web import admin

    clean_ops(demo_copy_url)
    monkeypatch.setenv("IOC_DATABASE_URL", demo_copy_url)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("x", iterations=1000))
    app = sign_in(AppTest.from_file(str(APP), default_timeout=90), demo_copy_url)
    app.run()
    app.switch_page(str(PAGE))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    app.selectbox(key="directives_new_kind").select("ward")
    app.text_input(key="directives_new_subject").input("19753")
    app.text_area(key="directives_new_text").input("Kiểm tra thoát nước trước mùa mưa")
    app.text_input(key="directives_new_assignee").input("UBND phường Phú Hội")
    next(b for b in app.button if b.label == t("directives.save")).click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    [stored] = dq.list_directives(demo_copy_url, DEMO_NOW).to_dict("records")
    assert [s.value for s in app.success] == [t("directives.saved", id=stored["id"])]
    assert (stored["subject_kind"], stored["subject_key"], stored["assignee"], stored["status"]) == (
        "ward",
        "19753",
        "UBND phường Phú Hội",
        "new",
    )
    app.run()
    app.selectbox(key="directives_id").select(stored["id"])
    app.selectbox(key="directives_status").select("done")
    next(b for b in app.button if b.label == t("directives.change.submit")).click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert list(dq.history(demo_copy_url, stored["id"])["status"]) == ["new", "done"]
    app.run()
    metric = next(m for m in app.metric if m.label == t("directives.status.done"))
    assert metric.value == "1"


def test_every_kpi_tile_offers_the_directive_to_the_administrator_only(monkeypatch, demo_db_url):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.web import admin

    monkeypatch.setenv("IOC_DATABASE_URL", demo_db_url)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("x", iterations=1000))
    app = sign_in(AppTest.from_file(str(APP), default_timeout=90), demo_db_url, "analyst")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert not [b for b in app.button if b.label == t("directives.save")]
    sign_in(app, demo_db_url, "admin")
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    saves = [b for b in app.button if b.label == t("directives.save")]
    records = [b for b in app.button if b.label == t("records.open")]
    assert len(saves) == len(records) == 14  # every tile of the overview: its records and a directive about it


def test_the_records_dialog_offers_a_directive_about_a_case(monkeypatch, demo_copy_url):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.web import admin

    clean_ops(demo_copy_url)
    monkeypatch.setenv("IOC_DATABASE_URL", demo_copy_url)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("x", iterations=1000))
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.query_params.update({"from": "2026-11-01", "to": "2026-11-20", "metric": "feedback.open_backlog"})
    sign_in(app, demo_copy_url)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    box = app.selectbox(key="directive_case_key")
    case = box.options[0]
    box.select(case)
    app.text_area(key="directive_case_text").input("Xử lý dứt điểm trong 48 giờ")
    next(b for b in app.button if b.label == t("directives.save") and "directive_case" in str(b.form_id)).click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    [stored] = dq.list_directives(demo_copy_url, DEMO_NOW).to_dict("records")
    assert (stored["subject_kind"], stored["subject_key"], stored["text"]) == (
        "case",
        case,
        "Xử lý dứt điểm trong 48 giờ",
    )
    assert stored["assignee"]  # the agency handling the case when none is typed
