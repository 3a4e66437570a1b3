"""The worker: job_runs rows, retries with back-off, `jobs run`/`jobs list`, the one-worker lock, scheduled runs
and a database that goes away and comes back."""

from __future__ import annotations

import io
import json
import shutil
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text

from dashboard import config
from dashboard.cli import main
from dashboard.db import ops, schema
from dashboard.db.engine import create_schema, duckdb_file, make_engine
from dashboard.db.load import bulk_load, load_areas
from dashboard.jobs import registry, runner, status
from dashboard.jobs.registry import JobOutcome
from dashboard.jobs.schedule import crontab_weekdays
from dashboard.jobs.worker import Worker, WorkerLock

TEST_JOBS = ("t_ok", "t_fail", "t_flaky", "t_tick", "t_probe")


def _clean(url: str) -> None:
    with ops.ops_engine(url).begin() as connection:
        connection.execute(delete(ops.job_runs))
        connection.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))


@pytest.fixture
def test_jobs():
    """Registers the test jobs (and removes them afterwards); `calls` counts runs per job."""
    calls: dict[str, int] = {}
    registry.load_all()

    def counted(name, body):
        def run(ctx):
            calls[name] = calls.get(name, 0) + 1
            return body(ctx)

        return run

    def ok(ctx):
        return JobOutcome(3, {"now": ctx.now.isoformat(), "words": ["một", "hai"]})

    def fail(ctx):
        raise ValueError("boom at " + ctx.now.isoformat())

    def flaky(ctx):
        if calls["t_flaky"] < 3:
            raise RuntimeError(f"attempt {calls['t_flaky']} failed")
        return JobOutcome(1)

    def probe(ctx):
        engine = make_engine(ctx.url, read_only=True)
        try:
            with engine.connect() as connection:
                return JobOutcome(int(connection.execute(select(schema.areas.c.code).limit(5)).all().__len__()))
        finally:
            engine.dispose()

    for name, body in (("t_ok", ok), ("t_fail", fail), ("t_flaky", flaky), ("t_tick", ok), ("t_probe", probe)):
        registry.job(name, "* * * * *", f"test job {name}")(counted(name, body))
    yield calls
    for name in TEST_JOBS:
        registry.JOBS.pop(name, None)


def _runs(url: str, job: str) -> list[dict]:
    query = select(ops.job_runs).where(ops.job_runs.c.job == job).order_by(ops.job_runs.c.id)
    with ops.ops_engine(url).connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


NOW = datetime(2026, 11, 20, 14, 37)


# ---------------------------------------------------------------- runner
def test_job_runs_rows_for_done_and_failed_runs(any_db_url, test_jobs):
    _clean(any_db_url)
    assert runner.run_job("t_ok", any_db_url, NOW) == (
        "done",
        JobOutcome(3, {"now": "2026-11-20T14:37:00", "words": ["một", "hai"]}),
        None,
    )
    state, outcome, error = runner.run_job("t_fail", any_db_url, NOW, attempt=2, scheduled_for=NOW)
    assert (state, outcome) == ("failed", None)
    assert error.startswith("ValueError: boom at 2026-11-20T14:37:00\n")
    [done] = _runs(any_db_url, "t_ok")
    [failed] = _runs(any_db_url, "t_fail")
    assert {k: done[k] for k in ("job", "status", "rows", "attempt", "scheduled_for", "error")} == {
        "job": "t_ok",
        "status": "done",
        "rows": 3,
        "attempt": 1,
        "scheduled_for": None,
        "error": None,
    }
    assert json.loads(done["details"]) == {"now": "2026-11-20T14:37:00", "words": ["một", "hai"]}
    assert done["started_at"] <= done["finished_at"]
    assert {k: failed[k] for k in ("job", "status", "rows", "attempt", "scheduled_for", "details")} == {
        "job": "t_fail",
        "status": "failed",
        "rows": None,
        "attempt": 2,
        "scheduled_for": NOW,
        "details": None,
    }
    assert failed["error"] == error and "Traceback" in error
    last = status.last_runs(any_db_url).set_index("job")
    assert last.loc["t_fail", "failures"] == 1 and last.loc["t_ok", "failures"] == 0
    assert last.loc["t_ok", "status"] == "done" and last.loc["t_fail", "status"] == "failed"


def test_retries_with_back_off_then_gives_up(tmp_path, test_jobs):
    url = f"duckdb:///{tmp_path / 'r.duckdb'}"
    waits: list[float] = []
    state, outcome, _ = runner.run_with_retries("t_flaky", url, delays=(0.5, 2.0), sleep=waits.append)
    assert (state, outcome.rows, waits) == ("done", 1, [0.5, 2.0])
    assert [(r["attempt"], r["status"]) for r in _runs(url, "t_flaky")] == [(1, "failed"), (2, "failed"), (3, "done")]
    waits.clear()
    state, outcome, error = runner.run_with_retries("t_fail", url, delays=(0.5, 2.0), sleep=waits.append)
    assert (state, outcome, waits, test_jobs["t_fail"]) == ("failed", None, [0.5, 2.0], 3)
    assert [r["status"] for r in _runs(url, "t_fail")] == ["failed"] * 3
    assert status.last_runs(url).set_index("job").loc["t_fail", "failures"] == 3


def test_weekday_numbers_follow_crontab():
    assert crontab_weekdays("1") == "mon"
    assert crontab_weekdays("0-2") == "sun,mon,tue"
    assert crontab_weekdays("7") == "sun"
    assert crontab_weekdays("*/2") == "sun,tue,thu,sat"
    assert crontab_weekdays("*") == "*"
    assert config.SETTINGS_BY_NAME["IOC_JOB_WEEKLY_BRIEFING_CRON"].read("0  7 * * 1") == "0 7 * * 1"
    with pytest.raises(ValueError):
        config.SETTINGS_BY_NAME["IOC_JOB_ALERTS_CRON"].read("*/5 * * *")


# ---------------------------------------------------------------- the CLI
def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def _feedback_db(url: str) -> None:
    """Areas and 70 days of feedback in one ward and category (3 series: city, category, area)."""
    import pandas as pd

    engine = make_engine(url)
    try:
        create_schema(engine, drop_first=True)
        load_areas(engine, config.city())
        with engine.connect() as connection:
            area = connection.execute(select(schema.areas.c.code).order_by(schema.areas.c.code)).scalar()
        days = pd.date_range(date(2026, 9, 1), periods=70, freq="D")
        rows = [(day + pd.Timedelta(hours=9 + k), area) for day in days for k in range(2 + day.day_of_week % 3)]
        frame = pd.DataFrame(rows, columns=["received_at", "area_code"])
        frame["id"] = range(1, len(frame) + 1)
        frame["source"], frame["source_id"] = "test", frame["id"].astype(str)
        frame["category"], frame["status"], frame["reopened"], frame["agency"] = "noise", "resolved", False, "UBND"
        frame["resolved_at"] = frame["received_at"] + pd.Timedelta(hours=30)
        for column in ("channel", "lat", "lon", "due_at", "first_response_at", "satisfaction"):
            frame[column] = None
        bulk_load(engine, schema.feedback, frame)
    finally:
        engine.dispose()


def test_jobs_run_forecasts_then_list(tmp_path, test_jobs):
    url = f"duckdb:///{tmp_path / 'f.duckdb'}"
    _feedback_db(url)
    code, out, err = _cli("--database-url", url, "jobs", "run", "forecasts", "--now", "2026-11-10T02:00", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["job"], result["now"], result["status"], result["rows"]) == (
        "forecasts",
        "2026-11-10T02:00:00",
        "done",
        3,
    )
    assert {m: v["series"] for m, v in result["quick"].items()} == {"feedback": 2}
    assert {m: v["series"] for m, v in result["full"].items()} == {"feedback": 3}
    [run] = _runs(url, "forecasts")
    assert (run["status"], run["rows"], run["error"]) == ("done", 3, None)
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            current = connection.execute(
                select(schema.forecast_runs.c.run_id).where(schema.forecast_runs.c.status == "current")
            ).scalars()
            assert list(current) == [result["full"]["feedback"]["run_id"]]
    finally:
        engine.dispose()

    code, out, _ = _cli("--database-url", url, "jobs", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [row["name"] for row in rows] == list(registry.load_all())
    assert set(rows[0]) == {
        "name",
        "schedule",
        "description",
        "last_run",
        "status",
        "rows",
        "failures",
        "error",
        "next_run",
        "scheduled",
    }
    forecasts = next(row for row in rows if row["name"] == "forecasts")
    assert (forecasts["schedule"], forecasts["status"], forecasts["rows"], forecasts["scheduled"]) == (
        "0 1 * * *",
        "done",
        3,
        False,
    )
    assert forecasts["next_run"].endswith("T01:00:00")

    assert _cli("--database-url", url, "jobs", "run", "t_fail", "--now", "2026-11-10T02:00")[0] == 1
    code, _, err = _cli("--database-url", url, "jobs", "run", "nope")
    assert code == 2 and "unknown job 'nope'" in err
    assert _cli("--database-url", url, "jobs", "run", "t_ok", "--now", "10/11/2026")[0] == 2


# ---------------------------------------------------------------- the worker
def _start(worker: Worker) -> tuple[threading.Thread, threading.Event, list[int]]:
    ops.ops_engine(worker.url)  # made once, here: the test's reads and the worker's writes then share it
    stop, result = threading.Event(), []
    thread = threading.Thread(target=lambda: result.append(worker.run(stop)), daemon=True)
    thread.start()
    return thread, stop, result


def _wait(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("backend", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_second_worker_waits_for_the_first(backend, tmp_path, request, test_jobs):
    url = f"duckdb:///{tmp_path / 'w.duckdb'}" if backend == "duckdb" else request.getfixturevalue("pg_url")
    _clean(url)
    first = WorkerLock(url)
    assert first.acquire()
    out = io.StringIO()
    worker = Worker(url, names=["t_tick"], out=out, lock_retry_seconds=0.1, crons={"t_tick": "*/1 * * * * *"})
    thread, stop, result = _start(worker)
    try:
        assert _wait(lambda: "waiting for it to stop" in out.getvalue())
        time.sleep(1.5)
        assert test_jobs.get("t_tick", 0) == 0  # nothing ran while the first worker held the lock
        first.release()
        assert _wait(lambda: test_jobs.get("t_tick", 0) >= 1)
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive() and result == [0]
    assert out.getvalue().count("waiting for it to stop") == 1


def test_worker_runs_scheduled_jobs_and_survives_the_database_going_away(tmp_path, test_jobs, monkeypatch):
    url = f"duckdb:///{tmp_path / 'live.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    load_areas(engine, config.city())
    engine.dispose()
    monkeypatch.setattr(runner, "RETRY_DELAYS", (0.05,))
    out = io.StringIO()
    worker = Worker(url, names=["t_probe"], out=out, crons={"t_probe": "*/1 * * * * *"})
    thread, stop, _ = _start(worker)
    path = duckdb_file(url)
    try:
        assert _wait(lambda: any(r["status"] == "done" for r in _runs(url, "t_probe")), 8)
        assert _runs(url, "t_probe")[0]["rows"] == 5
        shutil.move(path, tmp_path / "away.duckdb")
        assert _wait(lambda: any(r["status"] == "failed" for r in _runs(url, "t_probe")), 8)
        failed = next(r for r in _runs(url, "t_probe") if r["status"] == "failed")
        assert failed["error"] and failed["scheduled_for"] is not None
        seen = len(_runs(url, "t_probe"))
        shutil.move(tmp_path / "away.duckdb", path)
        assert _wait(lambda: _runs(url, "t_probe")[-1]["status"] == "done" and len(_runs(url, "t_probe")) > seen, 8)
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert "stopping" in out.getvalue()


class _Proxy:
    """A TCP relay to the PostgreSQL server that can be stopped (the database "goes away") and started again."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = 0
        self.sockets: list = []
        self.listener = None

    def start(self) -> None:
        import socket

        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener) -> None:
        import socket

        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.close()
                except OSError:
                    pass

    def stop(self) -> None:
        import socket

        self.listener.close()
        for end in self.sockets:
            try:
                end.shutdown(socket.SHUT_RDWR)
                end.close()
            except OSError:
                pass
        self.sockets.clear()


@pytest.mark.postgres
def test_worker_survives_postgres_going_away(pg_url, test_jobs, monkeypatch):
    from sqlalchemy.engine import make_url

    real = make_url(pg_url)
    proxy = _Proxy(real.host, real.port or 5432)
    proxy.start()
    url = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(pg_url)
    create_schema(engine, drop_first=True)
    load_areas(engine, config.city())
    engine.dispose()
    _clean(pg_url)
    monkeypatch.setattr(runner, "RETRY_DELAYS", (0.05,))
    out = io.StringIO()
    worker = Worker(url, names=["t_probe"], out=out, crons={"t_probe": "*/1 * * * * *"})
    thread, stop, _ = _start(worker)
    try:
        assert _wait(lambda: any(r["status"] == "done" for r in _runs(pg_url, "t_probe")), 8)
        proxy.stop()
        before = test_jobs["t_probe"]
        seen = len(_runs(pg_url, "t_probe"))
        time.sleep(3)
        assert test_jobs["t_probe"] > before  # the worker kept running its schedule while the database was away
        proxy.start()
        assert _wait(
            lambda: len(_runs(pg_url, "t_probe")) > seen and _runs(pg_url, "t_probe")[-1]["status"] == "done", 20
        )
    finally:
        stop.set()
        thread.join(15)
        proxy.stop()
    assert not thread.is_alive()
    with ops.ops_engine(pg_url).connect() as connection:  # the job store keeps the URL without its password
        states = connection.execute(text("SELECT job_state FROM apscheduler_jobs")).scalars().all()
    assert states and all(f":{real.password}@".encode() not in bytes(s) and b":***@" in bytes(s) for s in states)


def test_a_recipients_file_that_cannot_be_used_stops_the_worker_before_it_runs(
    demo_copy_url, tmp_path, test_jobs, monkeypatch
):
    from dashboard.jobs.recipients import known_agencies

    engine = make_engine(demo_copy_url, read_only=True)
    agency = sorted(known_agencies(engine))[0]
    engine.dispose()
    path = tmp_path / "recipients.yaml"
    monkeypatch.setenv("IOC_RECIPIENTS_FILE", str(path))
    path.write_text(
        f'leaders:\n  emails: [ld@hue.gov.vn]\nagencies:\n  "{agency}":\n    emails: [a@hue.gov.vn]\n'
        '  "Sở Không Có":\n    emails: [b@hue.gov.vn]\n',
        encoding="utf-8",
    )
    out = io.StringIO()
    assert Worker(demo_copy_url, names=["t_ok"], out=out).run(threading.Event()) == 2
    assert f"error: {path} line 6: unknown agency 'Sở Không Có'" in out.getvalue()
    assert test_jobs.get("t_ok", 0) == 0 and _runs(demo_copy_url, "t_ok") == []

    path.write_text(f'leaders:\n  emails: [ld@hue.gov.vn]\nagencies:\n  "{agency}":\n    emails: [a@hue.gov.vn]\n')
    out = io.StringIO()
    worker = Worker(demo_copy_url, names=["t_ok"], out=out, crons={"t_ok": "0 0 1 1 *"})
    thread, stop, result = _start(worker)
    assert _wait(lambda: "running 1 jobs" in out.getvalue())
    stop.set()
    thread.join(15)
    assert result == [0] and f"recipients: {path}: 1 agencies, 1 leader addresses" in out.getvalue()


def test_run_on_start_and_a_restart_neither_loses_nor_repeats_a_run(tmp_path, test_jobs):
    from zoneinfo import ZoneInfo

    url = f"duckdb:///{tmp_path / 'restart.duckdb'}"
    registry.JOBS["t_ok"] = registry.Job("t_ok", "0 1 * * *", registry.JOBS["t_ok"].run, "", run_on_start=True)
    out = io.StringIO()
    # run_on_start: once at start although the schedule is months away
    first = Worker(url, names=["t_ok"], out=out, crons={"t_ok": "0 1 1 1 *"})
    thread, stop, _ = _start(first)
    assert _wait(lambda: test_jobs.get("t_ok") == 1)
    stop.set()
    thread.join(15)
    # a fire time a few seconds ahead; the worker stops before it and starts again after it
    fire = datetime.now(ZoneInfo(config.timezone())) + timedelta(seconds=3)
    cron = f"{fire.second} {fire.minute} {fire.hour} {fire.day} {fire.month} *"
    second = Worker(url, names=["t_tick"], out=out, crons={"t_tick": cron})
    thread, stop, _ = _start(second)
    assert _wait(lambda: out.getvalue().count("running 1 jobs") == 2)  # its own line (the first's is in `out` too)
    stop.set()
    thread.join(15)
    assert test_jobs.get("t_tick", 0) == 0
    time.sleep(max(0.0, (fire - datetime.now(fire.tzinfo)).total_seconds()) + 1.0)
    third = Worker(url, names=["t_tick"], out=out, crons={"t_tick": cron})
    thread, stop, _ = _start(third)
    assert _wait(lambda: test_jobs.get("t_tick", 0) == 1)  # the missed run, once
    stop.set()
    thread.join(15)
    fourth = Worker(url, names=["t_tick"], out=out, crons={"t_tick": cron})
    thread, stop, _ = _start(fourth)
    assert _wait(lambda: out.getvalue().count("running 1 jobs") == 4)
    time.sleep(1.5)
    stop.set()
    thread.join(15)
    assert test_jobs["t_tick"] == 1  # not repeated
    assert [r["status"] for r in _runs(url, "t_tick")] == ["done"]


def test_quality_page_shows_the_last_run_of_every_job(monkeypatch, demo_copy_url):
    from page_support import run_app

    from dashboard.i18n import t
    from dashboard.navigation import PAGES
    from dashboard.safe_text import markdown_text

    _clean(demo_copy_url)
    with ops.ops_engine(demo_copy_url).begin() as connection:
        for status_, error in (("done", None), ("failed", "ValueError: boom\ntrace"), ("failed", "OSError: gone\nx")):
            connection.execute(
                ops.job_runs.insert().values(
                    job="alerts" if status_ == "failed" else "forecasts",
                    started_at=NOW,
                    finished_at=NOW,
                    status=status_,
                    rows=7 if status_ == "done" else None,
                    error=error,
                )
            )
    page = str(next(spec.path for spec in PAGES if spec.key == "quality"))
    app = run_app(monkeypatch, demo_copy_url, {"lang": "en"}, page)
    assert not app.exception, [e.message for e in app.exception]
    assert [w.body for w in app.warning if t("quality.job.alerts", "en") in w.body] == [
        t("quality.jobs.failing", "en", job=t("quality.job.alerts", "en"), failures=2)
        + " "
        + markdown_text("OSError: gone")
    ]
    jobs = next(f.value for f in app.dataframe if t("quality.col.job", "en") in f.value.columns)
    by_job = jobs.set_index(t("quality.col.job", "en"))
    assert by_job.loc[t("quality.job.forecasts", "en"), t("quality.col.job_status", "en")] == t(
        "quality.import_status.done", "en"
    )
    assert by_job.loc[t("quality.job.forecasts", "en"), t("quality.col.rows", "en")] == "7"
    assert by_job.loc[t("quality.job.alerts", "en"), t("quality.col.error", "en")] == "OSError: gone"
    assert by_job.loc[t("quality.job.alerts", "en"), t("quality.col.failures", "en")] == "2"
