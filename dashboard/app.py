"""The router: `streamlit run dashboard/app.py`.

Builds the navigation from `dashboard.navigation.PAGES`, the shared filters (mirrored in the
URL), the language toggle and the theme. Pages only lay out what `dashboard` computes.

Who may open what is the roles table (`dashboard.access.roles.PAGES`): only the pages of the session's role are
registered, so another page's URL leads nowhere (to the default page). A visitor without an account gets the sign-in
page only (IOC_VISITOR_ACCESS=login) or the public city pages and the sign-in page (=public). The wall (/wall) opens
with a kiosk token in its URL (`?token=…`) or for anyone signed in.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import streamlit as st

from dashboard import config
from dashboard.access.roles import Role
from dashboard.charts import theme
from dashboard.db import queries
from dashboard.db.engine import DatabaseError
from dashboard.i18n import LANGUAGES, t
from dashboard.navigation import LOGIN, PAGES, PageSpec
from dashboard.web import admin, audit, auth, cache, url_state, widgets

st.set_page_config(page_title="IOC Huế", page_icon="🏙️", layout="wide")
theme.register_template()


def _settings_problem() -> config.SettingError | None:
    """Every setting is read and checked at the start of each run (cheap): a bad one stops the app here."""
    try:
        config.check()
    except config.SettingError as error:
        return error
    return None


def _settings_error_page(error: config.SettingError, language: str) -> None:
    """What a person sees instead of the pages while a setting cannot be used: each setting, its value and what
    it allows (the values are shown as code, never as markdown)."""
    st.error(t("settings.title", language), icon=":material/settings_alert:")
    st.markdown(t("settings.hint", language))
    st.code(error.text(language), language=None, wrap_lines=True)


settings_problem = _settings_problem()
if settings_problem is not None:
    logging.getLogger("dashboard").error("settings cannot be used:\n%s", settings_problem)
    settings_language = st.query_params.get("lang") if st.query_params.get("lang") in LANGUAGES else "vi"
    st.navigation(
        [
            st.Page(
                lambda: _settings_error_page(settings_problem, settings_language),
                title=t("app.title", settings_language),
                url_path="settings",
            )
        ],
        position="hidden",
    ).run()
    st.stop()


PAGE_KEYS = "_ioc_page_keys"


def _page(spec: PageSpec, language: str, *, default: bool = False) -> st.Page:
    return st.Page(
        spec.path,
        title=t(f"page.{spec.key}", language),
        icon=spec.icon,
        url_path=None if default or not spec.url_path else spec.url_path,
        default=default,
        visibility="hidden" if spec.kiosk else "visible",
    )


def _pages(language: str, user) -> list:
    """The pages this session may open (the roles table), the sign-in page for a visitor of a public screen.

    Kiosk pages (the wall) are reachable by their URL only: opening them from the sidebar would keep the sidebar.
    A page whose file is missing (being written) is left out rather than breaking the navigation."""
    specs = [spec for spec in PAGES if user.may_open(spec.key) and spec.path.exists()]
    specs += [] if user.signed_in else [LOGIN]
    st.session_state[PAGE_KEYS] = tuple(spec.key for spec in specs)  # what this session may open (tests read it)
    return [_page(spec, language, default=not spec.url_path and spec is not LOGIN) for spec in specs]


def _kiosk_requested() -> bool:
    """Whether the browser asked for a kiosk page such as /wall (read from the address before navigation runs)."""
    path = urlsplit(st.context.url or "").path.rstrip("/")
    return any(spec.kiosk and path.endswith("/" + spec.url_path) for spec in PAGES)


def _login_only(language: str) -> None:
    """A visitor when IOC_VISITOR_ACCESS=login: the sign-in page whatever the address asked for. Every page's address
    shows the form (instead of Streamlit's "page not found"), so a deep link opens its page right after signing in
    (if the role may open it; otherwise it leads to the default page)."""
    form = _page(LOGIN, language, default=True)
    st.session_state[PAGE_KEYS] = (LOGIN.key,)
    stand_ins = [
        st.Page(lambda: admin.login_form(url_state.lang()), title=form.title, url_path=spec.url_path)
        for spec in PAGES
        if spec.url_path
    ]
    st.navigation([form, *stand_ins], position="hidden").run()
    auth.render_cookie_script()
    st.stop()


if _kiosk_requested():
    # The wall: no navigation, sidebar or filters. It keeps its last figures through database outages
    # itself, so the database check below (which would replace it by an error page) is skipped.
    requested_language = st.query_params.get("lang", config.default_language())
    kiosk_language = requested_language if requested_language in LANGUAGES else config.default_language()
    wall_token = st.query_params.get("token", "")
    wall_user = auth.resolve(kiosk=True, kiosk_token=wall_token)
    wall = next(spec for spec in PAGES if spec.kiosk)
    # The wall is registered at its own address with a stand-in default page (a lone page would become the default,
    # whose address is "/", and /wall would get Streamlit's "page not found").
    refused = lambda: admin.kiosk_refused_page(kiosk_language)  # noqa: E731
    if wall_user.role is not Role.PUBLIC:
        st.session_state[PAGE_KEYS] = (wall.key,)
        try:
            st.navigation(
                [st.Page(refused, title=t("app.title", kiosk_language), default=True), _page(wall, kiosk_language)],
                position="hidden",
            ).run()
        except Exception:  # never a traceback on the wall; the log keeps the details
            logging.getLogger("dashboard").exception("kiosk page failed")
            widgets.unexpected_error_page()
        st.stop()
    if wall_token or st.session_state.get(auth.KIOSK_KEY):
        st.session_state[PAGE_KEYS] = ()
        title = t("app.title", kiosk_language)
        st.navigation(
            [st.Page(refused, title=title, default=True), st.Page(refused, title=title, url_path=wall.url_path)],
            position="hidden",
        ).run()
        st.stop()
    # No token and nobody signed in: the sign-in page (or the public pages) below.


def _database_problem() -> DatabaseError | None:
    try:
        cache.ensure_ready()
        cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS)
    except DatabaseError as error:
        return error
    return None


problem = _database_problem()
if problem is not None:
    if "lang" not in st.session_state:
        st.session_state["lang"] = (
            st.query_params.get("lang", "vi") if st.query_params.get("lang") in ("vi", "en") else "vi"
        )
    st.navigation(
        [
            st.Page(
                lambda: widgets.database_error_page(problem), title=t("app.title", widgets.lang()), url_path="problem"
            )
        ],
        position="hidden",
    ).run()
    st.stop()

user = auth.resolve()
if not user.signed_in and auth.visitor_access() == "login":
    _login_only(admin.language_toggle())

area_names = url_state.area_names(cache.query(queries.area_list, ttl=cache.AREAS_TTL_SECONDS))
language = url_state.global_filters(
    area_names, url_state.data_start(cache.query(queries.table_coverage, ttl=cache.STATUS_TTL_SECONDS))
).lang

try:
    st.navigation(_pages(language, user), position="sidebar", expanded=True).run()  # every page listed
except DatabaseError as error:  # the database went away while the page ran
    widgets.database_error_page(error)
except Exception:  # never show a leader a traceback; the log keeps the details
    logging.getLogger("dashboard").exception("page failed")
    widgets.unexpected_error_page()
url_state.sidebar_footer()
admin.sidebar_account(language)
auth.render_cookie_script()
url_state.sync_url()
audit.page_view()  # one access-log row per page and filters per session (after sync_url: the address is final)
