"""Writes never take the dashboard offline, and a database that hangs is given up on in time.

* DuckDB: readers attach the file read-only and notice a replaced or deleted file; writers change a copy that
  replaces the served file atomically; the CLI writes and reads beside a polling reader process without one error.
* Time limits: a DuckDB query and a frozen PostgreSQL backend are interrupted at the deadline; a server that accepts
  and never answers fails within the connect timeout, and the queries after it fail at once.
* The wall marks every source stale when its own fetch fails.
* The engine survives Streamlit's "clear cache".
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from dashboard.db import engine as db_engine
from dashboard.db.engine import (
    DatabaseNotInitialised,
    DatabaseUnavailable,
    create_schema,
    fetch_one,
    make_engine,
    shared_engine,
    writing,
)
from dashboard.wall import rules as wall

ROOT = Path(__file__).resolve().parent.parent
COUNT = text("SELECT count(*) AS n FROM feedback")


@pytest.fixture
def served(tmp_path, demo_db_url) -> str:
    """A private copy of the demo database that the test may write and replace."""
    path = tmp_path / "served.duckdb"
    shutil.copyfile(db_engine.duckdb_file(demo_db_url), path)
    return f"duckdb:///{path}"


def _count(engine) -> int:
    return int(fetch_one(engine, COUNT)["n"])


# ---------------------------------------------------------------- one writer, many readers
def test_writer_changes_a_copy_and_readers_see_it_only_when_it_is_complete(served):
    reader = make_engine(served, read_only=True)
    before = _count(reader)
    with writing(served) as engine:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM feedback WHERE id % 2 = 0"))
        with engine.connect() as connection:
            during_writer = connection.execute(COUNT).scalar_one()
        assert _count(reader) == before  # the served file is untouched while the write runs
    after = _count(reader)
    assert after == during_writer < before
    with pytest.raises(ZeroDivisionError), writing(served) as engine:  # a failed write changes nothing
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM feedback"))
        raise ZeroDivisionError
    with writing(served, keep=False) as engine, engine.begin() as connection:  # a dry run changes nothing either
        connection.execute(text("DELETE FROM feedback"))
    assert _count(reader) == after
    folder = db_engine.duckdb_file(served).parent
    assert sorted(p.name for p in folder.iterdir()) == ["served.duckdb", "served.duckdb.lock"]  # no copy left behind
    reader.dispose()


def test_a_copy_left_by_a_killed_writer_is_removed_by_the_next_write(served):
    path = db_engine.duckdb_file(served)
    leftover = path.with_name(f".{path.name}.999999.deadbeef.writing")
    leftover.write_bytes(b"half a database")
    leftover.with_name(leftover.name + ".wal").write_bytes(b"wal")
    with writing(served, keep=False):
        pass
    assert sorted(p.name for p in path.parent.iterdir()) == ["served.duckdb", "served.duckdb.lock"]


def test_a_replaced_or_deleted_file_is_noticed_by_an_open_reader(served, tmp_path):
    reader = make_engine(served, read_only=True)
    before = _count(reader)
    other = tmp_path / "other.duckdb"
    shutil.copyfile(db_engine.duckdb_file(served), other)
    with writing(f"duckdb:///{other}") as engine, engine.begin() as connection:
        connection.execute(text("DELETE FROM feedback WHERE id % 3 = 0"))
    expected = _count(make_engine(f"duckdb:///{other}", read_only=True))
    os.replace(other, db_engine.duckdb_file(served))  # what an operator's `cp new.duckdb data/ioc.duckdb` amounts to
    assert _count(reader) == expected != before
    db_engine.duckdb_file(served).unlink()
    with pytest.raises(DatabaseNotInitialised, match="does not exist"):
        _count(reader)
    reader.dispose()


def test_writers_queue_on_the_lock_and_none_is_lost(served):
    """Two writers at once: the second waits for the first and starts from its result (no lost update)."""
    reader = make_engine(served, read_only=True)
    before = _count(reader)
    first_inside = threading.Event()

    def first() -> None:
        with writing(served) as engine:
            with engine.begin() as connection:
                connection.execute(text("DELETE FROM feedback WHERE id % 2 = 0"))
            first_inside.set()
            time.sleep(1.0)

    thread = threading.Thread(target=first)
    thread.start()
    first_inside.wait(10)
    started = time.monotonic()
    with writing(served) as engine:
        waited = time.monotonic() - started
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM feedback WHERE id % 2 = 1"))
    thread.join()
    assert waited >= 0.5
    assert _count(reader) == 0 < before
    reader.dispose()


def test_cli_writes_and_reads_beside_a_polling_reader_process(served, tmp_path):
    """The CLI import, an admin upload, `demo`, `init-db`, `kpi` and `brief` all succeed while another process polls
    the overview's queries; no poll sees an error and none waits longer than 5 s."""
    from dashboard.bench import writes as bench_writes

    result = bench_writes.run(served, rows=5_000, folder=tmp_path)
    assert [(c["command"], c["exit"]) for c in result["commands"]] == [
        ("import feedback", 0),
        ("upload feedback", 0),
        ("demo --scale", 0),
        ("init-db", 0),
        ("kpi --from", 0),
        ("brief --out", 0),
    ]
    assert result["commands"][1]["inserted"] > 0
    assert result["errors"] == []
    assert result["polls"] >= 20
    assert result["max_wait_seconds"] <= 5.0


@pytest.mark.postgres
def test_postgres_writes_and_reads_beside_a_polling_reader_process(pg_url, tmp_path):
    """The same on PostgreSQL: `demo` builds a schema of its own and swaps it in, so no poll sees a missing table."""
    from dashboard.bench import writes as bench_writes
    from dashboard.demo.generator import build_demo

    with writing(pg_url, fresh=True) as engine:
        build_demo(engine, seed=3, scale=0.02, start=date.today() - timedelta(days=60))
    result = bench_writes.run(pg_url, rows=2_000, folder=tmp_path)
    assert [c["exit"] for c in result["commands"]] == [0, 0, 0, 0, 0, 0], result["commands"]
    assert result["errors"] == []
    assert result["max_wait_seconds"] <= 5.0


@pytest.mark.postgres
def test_a_fresh_postgres_build_replaces_only_its_own_tables_and_a_failed_one_nothing(pg_url):
    engine = make_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS not_ours"))
        connection.execute(text("CREATE TABLE not_ours (v int)"))
        connection.execute(text("INSERT INTO not_ours VALUES (7)"))
    with writing(pg_url, fresh=True) as build:
        create_schema(build)
        with build.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO areas (code, name, name_ascii, kind, population_is_estimate) VALUES ('1', 'A', 'a', 'ward', true)"
                )
            )
    with pytest.raises(ZeroDivisionError), writing(pg_url, fresh=True) as build:
        create_schema(build)
        raise ZeroDivisionError
    with engine.connect() as connection:
        assert connection.execute(text("SELECT code FROM areas")).scalars().all() == ["1"]
        assert connection.execute(text("SELECT v FROM not_ours")).scalar_one() == 7
        schemas = connection.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ioc_%'")).scalars()
        assert list(schemas) == []
        connection.execute(text("DROP TABLE not_ours"))
        connection.commit()
    engine.dispose()


# ---------------------------------------------------------------- time limits
def test_a_duckdb_query_is_interrupted_at_the_deadline(served, monkeypatch):
    monkeypatch.setenv("IOC_STATEMENT_TIMEOUT_SECONDS", "1")
    reader = make_engine(served, read_only=True)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="did not answer within 1 s"):
        fetch_one(reader, text("SELECT count(*) FROM range(1000000000000) a, range(10) b"))
    assert time.monotonic() - started < 4
    assert _count(reader) > 0  # the engine is usable again at once
    reader.dispose()


@pytest.fixture
def silent_server():
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_server_that_never_answers_fails_within_the_connect_timeout(silent_server, monkeypatch):
    monkeypatch.setenv("IOC_CONNECT_TIMEOUT_SECONDS", "2")
    url = f"postgresql+psycopg://ioc:secret@127.0.0.1:{silent_server}/ioc"
    engine = make_engine(url)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as raised:
        fetch_one(engine, text("SELECT 1"))
    first = time.monotonic() - started
    assert 1.5 <= first < 6, first
    assert "secret" not in str(raised.value)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="did not answer a moment ago"):
        fetch_one(engine, text("SELECT 1"))  # the next query does not wait again
    assert time.monotonic() - started < 0.5
    engine.dispose()
    db_engine._unanswered_since.clear()


@pytest.mark.postgres
def test_a_frozen_postgres_backend_is_given_up_at_the_deadline(pg_url, monkeypatch):
    """SIGSTOP on the backend serving our connection: the server's own statement_timeout can never fire, the
    client's deadline (statement timeout + grace) must."""
    monkeypatch.setenv("IOC_STATEMENT_TIMEOUT_SECONDS", "1")
    engine = make_engine(pg_url)
    pid = int(fetch_one(engine, text("SELECT pg_backend_pid() AS pid"))["pid"])
    try:
        os.kill(pid, signal.SIGSTOP)
    except PermissionError:
        pytest.skip("the test user may not signal the PostgreSQL backend (CI runs as root)")
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="did not answer within 6 s"):
            fetch_one(engine, text("SELECT pg_sleep(0.1)"))
        assert time.monotonic() - started < 9
    finally:
        os.kill(pid, signal.SIGCONT)
    db_engine._unanswered_since.clear()
    assert fetch_one(engine, text("SELECT 41 + 1 AS n"))["n"] == 42  # a new connection works at once
    engine.dispose()


# ---------------------------------------------------------------- the wall and the cache
def test_sources_are_stale_when_the_fetch_fails_whatever_the_last_records_said():
    from datetime import datetime

    now = datetime(2026, 11, 20, 14, 37)
    newest = {"feedback": now, "dossiers": now, "traffic": now}
    thresholds = {"feedback": 60, "dossiers": 1440, "traffic": 30}
    live = wall.all_freshness(newest, now, thresholds)
    assert [wall.freshness_status(item, 60) for item in live] == ["live", "live", "live"]
    failed = wall.all_freshness(newest, now, thresholds, reachable=False)
    assert [(item.live, wall.freshness_status(item, 60)) for item in failed] == [(False, "stale")] * 3
    alerts = wall.build_alerts(failed, None, 0, None, 3, None)
    assert [(alert.kind, alert.level) for alert in alerts] == [("unreachable", "critical")]


def test_wall_against_a_server_that_never_answers_shows_the_banner_and_no_live_source(silent_server, monkeypatch):
    monkeypatch.setenv("IOC_CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("IOC_DATABASE_URL", f"postgresql+psycopg://ioc:x@127.0.0.1:{silent_server}/ioc")
    app = AppTest.from_file(str(ROOT / "pages" / "wall.py"), default_timeout=60)
    app.query_params["panels"] = "overview,map"
    started = time.monotonic()
    app.run()
    seconds = time.monotonic() - started
    db_engine._unanswered_since.clear()
    assert not app.exception, [e.message for e in app.exception]
    html = "\n".join(element.proto.body for element in app.html)
    assert 'data-testid="wall-banner"' in html
    assert html.count('data-reachable="false"') == 3 and 'data-live="true"' not in html
    assert "không trả lời" in html
    assert 'data-kind="unreachable"' in html and 'data-kind="no_data"' not in html  # the ticker says why
    assert seconds < 20, seconds  # one connect timeout, not one per panel query


def test_clearing_streamlits_caches_keeps_the_engine(served):
    from dashboard.web import cache

    engine = cache.engine_for(served)
    st.cache_data.clear()
    st.cache_resource.clear()
    assert cache.engine_for(served) is engine
    assert shared_engine(served, read_only=True) is engine
    engine.dispose()


def test_a_cli_write_gives_up_with_exit_2_when_another_writer_holds_the_lock_too_long(served, tmp_path):
    """A writer that waits longer than IOC_WRITE_LOCK_TIMEOUT_SECONDS gives up with one line and exit 2."""
    import fcntl

    lock = db_engine.duckdb_file(served).with_name("served.duckdb.lock")
    with open(lock, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        done = subprocess.run(
            [sys.executable, "-m", "dashboard", "--database-url", served, "demo", "--scale", "0.01"],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
            env={**os.environ, "IOC_WRITE_LOCK_TIMEOUT_SECONDS": "1"},
        )
    assert done.returncode == 2, done.stderr
    assert "held it for more than 1 s" in done.stderr and "Traceback" not in done.stderr
