"""The real upload in Chromium: log in, upload through the file input, dry run, import, open another page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from upload_support import feedback_count as _feedback_count

from dashboard.db.engine import make_engine
from dashboard.i18n import t

pytestmark = pytest.mark.browser


def test_upload_dry_run_and_import_in_chromium(web, chromium, demo_copy_url, tmp_path):
    """Log in, upload through the real file input, dry run, import, then open the feedback page in the same session."""
    from dashboard.periods import local_now

    day = (local_now() - timedelta(days=2)).strftime("%Y-%m-%d")
    csv = tmp_path / "trinh_duyet.csv"
    csv.write_text(
        "service_request_id,requested_datetime,service_name,status\n"
        f"W-1,{day} 08:00,Pothole,open\nW-2,{day} 09:00,Noise,closed\n,{day} 10:00,Noise,open\n"
        f"W-3,{day} 11:00,Graffiti,open\n",
        encoding="utf-8",
    )
    with web.running_app(demo_copy_url, role="admin") as base:  # pages signed in as the test admin
        page = web.new_page(chromium)
        try:
            page.goto(base)
            web.wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.data_import")).click()
            web.wait_for_app(page)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            rate = page.get_by_label(t("ingest.max_reject"), exact=True)
            rate.fill("50")
            rate.press("Enter")
            web.wait_for_app(page)
            page.get_by_role("button", name=t("ingest.dry_run")).click()
            page.get_by_text(t("ingest.result.dry_run")).wait_for(timeout=60_000)
            web.wait_for_app(page)
            assert _browser_tiles(page) == {
                t("ingest.count.rows_read"): "4",
                t("ingest.count.inserted.dry"): "3",
                t("ingest.count.updated.dry"): "0",
                t("ingest.count.unchanged"): "0",
                t("ingest.count.rejected"): "1",
                t("ingest.count.duplicates"): "0",
                t("ingest.count.unknown_area"): "3",
                t("ingest.count.crosswalk", date="01/07/2025"): "0",
            }
            page.get_by_role("button", name=t("ingest.confirm")).click()
            page.get_by_text(t("ingest.result.done"), exact=True).wait_for(timeout=60_000)
            web.wait_for_app(page)
            assert _browser_tiles(page)[t("ingest.count.inserted.done")] == "3"
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.feedback")).click()
            web.wait_for_app(page, charts=True)
            assert page.locator(web.EXCEPTION).count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        finally:
            page.context.close()
    reader = make_engine(demo_copy_url, read_only=True)
    try:
        assert _feedback_count(reader, "trinh_duyet") == 3
    finally:
        reader.dispose()


def _browser_tiles(page) -> dict[str, str]:
    return {
        m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator('[data-testid="stMetricValue"]')
        .inner_text()
        .strip()
        for m in page.locator('[data-testid="stMetric"]').all()
    }
