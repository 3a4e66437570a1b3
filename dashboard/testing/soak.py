"""The worker under load: pages keep loading while the worker replaces the DuckDB file every minute.

    .venv/bin/python -m dashboard.testing.soak [--seconds 300] [--out result.json] [--folder DIR]

Builds a small demo database (up to today) in a folder of its own, starts the worker on it with the jobs in
`SOAK_JOBS` scheduled every minute (the forecasts job refits the city-level series only, in one process, so a run
takes seconds instead of a minute; each run still replaces the data file once per metric through
`db.engine.writing`), serves the app on it with the query cache off (`IOC_QUERY_TTL_SECONDS=0`: every page load
reads the file) and loads every analyst page in turn in headless Chromium, pausing between loads, for `--seconds`.
Meanwhile a thread watches the data file and counts the times it was replaced (a new inode). At the end the worker
is stopped and its `job_runs` rows are counted. The result (a JSON object, see `run`) is printed or written to
`--out`; tests/test_worker_soak.py asserts on it, started in the background by tests/conftest.py so the five minutes
overlap the rest of the suite.

    .venv/bin/python -m dashboard.testing.soak --worker URL   # the worker process `run` starts (internal)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from dashboard.config import PROJECT_ROOT
from dashboard.testing.fresh_start import environment

DEFAULT_SECONDS = 300
EVERY_MINUTE = "* * * * *"
# The jobs the soak schedules every minute. weekly_briefing is left out: it writes its PDF under the project's
# data/briefings/ (not beside the database) and only once a week; demo_feed runs when it exists.
SOAK_JOBS = ("forecasts", "alerts", "open311_pull", "inbox", "demo_feed")
# The forecasts job's series in the soak: the three city-level ones (a real run also fits every category, ward,
# sector and sensor; that is CPU the suite's other tests need, and it adds nothing to how the file is replaced).
SOAK_LEVELS = {"feedback": ("city",), "dossiers": ("city",), "traffic": ("city",)}
PAGE_PAUSE_SECONDS = 3.0  # between two page loads: the suite's other tests share the two cores
WATCH_SECONDS = 0.2
DEMO_SCALE = 0.03
DEMO_DAYS = 400
# What no page may show: an uncaught exception, the app's own database error boxes, or the words of a lock,
# connection or I/O error (DuckDB's "IO Error: Could not set lock on file …", Streamlit's "Connection error").
FORBIDDEN_WORDS = re.compile(r"\block\b|\bconnection\b|\bIO Error\b|Traceback", re.IGNORECASE)
ERROR_TITLES = ("error.unavailable_title", "error.not_initialised_title", "error.query_title", "error.page_title")


def soak_seconds() -> int:
    """IOC_SOAK_SECONDS (for local runs), else five minutes."""
    raw = os.environ.get("IOC_SOAK_SECONDS", "").strip()
    return int(raw) if raw else DEFAULT_SECONDS


def min_page_loads(seconds: float) -> int:
    """The fewest page loads a run of `seconds` must manage (one every 20 s; a load takes 2–6 s plus the pause)."""
    return max(3, int(seconds // 20))


def min_runs(seconds: float) -> int:
    """The fewest successful runs of each every-minute job, and replacements of the data file, a run of `seconds`
    must show: 4 in the five minutes (a minute's slack for start-up), fewer in a shorter local run."""
    return max(1, min(4, int(seconds // 60) - 1))


# ---------------------------------------------------------------- the worker process
def run_worker(url: str) -> int:
    """The real Worker with SOAK_JOBS every minute (their IOC_JOB_<NAME>_CRON settings, see `soak_environment`);
    the forecasts job fits the city-level series only (SOAK_LEVELS), in this process."""
    import logging

    from dashboard import config
    from dashboard.jobs import forecasts
    from dashboard.jobs.registry import load_all
    from dashboard.jobs.worker import Worker

    full_pass = forecasts._forecast_pass

    def city_level_pass(engine, url, metrics, levels, jobs):
        return full_pass(engine, url, metrics, SOAK_LEVELS, 1)

    forecasts._forecast_pass = city_level_pass
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    zone = ZoneInfo(config.timezone())
    for handler in logging.getLogger().handlers:  # city time, like the worker's own lines
        handler.formatter.converter = lambda seconds: datetime.fromtimestamp(seconds, zone).timetuple()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    names = [name for name in SOAK_JOBS if name in load_all()]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    worker = Worker(url, names=names)
    return worker.run(stop)


# ---------------------------------------------------------------- the data file's replacements
class FileWatch(threading.Thread):
    """Counts how often `path` is replaced (its device and inode change) until `stop` is set."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.stop = threading.Event()
        self.replacements = 0
        self.missing = 0  # looks that found no file at all (a rename over it never leaves a gap)

    def _identity(self) -> tuple[int, int] | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def run(self) -> None:
        last = self._identity()
        while not self.stop.wait(WATCH_SECONDS):
            now = self._identity()
            if now is None:
                self.missing += 1
                continue
            if now != last:
                self.replacements += 1
                last = now


# ---------------------------------------------------------------- page loads
@dataclass
class PageLoads:
    loads: int = 0
    by_page: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    across_replacement: int = 0  # loads during which the data file was replaced


def page_problems(web, page) -> list[str]:
    """What is wrong with the drawn page: an exception box, an error box of the app, forbidden words."""
    from dashboard.i18n import t

    problems = []
    exceptions = page.locator(web.EXCEPTION)
    if exceptions.count():
        problems.append("exception: " + exceptions.first.inner_text()[:300])
    text = page.locator("body").inner_text()
    for key in ERROR_TITLES:
        for lang in ("vi", "en"):
            if t(key, lang) in text:
                problems.append(f"error box {key!r}: {t(key, lang)}")
    for match in FORBIDDEN_WORDS.finditer(text):
        start = max(0, match.start() - 80)
        problems.append("text: …" + text[start : match.end() + 80].replace("\n", " ") + "…")
    return problems


def load_pages(
    web, base_url: str, seconds: float, watch: FileWatch | None = None, screenshots: Path | None = None
) -> PageLoads:
    """Open the analyst pages one after the other, `PAGE_PAUSE_SECONDS` apart, until `seconds` have passed."""
    from dashboard.navigation import PAGES

    pages = [spec for spec in PAGES if not spec.kiosk and not spec.admin]
    result = PageLoads()
    deadline = time.monotonic() + seconds
    with web.browser() as instance:
        page = web.new_page(instance)
        turn = 0
        while time.monotonic() < deadline:
            spec = pages[turn % len(pages)]
            turn += 1
            started = time.monotonic()
            replaced_before = watch.replacements if watch else 0
            try:
                page.goto(f"{base_url}/{spec.url_path}", wait_until="domcontentloaded", timeout=60_000)
                web.wait_for_app(page, timeout_ms=90_000)
                problems = page_problems(web, page)
            except Exception as error:  # Playwright's TimeoutError and friends: the page never settled
                problems = [f"{type(error).__name__}: {str(error).splitlines()[0][:300]}"]
            result.seconds.append(round(time.monotonic() - started, 2))
            result.loads += 1
            result.across_replacement += int(watch is not None and watch.replacements > replaced_before)
            result.by_page[spec.key] = result.by_page.get(spec.key, 0) + 1
            for problem in problems:
                result.errors.append(f"{spec.key} (load {result.loads}, {time.strftime('%H:%M:%S')}): {problem}")
            if problems and screenshots is not None:
                web.full_page_screenshot(page, screenshots / f"soak-error-{result.loads}-{spec.key}.png")
            time.sleep(max(0.0, min(PAGE_PAUSE_SECONDS, deadline - time.monotonic())))
        page.context.close()
    return result


# ---------------------------------------------------------------- one soak run
def build_demo(url: str) -> None:
    today = date.today()
    subprocess.run(
        [sys.executable, "-m", "dashboard", "--database-url", url, "demo", "--scale", str(DEMO_SCALE)]
        + ["--start", str(today - timedelta(days=DEMO_DAYS)), "--end", str(today)],
        check=True,
        capture_output=True,
        cwd=PROJECT_ROOT,
    )


def soak_environment(folder: Path, url: str) -> dict[str, str]:
    """The worker's and the app's environment: a fresh start's (everything the jobs read or write stays inside
    `folder`), without the query cache, every job every minute."""
    return {
        **environment(folder, url),
        "IOC_QUERY_TTL_SECONDS": "0",
        # the worker's schedules; the forecasts job also reads its own to tell whether its forecast is current
        **{f"IOC_JOB_{name.upper()}_CRON": EVERY_MINUTE for name in SOAK_JOBS},
    }


def job_counts(url: str, since) -> dict[str, dict[str, int]]:
    """job → status → runs started at or after `since` (naive city time), from the operational store."""
    from sqlalchemy import func, select

    from dashboard.db import ops

    runs = ops.job_runs
    query = (
        select(runs.c.job, runs.c.status, func.count())
        .where(runs.c.started_at >= since)
        .group_by(runs.c.job, runs.c.status)
    )
    counts: dict[str, dict[str, int]] = {}
    engine = ops.ops_engine(url)
    with engine.connect() as connection:
        for job, status, n in connection.execute(query):
            counts.setdefault(job, {})[status] = n
    return counts


def job_errors(url: str, since) -> list[str]:
    from sqlalchemy import select

    from dashboard.db import ops

    runs = ops.job_runs
    query = select(runs.c.job, runs.c.error).where(runs.c.started_at >= since, runs.c.status != "done")
    with ops.ops_engine(url).connect() as connection:
        return [f"{job}: {(error or '').splitlines()[0] if error else ''}" for job, error in connection.execute(query)]


def _wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def run(folder: Path, seconds: float, screenshots: Path | None = None) -> dict:
    """One soak run in `folder`: the measurements as a dict (see the module docstring)."""
    from dashboard.jobs.registry import load_all
    from dashboard.periods import local_now
    from dashboard.testing import browser as web

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "soak.duckdb"
    url = f"duckdb:///{path}"
    build_demo(url)
    env = soak_environment(folder, url)
    worker_log = folder / "worker.log"
    since = local_now().replace(microsecond=0)
    with worker_log.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "dashboard.testing.soak", "--worker", url],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    watch = FileWatch(path)
    try:
        started = _wait_for(lambda: "worker: running" in worker_log.read_text(errors="replace"), 60)
        watch.start()
        began = time.monotonic()
        with web.running_app(url, extra_env=env, log_path=folder / "streamlit.log", timeout=120) as base_url:
            loads = load_pages(web, base_url, seconds, watch, screenshots)
        elapsed = time.monotonic() - began
    finally:
        watch.stop.set()
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=120)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    scheduled = [name for name in SOAK_JOBS if name in load_all()]
    times = sorted(loads.seconds)
    return {
        "seconds": round(elapsed, 1),
        "worker_started": started,
        "worker_exit": worker.returncode,
        "jobs": scheduled,
        "page_loads": loads.loads,
        "min_page_loads": min_page_loads(seconds),
        "min_runs": min_runs(seconds),
        "by_page": loads.by_page,
        "loads_across_a_replacement": loads.across_replacement,
        "page_errors": loads.errors,
        "load_seconds_median": times[len(times) // 2] if times else None,
        "load_seconds_max": times[-1] if times else None,
        "replacements": watch.replacements,
        "missing_looks": watch.missing,
        "job_runs": job_counts(url, since),
        "job_errors": job_errors(url, since),
        "worker_log_tail": worker_log.read_text(errors="replace").splitlines()[-15:],
    }


# ---------------------------------------------------------------- in the background of the test session
@dataclass
class Background:
    """A soak run in a subprocess of its own (started by tests/conftest.py when the soak test is collected)."""

    process: subprocess.Popen
    folder: Path
    out: Path
    seconds: float
    started: float

    def result(self, grace: float = 300) -> dict:
        """Wait for the run to end (at most its length plus `grace` seconds from its start) and return its JSON."""
        remaining = self.seconds + grace - (time.monotonic() - self.started)
        try:
            self.process.wait(timeout=max(1.0, remaining))
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(f"the soak run did not end in time; log: {self.folder / 'soak.log'}") from None
        if not self.out.exists():
            tail = (self.folder / "soak.log").read_text(errors="replace").splitlines()[-30:]
            raise AssertionError(
                f"the soak run exited with {self.process.returncode} and no result:\n" + "\n".join(tail)
            )
        return json.loads(self.out.read_text())

    def remove(self) -> None:
        """Delete the run's folder (after a run that passed; a failed one keeps its logs)."""
        import shutil

        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=150)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


BACKGROUND: Background | None = None


def start_background(seconds: float | None = None, screenshots: Path | None = None) -> Background:
    """Start `python -m dashboard.testing.soak` in its own process group; remembered in BACKGROUND."""
    global BACKGROUND
    seconds = soak_seconds() if seconds is None else seconds
    folder = Path(tempfile.mkdtemp(prefix="ioc-soak-"))
    out = folder / "result.json"
    command = [sys.executable, "-m", "dashboard.testing.soak", "--seconds", str(seconds), "--out", str(out)]
    command += ["--folder", str(folder)] + (["--screenshots", str(screenshots)] if screenshots else [])
    with (folder / "soak.log").open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    BACKGROUND = Background(process, folder, out, seconds, time.monotonic())
    return BACKGROUND


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="default: IOC_SOAK_SECONDS, else 300")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON result here (default: print it)")
    parser.add_argument("--folder", type=Path, default=None, help="default: a new temporary folder")
    parser.add_argument("--screenshots", type=Path, default=None, help="screenshots of pages that showed an error")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return run_worker(args.worker)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the app and the worker on the way out
    folder = args.folder or Path(tempfile.mkdtemp(prefix="ioc-soak-"))
    result = run(folder, soak_seconds() if args.seconds is None else args.seconds, args.screenshots)
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
