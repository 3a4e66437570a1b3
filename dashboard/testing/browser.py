"""Start the app on a local port and drive it with a real Chromium.

Shared by the browser tests (tests/test_browser.py) and scripts/screenshot.py, so there is
one way to start, wait for and stop the app. Playwright is a development dependency
(requirements-dev.txt); it is imported only when a browser is launched.

Chromium is the system one (/usr/bin/chromium, or IOC_CHROMIUM); Playwright's own browser
downloads are never used. Every request that does not go to the local app is blocked, so
nothing here touches the network.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dashboard.config import PROJECT_ROOT

APP_SCRIPT = PROJECT_ROOT / "dashboard" / "app.py"
CHROMIUM = os.environ.get("IOC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
)
VIEWPORT = {"width": 1600, "height": 1000}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}

# Selectors the tests and the screenshot script look for.
PLOTLY_CHART = ".js-plotly-plot .main-svg"
MAP_CANVAS = "canvas.maplibregl-canvas"
EXCEPTION = '[data-testid="stException"]'


class AppStartError(RuntimeError):
    """The Streamlit server did not come up; the message ends with its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(base_url: str) -> bool:
    # A proxy-free opener: the app is local and proxy variables must not reroute the check.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(base_url + "/_stcore/health", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen, grace_seconds: float = 10) -> None:
    """SIGTERM the server's process group, SIGKILL it if it does not exit in time."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=grace_seconds)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=grace_seconds)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def running_app(
    db_url: str,
    port: int | None = None,
    *,
    extra_env: dict[str, str] | None = None,
    timeout: float = 60,
    log_path: Path | None = None,
    script: Path = APP_SCRIPT,
    role: str | None = "admin",
) -> Iterator[str]:
    """Run `streamlit run dashboard/app.py` against `db_url`; yield its base URL.

    The server runs in its own process group from the project root (so .streamlit/config.toml
    applies) and is stopped when the block ends, also on errors. Its output goes to
    `log_path` (default: a temporary file), whose tail is shown if it fails to start.

    `role`: the pages opened with `new_page` are signed in as a test user of that role (a session made in the
    database's ops store, sent as the `ioc_session` cookie); None: they are visitors.
    """
    port = port or free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        IOC_DATABASE_URL=db_url,
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env or {})
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
    ]
    if log_path is None:
        handle, name = tempfile.mkstemp(prefix="ioc-streamlit-", suffix=".log")
        os.close(handle)
        log_path = Path(name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(base_url):
            if process.poll() is not None:
                raise AppStartError(
                    f"streamlit exited with code {process.returncode} before serving {base_url}.\n"
                    f"--- {log_path} ---\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise AppStartError(
                    f"streamlit did not answer {base_url}/_stcore/health within {timeout:.0f} s.\n"
                    f"--- {log_path} ---\n{_tail(log_path)}"
                )
            time.sleep(0.25)
        _SESSIONS[base_url] = _session_token(db_url, role)
        yield base_url
    finally:
        _SESSIONS.pop(base_url, None)
        _stop(process)


# base URL of each running app -> the session token its pages are opened with ("" for visitors)
_SESSIONS: dict[str, str] = {}


def _session_token(db_url: str, role: str | None) -> str:
    """A session of the test user of `role`; "" (a visitor) when the database cannot be reached: the app shows what
    is wrong with it to anyone, signed in or not."""
    if role is None:
        return ""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.db.engine import DatabaseError
    from dashboard.testing.accounts import login_token

    try:
        return login_token(db_url, role)
    except (DatabaseError, SQLAlchemyError):
        return ""


def session_cookie(base_url: str, token: str | None = None) -> list[dict]:
    """The `ioc_session` cookie for the app at `base_url` (its `running_app` session, or `token`); [] for a visitor."""
    from dashboard.testing.accounts import cookie_for

    token = _SESSIONS.get(base_url, "") if token is None else token
    return [cookie_for(token, base_url)] if token else []


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@contextmanager
def browser() -> Iterator[Any]:
    """A headless system Chromium launched through Playwright (a `playwright` Browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield instance
        finally:
            instance.close()


def new_page(
    instance: Any,
    *,
    blocked: list[str] | None = None,
    viewport: dict | None = None,
    base_url: str | None = None,
    token: str | None = None,
) -> Any:
    """A page in a fresh context that may talk to the local app only.

    Requests to any other host are aborted; their URLs are appended to `blocked`
    when a list is given, so callers can report what the app tried to fetch.

    Signed in: with the `ioc_session` cookie of `base_url`'s `running_app` (default: every running app's, which
    is the one app of almost every caller), or of `token` ("" for a visitor).
    """
    context = instance.new_context(viewport=viewport or VIEWPORT, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    targets = [base_url] if base_url else list(_SESSIONS)
    cookies = [cookie for url in targets for cookie in session_cookie(url, token)]
    if cookies:
        context.add_cookies(cookies)

    def guard(route: Any) -> None:
        url = route.request.url
        if _is_local(url):
            route.continue_()
        else:
            if blocked is not None:
                blocked.append(url)
            route.abort()

    context.route("**/*", guard)
    return context.new_page()


# Resolves, once the page has been idle and unchanged for stableMs, with the moment (performance.now()) it last
# changed. Idle: connected, script not running, no status widget, nothing stale, content in the main area.
SETTLED_JS = """(stableMs) => {
    const app = document.querySelector('[data-testid="stApp"]');
    const main = app && (document.querySelector('[data-testid="stMain"]') || app);
    const idle = app !== null
        && app.getAttribute('data-test-connection-state') === 'CONNECTED'
        && app.getAttribute('data-test-script-state') === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-testid="stElementContainer"][data-stale="true"]')
        && main.querySelector('[data-testid="stElementContainer"]') !== null;
    const now = performance.now();
    if (!idle) { window.__iocIdle = null; return false; }
    const signature = location.pathname + ':' + document.querySelectorAll('[data-testid="stElementContainer"]').length
        + ':' + app.innerText.length;
    if (!window.__iocIdle || window.__iocIdle.signature !== signature) {
        window.__iocIdle = {since: now, signature: signature};
        return false;
    }
    return now - window.__iocIdle.since >= stableMs ? Math.max(window.__iocIdle.since, 1e-6) : false;
}"""


def wait_for_app(
    page: Any, *, charts: bool = False, map_canvas: bool = False, timeout_ms: int = 60_000, stable_ms: int = 1_000
) -> None:
    """Wait until Streamlit has finished running the page script and drawn it.

    Done means, continuously for `stable_ms`: `stApp` is connected, its script state is
    `notRunning`, no status widget ("Running...") is shown, no element is stale, the main
    area has content and the page's elements and text no longer change. The stability window
    covers reruns the app triggers itself (e.g. after reading filters from the URL), where
    the script state is briefly `notRunning` between two runs. With `charts`, also wait for a
    rendered Plotly chart; with `map_canvas`, for the MapLibre canvas.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.wait_for_function(
        SETTLED_JS,
        arg=stable_ms,
        timeout=timeout_ms,
        polling=100,
    )
    if charts:
        page.wait_for_selector(PLOTLY_CHART, timeout=timeout_ms)
    if map_canvas:
        page.wait_for_selector(MAP_CANVAS, timeout=timeout_ms)
    if charts or map_canvas:
        page.wait_for_timeout(750)  # Plotly transitions and MapLibre's first frames


def full_page_screenshot(page: Any, path: Path | str, *, settle_ms: int = 750) -> Path:
    """Save a PNG of the whole page, including what is below the fold.

    Streamlit scrolls inside `stMain`, not the document, so Playwright's `full_page` alone
    captures only the viewport. The viewport is stretched to the content height for the shot
    (charts re-layout to the same width) and restored afterwards.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or VIEWPORT
    height = page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const sidebar = document.querySelector('[data-testid="stSidebarContent"]');
            return Math.max(main ? main.scrollHeight : 0, sidebar ? sidebar.scrollHeight : 0,
                            document.documentElement.scrollHeight);
        }"""
    )
    if height > original["height"]:
        page.set_viewport_size({"width": original["width"], "height": int(height)})
        page.wait_for_timeout(settle_ms)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        page.set_viewport_size(original)
    return path
