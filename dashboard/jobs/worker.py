"""`python -m dashboard worker`: run every job on its schedule until Ctrl-C or SIGTERM.

APScheduler keeps its jobs in the project database (the operational store: `apscheduler_jobs` beside `job_runs`),
so a restart neither loses a run that fell due while the worker was down (it runs once, `coalesce`, if it is less
than `MISFIRE_GRACE_SECONDS` late) nor repeats one. One worker at a time: it holds a lock (a file lock beside the
SQLite store on DuckDB, `pg_try_advisory_lock` on PostgreSQL); a second worker says whose lock it waits for and
tries again. A job that fails is retried (`runner.run_with_retries`) and never stops the others; a database that
goes away makes runs fail (recorded when the store can still be written), and the next run works once it is back.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from dashboard import config
from dashboard.db import ops
from dashboard.db.engine import make_engine, redact_url
from dashboard.jobs import runner
from dashboard.jobs.registry import load_all
from dashboard.jobs.schedule import cron_trigger

log = logging.getLogger("dashboard.jobs")

MISFIRE_GRACE_SECONDS = 6 * 3600  # a run missed while the worker was down still runs if it is at most this late
LOCK_RETRY_SECONDS = 15.0
JOBSTORE_TABLE = "apscheduler_jobs"
ADVISORY_LOCK_KEY = 0x10C_0015  # pg_try_advisory_lock key of "the IOC worker"


def cron_of(name: str) -> str:
    """The job's schedule: its setting IOC_JOB_<NAME>_CRON, or the registry's default for a job without one."""
    setting = f"IOC_JOB_{name.upper()}_CRON"
    if setting in config.SETTINGS_BY_NAME:
        return config.value(setting)
    return load_all()[name].default_cron


def lock_path(url: str) -> Path | None:
    """`<ops store>.worker.lock` beside the SQLite store of a DuckDB file (None on PostgreSQL and in memory)."""
    target = ops.ops_url(url)
    prefix = "sqlite:///"
    if not target.startswith(prefix) or len(target) == len(prefix):
        return None
    return Path(target[len(prefix) :] + ".worker.lock")


class WorkerLock:
    """The one-worker lock: `acquire()` is True when this process holds it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = lock_path(url)
        self._handle = None
        self._connection = None
        self._engine = None

    @property
    def postgres(self) -> bool:
        return self.path is None and not ops.ops_url(self.url).startswith("sqlite")

    def where(self) -> str:
        return str(self.path) if self.path else f"pg_advisory_lock {ADVISORY_LOCK_KEY} on {redact_url(self.url)}"

    def acquire(self) -> bool:
        if self.path is not None:
            handle = self.path.open("a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            self._handle = handle
            return True
        if not self.postgres:
            return True  # an in-memory database: nothing to share
        self._engine = self._engine or make_engine(self.url)
        connection = self._engine.connect()
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}).scalar())
        connection.commit()  # the lock belongs to the session, not the transaction
        if not held:
            connection.close()
            return False
        self._connection = connection
        return True

    def holder(self) -> str:
        """Who holds the lock, as far as can be told (the pid in the lock file)."""
        if self.path is not None and self.path.exists():
            pid = self.path.read_text().strip()
            return f"process {pid}" if pid else "another process"
        return "another worker"

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                self._connection.commit()
            except Exception:  # the server went away: the lock went with the session
                pass
            self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


STOPPING = threading.Event()  # set while the worker shuts down: retries give up, back-off waits end


# The job store keeps each job's arguments in the database: the data URL is stored without its password
# (`redact_url`), and the worker of this process maps it back to the full URL it was started with.
_URLS: dict[str, str] = {}


def scheduled_run(name: str, url_key: str) -> None:
    """What the scheduler calls (by reference, so the job store can keep it): one run with retries."""
    url = _URLS.get(url_key, url_key)
    runner.run_with_retries(name, url, scheduled_for=runner._now(), sleep=STOPPING.wait, stopped=STOPPING.is_set)


class Worker:
    """The scheduler and its lock; `run(stop)` returns when `stop` is set."""

    def __init__(
        self,
        url: str,
        *,
        names: list[str] | None = None,
        out: TextIO | None = None,
        lock_retry_seconds: float = LOCK_RETRY_SECONDS,
        crons: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.url_key = redact_url(url)
        _URLS[self.url_key] = url
        self.jobs = load_all()
        self.names = list(names or self.jobs)
        self.crons = {name: (crons or {}).get(name) or cron_of(name) for name in self.names}
        self.out = out or sys.stdout
        self.lock = WorkerLock(url)
        self.lock_retry_seconds = lock_retry_seconds
        self.timezone = ZoneInfo(config.timezone())
        self.scheduler = None

    def say(self, message: str) -> None:
        print(f"{datetime.now(self.timezone):%Y-%m-%d %H:%M:%S} worker: {message}", file=self.out, flush=True)

    def wait_for_lock(self, stop: threading.Event) -> bool:
        told = False
        while not stop.is_set():
            try:
                if self.lock.acquire():
                    return True
            except Exception as error:  # PostgreSQL down: try again later
                self.say(f"cannot take the worker lock ({type(error).__name__}: {error}); trying again")
            else:
                if not told:
                    self.say(
                        f"another worker ({self.lock.holder()}) holds {self.lock.where()}; "
                        f"waiting for it to stop (trying every {self.lock_retry_seconds:g} s)"
                    )
                    told = True
            stop.wait(self.lock_retry_seconds)
        return False

    def _scheduler(self):
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler

        if ops.ops_url(self.url) == "sqlite://":
            from apscheduler.jobstores.memory import MemoryJobStore

            store = MemoryJobStore()
        else:  # pre-ping: after the database was away, the next look at the store reconnects instead of failing
            target = ops.ops_url(self.url)
            options = {"connect_args": {"timeout": 10}} if target.startswith("sqlite") else {}
            engine = create_engine(target, pool_pre_ping=True, **options)
            store = SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
        return BackgroundScheduler(
            jobstores={"default": store},
            executors={"default": ThreadPoolExecutor(max_workers=max(2, len(self.names)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
            timezone=self.timezone,
        )

    def _sync_jobs(self) -> None:
        """Make the stored jobs match the registry and the settings; a job whose schedule did not change keeps its
        stored next run time (so a run missed while the worker was down still happens, once)."""
        scheduler = self.scheduler
        wanted = set(self.names)
        for stored in scheduler.get_jobs():
            if stored.id not in wanted:
                scheduler.remove_job(stored.id)
        for name in self.names:
            trigger = cron_trigger(self.crons[name], self.timezone)
            stored = scheduler.get_job(name)
            if stored is not None and str(stored.trigger) == str(trigger) and list(stored.args) == [name, self.url_key]:
                continue
            scheduler.add_job(
                "dashboard.jobs.worker:scheduled_run",
                trigger=trigger,
                args=[name, self.url_key],
                id=name,
                name=name,
                replace_existing=True,
            )

    def _start_runs(self) -> list[str]:
        """Jobs marked run_on_start run once now (the job itself finds out whether there is anything to do)."""
        started = []
        for name in self.names:
            if self.jobs[name].run_on_start:
                self.scheduler.modify_job(name, next_run_time=datetime.now(self.timezone))
                started.append(name)
        return started

    def run(self, stop: threading.Event) -> int:
        from dashboard.jobs.recipients import RecipientsError, check_at_start

        try:  # a recipients file that cannot be used stops the worker before it runs anything
            self.say(check_at_start(self.url))
        except RecipientsError as error:
            self.say(f"error: {error}")
            return 2
        if not self.wait_for_lock(stop):
            return 0
        STOPPING.clear()
        try:
            ops.ops_engine(
                self.url
            )  # the store first: its tables, and SQLite's WAL mode before another engine opens it
            self.scheduler = self._scheduler()
            self.scheduler.start(paused=True)
            self._sync_jobs()
            now_runs = self._start_runs()
            self.scheduler.resume()
            self.say(
                f"running {len(self.names)} jobs on {redact_url(self.url)} (time zone {self.timezone.key}); "
                + (f"now: {', '.join(now_runs)}" if now_runs else "nothing to run at start")
            )
            for job in self.scheduler.get_jobs():
                self.say(f"  {job.id:<16} {self.crons[job.id]:<14} next {job.next_run_time:%Y-%m-%d %H:%M:%S}")
            stop.wait()
            STOPPING.set()
            self.say("stopping (waiting for running jobs to finish)")
            self.scheduler.shutdown(wait=True)
            return 0
        finally:
            self.lock.release()


def command_worker(args) -> int:
    """The CLI entry: run until Ctrl-C / SIGTERM."""
    zone = ZoneInfo(config.timezone())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:  # the log's clock is the city's, like the worker's own lines
        if handler.formatter is not None:
            handler.formatter.converter = lambda seconds: datetime.fromtimestamp(seconds, zone).timetuple()
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    stop = threading.Event()

    def handle(signum, _frame) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    worker = Worker(args.database_url, lock_retry_seconds=getattr(args, "lock_retry", LOCK_RETRY_SECONDS))
    started = time.monotonic()
    code = worker.run(stop)
    worker.say(f"stopped after {time.monotonic() - started:.0f} s")
    return code
