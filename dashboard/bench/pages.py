"""Page timings for `python -m dashboard bench` (issue 20): the full server-side run of every registered page.

The bench database is served by a real `streamlit run` (dashboard.testing.browser.running_app) and one client that
speaks Streamlit's WebSocket protocol (scripts/streamlit_protocol.py, in a subprocess: it imports `streamlit.proto`,
which the import contracts keep out of this package) opens every page the way a sidebar click does and times it from
the request to the script's `script_finished` message:

* `cold_ms`: the page's first run after the app's caches were emptied (query results and engines),
* `p50_ms`, `p95_ms`: the next `runs` runs of the same page, query results cached (what a second visitor waits).

Every non-kiosk page is timed, then the wall by its own address (/wall). The client is signed in as a test
administrator (dashboard.testing.accounts.login_token, which writes that user into the database's operational
store), so the administrators' pages are timed too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dashboard.config import PROJECT_ROOT
from dashboard.navigation import PAGES

CLIENT = PROJECT_ROOT / "scripts" / "streamlit_protocol.py"
TARGET_P95_MS = 1000  # issue 20: every page's p95 at most 1 s at scale 1 on DuckDB


def timed_pages(names: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(name, url path) of every page bench times: the listed pages in the sidebar's order, then the kiosk pages;
    only those named in `names` when it is given."""
    listed = [(spec.key, spec.url_path) for spec in PAGES if not spec.kiosk]
    every = listed + [(spec.key, spec.url_path) for spec in PAGES if spec.kiosk]
    unknown = set(names) - {name for name, _path in every}
    if unknown:
        raise ValueError(f"no page named {', '.join(sorted(unknown))}; pages: {', '.join(n for n, _p in every)}")
    return [(name, path) for name, path in every if not names or name in names]


def session_cookie(url: str) -> str | None:
    """The cookie of a signed-in test administrator of database `url` (None before accounts exist)."""
    try:
        from dashboard.testing.accounts import COOKIE, login_token
    except ImportError:
        return None
    return f"{COOKIE}={login_token(url, 'admin')}"


def time_pages(url: str, runs: int, log: Any = print, names: Sequence[str] = ()) -> list[dict]:
    """Serve database `url` and time every page (or those in `names`; see the module's docstring); rows of name,
    path, cold_ms, p50_ms, p95_ms, runs and the errors the page showed (empty when none)."""
    from dashboard.testing import browser

    pages = timed_pages(names)
    cookie = session_cookie(url)
    command = [sys.executable, str(CLIENT), "--runs", str(runs)]
    command += [arg for name, path in pages for arg in ("--page", f"{name}={path}")]
    command += ["--cookie", cookie] if cookie else []
    log_path = Path(tempfile.gettempdir()) / f"ioc-bench-pages-{time.strftime('%Y%m%d-%H%M%S')}.log"
    log(f"timing {len(pages)} pages ({runs} warm runs each) on a streamlit server; its log: {log_path}")
    with browser.running_app(url, log_path=log_path, timeout=300) as base_url:
        done = subprocess.run(
            [*command, "--url", base_url], capture_output=True, text=True, check=False, cwd=PROJECT_ROOT
        )
    if done.returncode != 0:
        raise RuntimeError(f"timing the pages failed (exit {done.returncode}): {done.stderr.strip()[-1000:]}")
    rows = json.loads(done.stdout)
    for row in rows:
        problem = f"  ERRORS: {'; '.join(row['errors'])[:300]}" if row["errors"] else ""
        log(
            f"page {row['name']:<22} cold {row['cold_ms']:>8.1f} ms  warm p50 {row['p50_ms']:>7.1f}  "
            f"p95 {row['p95_ms']:>7.1f}{problem}"
        )
    return rows
