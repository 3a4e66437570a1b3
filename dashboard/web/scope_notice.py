"""The user's scope in the sidebar's filters (issue 19): a link or a click can only narrow it.

`narrowed(name, values)` keeps the values of the filter `name` ("area" or "agency") that the signed-in user's scope
allows (`Scope.narrow_areas` / `narrow_agencies`: an officer scoped by agency only may not pick another agency, one
scoped by ward only may not pick another ward). What it drops is remembered for the sidebar's notice
(`url_state.sidebar_footer`: "Bạn chỉ xem được dữ liệu của đơn vị mình; bộ lọc đã được thu hẹp.") and written to the
access log as `scope_narrowed`. The figures never depended on it: every query applies the scope itself
(dashboard.db.predicates); this only tells the user why the filter changed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import streamlit as st

from dashboard.access.scope import Scope

NOTICE_KEY = "_scope_narrowed"  # [(parameter, [dropped values])], shown and cleared by url_state.sidebar_footer

_log = logging.getLogger(__name__)


def user_scope() -> Scope:
    """The rows this session's user may see (the whole city for the city's roles, a visitor and a kiosk)."""
    from dashboard.web import auth  # auth reads the account store through web.cache

    return auth.current_user().scope


def narrowed(name: str, values: Iterable[str], *, notice: bool = True) -> list[str]:
    """`values` of the filter `name` that the user's scope allows; the dropped ones are noted for the sidebar and
    logged (`scope_narrowed`) when `notice`."""
    values = list(values)
    scope = user_scope()
    narrow = scope.narrow_areas if name == "area" else scope.narrow_agencies
    kept, dropped = narrow(values)
    if dropped and notice:
        st.session_state.setdefault(NOTICE_KEY, []).append((name, [value for value in values if value not in kept]))
        try:
            from dashboard.web import audit

            audit.log("scope_narrowed", name, requested=values, kept=list(kept), scope=scope.describe())
        except Exception as error:  # noqa: BLE001 - the log never takes the page down; the notice is still shown
            _log.warning("access log: scope_narrowed not recorded: %s", error)
    return list(kept)
