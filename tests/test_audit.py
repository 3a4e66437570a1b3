"""The access log (issue 19): append-only in the database itself (UPDATE and DELETE refused; only the retention purge
deletes, and only rows older than its cut-off), the `audit_retention` job, and a real browser's downloads — the
records CSV masked for an analyst and not for the admin, each logged with its filters, then found on the admin's
"Nhật ký truy cập" page, whose own CSV is logged too. DuckDB and PostgreSQL."""

from __future__ import annotations

import io
import json
import uuid
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import text
from test_pii import CSV_311, NOW

from dashboard.config import PROJECT_ROOT
from dashboard.db import audit
from dashboard.db.ops import ops_engine
from dashboard.i18n import t
from dashboard.ingest.importer import ImportOptions, run_import
from dashboard.jobs.registry import JobContext, load_all
from dashboard.periods import local_now

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


def _refused(engine, *statements: str, params: dict | None = None) -> str:
    """The error of running `statements` in one transaction (they must fail)."""
    with pytest.raises(Exception) as caught, engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params or {})
    return str(caught.value)


def test_append_only_and_the_retention_job(any_db_url, monkeypatch):
    engine = ops_engine(any_db_url)
    actor = f"t-{uuid.uuid4().hex[:8]}"  # PostgreSQL keeps the log of earlier tests: this test's rows only
    now = local_now().replace(microsecond=0)
    for days in (400, 40, 2):
        audit.record(engine, actor=actor, role="analyst", action="export", target=f"{days}d", at=now - timedelta(days))
    mine = {"actor": actor}
    assert "append-only" in _refused(engine, "UPDATE audit_log SET target = 'x' WHERE actor = :actor", params=mine)
    assert "append-only" in _refused(engine, "DELETE FROM audit_log WHERE actor = :actor", params=mine)
    # Even inside a purge, a row newer than the purge's cut-off stays.
    if engine.dialect.name == "postgresql":
        purge = (
            "SELECT set_config('ioc.audit_purge', 'on', true), "
            "set_config('ioc.audit_purge_before', (localtimestamp - interval '100 days')::text, true)"
        )
        delete = "DELETE FROM audit_log WHERE actor = :actor"
        assert "append-only" in _refused(engine, purge, delete, params=mine)
        assert "append-only" in _refused(engine, "TRUNCATE audit_log")
    else:
        cutoff = {"cutoff": str(now - timedelta(days=100)), **mine}
        with pytest.raises(Exception, match="append-only"), engine.begin() as connection:
            connection.execute(text("INSERT INTO audit_purge (cutoff) VALUES (:cutoff)"), cutoff)
            connection.execute(text("DELETE FROM audit_log WHERE actor = :actor"), mine)
    assert audit.read_log(engine, actors=[actor])["target"].tolist() == ["2d", "40d", "400d"]

    monkeypatch.setenv("IOC_AUDIT_RETENTION_DAYS", "30")
    outcome = load_all()["audit_retention"].run(JobContext(any_db_url, now))
    assert outcome.details == {"deleted": outcome.rows, "retention_days": 30} and outcome.rows >= 2
    assert audit.read_log(engine, actors=[actor])["target"].tolist() == ["2d"]


@pytest.fixture
def pii_url(areas_engine, any_db_url, tmp_path):
    path = tmp_path / "requests_311.csv"
    path.write_text(CSV_311, encoding="utf-8")
    assert run_import(areas_engine, ImportOptions("feedback", path, source="t311", now=NOW)).inserted == 2
    areas_engine.dispose()  # DuckDB: the app opens the file
    return any_db_url


def _download(page, button) -> pd.DataFrame:
    with page.expect_download(timeout=60_000) as info:
        button.click()
    return pd.read_csv(io.BytesIO(info.value.path().read_bytes()), encoding="utf-8-sig", dtype=str)


@pytest.mark.browser
def test_downloads_are_masked_by_role_and_logged_with_their_filters(web, chromium, pii_url):
    from dashboard.testing.accounts import cookie_for, login_token

    started = local_now().replace(microsecond=0)  # PostgreSQL keeps earlier tests' rows: this test's only
    records = "/?from=2026-11-02&to=2026-11-05&metric=feedback.received"
    name, email = t("records.column.citizen_name"), t("records.column.citizen_email")
    backend = "pg" if pii_url.startswith("postgresql") else "duckdb"
    full = backend == "duckdb"  # PostgreSQL: the analyst's download and its row only (a page load costs ~10 s)
    with web.running_app(pii_url, log_path=ARTIFACTS / f"streamlit-audit-{backend}.log") as base:
        csv = {}
        for role in ("analyst", "admin") if full else ("analyst",):
            page = web.new_page(chromium, viewport={"width": 1400, "height": 1800})
            page.context.add_cookies([cookie_for(login_token(pii_url, role), base)])
            page.goto(base + records)
            button = page.locator('[data-testid="stDialog"]').get_by_role("button", name=t("download.csv"))
            button.wait_for(timeout=90_000)  # the dialog's records are drawn (its download comes after them)
            csv[role] = _download(page, button).set_index(t("records.column.source_id"))
            if role == "analyst":
                page.close()
        assert csv["analyst"].loc["R1", [name, email]].tolist() == ["V. A. N.", "a•••@example.com"]
        assert csv["analyst"].loc["R2", name] != csv["analyst"].loc["R2", name]  # NaN: no details, nothing shown
        if full:
            assert csv["admin"].loc["R1", [name, email]].tolist() == ["Văn An Nguyễn", "an.nguyen@example.com"]

            # The admin's access log page lists the analyst's download with its filters.
            today = local_now().date()
            page.goto(f"{base}/nhat-ky-truy-cap?from={today}&to={today}&user=test-analyst&action=export")
            button = page.get_by_role("button", name=t("download.csv"))
            button.wait_for(timeout=90_000)  # drawn after the table
            page.screenshot(path=str(ARTIFACTS / f"audit-page-{backend}.png"), full_page=True)
            logged = _download(page, button)
            assert len(logged) >= 1 and set(logged[t("audit.column.actor")]) == {"test-analyst"}
            assert set(logged[t("audit.column.action")]) == {t("audit.action.export")}

    engine = ops_engine(pii_url)
    exported = audit.read_log(engine, actors=["test-analyst"], actions=["export"], start=started)
    assert len(exported) == 1
    row = exported.iloc[0]
    details = json.loads(row["details"])
    assert row["target"] == "feedback.received" and row["role"] == "analyst"
    assert {k: details[k] for k in ("from", "to", "part", "format")} == {
        "from": "2026-11-02",
        "to": "2026-11-05",
        "part": "numerator",
        "format": "csv",
    }
    assert details["bytes"] > 0
    if full:
        own = audit.read_log(engine, actors=["test-admin"], actions=["audit_export"], start=started).iloc[0]
        assert json.loads(own["details"])["users"] == ["test-analyst"]
    viewed = audit.read_log(engine, actors=["test-analyst"], actions=["record_view"], start=started).iloc[0]
    assert json.loads(viewed["details"])["from"] == "2026-11-02"
