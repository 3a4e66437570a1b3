"""The pages' way to the access log (dashboard.db.audit) and to the user's view of personal details.

* `log(action, target, **details)` records what the user of this browser session did (one row).
* `log_once(...)` the same, at most once per browser session for the same action, target and details: a page view
  or a record view is one row however often Streamlit reruns the page for a widget.
* `download(action, target, produce, **details)` wraps the `data` callable of an `st.download_button`: the user is
  taken NOW (while the page runs; the callable runs later in a thread without the session) and the row is written
  when the file is actually made for the browser, with its size.
* `sees_pii()` / `exact_locations()`: whether this user sees citizens' personal details (IOC_PII_ROLES) and exact
  report coordinates (not `viewer`/`public`), for the query calls that mask them (dashboard/access/pii.py).

Nothing here raises: a log that cannot be written is a warning in the server's log, never an error on the page.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.access.identity import User
from dashboard.access.pii import mask_records
from dashboard.access.roles import Can
from dashboard.db import audit
from dashboard.db.ops import ops_engine
from dashboard.web import cache

_log = logging.getLogger(__name__)
_LOGGED_KEY = "_ioc_audit_logged"
_LOGGED_MAX = 500  # keys remembered per session (oldest forgotten first)


def user() -> User:
    """This session's user; a visitor when the session machinery does not answer."""
    try:
        from dashboard.web import auth

        return auth.current_user()
    except Exception:  # noqa: BLE001 — never take a page down for the log
        return User.visitor()


def sees_pii() -> bool:
    return bool(user().sees_pii)


def exact_locations() -> bool:
    return user().can(Can.EXACT_LOCATIONS)


def for_viewer(value: Any) -> Any:
    """Report coordinates as this user may see them: rounded to 2 decimals (about 1 km) unless the role has exact
    locations (not `viewer`, `public`, a kiosk). Takes a frame with lat/lon, a layer with a `.frame` or a dict of
    frames (the wall's map layers)."""
    if exact_locations():
        return value
    if isinstance(value, pd.DataFrame):
        return mask_records(value, sees_pii=True, exact_locations=False)
    if isinstance(value, dict):
        return {key: for_viewer(item) if isinstance(item, pd.DataFrame) else item for key, item in value.items()}
    if dataclasses.is_dataclass(value) and isinstance(getattr(value, "frame", None), pd.DataFrame):
        return dataclasses.replace(value, frame=for_viewer(value.frame))
    return value


def _clean(details: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in details.items() if value not in (None, "", (), [], {})}


def filter_details(query_filter: Any) -> dict[str, Any]:
    """A QueryFilter (or anything with period/areas/dimensions/scope) as the JSON-able filters of a log row."""
    details: dict[str, Any] = {}
    period = getattr(query_filter, "period", None)
    if period is not None:
        details["from"], details["to"] = str(period.start), str(period.end)
    if areas := getattr(query_filter, "areas", ()):
        details["area"] = list(areas)
    for name, values in getattr(query_filter, "dimensions", ()) or ():
        details[name] = list(values)
    scope = getattr(query_filter, "scope", None)
    if scope is not None and getattr(scope, "restricted", False):
        details["scope"] = scope.describe()
    return details


def _page_filters() -> dict[str, str]:
    """The page's filters as its address holds them (every filter is in the URL: url_state.sync_url)."""
    try:
        return {key: value for key, value in st.query_params.to_dict().items() if key != "token"}
    except Exception:  # noqa: BLE001
        return {}


def _write(url: str, who: User, action: str, target: str, details: dict[str, Any]) -> None:
    try:
        engine = ops_engine(url)
    except Exception as error:  # noqa: BLE001
        _log.warning("access log: no store for %s: %s", action, error)
        return
    audit.record(engine, actor=who.name, role=str(who.role), action=action, target=target, details=_clean(details))


def log(action: str, target: str = "", /, **details: Any) -> None:
    """Append `action` on `target` with `details` (filters, rows, format …) for the current user. Never raises."""
    try:
        _write(cache.current_url(), user(), action, target, details)
    except Exception as error:  # noqa: BLE001
        _log.warning("access log: could not record %s: %s", action, error)


def log_once(action: str, target: str = "", /, **details: Any) -> None:
    """`log`, unless this session already logged the same action, target and details."""
    try:
        key = json.dumps([action, target, _clean(details)], sort_keys=True, default=str)
        logged = st.session_state.setdefault(_LOGGED_KEY, [])
        if key in logged:
            return
        logged.append(key)
        del logged[:-_LOGGED_MAX]
    except Exception:  # noqa: BLE001 — no session (a bare script): log every time
        pass
    log(action, target, **details)


def _current_page() -> str:
    """The url path of the page this run showed ("" for the default page), from Streamlit's page registry."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None:
        return ""
    manager = ctx.pages_manager
    info = manager.get_pages().get(manager.current_page_script_hash) or {}
    return str(info.get("url_pathname", info.get("page_name", "")) or "")


def page_view() -> None:
    """One row per page and filters per session (run by the router after the page and `sync_url`): which page the
    user opened with which filters (the address's parameters: every filter is in it)."""
    try:
        from dashboard.navigation import PAGES

        path = _current_page()
        key = next((spec.key for spec in PAGES if spec.url_path == path), path or "overview")
        log_once("page_view", key, **_page_filters())
    except Exception as error:  # noqa: BLE001
        _log.warning("access log: could not record a page view: %s", error)


def download(action: str, target: str, produce: Callable[[], Any], /, **details: Any) -> Callable[[], Any]:
    """The `data=` callable of a download button: makes the file with `produce()` and records `action` (export,
    pdf_download, audit_export) on `target` with `details` and the file's size, for the user of the page run that
    drew the button."""
    who, url = user(), cache.current_url()
    if "from" not in details:  # a table of the page: its filters are the page's, all in its address
        details = {**details, "filters": _page_filters()}

    def make() -> Any:
        data = produce()
        size = len(data) if isinstance(data, bytes | str) else None
        try:
            _write(url, who, action, target, {**details, "bytes": size})
        except Exception as error:  # noqa: BLE001
            _log.warning("access log: could not record %s: %s", action, error)
        return data

    return make


# ---------------------------------------------------------------- the "Nhật ký truy cập" page (admin only)
ACTION_PREFIX = "audit.action."
LOG_COLUMNS = ["at", "actor", "role", "action", "target", "details"]
PAGE_ROWS = 1000  # rows the page shows (the CSV holds every row of the filters, up to EXPORT_ROWS)
EXPORT_ROWS = 200_000


def log_rows(_engine, url: str, start, end_before, actors: tuple, actions: tuple, text: str, limit: int):
    """Rows of the access log of `url`'s store (for `cache.query`, which passes the data engine first)."""
    return audit.read_log(
        ops_engine(url), start=start, end_before=end_before, actors=actors, actions=actions, text_=text, limit=limit
    )


def action_counts(_engine, url: str, start, end_before, actors: tuple = ()):
    return audit.count_by_action(ops_engine(url), start=start, end_before=end_before, actors=actors)


def actor_names(_engine, url: str) -> list[str]:
    return audit.actors(ops_engine(url))


def action_label(action: str, language: str) -> str:
    from dashboard.i18n import VI, t

    return t(ACTION_PREFIX + action, language) if ACTION_PREFIX + action in VI else action


def readable_log(frame, language: str):
    """The log as a person reads it: actions and pages as words, visitors named, headers in the language."""
    from dashboard.i18n import VI, t

    table = frame[LOG_COLUMNS].copy()
    table["actor"] = [name or t("audit.visitor", language) for name in table["actor"]]
    from dashboard.navigation import PAGES_BY_KEY

    pages = {key: t(f"page.{key}", language) for key in PAGES_BY_KEY if f"page.{key}" in VI}
    table["target"] = [
        pages.get(target, target) if action == "page_view" else target
        for action, target in zip(frame["action"], frame["target"], strict=True)
    ]
    table["action"] = [action_label(a, language) for a in table["action"]]
    table["details"] = table["details"].fillna("")
    return table.rename(columns={c: t(f"audit.column.{c}", language) for c in LOG_COLUMNS})
