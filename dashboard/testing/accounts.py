"""Signed-in sessions for tests and tools: `login_token(url, role)` gives a session token of a test user.

An AppTest is signed in with `app.session_state["_ioc_session_token"] = token` before `app.run()`; a browser or a
websocket client with the cookie `ioc_session=<token>` (see `cookie_for`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from dashboard.access.roles import Role, parse_role
from dashboard.db import accounts
from dashboard.db.ops import ops_engine

SESSION_KEY = "_ioc_session_token"  # the same key as dashboard.web.auth.SESSION_KEY (no Streamlit import here)
COOKIE = "ioc_session"


def test_user_name(role: Role, agencies: Iterable[str] = (), areas: Iterable[str] = ()) -> str:
    """`test-<role>`, plus a short digest of the scope for an officer (two scopes never share an account)."""
    if role is not Role.AGENCY_OFFICER:
        return f"test-{role}".replace("_", "-")
    digest = hashlib.sha256(repr((sorted(agencies), sorted(areas))).encode("utf-8")).hexdigest()[:10]
    return f"test-officer-{digest}"


def login_token(
    url: str,
    role: str = "analyst",
    *,
    agencies: Iterable[str] = (),
    areas: Iterable[str] = (),
    name: str | None = None,
) -> str:
    """A fresh session token for a test user of `role` (created in the ops store of database `url` when missing)."""
    role = parse_role(str(role))
    agencies, areas = tuple(agencies), tuple(areas)
    name = accounts.normalise_name(name or test_user_name(role, agencies, areas))
    engine = ops_engine(url)
    if accounts.load_user(engine, name) is None:
        try:
            accounts.add_user(engine, name, role, secrets.token_urlsafe(16), agencies=agencies, areas=areas)
        except accounts.AccountError:
            accounts.enable_user(engine, name)  # it exists but was disabled by an earlier test
    return accounts.create_session(engine, name)


def cookie_for(token: str, base_url: str) -> dict:
    """The Playwright cookie that signs a browser context in at `base_url`."""
    return {"name": COOKIE, "value": token, "url": base_url, "sameSite": "Strict"}
