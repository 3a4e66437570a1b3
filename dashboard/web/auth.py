"""Who this browser session is: `current_user()` for pages, `resolve()` once per run by the router.

A session token (dashboard.db.accounts) is found in `st.session_state["_ioc_session_token"]` (set by the login form,
or by a test) or in the `ioc_session` cookie the login page set in the browser (read from `st.context.cookies`, so a
reload stays signed in). A wall opened with `?token=…` is the kiosk user of that token. Without either, the visitor
(`User.visitor()`, role `public`).

Streamlit cannot set a cookie from the server: after a log-in the page runs a one-line script (st.html with
JavaScript) writing `document.cookie`; the log-out writes an expired one. The cookie only carries the token; the
store decides at every run whether it is still good (idle expiry, log-out everywhere, a disabled user).
"""

from __future__ import annotations

import json
import logging

import streamlit as st

from dashboard import config
from dashboard.access.identity import User
from dashboard.access.roles import Role
from dashboard.db import accounts, kiosk_tokens
from dashboard.db.engine import DatabaseError
from dashboard.db.ops import ops_engine
from dashboard.web import cache

SESSION_KEY = "_ioc_session_token"
KIOSK_KEY = "_ioc_kiosk_token"
USER_KEY = "_ioc_user"
COOKIE = "ioc_session"
_COOKIE_SCRIPT_KEY = "_ioc_cookie_script"
_DEAD_COOKIE_KEY = "_ioc_dead_cookie"

log = logging.getLogger("dashboard.auth")


def store():
    """The operational store of the configured database (accounts live there)."""
    return ops_engine(cache.current_url())


def pii_roles() -> frozenset[str]:
    """Roles that see citizens' personal details (IOC_PII_ROLES, S19c's setting; `admin` until it exists)."""
    try:
        raw = config.get("IOC_PII_ROLES")
    except (KeyError, AttributeError):
        raw = "admin"
    if not isinstance(raw, str):
        return frozenset(str(r) for r in raw)
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def visitor_access() -> str:
    return config.value("IOC_VISITOR_ACCESS")


def _cookie_token() -> str:
    try:
        return (st.context.cookies or {}).get(COOKIE, "") or ""
    except Exception:  # AppTest and old clients have no cookies
        return ""


def _session_user(token: str) -> User | None:
    return accounts.session_user(
        store(), token, idle_minutes=config.value("IOC_SESSION_IDLE_MINUTES"), pii_roles=pii_roles()
    )


def resolve(*, kiosk: bool = False, kiosk_token: str = "") -> User:
    """Find this run's user (one or two small reads of the store) and keep it for `current_user()`.

    `kiosk`: the run is a wall page, where a kiosk token (`kiosk_token`, or the one this session opened with) counts
    when nobody is signed in; elsewhere a kiosk token opens nothing."""
    user = None
    try:
        token = st.session_state.get(SESSION_KEY) or ""
        if token:
            user = _session_user(token)
            if user is None:
                st.session_state.pop(SESSION_KEY, None)
        if user is None and (cookie := _cookie_token()) and cookie != st.session_state.get(_DEAD_COOKIE_KEY):
            user = _session_user(cookie)
            if user is not None:
                st.session_state[SESSION_KEY] = cookie
            else:
                st.session_state[_DEAD_COOKIE_KEY] = cookie  # ended or expired: not asked again this session
        if user is None and kiosk and (wall_token := kiosk_token or st.session_state.get(KIOSK_KEY, "")):
            user = kiosk_tokens.kiosk_user(store(), wall_token)
            if user is not None:
                st.session_state[KIOSK_KEY] = wall_token
            else:
                st.session_state.pop(KIOSK_KEY, None)
        if user is None:
            user = oidc_user()
    except DatabaseError:
        log.exception("the account store did not answer; the session is treated as a visitor")
        user = None
    user = user or User.visitor()
    st.session_state[USER_KEY] = user
    return user


def current_user() -> User:
    """The User of this browser session (User.visitor() when nobody is signed in)."""
    user = st.session_state.get(USER_KEY)
    return user if isinstance(user, User) else resolve()


# ---------------------------------------------------------------- OIDC (Streamlit's st.login)
def oidc_user() -> User | None:
    """A user signed in with the city's identity provider (st.login), when IOC_OIDC_ROLE_CLAIM is set.

    The role is the claim's value; an agency officer's scope comes from the claims `agencies` / `areas` (lists or
    comma-separated). A missing or unknown role, or an officer without scope, is no user (the login page)."""
    claim = config.get("IOC_OIDC_ROLE_CLAIM").strip()
    if not claim:
        return None
    try:
        info = st.user
        if not info.get("is_logged_in"):
            return None
        role = Role(str(info.get(claim, "")).strip().lower())
    except (ValueError, AttributeError, KeyError):
        return None
    if role is Role.PUBLIC:
        return None

    def _values(key: str) -> tuple[str, ...]:
        raw = info.get(key) or ()
        return tuple(part.strip() for part in (raw.split(",") if isinstance(raw, str) else raw) if str(part).strip())

    from dashboard.access.scope import WHOLE_CITY, Scope

    try:
        scope = Scope.of(_values("agencies"), _values("areas")) if role is Role.AGENCY_OFFICER else WHOLE_CITY
    except ValueError:
        return None
    name = str(info.get("email") or info.get("sub") or "oidc").lower()[:64]
    return User(name, role, scope, str(info.get("name") or ""), str(role) in pii_roles())


# ---------------------------------------------------------------- log-in and log-out
def _set_cookie(token: str, *, clear: bool = False) -> None:
    """Ask the browser to keep (or drop) the session cookie at the next render."""
    st.session_state[_COOKIE_SCRIPT_KEY] = "" if clear else token


def render_cookie_script() -> None:
    """Write or clear the cookie in the browser (once, right after a log-in or a log-out)."""
    if _COOKIE_SCRIPT_KEY not in st.session_state:
        return
    token = st.session_state.pop(_COOKIE_SCRIPT_KEY)
    secure = "; Secure" if (st.context.url or "").startswith("https:") else ""
    if token:
        cookie = f"{COOKIE}={token}; Path=/; SameSite=Strict{secure}"
    else:
        cookie = f"{COOKIE}=; Path=/; Max-Age=0; SameSite=Strict{secure}"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


def sign_in(name: str, password: str) -> accounts.LoginResult:
    """Check a log-in; on success this session is signed in (state + cookie). Every outcome goes to the audit log."""
    engine = store()
    result = accounts.authenticate(
        engine,
        name,
        password,
        lock_after=config.value("IOC_LOGIN_LOCK_AFTER"),
        legacy_admin_hash=config.get("IOC_ADMIN_PASSWORD_HASH").strip(),
    )
    if result.ok:
        st.session_state[SESSION_KEY] = result.token
        st.session_state.pop(_DEAD_COOKIE_KEY, None)
        _set_cookie(result.token)
        user = resolve()
        accounts.audit(engine, actor=user.name, role=str(user.role), action="login")
    elif result.outcome == "locked" or result.locked_now:
        details = {"failures": result.failures, "wait_seconds": result.wait_seconds}
        accounts.audit(engine, actor=result.name, role="", action="login_locked", details=details)
    else:
        accounts.audit(engine, actor=result.name, role="", action="login_failed", details={"failures": result.failures})
    return result


def sign_out(*, everywhere: bool = False) -> None:
    """End this session (or every session of the user) and forget the token here and in the browser."""
    user = current_user()
    token = st.session_state.pop(SESSION_KEY, "") or ""
    engine = store()
    if token:
        if everywhere and user.signed_in:
            accounts.end_all_sessions(engine, user.name)
        else:
            accounts.end_session(engine, token)
        st.session_state[_DEAD_COOKIE_KEY] = token
    if user.signed_in:
        accounts.audit(engine, actor=user.name, role=str(user.role), action="logout_all" if everywhere else "logout")
    _set_cookie("", clear=True)
    st.session_state[USER_KEY] = User.visitor()
