"""The role × page matrix in AppTest: what each role (and a visitor, in both IOC_VISITOR_ACCESS modes) gets registered
is exactly the roles table; every other page's file and address lead nowhere; every page renders for the lowest role
that may open it. One app run per role for the navigation, one render per page (DuckDB); a subset on PostgreSQL.
The kiosk token and the wall are checked in a real browser (tests/test_login_browser.py): AppTest has no address."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from page_support import new_app

from dashboard.access.roles import ACCOUNT_ROLES, PAGES, Role
from dashboard.db.engine import create_schema, make_engine
from dashboard.db.scope_values import known_agencies
from dashboard.i18n import t
from dashboard.navigation import LOGIN
from dashboard.navigation import PAGES as SPECS

PAGE_KEYS = "_ioc_page_keys"
DEMO_NOW = datetime(2026, 11, 20, 14, 37)
BY_KEY = {spec.key: spec for spec in SPECS}
LADDER = (Role.PUBLIC, Role.VIEWER, Role.AGENCY_OFFICER, Role.ADMIN)  # each page renders for the first that opens it


def _officer_scope(url: str) -> dict:
    engine = make_engine(url, read_only=True)
    try:
        return {"agencies": known_agencies(engine)[:1]}
    finally:
        engine.dispose()


def _open(monkeypatch, url: str, mode: str, page: str | None = None):
    """The router for `mode` (a role, or "visitor:login" / "visitor:public"), on the default page or on `page`."""
    role = None if mode.startswith("visitor") else mode
    monkeypatch.setenv("IOC_VISITOR_ACCESS", mode.split(":")[1] if role is None else "login")
    scope = _officer_scope(url) if role == Role.AGENCY_OFFICER else {}
    app = new_app(monkeypatch, url, role=role, **scope)
    app.run()
    if page is not None:
        app.switch_page(str(BY_KEY[page].path))
        app.run()
    return app


def _expected(mode: str) -> set[str]:
    if mode == "visitor:login":
        return {LOGIN.key}
    if mode == "visitor:public":
        return set(PAGES[Role.PUBLIC]) | {LOGIN.key}
    return set(PAGES[Role(mode)]) | {"wall"}


MODES = ["visitor:login", "visitor:public", *[str(role) for role in ACCOUNT_ROLES]]


def _check_navigation(monkeypatch, url: str, mode: str) -> None:
    app = _open(monkeypatch, url, mode)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    assert set(app.session_state[PAGE_KEYS]) == _expected(mode)
    registered = {str(info.get("url_pathname", "")) for info in app._registered_pages.values()}
    for spec in SPECS:
        if spec.key not in _expected(mode) and mode != "visitor:login":
            assert spec.url_path not in registered, (mode, spec.key)  # its address leads to the default page
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                app.switch_page(str(spec.path))
    if mode == "visitor:login":  # every address shows the sign-in form, never a page
        assert [m.value for m in app.title] == [t("auth.heading")]


@pytest.mark.parametrize("mode", MODES)
def test_each_role_gets_exactly_its_pages(monkeypatch, demo_db_url, mode):
    _check_navigation(monkeypatch, demo_db_url, mode)


def _lowest(key: str) -> Role:
    return next(role for role in LADDER if key in PAGES[role])


RENDERED = [spec.key for spec in SPECS if not spec.kiosk]


@pytest.mark.parametrize("key", RENDERED)
def test_every_page_renders_for_the_lowest_role_that_opens_it(monkeypatch, demo_db_url, key):
    role = _lowest(key)
    mode = "visitor:public" if role is Role.PUBLIC else str(role)
    app = _open(monkeypatch, demo_db_url, mode, page=key)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    assert app.title or app.markdown  # the page drew something


# ---------------------------------------------------------------- PostgreSQL: accounts and sessions in the same DB
@pytest.fixture(scope="module")
def pg_demo_url(pg_url):
    from dashboard.demo.generator import build_demo

    engine = make_engine(pg_url)
    try:
        create_schema(engine, drop_first=True)
        build_demo(
            engine, seed=7, scale=0.02, start=DEMO_NOW.date() - timedelta(days=30), end=DEMO_NOW.date(), now=DEMO_NOW
        )
    finally:
        engine.dispose()
    return pg_url


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["visitor:login", "visitor:public", "viewer", "agency_officer", "admin"])
def test_each_role_gets_exactly_its_pages_on_postgresql(monkeypatch, pg_demo_url, mode):
    _check_navigation(monkeypatch, pg_demo_url, mode)


@pytest.mark.postgres
@pytest.mark.parametrize("key", ["alerts", "users"])
def test_officer_and_admin_pages_render_on_postgresql(monkeypatch, pg_demo_url, key):
    app = _open(monkeypatch, pg_demo_url, str(_lowest(key)), page=key)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]


@pytest.mark.parametrize(
    ("key", "notice"),
    [("alerts", "alerts.ack.admin_only"), ("events", "events.admin_only"), ("directives", "directives.admin_only")],
)
def test_operators_act_where_analysts_only_read(monkeypatch, demo_db_url, key, notice):
    """Acknowledging alerts, managing events and directives are the operator's rights (and the admin's), not an
    analyst's: the analyst reads the page and is told who may act; the operator gets the forms."""
    analyst = _open(monkeypatch, demo_db_url, str(Role.ANALYST), key)
    operator = _open(monkeypatch, demo_db_url, str(Role.OPERATOR), key)
    for app in (analyst, operator):
        assert not app.exception, [e.message for e in app.exception]
    assert t(notice) in [c.value for c in analyst.caption]
    assert t(notice) not in [c.value for c in operator.caption]
