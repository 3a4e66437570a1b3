"""Read replica (IOC_DATABASE_READ_URL, issue 20): the setting's checks, page queries routed to the replica and back
to the primary when it does not answer, and — on two throwaway PostgreSQL clusters, a primary and a streaming replica
made with pg_basebackup -R — an import into the primary read from the replica, the replica refusing writes, and the
data-quality page showing the replica's lag.

The cluster tests need root and Debian's postgresql packages (pg_createcluster, pg_basebackup); without the packages
they skip, and on CI (CI=true) with the packages present they must run (not being root then fails them). They never
touch the machine's other clusters: theirs are named ioc_rp_primary_<pid> / ioc_rp_replica_<pid> and dropped at the
end, also after a failure."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from page_support import run_page
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from dashboard import config
from dashboard.cli import main
from dashboard.db import engine as db_engine
from dashboard.db import replica
from dashboard.db.engine import DatabaseError, execute, fetch_one
from dashboard.i18n import t
from dashboard.navigation import PAGES
from dashboard.safe_text import markdown_text
from dashboard.web import cache, replica_status

QUALITY_PAGE = str(next(spec.path for spec in PAGES if spec.key == "quality"))
TOOLS = ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "pg_basebackup", "runuser", "psql")
ROLE = PASSWORD = DATABASE = "ioc_rp"
PRIMARY = f"ioc_rp_primary_{os.getpid()}"
REPLICA = f"ioc_rp_replica_{os.getpid()}"
FEEDBACK_CSV = (
    "Mã phản ánh,Thời gian tiếp nhận,Lĩnh vực,Trạng thái\n"
    "RP-1,2026-11-02 08:15,Rác thải,Đã tiếp nhận\n"
    "RP-2,2026-11-02 09:40,Đèn đường,Đã xử lý\n"
    "RP-3,2026-11-03 14:05,Ngập úng,Đang xử lý\n"
)


@pytest.fixture(autouse=True)
def _fresh_routing() -> Iterator[None]:
    """Every test starts with no replica set aside and no cached page results."""
    replica.forget()
    st.cache_data.clear()
    yield
    replica.forget()
    st.cache_data.clear()


def port_of(engine: Engine) -> int:
    """A stand-in page query: which server answered (the port of the engine it was given)."""
    return fetch_one(engine, text("SELECT inet_server_port() AS port"))["port"]


# ---------------------------------------------------------------- the setting (no server needed)
def test_read_url_defaults_to_the_database_url(monkeypatch):
    monkeypatch.setenv("IOC_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/ioc")
    monkeypatch.delenv("IOC_DATABASE_READ_URL", raising=False)
    assert config.database_read_url() == "postgresql+psycopg://u:p@127.0.0.1:5432/ioc"
    assert not [p for p in config.problems() if p.setting.name == "IOC_DATABASE_READ_URL"]
    monkeypatch.setenv("IOC_DATABASE_READ_URL", "postgresql+psycopg://u:p@10.0.0.2:5432/ioc")
    assert config.database_read_url() == "postgresql+psycopg://u:p@10.0.0.2:5432/ioc"
    assert cache.current_url() == "postgresql+psycopg://u:p@127.0.0.1:5432/ioc"  # writes keep the primary
    assert cache.read_url() == "postgresql+psycopg://u:p@10.0.0.2:5432/ioc"


def test_a_read_url_that_is_not_postgresql_is_refused_with_its_password_hidden(monkeypatch):
    monkeypatch.setenv("IOC_DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:5432/ioc")
    monkeypatch.setenv("IOC_DATABASE_READ_URL", "mysql://reader:s3cret@db/ioc")
    [problem] = [p for p in config.problems() if p.setting.name == "IOC_DATABASE_READ_URL"]
    assert problem.text("en") == (
        "Setting IOC_DATABASE_READ_URL = 'mysql://reader:***@db/ioc' (environment) cannot be used: it must be empty, "
        "or the URL of a PostgreSQL database such as postgresql+psycopg://user:pass@host:5432/db."
    )
    with pytest.raises(config.SettingError):
        config.database_read_url()
    for bad in ("postgresql+psycopg://u:p@db", "postgresql+nosuch://u@db/ioc", "postgres://u@db/ioc", "db/ioc"):
        with pytest.raises(ValueError):
            config.postgresql_url(bad)
    assert config.postgresql_url(" postgresql://u@db:5433/ioc ") == "postgresql://u@db:5433/ioc"


def test_a_read_replica_beside_duckdb_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("IOC_DATABASE_URL", "duckdb:///data/ioc.duckdb")
    monkeypatch.setenv("IOC_DATABASE_READ_URL", "postgresql+psycopg://reader:s3cret@10.0.0.2/ioc")
    [problem] = [p for p in config.problems() if p.setting.name == "IOC_DATABASE_READ_URL"]
    assert problem.text("en") == (
        "Setting IOC_DATABASE_READ_URL = 'postgresql+psycopg://reader:***@10.0.0.2/ioc' (environment) cannot be used: "
        "it must be empty while IOC_DATABASE_URL is not PostgreSQL (a read replica is a PostgreSQL streaming replica "
        "of the primary database; DuckDB has none)."
    )
    assert "DuckDB không có bản sao" in problem.text("vi")
    with pytest.raises(config.SettingError):
        config.database_read_url()
    assert main(["info"]) == 2  # the CLI stops before anything starts, without a traceback
    err = capsys.readouterr().err
    assert "IOC_DATABASE_READ_URL" in err and "s3cret" not in err and "Traceback" not in err


# ---------------------------------------------------------------- routing and fallback (the test PostgreSQL database)
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_pages_read_the_primary_while_the_replica_does_not_answer(monkeypatch, pg_url, caplog):
    primary_port = make_url(pg_url).port
    down = make_url(pg_url).set(port=_closed_port()).render_as_string(hide_password=False)
    monkeypatch.setenv("IOC_DATABASE_URL", pg_url)
    monkeypatch.setenv("IOC_DATABASE_READ_URL", down)
    with caplog.at_level(logging.WARNING, logger="dashboard.db.replica"):
        assert cache.query(port_of, ttl=0) == primary_port  # refused on the replica, answered by the primary
        assert cache.query(port_of) == primary_port  # set aside: the cached path goes to the primary directly
    assert cache.read_url() == pg_url
    assert replica.set_aside_reason(down) is not None
    warnings = [r.getMessage() for r in caplog.records if r.name == "dashboard.db.replica"]
    assert len(warnings) == 1 and warnings[0].startswith("read replica postgresql+psycopg://")
    assert "set aside for 30 s, pages read the primary" in warnings[0]
    kind, line = replica_status.line("en")
    port = make_url(down).port
    assert (kind, line) == (
        "warning",
        f"Read replica `127.0.0.1:{port}/{make_url(down).database}` did not answer "
        + "("
        + markdown_text(
            f'connection failed: connection to server at "127.0.0.1", port {port} failed: Connection refused'
        )
        + "): the pages read the primary database and ask the replica again in 30 s.",
    )
    monkeypatch.setattr(replica, "SET_ASIDE_SECONDS", 0.0)  # its time is up: asked again (and down again)
    assert cache.read_url() == down
    assert cache.query(port_of, ttl=0) == primary_port


def test_other_errors_on_the_replica_are_not_hidden(monkeypatch, pg_url):
    monkeypatch.setenv("IOC_DATABASE_URL", pg_url)
    monkeypatch.setenv("IOC_DATABASE_READ_URL", make_url(pg_url).set(port=_closed_port()).render_as_string(False))
    assert not replica.should_fall_back(DatabaseError("Query failed on x: syntax error"))
    assert replica.should_fall_back(db_engine.DatabaseUnavailable("Cannot use the database"))
    assert replica.should_fall_back(DatabaseError("canceling statement due to conflict with recovery"))


def test_a_statement_timeout_on_the_replica_is_not_run_again_on_the_primary(monkeypatch, pg_url):
    monkeypatch.setattr(db_engine, "_unanswered_since", {})  # the breaker must not remember the test database

    def slow(connection):
        connection.execute(text("SET statement_timeout = 50"))
        connection.execute(text("SELECT pg_sleep(2)"))

    with pytest.raises(db_engine.DatabaseUnavailable) as caught:
        db_engine.run(cache.engine_for(pg_url), slow)
    assert "did not answer within" in str(caught.value)  # the same words as a server that does not answer …
    assert not replica.should_fall_back(caught.value)  # … but it answered: the primary would be as slow


def test_the_quality_line_without_a_replica_says_not_measured(monkeypatch, tmp_path):
    monkeypatch.setenv("IOC_DATABASE_URL", f"duckdb:///{tmp_path / 'x.duckdb'}")
    monkeypatch.delenv("IOC_DATABASE_READ_URL", raising=False)
    assert replica_status.line("vi") == ("caption", t("quality.replica.none", "vi"))
    assert t("quality.replica.none", "vi").startswith("Bản sao đọc: chưa đo")


# ---------------------------------------------------------------- a real primary and streaming replica
def _cluster_problem() -> str | None:
    """Why the cluster tests cannot run here (None: they can). Missing packages skip them everywhere."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")):
        missing.append("the server (/usr/lib/postgresql/*/bin/postgres)")
    if missing:
        return f"the postgresql packages are not installed (missing {', '.join(missing)})"
    if os.geteuid() != 0:
        return "creating PostgreSQL clusters needs root"
    return None


def _version() -> str:
    versions = sorted((p.parent.parent.name for p in Path("/usr/lib/postgresql").glob("*/bin/postgres")), key=float)
    return versions[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(*command: str, env: dict | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, f"{' '.join(command)} failed ({done.returncode}): {done.stderr or done.stdout}"
    return done.stdout


def _drop(version: str, name: str) -> None:
    """Stop (immediately: the cluster is thrown away) and drop one of this module's clusters, if it exists."""
    subprocess.run(["pg_ctlcluster", version, name, "stop", "-m", "immediate"], capture_output=True, timeout=60)
    subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True, timeout=120)


def _eventually(read, expected, seconds: float = 10.0):
    """`read()` once it returns `expected` (the replica replays the primary's changes a moment later); a table not
    replayed yet counts as not there yet."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = read()
        except DatabaseError as error:
            value = error
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


@contextlib.contextmanager
def replica_clusters(primary: str = PRIMARY, standby: str = REPLICA) -> Iterator[dict]:
    """A primary and a streaming replica of it (pg_basebackup -R), each on a free port; both dropped afterwards.
    Yields their URLs (role and database ioc_rp), ports, the PostgreSQL version and the set-up time."""
    version = _version()
    started = time.monotonic()
    for name in (primary, standby):
        _drop(version, name)  # a leftover of an earlier run with the same pid
    primary_port, replica_port = _free_port(), _free_port()
    fast = ["-o", "fsync=off", "-o", "synchronous_commit=off", "-o", "full_page_writes=off"]
    common = ["-o", "listen_addresses=localhost", "-o", "ssl=off", "-o", "shared_buffers=16MB"]
    try:
        _run(
            "pg_createcluster", version, primary, "-p", str(primary_port), "--start",
            *common, *fast, "-o", "max_wal_senders=4", "--", "--auth-local=trust", "--no-sync",
        )  # fmt: skip
        _run(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-p", str(primary_port), "-d", "postgres",
            "-c", f"CREATE ROLE {ROLE} LOGIN REPLICATION PASSWORD '{PASSWORD}'",
            "-c", f"CREATE DATABASE {DATABASE} OWNER {ROLE}",
        )  # fmt: skip
        datadir = Path(f"/var/lib/postgresql/{version}/{standby}")
        _run(
            "runuser", "-u", "postgres", "--", "env", f"PGPASSWORD={PASSWORD}",
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary_port), "-U", ROLE,
            "-D", str(datadir), "-R", "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        for conf in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):  # pg_createcluster adopts the directory
            shutil.copy(f"/etc/postgresql/{version}/{primary}/{conf}", datadir / conf)
            shutil.chown(datadir / conf, "postgres", "postgres")
        _run("pg_createcluster", version, standby, "-p", str(replica_port), "-d", str(datadir), "--start")
        url = "postgresql+psycopg://{role}:{password}@127.0.0.1:{port}/{db}"
        yield {
            "version": version,
            "replica_cluster": standby,
            "primary": url.format(role=ROLE, password=PASSWORD, port=primary_port, db=DATABASE),
            "replica": url.format(role=ROLE, password=PASSWORD, port=replica_port, db=DATABASE),
            "primary_port": primary_port,
            "replica_port": replica_port,
            "setup_seconds": time.monotonic() - started,
        }
    finally:
        for name in (standby, primary):
            _drop(version, name)
        db_engine.shared_engine.cache_clear()


@pytest.fixture(scope="module")
def clusters() -> Iterator[dict]:
    """`replica_clusters()` for this module's tests, or the reason they cannot run here."""
    if (problem := _cluster_problem()) is not None:
        if os.environ.get("CI") and "packages" not in problem:
            pytest.fail(f"CI=true and the postgresql packages are present, but {problem}")
        pytest.skip(problem)
    with replica_clusters() as made:
        yield made


@pytest.fixture(scope="module")
def loaded(clusters, tmp_path_factory) -> dict:
    """init-db and a three-row feedback import on the primary, with both URLs set as the app would have them."""
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IOC_DATABASE_URL", clusters["primary"])
        patch.setenv("IOC_DATABASE_READ_URL", clusters["replica"])
        csv = tmp_path_factory.mktemp("replica") / "phan_anh.csv"
        csv.write_text(FEEDBACK_CSV, encoding="utf-8")
        assert main(["init-db"]) == 0
        assert main(["import", "feedback", str(csv), "--source", "rp_test"]) == 0
    clusters["load_seconds"] = time.monotonic() - started
    return clusters


def _count_on(engine: Engine) -> int:
    return fetch_one(engine, text("SELECT count(*) AS n FROM feedback WHERE source = 'rp_test'"))["n"]


def test_an_import_into_the_primary_is_read_from_the_replica(monkeypatch, loaded):
    monkeypatch.setenv("IOC_DATABASE_URL", loaded["primary"])
    monkeypatch.setenv("IOC_DATABASE_READ_URL", loaded["replica"])
    replica_engine = cache.engine_for(loaded["replica"])
    assert _eventually(lambda: _count_on(replica_engine), 3) == 3
    assert cache.query(port_of, ttl=0) == loaded["replica_port"]  # page queries go to the replica
    assert cache.query(_count_on) == 3
    assert fetch_one(replica_engine, text("SELECT pg_is_in_recovery() AS r"))["r"] is True


def test_the_replica_refuses_writes_and_the_apps_writes_go_to_the_primary(monkeypatch, loaded):
    monkeypatch.setenv("IOC_DATABASE_URL", loaded["primary"])
    monkeypatch.setenv("IOC_DATABASE_READ_URL", loaded["replica"])
    with pytest.raises(DatabaseError, match="read-only transaction"):
        execute(cache.engine_for(cache.read_url()), text("DELETE FROM feedback"))
    with cache.writable_engine() as engine:
        assert engine.url.port == loaded["primary_port"]
    # an operational-store write (an event, like the events page's form) through the app's own command
    assert main(["events", "add", "--kind", "weather", "--title", "Bão thử", "--from", "2026-11-02"]) == 0
    replica_engine = cache.engine_for(loaded["replica"])
    query = text("SELECT count(*) AS n FROM events WHERE title = 'Bão thử'")
    assert _eventually(lambda: fetch_one(replica_engine, query)["n"], 1) == 1
    assert _count_on(replica_engine) == 3  # the refused DELETE changed nothing


def test_the_lag_is_measured_not_inferred_from_an_idle_primary(loaded):
    lag = replica.measure(cache.engine_for(loaded["primary"]), cache.engine_for(loaded["replica"]))
    assert lag.in_recovery and lag.caught_up and lag.behind_bytes == 0
    assert 0 <= lag.seconds < 1.0
    not_a_replica = replica.measure(cache.engine_for(loaded["primary"]), cache.engine_for(loaded["primary"]))
    assert not_a_replica == replica.Lag(None, False, None, False)


def test_the_quality_page_shows_the_replica_lag(monkeypatch, loaded):
    monkeypatch.setenv("IOC_DATABASE_READ_URL", loaded["replica"])
    app = run_page(monkeypatch, loaded["primary"], {"lang": "en"}, QUALITY_PAGE)
    lines = [c.value for c in app.caption if c.value.startswith("Read replica")]
    assert len(lines) == 1, [c.value for c in app.caption] + [w.body for w in app.warning]
    assert re.fullmatch(
        r"Read replica: lag (< 0\.1|\d+\.\d) s \(it had applied every change of the primary database within that "
        r"time; the pages read `127\.0\.0\.1:\d+/ioc_rp`\)\.",
        lines[0],
    ), lines[0]
    kind, vi = replica_status.line("vi")
    assert kind == "caption" and re.match(r"Bản sao đọc: trễ (< 0,1|\d+,\d) s \(đã áp dụng mọi thay đổi", vi), vi


def test_pages_fall_back_to_the_primary_when_the_replica_stops_and_come_back(monkeypatch, loaded, caplog):
    monkeypatch.setenv("IOC_DATABASE_URL", loaded["primary"])
    monkeypatch.setenv("IOC_DATABASE_READ_URL", loaded["replica"])
    monkeypatch.setattr(db_engine, "BREAKER_SECONDS", 0.0)
    assert cache.query(port_of, ttl=0) == loaded["replica_port"]
    _run("pg_ctlcluster", loaded["version"], loaded["replica_cluster"], "stop", "-m", "fast")
    with caplog.at_level(logging.WARNING, logger="dashboard.db.replica"):
        assert cache.query(port_of, ttl=0) == loaded["primary_port"]
        assert cache.query(_count_on) == 3
        assert replica_status.line("en")[0] == "warning"
        _run("pg_ctlcluster", loaded["version"], loaded["replica_cluster"], "start")
        monkeypatch.setattr(replica, "SET_ASIDE_SECONDS", 0.0)
        assert cache.query(port_of, ttl=0) == loaded["replica_port"]
    messages = [r.getMessage() for r in caplog.records if r.name == "dashboard.db.replica"]
    assert len(messages) == 2 and "set aside" in messages[0] and messages[1].endswith("answers again; pages read it")
    assert replica.set_aside_reason(loaded["replica"]) is None
    print(f"clusters ready in {loaded['setup_seconds']:.1f} s, init-db + import {loaded['load_seconds']:.1f} s")
