"""Screenshots of the running app for the README and for review.

    .venv/bin/python scripts/screenshot.py            # docs/img/overview.png + artifacts/screenshots/*
    .venv/bin/python scripts/screenshot.py --rebuild  # build the demo database again first
    .venv/bin/python scripts/screenshot.py --database-url postgresql+psycopg://...

By default a full-size demo database (seed 42, `make demo` settings) is built in
artifacts/screenshots/demo.duckdb and reused for the rest of the day; data/ioc.duckdb is left
alone. The app is started on a free local port and opened in system Chromium (see
dashboard/browser.py); nothing is fetched from the internet.

Writes:
  docs/img/overview.png                  the whole overview page at 1600 px wide (Vietnamese)
                                         (only with the default --lang vi)
  artifacts/screenshots/<key>.png        every registered page, full length (not with --docs-only)
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime
from pathlib import Path

from dashboard.config import PROJECT_ROOT
from dashboard.navigation import PAGES
from dashboard.testing import browser

DOCS_IMAGE = PROJECT_ROOT / "docs" / "img" / "overview.png"
OUT_DIR = PROJECT_ROOT / "artifacts" / "screenshots"
DEMO_DB = OUT_DIR / "demo.duckdb"
PAGES_WITH_MAP = {"overview"}


def demo_database(rebuild: bool) -> str:
    """URL of the screenshot demo database, built unless one from today exists."""
    from dashboard.db.engine import make_engine
    from dashboard.demo.generator import build_demo

    url = f"duckdb:///{DEMO_DB}"
    fresh = DEMO_DB.exists() and date.fromtimestamp(DEMO_DB.stat().st_mtime) == date.today()
    if fresh and not rebuild:
        print(f"reusing {DEMO_DB.relative_to(PROJECT_ROOT)} (--rebuild to build it again)")
        return url
    DEMO_DB.parent.mkdir(parents=True, exist_ok=True)
    for stale in (DEMO_DB, DEMO_DB.with_name(DEMO_DB.name + ".wal")):
        stale.unlink(missing_ok=True)
    engine = make_engine(url)
    try:
        summary = build_demo(engine, seed=42)
    finally:
        engine.dispose()  # release the file so the app can open it read-only
    print(f"built {DEMO_DB.relative_to(PROJECT_ROOT)} in {summary.seconds:.1f} s: {summary.rows}")
    return url


def shoot(page, base_url: str, spec, *, lang: str, full_length: Path | None, viewport_path: Path | None) -> list[str]:
    """Open one page, wait for it to draw, save the screenshots; return the problems seen."""
    page.goto(f"{base_url}/{spec.url_path}" + (f"?lang={lang}" if lang != "vi" else ""))
    browser.wait_for_app(page)
    problems = []
    try:
        page.wait_for_selector(browser.PLOTLY_CHART, timeout=30_000)
        if spec.key in PAGES_WITH_MAP:
            page.wait_for_selector(browser.MAP_CANVAS, timeout=30_000)
    except Exception as error:  # Playwright TimeoutError: save the screenshot anyway
        problems.append(f"charts or map did not render ({error.__class__.__name__})")
    page.wait_for_timeout(1_500)  # Plotly transitions, MapLibre's first frames
    if page.locator(browser.EXCEPTION).count():
        problems.append("an exception is shown")
    if viewport_path is not None:
        viewport_path.parent.mkdir(parents=True, exist_ok=True)
        browser.full_page_screenshot(page, viewport_path)  # the whole page: tiles, map and trend
        print(f"saved {viewport_path.relative_to(PROJECT_ROOT)}")
    if full_length is not None:
        browser.full_page_screenshot(page, full_length)
        print(f"saved {full_length.relative_to(PROJECT_ROOT)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="screenshot this database instead of the demo one")
    parser.add_argument("--rebuild", action="store_true", help="build the demo database again")
    parser.add_argument("--docs-only", action="store_true", help="only write docs/img/overview.png")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    url = args.database_url or demo_database(args.rebuild)
    problems: dict[str, list[str]] = {}
    log = OUT_DIR / "streamlit.log"
    with browser.running_app(url, log_path=log) as base_url, browser.browser() as chromium:
        blocked: list[str] = []
        page = browser.new_page(chromium, blocked=blocked)
        for spec in PAGES:
            if (
                args.docs_only and spec.key != "overview" or spec.kiosk or spec.admin
            ):  # wall: test_wall_browser.py; admin: login
                continue
            problems[spec.key] = shoot(
                page,
                base_url,
                spec,
                lang=args.lang,
                full_length=None if args.docs_only else OUT_DIR / f"{spec.key}.png",
                viewport_path=DOCS_IMAGE if spec.key == "overview" and args.lang == "vi" else None,
            )
        if blocked:
            print(f"blocked requests to outside the app: {sorted(set(blocked))}")
    print(f"done in {time.perf_counter() - began:.1f} s at {datetime.now():%H:%M:%S}; server log: {log}")
    failed = {key: found for key, found in problems.items() if found}
    for key, found in failed.items():
        print(f"PROBLEM {key}: {'; '.join(found)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
