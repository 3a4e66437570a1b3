"""Pages keep loading while the worker writes: five minutes of page loads in headless Chromium against the real app
on a DuckDB file that the worker (forecasts, alerts, demo_feed, open311_pull, inbox, each every minute) replaces
several times a minute.

The run is dashboard/testing/soak.py. tests/conftest.py starts it in the background when this test is collected and
moves this test to the end of the session, so the five minutes (IOC_SOAK_SECONDS for a shorter local run) overlap the
other tests; here the test waits for it and checks its result, which it keeps in artifacts/browser/soak.json.
Screenshots of any page that showed an error go to artifacts/browser/soak-error-*.png.
"""

from __future__ import annotations

import json

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.navigation import PAGES
from dashboard.testing import soak

pytestmark = pytest.mark.browser

ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


def test_pages_keep_loading_while_the_worker_replaces_the_data_file(web):
    run = soak.BACKGROUND or soak.start_background()  # started by conftest.py, unless this module was run oddly
    result = run.result()
    soak.BACKGROUND = None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    summary = json.dumps({k: v for k, v in result.items() if k != "worker_log_tail"}, ensure_ascii=False, indent=1)
    log = "\n".join(result["worker_log_tail"])
    assert result["worker_started"], f"the worker did not start:\n{log}"
    assert result["page_errors"] == [], summary
    assert result["page_loads"] >= result["min_page_loads"], summary
    assert set(result["by_page"]) == {spec.key for spec in PAGES if not spec.kiosk and not spec.admin}, summary
    assert result["job_errors"] == [], summary
    done = {job: result["job_runs"].get(job, {}).get("done", 0) for job in result["jobs"]}
    assert {"forecasts", "alerts"} <= set(result["jobs"]), summary
    assert all(count >= result["min_runs"] for count in done.values()), f"successful runs {done}\n{summary}\n{log}"
    assert result["replacements"] >= result["min_runs"], summary
    assert result["missing_looks"] == 0, summary  # a rename over the file never leaves a moment without one
    assert result["loads_across_a_replacement"] >= 1, summary
    assert result["worker_exit"] == 0, log
    run.remove()
