"""AppTest over the router and every registered page, against the seeded demo database."""

from __future__ import annotations

from datetime import date, timedelta

import demo_sql
import pytest
from page_support import APP, metric_value, run_app, sign_in
from streamlit.testing.v1 import AppTest

from dashboard.i18n import format_number, t
from dashboard.navigation import PAGES
from dashboard.periods import Period
from dashboard.web import admin


def _as_admin(monkeypatch, url: str, page: str) -> AppTest:
    """The router opened by a logged-in administrator (the session flag set as the login form would set it)."""
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = AppTest.from_file(APP, default_timeout=90)
    sign_in(app, url)
    app.run()
    app.switch_page(page)
    return app.run()


@pytest.mark.parametrize("spec", PAGES, ids=[p.key for p in PAGES])
def test_every_page_renders_without_exception(monkeypatch, demo_db_url, spec):
    # Admin pages are only registered after login (tests/test_admin.py checks the login itself), so they are opened
    # here with the session already logged in.
    app = (_as_admin if spec.admin else run_app)(monkeypatch, demo_db_url, page=str(spec.path))
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]


def test_overview_tiles_show_the_figures_counted_in_sql(monkeypatch, demo_db_url, demo_now):
    period = Period(demo_now.date() - timedelta(days=29), demo_now.date())
    app = run_app(monkeypatch, demo_db_url, {"from": period.start.isoformat(), "to": period.end.isoformat()})
    assert not app.exception
    feedback = demo_sql.feedback_figures(demo_db_url, period)
    dossiers = demo_sql.dossier_figures(demo_db_url, period)
    # The seeded demo (seed 7, scale 0.03) over its last 30 days, counted on the base tables.
    assert (feedback["received"], feedback["resolved_on_time"], feedback["resolved_with_due"]) == (316, 272, 313)
    assert dossiers["received"] == 152
    assert feedback["resolved_on_time_pct"] == 86.9
    assert metric_value(app, t("kpi.feedback.received")) == format_number(feedback["received"], "vi")
    assert metric_value(app, t("kpi.dossiers.received")) == format_number(dossiers["received"], "vi")
    assert (
        metric_value(app, t("kpi.feedback.resolved_on_time_pct"))
        == format_number(feedback["resolved_on_time_pct"], "vi", 1) + " %"
    )


def test_area_filter_from_url_changes_the_figures(monkeypatch, demo_db_url, demo_now):
    period = Period(demo_now.date() - timedelta(days=89), demo_now.date())
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    city = run_app(monkeypatch, demo_db_url, params)
    ward = run_app(monkeypatch, demo_db_url, {**params, "area": "19753"})
    assert ward.session_state["areas"] == ["19753"]
    city_count = demo_sql.feedback_figures(demo_db_url, period)["received"]
    ward_count = demo_sql.feedback_figures(demo_db_url, period, ["19753"])["received"]
    assert (city_count, ward_count) == (693, 82)
    assert metric_value(city, t("kpi.feedback.received")) == format_number(city_count, "vi")
    assert metric_value(ward, t("kpi.feedback.received")) == format_number(ward_count, "vi")


def test_url_round_trip_restores_the_same_filters(monkeypatch, demo_db_url):
    params = {
        "lang": "en",
        "from": "2026-03-01",
        "to": "2026-03-31",
        "compare": "same_period_last_year",
        "area": "19753,19789",
    }
    first = run_app(monkeypatch, demo_db_url, params)
    written = {key: first.query_params[key] for key in params}
    assert written == params
    second = run_app(monkeypatch, demo_db_url, written)
    for key in ("lang", "period_range", "compare", "areas", "preset"):
        assert second.session_state[key] == first.session_state[key]
    assert second.session_state["period_range"] == (date(2026, 3, 1), date(2026, 3, 31))
    assert second.session_state["preset"] == "custom"


def test_english_toggle_translates_the_page(monkeypatch, demo_db_url):
    app = run_app(monkeypatch, demo_db_url, {"lang": "en"})
    assert app.title[0].value == t("overview.heading", "en")
    assert any(m.label.endswith(t("kpi.feedback.received", "en")) for m in app.metric)


def test_bad_link_parameters_are_named_and_ignored(monkeypatch, demo_db_url):
    app = run_app(monkeypatch, demo_db_url, {"from": "2026-02-30", "area": "99999"})
    assert not app.exception
    warning = " ".join(w.body for w in app.warning)
    assert "from: 2026\\-02\\-30" in warning and "99999" in warning
    assert app.session_state["areas"] == []


def test_missing_database_shows_what_to_run(monkeypatch, tmp_path):
    app = run_app(monkeypatch, "duckdb:///" + str(tmp_path / "absent.duckdb"))
    assert not app.exception
    assert app.error[0].body == t("error.not_initialised_title")
    assert any("make demo" in m.value for m in app.markdown)
    assert not (tmp_path / "absent.duckdb").exists(), "the app must not create an empty database"


def test_unreachable_server_names_the_setting(monkeypatch):
    app = run_app(monkeypatch, "postgresql+psycopg://nobody:secret@127.0.0.1:1/none", role=None)
    assert not app.exception
    assert app.error[0].body == t("error.unavailable_title")
    text = " ".join(m.value for m in app.markdown)
    assert "IOC_DATABASE_URL" in text and "secret" not in text


@pytest.mark.parametrize("page", ["briefing.py", "procedures.py"])
def test_a_session_whose_language_went_missing_falls_back_to_the_default(monkeypatch, demo_db_url, page):
    # The 20-session load test saw `lang` = None in session state on these pages ("unknown language None").
    monkeypatch.setenv("IOC_DATABASE_URL", demo_db_url)
    app = sign_in(AppTest.from_file(APP, default_timeout=90), demo_db_url)
    app.run()
    app.session_state["lang"] = None
    app.switch_page(str(PAGES[0].path.parent / page))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    assert app.session_state["lang"] == "vi"
