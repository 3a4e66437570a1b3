"""The sign-in form, the sidebar's account box and the rights pages ask for (`is_admin()`, `may(Can.X)`).

Accounts replaced the one administrator password (IOC_ADMIN_PASSWORD_HASH): see dashboard/db/accounts.py for the
migration and dashboard/web/auth.py for sessions. `hash_password`/`verify_password` stay for `hash-password`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import config
from dashboard.access.roles import Can, Role
from dashboard.access.scope import Scope
from dashboard.db import accounts, queries
from dashboard.db.engine import DatabaseError
from dashboard.i18n import LANGUAGES, format_number, language_name, t
from dashboard.i18n.scope_words import scope_words
from dashboard.passwords import hash_password, verify_password
from dashboard.web import auth, cache

__all__ = ["hash_password", "is_admin", "login_form", "may", "sidebar_account", "verify_password"]


def is_admin() -> bool:
    """Whether this session is signed in with the admin role."""
    return auth.current_user().role is Role.ADMIN


def may(right: Can) -> bool:
    """Whether this session's role has `right` (acknowledge alerts, manage events, see records…)."""
    return auth.current_user().can(right)


def wait_text(seconds: int, lang: str) -> str:
    if seconds < 120:
        return t("auth.wait_seconds", lang, n=format_number(seconds, lang))
    return t("auth.wait_minutes", lang, n=format_number((seconds + 59) // 60, lang))


def _no_account_yet() -> bool:
    try:
        return accounts.count_users(auth.store()) == 0 and not config.get("IOC_ADMIN_PASSWORD_HASH").strip()
    except DatabaseError:
        return False


def language_toggle() -> str:
    """The language toggle alone (the sign-in page of a visitor, who has no filters); the URL keeps `lang`."""
    if st.session_state.get("lang") not in LANGUAGES:
        asked = st.query_params.get("lang", "")
        st.session_state["lang"] = asked if asked in LANGUAGES else config.default_language()
    with st.sidebar:
        st.segmented_control(
            t("app.language", st.session_state["lang"]),
            options=list(LANGUAGES),
            key="lang",
            format_func=language_name,
            selection_mode="single",
            required=True,
        )
    language = st.session_state.get("lang") if st.session_state.get("lang") in LANGUAGES else "vi"
    if st.query_params.get("lang") != language:
        st.query_params["lang"] = language
    return language


def login_form(lang: str) -> None:
    """Name and password; on success the session is signed in and the app runs again with the user's pages."""
    st.title(t("auth.heading", lang))
    st.caption(t("auth.intro", lang))
    if _no_account_yet():
        st.info(t("auth.no_account", lang), icon=":material/person_add:")
    if config.get("IOC_OIDC_ROLE_CLAIM").strip():  # the city's identity provider (st.login, [auth] in secrets)
        if getattr(st.user, "is_logged_in", False):
            st.warning(t("auth.oidc_no_role", lang, claim=config.get("IOC_OIDC_ROLE_CLAIM")), icon=":material/badge:")
        else:
            st.button(t("auth.oidc", lang), key="login_oidc", icon=":material/badge:", on_click=st.login)
    with st.form("login", clear_on_submit=False, border=True, width=420):
        name = st.text_input(t("auth.name", lang), key="login_name", autocomplete="username")
        password = st.text_input(t("auth.password", lang), type="password", key="login_password")
        submitted = st.form_submit_button(t("auth.submit", lang), icon=":material/login:", type="primary")
    if not submitted:
        return
    if not name.strip() or not password:
        st.error(t("auth.missing", lang), icon=":material/error:")
        return
    try:
        result = auth.sign_in(name, password)
    except DatabaseError:
        st.error(t("auth.store_down", lang), icon=":material/cloud_off:")
        return
    if result.ok:
        st.session_state.pop("login_password", None)
        st.rerun()
    if result.outcome == "locked" or result.locked_now:
        st.error(t("auth.locked", lang, wait=wait_text(result.wait_seconds, lang)), icon=":material/lock_clock:")
    else:
        st.error(t("auth.wrong", lang), icon=":material/error:")


def describe_scope(scope: Scope, lang: str) -> str:
    """A scope in words: "toàn thành phố", or "Đơn vị: …; Phường/xã: …" with the wards' names."""
    areas = cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS) if scope.areas else None
    names = dict(zip(areas["code"], areas["name"], strict=True)) if areas is not None else {}
    return scope_words(scope, lang, names)


def scope_text(lang: str) -> str:
    """The signed-in user's scope in words."""
    return describe_scope(auth.current_user().scope, lang)


def sidebar_account(lang: str) -> None:
    """Who is signed in, the role and scope, and the two log-out buttons (or nothing for a visitor)."""
    user = auth.current_user()
    if not user.signed_in:
        return
    with st.sidebar:
        st.divider()
        st.caption(
            t("auth.signed_in_as", lang, name=user.display_name or user.name, role=t(f"role.{user.role}", lang))
            + "  \n"
            + t("auth.scope", lang, scope=scope_text(lang))
        )
        st.button(t("auth.logout", lang), key="auth_logout", icon=":material/logout:", on_click=auth.sign_out)
        st.button(
            t("auth.logout_all", lang),
            key="auth_logout_all",
            icon=":material/devices_off:",
            on_click=auth.sign_out,
            kwargs={"everywhere": True},
            help=t("auth.logout_all_help", lang),
        )


def kiosk_refused_page(lang: str) -> None:
    """A wall opened with an unknown or revoked token: a clear page, never the token."""
    st.error(t("auth.kiosk_invalid", lang), icon=":material/tv_off:")
    st.markdown(t("auth.kiosk_invalid_hint", lang))
