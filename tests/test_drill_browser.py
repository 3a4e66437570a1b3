"""Drill-down in a real browser (system Chromium): a tile's "Hồ sơ" button, a bar of the feedback page's agency chart,
a day's bar of the overview's trend and a ward of the map each open the records dialog, whose count equals `python -m dashboard records ... --count` for
the same filters. One server for the three. Screenshots: artifacts/browser/drill-*.png."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.i18n import t

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"
DIALOG = '[data-testid="stDialog"]'


def _cli_count(url: str, metric: str, start, end, *extra: str) -> int:
    """The bare integer `python -m dashboard records --count` prints for the same filters."""
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "records", "--metric", metric, "--from", str(start), "--to", str(end)]
        + list(extra)
        + ["--count"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "IOC_DATABASE_URL": url},
        timeout=120,
        check=True,
    )
    return int(done.stdout.strip())


def _dialog_count(page) -> int:
    dialog = page.locator(DIALOG)
    dialog.wait_for(timeout=30_000)
    dialog.get_by_text(re.compile(r"[\d.]+ bản ghi")).first.wait_for(timeout=30_000)
    found = re.search(r"([\d.]+) bản ghi", dialog.inner_text())
    assert found, dialog.inner_text()
    return int(found.group(1).replace(".", ""))


def _params(page) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}


def _close_dialog(page, web) -> None:
    page.keyboard.press("Escape")
    page.locator(DIALOG).wait_for(state="detached", timeout=30_000)
    page.wait_for_function("() => !window.location.search.includes('metric=')", timeout=30_000)
    web.wait_for_app(page)


def test_tile_bar_and_ward_open_their_records(web, chromium, demo_db_url, demo_now):
    end = demo_now.date()
    start = end - timedelta(days=29)
    link = f"from={start}&to={end}"
    with web.running_app(demo_db_url, log_path=ARTIFACTS / "streamlit-drill.log") as base:
        page = web.new_page(chromium, viewport={"width": 1600, "height": 2400})
        try:
            # A tile: the feedback page's "received" tile.
            page.goto(f"{base}/phan-anh?{link}")
            web.wait_for_app(page, charts=True)
            tile = page.locator('[data-testid="stColumn"]').filter(has_text=t("kpi.feedback.received")).first
            tile.get_by_role("button", name=t("records.open")).click()
            shown = _dialog_count(page)
            web.wait_for_app(page)
            assert _params(page)["metric"] == "feedback.received"
            page.screenshot(path=str(ARTIFACTS / "drill-tile.png"))
            assert shown == _cli_count(demo_db_url, "feedback.received", start, end) > 0
            _close_dialog(page, web)

            # A bar: the agency with the lowest on-time rate (the top bar) of the agency chart.
            chart = page.locator(".js-plotly-plot").filter(has_text=t("feedback.agency_title", count=15))
            bar = chart.locator("g.point path").last
            bar.wait_for(timeout=60_000)
            bar.scroll_into_view_if_needed()
            box = bar.bounding_box()
            # Near the bar's end: the axis starts above 0 %, so the bar's left part is clipped off the plot.
            page.mouse.click(box["x"] + box["width"] - 8, box["y"] + box["height"] / 2)
            shown = _dialog_count(page)
            web.wait_for_app(page)
            params = _params(page)
            assert params["metric"] == "feedback.resolved_on_time_pct"
            agency = params["agency"]
            assert params["metric_agency"] == agency  # the link reopens exactly these records
            page.screenshot(path=str(ARTIFACTS / "drill-bar.png"))
            assert page.locator(web.EXCEPTION).count() == 0
            expected = _cli_count(demo_db_url, "feedback.resolved_on_time_pct", start, end, "--agency", agency)
            assert shown == expected > 0
            assert agency in page.locator(DIALOG).inner_text()  # the dialog names the agency it lists

            # A point in time: a bar of the overview's daily trend (one category on one day).
            page.goto(f"{base}/?{link}")
            web.wait_for_app(page, charts=True)
            trend = page.locator(".js-plotly-plot").filter(has_text=t("trend.feedback_received")).first
            bar = trend.locator("g.point path").nth(20)
            bar.scroll_into_view_if_needed()
            box = bar.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            shown = _dialog_count(page)
            web.wait_for_app(page)
            params = _params(page)
            day, category = params["metric_days"], params["metric_category"]
            page.screenshot(path=str(ARTIFACTS / "drill-trend.png"))
            assert (
                shown == _cli_count(demo_db_url, "feedback.received", day, day, "--filter", f"category={category}") > 0
            )

            # A ward: the centre of the map page's city-fitted map (the central wards).
            page.goto(f"{base}/ban-do?{link}")
            web.wait_for_app(page, map_canvas=True)
            box = page.locator(web.MAP_CANVAS).first.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            shown = _dialog_count(page)
            web.wait_for_app(page)
            params = _params(page)
            assert params["metric"] == "feedback.received"  # the default layer: feedback per 10 000 people
            code = params["area"]
            assert params["metric_area"] == code
            page.screenshot(path=str(ARTIFACTS / "drill-ward.png"))
            assert page.locator(web.EXCEPTION).count() == 0
            assert shown == _cli_count(demo_db_url, "feedback.received", start, end, "--area", code) > 0
        finally:
            page.context.close()
