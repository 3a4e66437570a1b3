"""Đăng nhập — the sign-in page (name and password; the form and the session are in dashboard/web/)."""

from __future__ import annotations

from dashboard.web import admin, url_state

admin.login_form(url_state.lang())
