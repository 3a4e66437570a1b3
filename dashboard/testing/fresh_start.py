"""A fresh start, as `make run` does it: how long until the forecast page shows a forecast?

    .venv/bin/python -m dashboard.testing.fresh_start --url http://127.0.0.1:8599 [--since EPOCH] [--timeout 1800]

Polls the app's forecast page in headless Chromium until it draws a Plotly chart and no longer asks to "run
`python -m dashboard forecast`", then checks the overview's "Bất thường gần đây" is filled too, and prints the
seconds since `--since` (a `date +%s.%N` taken when `make run` was started; default: when this command started).
That is the by-hand measurement of docs/benchmarks.md ("Fresh start and the worker under load");
tests/test_fresh_start_browser.py uses the same functions on a small demo.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashboard.config import PROJECT_ROOT

FORECAST_COMMAND = "python -m dashboard forecast"  # what the pages say to run while no forecast exists
POLL_PAUSE_SECONDS = 3.0


def environment(folder: Path, url: str) -> dict[str, str]:
    """`make run`'s environment with the database in `folder` and nothing read from or written to the project's
    data/ folder but the shipped rules and boundaries (inbox and recipients point into `folder`)."""
    return {
        **os.environ,
        "IOC_DATABASE_URL": url,
        "IOC_INBOX_DIR": str(folder / "inbox"),
        "IOC_RECIPIENTS_FILE": str(folder / "no-recipients.yaml"),
        "IOC_OPEN311_ENDPOINTS": "",
        "IOC_SMTP_HOST": "",
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def running_worker(env: dict[str, str], log_path: Path, grace_seconds: float = 5) -> Iterator[subprocess.Popen]:
    """`python -m dashboard worker` (what `make run` starts beside the app), in its own process group.

    On the way out it gets SIGTERM (it lets a running job finish) and, `grace_seconds` later, the group gets
    SIGKILL: a test does not wait for the full forecast pass that follows the quick one.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "worker"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Look:
    """One look at a page: does it show what a fresh start must reach?"""

    ready: bool
    charts: int
    asks_to_run: bool
    exception: bool


def look_at_forecast(web, page: Any, base_url: str) -> Look:
    """Open the forecast page and tell whether it shows a forecast chart and no 'run this command' text."""
    from dashboard.navigation import PAGES

    spec = next(spec for spec in PAGES if spec.key == "forecast")
    page.goto(f"{base_url}/{spec.url_path}", wait_until="domcontentloaded", timeout=60_000)
    web.wait_for_app(page, timeout_ms=90_000)
    charts = page.locator(web.PLOTLY_CHART).count()
    if charts:
        page.wait_for_timeout(750)  # Plotly's first draw
    text = page.locator("body").inner_text()
    asks = FORECAST_COMMAND in text
    exception = page.locator(web.EXCEPTION).count() > 0
    return Look(charts > 0 and not asks and not exception, charts, asks, exception)


def look_at_overview(web, page: Any, base_url: str) -> tuple[bool, str]:
    """Open the overview; (its "Bất thường gần đây" section is filled, the section's text)."""
    from dashboard.i18n import t

    page.goto(base_url + "/", wait_until="domcontentloaded", timeout=60_000)
    web.wait_for_app(page, timeout_ms=90_000)
    text = page.locator("body").inner_text()
    heading = t("forecast.overview.heading", "vi")
    section = text[text.find(heading) :][:600] if heading in text else ""
    filled = bool(section) and t("forecast.overview.not_run", "vi") not in text and FORECAST_COMMAND not in text
    return filled, section


def wait_for_forecast(web, page: Any, base_url: str, since: float, timeout: float) -> tuple[float | None, Look]:
    """Look at the forecast page every few seconds until it is ready: (seconds since `since` (time.time()) when it
    was, or None after `timeout` seconds, the last look)."""
    deadline = time.monotonic() + timeout
    while True:
        look = look_at_forecast(web, page, base_url)
        if look.ready:
            return round(time.time() - since, 1), look
        if time.monotonic() > deadline:
            return None, look
        time.sleep(POLL_PAUSE_SECONDS)


def wait_for_server(base_url: str, timeout: float) -> bool:
    from dashboard.testing.browser import _healthy

    deadline = time.monotonic() + timeout
    while not _healthy(base_url):
        if time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the app's address")
    parser.add_argument("--since", type=float, default=None, help="epoch seconds `make run` started at")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--screenshot", type=Path, default=None, help="PNG of the forecast page once it is ready")
    parser.add_argument(
        "--role", default="analyst", help="pages are opened signed in as a test user of this role (IOC_DATABASE_URL)"
    )
    args = parser.parse_args(argv)
    since = time.time() if args.since is None else args.since
    from dashboard.testing import browser as web

    if not wait_for_server(args.url, args.timeout):
        print(f"error: no app at {args.url} within {args.timeout:.0f} s", file=sys.stderr)
        return 1
    served = round(time.time() - since, 1)
    from dashboard import config
    from dashboard.testing.accounts import login_token

    token = login_token(config.database_url(), args.role)  # the app asks for a sign-in since issue 19
    with web.browser() as instance:
        page = web.new_page(instance, base_url=args.url, token=token)
        seconds, look = wait_for_forecast(web, page, args.url, since, args.timeout)
        if args.screenshot and seconds is not None:
            web.full_page_screenshot(page, args.screenshot)
        filled, _ = look_at_overview(web, page, args.url) if seconds is not None else (False, "")
    print(
        json.dumps(
            {"app_serving_seconds": served, "forecast_visible_seconds": seconds, "overview_anomalies": filled}
            | {"last_look": look.__dict__}
        )
    )
    return 0 if seconds is not None else 1


if __name__ == "__main__":
    sys.exit(main())
