"""Administrator login: PBKDF2 password hashes and the Streamlit session flag that unlocks admin pages.

The hash of the one admin password is the setting IOC_ADMIN_PASSWORD_HASH (empty: nobody is admin and admin
pages stay hidden). Stored form: `pbkdf2_sha256$<iterations>$<salt_hex>$<hash_hex>`; make one with
`python -m dashboard hash-password`.
"""

from __future__ import annotations

import time

import streamlit as st

from dashboard import config
from dashboard.i18n import t
from dashboard.passwords import hash_password, verify_password

__all__ = ["admin_configured", "hash_password", "is_admin", "sidebar_entry", "verify_password"]

FAILURE_DELAY_SECONDS = 1.0  # sleep after a wrong password: naive brute force through the form gets slow
SESSION_FLAG = "_is_admin"


def configured_hash() -> str:
    return config.get("IOC_ADMIN_PASSWORD_HASH").strip()


def admin_configured() -> bool:
    """Whether an admin password hash is set (env or .streamlit/secrets.toml)."""
    return bool(configured_hash())


# ---------------------------------------------------------------- Streamlit
def is_admin() -> bool:
    """Whether this browser session logged in as administrator (and an admin hash is still configured)."""
    return admin_configured() and bool(st.session_state.get(SESSION_FLAG, False))


def try_login(password: str) -> bool:
    """Check `password` against the configured hash and set the session flag; sleeps after a failure."""
    stored = configured_hash()
    if stored and verify_password(password, stored):
        st.session_state[SESSION_FLAG] = True
        return True
    time.sleep(FAILURE_DELAY_SECONDS)
    return False


def logout() -> None:
    st.session_state.pop(SESSION_FLAG, None)


def login_form(lang: str) -> bool:
    """A small password form; True once the session is admin. Shows a clear error on a wrong password."""
    if is_admin():
        return True
    if not admin_configured():
        st.info(t("admin.not_configured", lang), icon=":material/lock:")
        return False
    with st.form("admin_login", clear_on_submit=True, border=False):
        password = st.text_input(t("admin.password", lang), type="password", key="admin_password")
        submitted = st.form_submit_button(t("admin.login", lang), icon=":material/login:")
    if submitted:
        if try_login(password):
            st.rerun()
        st.error(t("admin.wrong_password", lang), icon=":material/error:")
    return False


def logout_button(lang: str) -> None:
    st.button(t("admin.logout", lang), key="admin_logout", icon=":material/logout:", on_click=logout, type="tertiary")


def sidebar_entry(lang: str) -> None:
    """The sidebar's "Đăng nhập quản trị" entry (only when an admin hash is configured), or the logout button."""
    if not admin_configured():
        return
    with st.sidebar:
        if is_admin():
            st.caption(t("admin.logged_in", lang))
            logout_button(lang)
        else:
            with st.expander(t("admin.entry", lang), icon=":material/admin_panel_settings:"):
                login_form(lang)
