"""A fresh start as `make run` does it, on an empty data folder: build the demo, start the worker and the app; within
the timeout the forecast page shows a forecast chart and no "run `python -m dashboard forecast`" message, and the
overview's "Bất thường gần đây" is filled.

The demo is smaller than `make run`'s (scale 0.2 instead of 1) so the suite stays quick; docs/benchmarks.md has the
by-hand figures for a fresh clone at the default scale. The seconds from the start to the visible forecast are written
to artifacts/browser/fresh_start.json, the two pages to artifacts/browser/fresh-start-*.png.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.i18n import t
from dashboard.testing import fresh_start

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"
DEMO_SCALE = 0.2
TIMEOUT_SECONDS = 180  # the "within 3 minutes of `make run`"


def test_fresh_start_shows_forecasts_within_the_timeout(web, chromium, tmp_path):
    path = tmp_path / "data" / "ioc.duckdb"
    path.parent.mkdir()
    url = f"duckdb:///{path}"
    env = fresh_start.environment(tmp_path, url)
    since = time.time()
    # `make db` on a missing file: the demo (three years up to today), then the worker and the app side by side
    built = subprocess.run(
        [sys.executable, "-m", "dashboard", "demo", "--scale", str(DEMO_SCALE)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    demo_seconds = round(time.time() - since, 1)
    page = web.new_page(chromium)
    try:
        with (
            fresh_start.running_worker(env, ARTIFACTS / "fresh-start-worker.log") as worker,
            web.running_app(url, extra_env=env, log_path=ARTIFACTS / "fresh-start-streamlit.log") as base_url,
        ):
            page.context.add_cookies(web.session_cookie(base_url))  # signed in (the page was made before the app)
            seconds, look = fresh_start.wait_for_forecast(web, page, base_url, since, TIMEOUT_SECONDS)
            web.full_page_screenshot(page, ARTIFACTS / "fresh-start-forecast.png")
            filled, section = fresh_start.look_at_overview(web, page, base_url)
            web.full_page_screenshot(page, ARTIFACTS / "fresh-start-overview.png")
            assert worker.poll() is None, "the worker stopped"
    finally:
        page.context.close()
    log = (ARTIFACTS / "fresh-start-worker.log").read_text(errors="replace")
    (ARTIFACTS / "fresh_start.json").write_text(
        json.dumps({"demo_scale": DEMO_SCALE, "demo_seconds": demo_seconds, "forecast_visible_seconds": seconds})
    )
    assert seconds is not None, f"no forecast after {TIMEOUT_SECONDS} s: {look}\n{log[-3000:]}"
    assert (look.charts >= 1, look.asks_to_run, look.exception) == (True, False, False)
    assert filled, section
    assert t("forecast.overview.heading", "vi") in section
    assert "now: forecasts" in log, log[-3000:]  # the forecasts job ran because the worker started without one
