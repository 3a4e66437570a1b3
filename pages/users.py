"""Tài khoản — the admin's accounts and kiosk tokens page (logic in dashboard/web/users.py)."""

from __future__ import annotations

from dashboard.web import url_state, users

users.page(url_state.lang())
