"""The real app in a real browser: `streamlit run dashboard/app.py` driven by system Chromium.

Every page in dashboard.navigation.PAGES is opened at 1600x1000 against the seeded demo
database and must draw its Plotly charts (and the overview its map) without an exception
or a traceback. Full-page screenshots go to artifacts/browser/<key>.png for people to look at.
The browser may only talk to the local app; any other request is blocked.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlencode

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.i18n import t
from dashboard.navigation import PAGES

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"
PAGES_WITH_MAP = {"overview"}
UNREACHABLE_URL = "postgresql+psycopg://nobody:x@127.0.0.1:1/none"
EXCEPTION = '[data-testid="stException"]'  # what st.exception / an uncaught error draws


@pytest.fixture(scope="module")
def app_url(web, demo_db_url) -> Iterator[str]:
    """Base URL of the app serving the demo database (one server for the module)."""
    with web.running_app(demo_db_url, log_path=ARTIFACTS / "streamlit.log") as base:
        yield base


@pytest.fixture
def page(web, chromium) -> Iterator:
    """A fresh page; `page.blocked` lists requests to anything but the local app."""
    blocked: list[str] = []
    new = web.new_page(chromium, blocked=blocked)
    new.blocked = blocked
    yield new
    new.context.close()


def _is_material_favicon(url: str) -> bool:
    # Streamlit draws a `page_icon=":material/...:"` favicon from fonts.gstatic.com. Offline the
    # browser tab just shows no icon, so this one request is tolerated; nothing else is.
    return url.startswith("https://fonts.gstatic.com/s/i/") and "materialsymbols" in url


def app_text(page) -> str:
    return page.locator("body").inner_text()


def assert_no_error_shown(page) -> None:
    exceptions = page.locator(EXCEPTION)
    assert exceptions.count() == 0, f"st.exception shown: {exceptions.first.inner_text()[:500]}"
    assert "Traceback" not in app_text(page)


# The wall has its own tests (tests/test_wall_browser.py); admin pages need a login (AppTest covers them).
ANALYST_PAGES = [spec for spec in PAGES if not spec.kiosk and not spec.admin]
# Pages made of tables only: the browser checks they render their heading without an error.
TABLE_PAGES = {"alerts", "directives", "events"}


@pytest.mark.parametrize("spec", ANALYST_PAGES, ids=[spec.key for spec in ANALYST_PAGES])
def test_page_draws_its_charts(web, app_url, page, spec, demo_now):
    # A period inside the demo data, so the test does not depend on today's date.
    query = urlencode({"from": (demo_now.date() - timedelta(days=29)).isoformat(), "to": demo_now.date().isoformat()})
    page.goto(f"{app_url}/{spec.url_path}?{query}")
    web.wait_for_app(page)
    expects_map = spec.key in PAGES_WITH_MAP
    problems = []
    try:
        page.wait_for_selector("h1" if spec.key in TABLE_PAGES else web.PLOTLY_CHART, timeout=30_000)
    except Exception:  # Playwright's TimeoutError; reported below with the screenshot
        problems.append(
            "no page heading" if spec.key in TABLE_PAGES else "no rendered Plotly chart (.js-plotly-plot .main-svg)"
        )
    if expects_map:
        try:
            page.wait_for_selector(web.MAP_CANVAS, timeout=30_000)
        except Exception:
            problems.append("no map canvas (canvas.maplibregl-canvas)")
    page.wait_for_timeout(1000)  # let Plotly and MapLibre finish drawing before the screenshot
    web.full_page_screenshot(page, ARTIFACTS / f"{spec.key}.png")

    assert_no_error_shown(page)
    assert not problems, f"{spec.key}: {'; '.join(problems)} (see {ARTIFACTS / spec.key}.png)"
    if spec.key in TABLE_PAGES:
        assert page.locator("h1").first.inner_text().strip() == t(f"page.{spec.key}")
    else:
        assert page.locator(web.PLOTLY_CHART).count() >= 1
    # The IOC runs on a closed network: map tiles, fonts and scripts must all come from the app.
    external = sorted({url for url in page.blocked if not _is_material_favicon(url)})
    assert not external, f"the page tried to fetch from outside the app: {external[:5]}"


def test_vietnamese_is_the_default_language(web, app_url, page):
    page.goto(app_url + "/")
    web.wait_for_app(page)
    assert_no_error_shown(page)
    text = app_text(page)
    assert "Tổng quan" in text
    assert t("filter.heading", "vi") in text and t("overview.heading", "vi") in text


def test_lang_parameter_switches_to_english(web, app_url, page):
    page.goto(app_url + "/?lang=en")
    web.wait_for_app(page)
    assert_no_error_shown(page)
    text = app_text(page)
    # "Overview" is the page's navigation label; with a single registered page Streamlit
    # hides the navigation, so the heading ("City operations overview") carries the word.
    assert "overview" in text.casefold()
    assert t("filter.heading", "en") in text and t("overview.heading", "en") in text
    assert "Tổng quan" not in text and t("filter.heading", "vi") not in text


@pytest.mark.parametrize("case", ["unreachable_server", "missing_duckdb_file"])
def test_database_problem_shows_what_to_do(web, chromium, tmp_path, case):
    if case == "unreachable_server":
        url = UNREACHABLE_URL
    else:
        missing = tmp_path / "absent.duckdb"
        url = f"duckdb:///{missing}"
    blocked: list[str] = []
    page = web.new_page(chromium, blocked=blocked)
    try:
        with web.running_app(url, log_path=ARTIFACTS / f"streamlit-{case}.log") as base:
            page.goto(base + "/")
            web.wait_for_app(page)
            web.full_page_screenshot(page, ARTIFACTS / f"error-{case}.png")
            assert_no_error_shown(page)
            text = app_text(page)
            assert "IOC_DATABASE_URL" in text or "make demo" in text, text[:1000]
            assert ":x@" not in text, "the password must not be shown"
    finally:
        page.context.close()
    if case == "missing_duckdb_file":
        assert not missing.exists(), "the app must not create an empty database file"
