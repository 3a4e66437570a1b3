"""Screenshots of the "Nhập dữ liệu" page driven in headless Chromium, on a throwaway demo database.

    .venv/bin/python scripts/screenshot_upload.py [--lang vi|en]

Builds a small demo DuckDB in a temporary folder, starts the app with a temporary admin password, logs in from
the sidebar, uploads the tests' Windows-1258 feedback file through the real file input, makes a dry run and
then the import, and opens the feedback page afterwards. Writes artifacts/screenshots/data_import_*.png and
prints what it saw (error boxes, exceptions, the count tiles).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from dashboard.config import PROJECT_ROOT
from dashboard.db.engine import make_engine
from dashboard.i18n import t
from dashboard.periods import local_now
from dashboard.testing import browser

sys.path.insert(0, str(PROJECT_ROOT / "tests"))
import messy_files  # noqa: E402  (the tests' fixture files)

OUT_DIR = PROJECT_ROOT / "artifacts" / "screenshots"
PASSWORD = "screenshot-only"


def small_demo(folder: Path) -> str:
    from dashboard.demo.generator import build_demo

    url = f"duckdb:///{folder / 'demo.duckdb'}"
    engine = make_engine(url)
    try:
        now = local_now()
        build_demo(engine, seed=7, scale=0.03, start=now.date() - timedelta(days=120), end=now.date(), now=now)
    finally:
        engine.dispose()
    return url


def problems(page) -> list[str]:
    found = [f"exception: {e.inner_text()[:200]}" for e in page.query_selector_all(browser.EXCEPTION)]
    found += [
        f"error box: {e.inner_text()[:300]}" for e in page.query_selector_all('[data-testid="stAlertContentError"]')
    ]
    return found


def tiles(page) -> dict[str, str]:
    return {
        m.query_selector('[data-testid="stMetricLabel"]').inner_text().strip(): m.query_selector(
            '[data-testid="stMetricValue"]'
        )
        .inner_text()
        .strip()
        for m in page.query_selector_all('[data-testid="stMetric"]')
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["vi", "en"], default="vi")
    args = parser.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ioc-upload-shot-") as folder:
        url = small_demo(Path(folder))
        upload_file = messy_files.feedback_cp1258(Path(folder))
        env: dict[str, str] = {}  # running_app signs the pages in as its test admin (issue 19)
        seen: list[str] = []
        with (
            browser.running_app(url, extra_env=env, log_path=OUT_DIR / "streamlit_upload.log") as base,
            browser.browser() as chromium,
        ):
            page = browser.new_page(chromium, viewport={"width": 1600, "height": 1000})
            page.goto(f"{base}/?lang={args.lang}")
            browser.wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.data_import", args.lang)).click()
            browser.wait_for_app(page)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_empty.png")
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(upload_file))
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            browser.wait_for_app(page)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_mapping.png")

            page.get_by_role("button", name=t("ingest.dry_run", args.lang)).click()  # 5 %: aborted
            page.get_by_text(t("ingest.result.aborted", args.lang)).wait_for(timeout=60_000)
            browser.wait_for_app(page)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_aborted.png")
            seen.append(f"dry run at 5 %: {problems(page)}")

            rate = page.get_by_label(t("ingest.max_reject", args.lang), exact=True)
            rate.fill("50")
            rate.press("Enter")
            browser.wait_for_app(page)
            page.get_by_role("button", name=t("ingest.dry_run", args.lang)).click()
            page.get_by_text(t("ingest.result.dry_run", args.lang)).wait_for(timeout=60_000)
            browser.wait_for_app(page)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_dry_run.png")
            seen.append(f"dry run at 50 %: tiles {tiles(page)}; problems {problems(page)}")

            page.get_by_role("button", name=t("ingest.confirm", args.lang)).click()
            page.get_by_text(t("ingest.result.done", args.lang), exact=True).wait_for(timeout=60_000)
            browser.wait_for_app(page)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_done.png")
            seen.append(f"import: tiles {tiles(page)}; problems {problems(page)}")

            page.get_by_test_id("stSidebarNav").get_by_text(t("page.feedback", args.lang)).click()
            browser.wait_for_app(page, charts=True)
            browser.full_page_screenshot(page, OUT_DIR / "data_import_then_feedback.png")
            seen.append(f"feedback page after the import: problems {problems(page)}")
    for line in seen:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
