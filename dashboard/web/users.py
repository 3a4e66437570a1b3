"""The admin's "Tài khoản" page: accounts (add, disable/enable, new password, log out everywhere) and kiosk tokens.

Every change goes through dashboard.db.accounts / kiosk_tokens and is recorded in the access log with the admin's name.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.access.roles import ACCOUNT_ROLES, Can, Role
from dashboard.db import accounts, kiosk_tokens, queries
from dashboard.db.scope_values import known_agencies
from dashboard.i18n import format_datetime, t
from dashboard.web import admin, auth, cache

_TOKEN_KEY = "_users_new_kiosk_token"


def _audit(action: str, target: str, **details) -> None:
    user = auth.current_user()
    accounts.audit(auth.store(), actor=user.name, role=str(user.role), action=action, target=target, details=details)


def _when(value, lang: str) -> str:
    return format_datetime(value, lang) if value is not None and not pd.isna(value) else "–"


def accounts_table(lang: str) -> list[accounts.Account]:
    listed = accounts.list_users(auth.store())
    st.dataframe(
        pd.DataFrame(
            {
                t("users.column.name", lang): [a.name for a in listed],
                t("users.column.display_name", lang): [a.display_name for a in listed],
                t("users.column.role", lang): [t(f"role.{a.role}", lang) for a in listed],
                t("users.column.scope", lang): [admin.describe_scope(a.limits, lang) for a in listed],
                t("users.column.disabled", lang): [a.disabled for a in listed],
                t("users.column.last_login", lang): [_when(a.last_login_at, lang) for a in listed],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    return listed


def add_form(lang: str) -> None:
    areas = cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS)
    area_names = dict(zip(areas["code"], areas["name"], strict=True))
    agencies = cache.query(known_agencies, ttl=cache.AREAS_TTL_SECONDS)
    with st.form("users_add", clear_on_submit=True):
        st.markdown(f"**{t('users.add.heading', lang)}**")
        left, right = st.columns(2)
        name = left.text_input(t("users.column.name", lang), key="users_add_name")
        display = right.text_input(t("users.column.display_name", lang), key="users_add_display")
        role = left.selectbox(
            t("users.column.role", lang),
            [str(r) for r in ACCOUNT_ROLES],
            format_func=lambda r: t(f"role.{r}", lang),
            key="users_add_role",
        )
        password = right.text_input(t("auth.password", lang), type="password", key="users_add_password")
        chosen_agencies = left.multiselect(
            t("users.agencies", lang), agencies, key="users_add_agencies", placeholder=t("users.choose", lang)
        )
        chosen_areas = right.multiselect(
            t("users.areas", lang),
            list(area_names),
            format_func=lambda c: area_names.get(c, c),
            key="users_add_areas",
            placeholder=t("users.choose", lang),
        )
        st.caption(t("users.scope_help", lang))
        submitted = st.form_submit_button(t("users.add.submit", lang), icon=":material/person_add:")
    if not submitted:
        return
    try:
        user = accounts.add_user(
            auth.store(),
            name,
            role,
            password,
            agencies=chosen_agencies,
            areas=chosen_areas,
            display_name=display,
        )
    except ValueError as error:
        st.error(t("users.refused", lang, reason=str(error)), icon=":material/error:")
        return
    _audit("user_change", user.name, change="add", role=str(user.role), scope=user.scope.describe())
    st.success(t("users.added", lang, name=user.name), icon=":material/check:")


def change_form(lang: str, listed: list[accounts.Account]) -> None:
    names = [a.name for a in listed]
    if not names:
        return
    st.markdown(f"**{t('users.change.heading', lang)}**")
    name = st.selectbox(t("users.column.name", lang), names, key="users_change_name")
    chosen = next(a for a in listed if a.name == name)
    me = auth.current_user().name
    cols = st.columns(3)
    if chosen.disabled:
        if cols[0].button(t("users.enable", lang), key="users_enable", icon=":material/person_check:"):
            accounts.enable_user(auth.store(), name)
            _audit("user_change", name, change="enable")
            st.rerun()
    elif cols[0].button(
        t("users.disable", lang), key="users_disable", icon=":material/person_off:", disabled=name == me
    ):
        ended = accounts.disable_user(auth.store(), name)
        _audit("user_change", name, change="disable", sessions=ended)
        st.rerun()
    if cols[1].button(t("users.logout_all", lang), key="users_logout_all", icon=":material/devices_off:"):
        ended = accounts.end_all_sessions(auth.store(), name)
        _audit("logout_all", name, sessions=ended)
        st.success(t("users.sessions_ended", lang, count=ended), icon=":material/check:")
    with cols[2].popover(t("users.set_password", lang), icon=":material/password:"):
        with st.form("users_password", clear_on_submit=True, border=False):
            new = st.text_input(t("users.new_password", lang), type="password", key="users_new_password")
            if st.form_submit_button(t("users.set_password", lang)):
                try:
                    ended = accounts.set_password(auth.store(), name, new)
                except ValueError as error:
                    st.error(t("users.refused", lang, reason=str(error)), icon=":material/error:")
                else:
                    _audit("user_change", name, change="password", sessions=ended)
                    st.success(t("users.password_set", lang, name=name), icon=":material/check:")


def kiosk_section(lang: str) -> None:
    st.subheader(t("users.kiosk.heading", lang))
    st.caption(t("users.kiosk.intro", lang))
    tokens = kiosk_tokens.list_kiosk_tokens(auth.store())
    if tokens:
        st.dataframe(
            pd.DataFrame(
                {
                    t("users.kiosk.label", lang): [r["label"] for r in tokens],
                    t("users.kiosk.made", lang): [_when(r["created_at"], lang) for r in tokens],
                    t("users.kiosk.last_used", lang): [_when(r["last_used_at"], lang) for r in tokens],
                    t("users.kiosk.revoked", lang): [_when(r["revoked_at"], lang) for r in tokens],
                }
            ),
            hide_index=True,
            width="stretch",
        )
    if new := st.session_state.pop(_TOKEN_KEY, None):  # shown once, right after it was made
        label, token = new
        st.success(t("users.kiosk.made_once", lang, label=label), icon=":material/key:")
        st.code(f"/wall?token={token}", language=None)
    left, right = st.columns(2)
    with left.form("kiosk_add", clear_on_submit=True):
        label = st.text_input(t("users.kiosk.label", lang), key="kiosk_label")
        if st.form_submit_button(t("users.kiosk.add", lang), icon=":material/add:"):
            try:
                token = kiosk_tokens.add_kiosk_token(auth.store(), label, created_by=auth.current_user().name)
            except ValueError as error:
                st.error(t("users.refused", lang, reason=str(error)), icon=":material/error:")
            else:
                _audit("kiosk_token", accounts.normalise_name(label), change="add")
                st.session_state[_TOKEN_KEY] = (accounts.normalise_name(label), token)
                st.rerun()
    live = [r["label"] for r in tokens if r["revoked_at"] is None]
    if live:
        with right.form("kiosk_revoke"):
            chosen = st.selectbox(t("users.kiosk.label", lang), live, key="kiosk_revoke_label")
            if st.form_submit_button(t("users.kiosk.revoke", lang), icon=":material/block:"):
                kiosk_tokens.revoke_kiosk_token(auth.store(), chosen)
                _audit("kiosk_token", chosen, change="revoke")
                st.rerun()


def page(lang: str) -> None:
    st.title(t("page.users", lang))
    user = auth.current_user()
    if user.role is not Role.ADMIN or not user.can(Can.MANAGE_USERS):  # the router registers it for admins only
        st.warning(t("users.admin_only", lang), icon=":material/lock:")
        return
    listed = accounts_table(lang)
    change_form(lang, listed)
    add_form(lang)
    kiosk_section(lang)
