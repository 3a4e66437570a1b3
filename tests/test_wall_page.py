"""The wall page in AppTest against the seeded demo database: figures equal to the KPI module and to SQL counts, an
outage banner with the last figures kept then recovery, bad rotation links, a missing database."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import demo_sql
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.db.engine import DatabaseUnavailable, make_engine
from dashboard.i18n import t
from dashboard.metrics import kpis
from dashboard.wall import data as wall_queries
from dashboard.wall import render as draw
from dashboard.wall import rules as wall

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "wall.py")


# ---------------------------------------------------------------- the page in AppTest
def _wall(monkeypatch, url: str, params: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.run()
    return app


def _html(app: AppTest) -> str:
    return "\n".join(element.proto.body for element in app.html)


def _tile_values(app: AppTest) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="([^"]+)">.*?class="wall-tile-value">([^<]+?)\s*<', _html(app)))


def test_page_shows_the_kpi_module_figures(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview,procedures", "dwell": "5"})
    assert not app.exception, [e.message for e in app.exception]
    engine = make_engine(demo_db_url, read_only=True)
    try:
        as_of = wall.data_clock(datetime.now(), wall_queries.newest_records(engine))
        expected = kpis.section_kpis(engine, "feedback", wall.day_so_far(as_of))
        dossiers = kpis.section_kpis(engine, "dossiers", wall.day_so_far(as_of))
    finally:
        engine.dispose()
    # The demo's last day up to its data clock (14:15), counted in SQL as well (tests/demo_sql.py).
    today = wall.day_so_far(as_of)
    assert demo_sql.feedback_received_between(demo_db_url, today.start_at, today.end_before) == 9
    assert expected["received"] == 9
    tiles = _tile_values(app)
    assert tiles["feedback.received"] == draw.compact(expected["received"], "vi")
    assert tiles["dossiers.received"] == draw.compact(dossiers["received"], "vi")
    html = _html(app)
    assert 'data-current="overview"' in html and "Thủ tục hành chính" in html
    assert "Bản đồ 24 giờ qua" not in html  # only the requested panels are in the rotation
    assert 'data-source="feedback"' in html and 'data-testid="wall-banner"' not in html


def test_outage_keeps_the_last_figures_with_a_banner_then_recovers(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview", "dwell": "30"})
    before = _tile_values(app)
    assert before and 'data-testid="wall-banner"' not in _html(app)

    real = wall_queries.newest_records

    def unreachable(engine):
        raise DatabaseUnavailable("Cannot use the database: connection refused", hint="check IOC_DATABASE_URL")

    monkeypatch.setattr(wall_queries, "newest_records", unreachable)
    app.run()
    assert not app.exception
    html = _html(app)
    assert "Mất kết nối cơ sở dữ liệu từ" in html and "đang hiện số liệu lúc" in html
    assert _tile_values(app) == before  # the last good figures stay on screen
    assert "Traceback" not in html

    monkeypatch.setattr(wall_queries, "newest_records", real)
    app.run()
    assert 'data-testid="wall-banner"' not in _html(app) and _tile_values(app) == before


def test_bad_rotation_in_the_address_is_said_and_the_configured_one_used(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview,weather", "dwell": "10", "lang": "en"})
    assert not app.exception
    html = _html(app)
    assert "Rotation parameters not usable" in html and "unknown panel &#x27;weather&#x27;" in html
    assert "The city today" in html and "Last 24 hours map" in html  # the configured panels, in English


def test_missing_database_shows_the_banner_and_creates_nothing(monkeypatch, tmp_path):
    missing = tmp_path / "absent.duckdb"
    app = _wall(monkeypatch, f"duckdb:///{missing}", {"panels": "overview,map", "dwell": "10"})
    assert not app.exception, [e.message for e in app.exception]
    html = _html(app)
    assert "Mất kết nối cơ sở dữ liệu từ" in html and "đang thử kết nối lại" in html
    assert t("wall.waiting") in html and "Traceback" not in html
    assert not missing.exists(), "the wall must not create an empty database file"


def test_ticker_reads_the_workers_alerts_and_says_when_the_worker_has_not_run(monkeypatch, demo_copy_url):
    from dashboard.jobs.runner import run_job

    before = _html(_wall(monkeypatch, demo_copy_url, {"panels": "overview"}))
    assert t("wall.alert.alerts_never", "vi") in before  # computed by the wall itself, and said so
    assert run_job("alerts", demo_copy_url)[0] == "done"  # the real clock: every open demo report is overdue
    st.cache_data.clear()  # the page keeps the table a minute (cache.STATUS_TTL_SECONDS)
    after = _wall(monkeypatch, demo_copy_url, {"panels": "overview"})
    assert not after.exception
    html = _html(after)
    assert t("wall.alert.alerts_never", "vi") not in html
    assert 'data-kind="feedback_overdue"' in html and "đã báo lãnh đạo" in html
    assert 'data-kind="dossier_overdue"' in html
