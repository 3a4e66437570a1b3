"""The router: `streamlit run dashboard/app.py`.

Builds the navigation from `dashboard.navigation.PAGES`, the shared filters (mirrored in the
URL), the language toggle and the theme. Pages only lay out what `dashboard` computes.
"""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import cache, filters, ui
from dashboard.charts import theme
from dashboard.db.engine import DatabaseError
from dashboard.i18n import t
from dashboard.navigation import PAGES

st.set_page_config(page_title="IOC Huế", page_icon="🏙️", layout="wide")
theme.register_template()


def _database_problem() -> DatabaseError | None:
    try:
        cache.ensure_ready()
        cache.areas(cache.current_url())
    except DatabaseError as error:
        return error
    return None


problem = _database_problem()
if problem is not None:
    if "lang" not in st.session_state:
        st.session_state["lang"] = st.query_params.get("lang", "vi") if st.query_params.get("lang") in ("vi", "en") else "vi"
    st.navigation([st.Page(lambda: ui.database_error_page(problem), title=t("app.title", ui.lang()),
                           url_path="problem")], position="hidden").run()
    st.stop()

area_names = filters.area_names(cache.areas(cache.current_url()))
language = filters.global_filters(area_names).lang

pages = [st.Page(spec.path, title=t(f"page.{spec.key}", language), icon=spec.icon,
                 url_path=spec.url_path or None, default=not spec.url_path) for spec in PAGES]
try:
    st.navigation(pages, position="sidebar").run()
except DatabaseError as error:  # the database went away while the page ran
    ui.database_error_page(error)
except Exception:  # never show a leader a traceback; the log keeps the details
    logging.getLogger("dashboard").exception("page failed")
    ui.unexpected_error_page()
filters.sidebar_footer()
filters.sync_url()
