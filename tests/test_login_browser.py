"""Signing in with a real browser (system Chromium): the form sets the `ioc_session` cookie, a reload stays signed in,
"Đăng xuất" ends the session and clears the cookie, so the next reload shows the form again. The wall opens with a
kiosk token in its address and no password; a revoked token gets the "invalid screen token" page."""

from __future__ import annotations

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.db import accounts, kiosk_tokens
from dashboard.db.ops import ops_engine
from dashboard.i18n import t

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


def _session_cookie(page) -> str:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "ioc_session"), "")


@pytest.fixture(scope="module")
def served(web, demo_db_url, tmp_path_factory):
    """(database URL, base URL) of an app for visitors on a copy of the demo database."""
    import shutil

    from dashboard.db.engine import duckdb_file

    copy = tmp_path_factory.mktemp("login") / "login.duckdb"
    shutil.copy(duckdb_file(demo_db_url), copy)
    url = f"duckdb:///{copy}"
    with web.running_app(url, role=None) as base_url:
        yield url, base_url


def test_sign_in_survives_a_reload_and_sign_out_returns_to_the_form(web, chromium, served):
    demo_copy_url, base_url = served
    accounts.add_user(ops_engine(demo_copy_url), "lan", "analyst", "mật khẩu", display_name="Nguyễn Lan")
    page = web.new_page(chromium, base_url=base_url)
    page.goto(base_url + "/xep-hang", wait_until="domcontentloaded")  # a deep link: the form, whatever the path
    web.wait_for_app(page)
    assert page.get_by_role("heading", name=t("auth.heading")).is_visible()
    web.full_page_screenshot(page, ARTIFACTS / "login.png")
    page.get_by_label(t("auth.name")).fill("lan")
    page.get_by_label(t("auth.password")).fill("mật khẩu")
    page.get_by_role("button", name=t("auth.submit")).click()
    page.get_by_role("button", name=t("auth.logout"), exact=True).wait_for(timeout=60_000)
    web.wait_for_app(page)
    token = _session_cookie(page)
    assert token and accounts.session_user(ops_engine(demo_copy_url), token).name == "lan"

    page.reload(wait_until="domcontentloaded")
    web.wait_for_app(page)
    page.get_by_role("button", name=t("auth.logout"), exact=True).wait_for(timeout=60_000)  # still signed in
    page.get_by_text("Nguyễn Lan").wait_for(timeout=60_000)
    assert not page.get_by_label(t("auth.password")).count()
    web.full_page_screenshot(page, ARTIFACTS / "signed-in.png")

    page.get_by_role("button", name=t("auth.logout"), exact=True).click()
    page.get_by_role("heading", name=t("auth.heading")).wait_for(timeout=60_000)
    web.wait_for_app(page)
    assert _session_cookie(page) == ""
    assert accounts.session_user(ops_engine(demo_copy_url), token) is None
    page.reload(wait_until="domcontentloaded")
    web.wait_for_app(page)
    assert page.get_by_role("heading", name=t("auth.heading")).is_visible()
    page.context.close()


def test_a_kiosk_token_opens_the_wall_and_a_revoked_one_does_not(web, chromium, served):
    url, base_url = served
    token = kiosk_tokens.add_kiosk_token(ops_engine(url), "tuong-1")
    page = web.new_page(chromium, base_url=base_url)
    page.goto(f"{base_url}/wall?token={token}&panels=overview", wait_until="domcontentloaded")
    page.wait_for_selector(".wall-tile", timeout=90_000)
    assert not page.get_by_label(t("auth.password")).count()
    assert token not in page.inner_text("body")  # never echoed on the screen
    web.full_page_screenshot(page, ARTIFACTS / "wall-kiosk-token.png")
    kiosk_tokens.revoke_kiosk_token(ops_engine(url), "tuong-1")
    page.reload(wait_until="domcontentloaded")
    page.get_by_text(t("auth.kiosk_invalid")).wait_for(timeout=60_000)
    assert not page.locator(".wall-tile").count()
    page.goto(f"{base_url}/wall", wait_until="domcontentloaded")  # no token, nobody signed in: the sign-in form
    page.get_by_role("heading", name=t("auth.heading")).wait_for(timeout=60_000)
    page.context.close()
