"""Signing in with a real browser (system Chromium): the form sets the `ioc_session` cookie, a reload stays signed in,
"Đăng xuất" ends the session and clears the cookie, so the next reload shows the form again."""

from __future__ import annotations

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.db import accounts
from dashboard.db.ops import ops_engine
from dashboard.i18n import t

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


def _session_cookie(page) -> str:
    return next((c["value"] for c in page.context.cookies() if c["name"] == "ioc_session"), "")


def test_sign_in_survives_a_reload_and_sign_out_returns_to_the_form(web, chromium, demo_copy_url):
    accounts.add_user(ops_engine(demo_copy_url), "lan", "analyst", "mật khẩu", display_name="Nguyễn Lan")
    with web.running_app(demo_copy_url, role=None) as base_url:
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
        assert page.get_by_role("button", name=t("auth.logout"), exact=True).is_visible()
        assert page.get_by_text("Nguyễn Lan").is_visible()
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
