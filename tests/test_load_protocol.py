"""`scripts/load_test.py --protocol`: virtual users speaking Streamlit's WebSocket protocol to a real app.

One `streamlit run` on the small demo database: two users for 10 s with a 1 s think time finish every step without
an error; one protocol session changes the period and the area like a person and the app's address follows, also
on the next page. A second app on a database file that does not exist shows its error page, which the users count as
errors. No browser is started.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.periods import local_now, preset_period
from dashboard.testing import browser

SCRIPTS = PROJECT_ROOT / "scripts"
KEYS = {"users", "page_changes", "errors", "p50_ms", "p95_ms", "throughput_per_s"}
ACCOUNTS = importlib.util.find_spec("dashboard.testing.accounts") is not None


@pytest.fixture(scope="module")
def app_url(demo_db_url, tmp_path_factory) -> Iterator[str]:
    log_path = tmp_path_factory.mktemp("protocol") / "streamlit.log"
    with browser.running_app(demo_db_url, log_path=log_path, timeout=90) as base_url:
        yield base_url


def _load(base_url: str, *extra: str, seconds: int = 10) -> tuple[int, dict]:
    command = [sys.executable, str(SCRIPTS / "load_test.py"), "--protocol", "--url", base_url, "--json"]
    done = subprocess.run(
        command + ["--duration", str(seconds), "--ramp-up", "0", "--page-timeout", "30", *extra],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        cwd=PROJECT_ROOT,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    return done.returncode, json.loads(done.stdout)


def test_two_virtual_users_without_errors(app_url, demo_db_url):
    login = ["--database-url", demo_db_url, "--as-role", "analyst"] if ACCOUNTS else []
    code, summary = _load(app_url, "--users", "2", "--think", "1", *login)
    assert KEYS <= summary.keys()
    assert summary["errors"] == 0, summary["error_samples"]
    assert code == 0
    assert summary["users"] == 2
    assert summary["first_load"]["n"] == 2  # each user opened its first page once
    assert summary["page_changes"] >= 2  # at least one more step each (how many depends on the machine's load)
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"] < 30_000
    assert summary["throughput_per_s"] == pytest.approx(summary["page_changes"] / summary["elapsed_s"], abs=0.01)


def test_filters_change_like_a_person_and_follow_to_the_next_page(app_url, demo_db_url):
    sys.path.insert(0, str(SCRIPTS))
    import streamlit_protocol

    cookie = None
    if ACCOUNTS:
        from dashboard.testing.accounts import COOKIE, login_token

        cookie = f"{COOKIE}={login_token(demo_db_url, 'analyst')}"
    session = streamlit_protocol.Session(app_url, cookie=cookie, timeout=60)
    session.open()
    try:
        assert session.open_page("phan-anh").errors == []
        assert {"preset", "areas", "compare"} <= session.widgets.keys()
        last_month = preset_period("last_month", local_now().date())
        label = session.widgets["preset"].options[list(streamlit_protocol.PRESETS).index("last_month")]
        assert session.set_filter("preset", label).errors == []
        address = parse_qs(session.query_string)
        assert (address["from"], address["to"]) == ([last_month.start.isoformat()], [last_month.end.isoformat()])
        ward = session.widgets["areas"].options[0]
        assert session.set_filter("areas", [ward]).errors == []
        area = parse_qs(session.query_string)["area"]
        assert len(area) == 1
        assert session.open_page("thu-tuc").errors == []  # the next page keeps the period and the ward
        address = parse_qs(session.query_string)
        assert (address["from"], address["to"], address["area"]) == (
            [last_month.start.isoformat()],
            [last_month.end.isoformat()],
            area,
        )
    finally:
        session.close()


def test_an_error_page_counts_as_errors(tmp_path):
    missing = f"duckdb:///{tmp_path / 'missing.duckdb'}"
    with browser.running_app(missing, log_path=tmp_path / "streamlit.log", timeout=90) as base_url:
        code, summary = _load(base_url, "--users", "1", "--think", "0.5", seconds=3)
    assert code == 1
    assert summary["errors"] >= 1
    assert all(sample["error"].startswith("error alert: ") for sample in summary["error_samples"])
