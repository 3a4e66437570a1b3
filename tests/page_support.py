"""Helpers shared by the AppTest page tests: open a page with link parameters signed in as a role, read a KPI tile."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def sign_in(app: AppTest, url: str, role: str | None = "admin", **scope) -> AppTest:
    """Sign `app` in with a fresh session of the test user of `role` in the database `url` (None: a visitor)."""
    if role is not None:
        from dashboard.testing.accounts import SESSION_KEY, login_token

        app.session_state[SESSION_KEY] = login_token(url, role, **scope)
    return app


def new_app(monkeypatch, url: str, *, role: str | None = "admin", timeout: int = 90, **scope) -> AppTest:
    """The router against `url`, signed in as `role` (not run yet)."""
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    return sign_in(AppTest.from_file(APP, default_timeout=timeout), url, role, **scope)


def run_app(
    monkeypatch,
    url: str,
    params: dict[str, str] | None = None,
    page: str | None = None,
    timeout: int = 90,
    *,
    role: str | None = "admin",
) -> AppTest:
    """The router against `url` signed in as `role` (None: a visitor), opened with `params` in the address, then
    switched to `page` (a pages/ file)."""
    app = new_app(monkeypatch, url, role=role, timeout=timeout)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.run()
    if page is not None:
        app.switch_page(page)
        app.run()
    return app


def run_page(monkeypatch, url: str, params: dict[str, str], page: str) -> AppTest:
    """`run_app` on one page, asserting it shows neither an exception nor an error box."""
    app = run_app(monkeypatch, url, params, page)
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    return app


def metric_value(app: AppTest, label: str) -> str:
    """The value of the tile whose label is `label` (tiles may carry a coloured status dot before it)."""
    values = [m.value for m in app.metric if m.label == label or m.label.endswith("] " + label)]
    assert values, f"no metric labelled {label!r}; have {[m.label for m in app.metric]}"
    return values[0]
