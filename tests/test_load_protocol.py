"""`scripts/load_test.py --protocol`: virtual users speaking Streamlit's WebSocket protocol to a real app.

One `streamlit run` on the small demo database, two users for 10 s with a 1 s think time: every step (page or filter
change) finishes without an error. A second app on a database file that does not exist shows its error page, which the
users count as errors. No browser is started.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.testing import browser

SCRIPT = PROJECT_ROOT / "scripts" / "load_test.py"
KEYS = {"users", "page_changes", "errors", "p50_ms", "p95_ms", "throughput_per_s"}


def _login_args(db_url: str) -> list[str]:
    """Log the users in once accounts exist (issue 19: without a session the app shows only its login page)."""
    if importlib.util.find_spec("dashboard.testing.accounts") is None:
        return []
    return ["--database-url", db_url, "--as-role", "analyst"]


def _load(base_url: str, *extra: str, seconds: int = 10) -> tuple[int, dict]:
    command = [sys.executable, str(SCRIPT), "--protocol", "--url", base_url, "--duration", str(seconds), "--json"]
    done = subprocess.run(
        command + ["--ramp-up", "0", "--page-timeout", "30", *extra],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        cwd=PROJECT_ROOT,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout)


def test_two_virtual_users_change_pages_and_filters_without_errors(demo_db_url, tmp_path):
    with browser.running_app(demo_db_url, log_path=tmp_path / "streamlit.log", timeout=90) as base_url:
        code, summary = _load(base_url, "--users", "2", "--think", "1", *_login_args(demo_db_url))
    assert KEYS <= summary.keys()
    assert summary["errors"] == 0, summary["error_samples"]
    assert code == 0
    assert summary["users"] == 2
    assert summary["first_load"]["n"] == 2  # each user opened its first page once
    # 10 s at 1 s think: each user takes several steps, every third a filter change
    assert summary["page_changes"] >= 4
    assert summary["by_action"]["page"]["n"] >= 2 and summary["by_action"]["filter"]["n"] >= 1
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"] < 30_000
    assert summary["throughput_per_s"] == pytest.approx(summary["page_changes"] / summary["elapsed_s"], abs=0.01)


def test_an_error_page_counts_as_errors(tmp_path):
    missing = f"duckdb:///{tmp_path / 'missing.duckdb'}"
    with browser.running_app(missing, log_path=tmp_path / "streamlit.log", timeout=90) as base_url:
        code, summary = _load(base_url, "--users", "1", "--think", "0.5", seconds=3)
    assert code == 1
    assert summary["errors"] >= 1
    assert all(sample["error"].startswith("error alert: ") for sample in summary["error_samples"])
