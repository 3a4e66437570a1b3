"""Fixtures shared by the whole test suite.

Databases:
  * `demo_db_url`  - a small seeded demo DuckDB, built once per session (read it, don't write it).
  * `any_db_url`   - a fresh, empty database with the schema, once on DuckDB and once on
                     PostgreSQL (the PostgreSQL case is marked `postgres`).
  * `demo_copy_url` - a writable copy of the demo database, per test.
  * `pg_url`       - the PostgreSQL test server (IOC_TEST_POSTGRES_URL).

PostgreSQL tests skip when IOC_TEST_POSTGRES_URL is unset, unless IOC_REQUIRE_POSTGRES=1
(set by .ci/run), where a missing server fails the run instead of hiding the tests.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dashboard.db.engine import create_schema, make_engine

# The clock of the demo database: a fixed weekday afternoon, naive local time of Huế.
DEMO_NOW = datetime(2026, 11, 20, 14, 37)
DEMO_SEED = 7
DEMO_SCALE = 0.03
DEMO_DAYS = 400


@pytest.fixture(autouse=True)
def _keep_the_main_module() -> Iterator[None]:
    """AppTest runs a page as `__main__` and leaves it there; a later test that starts "spawn" processes (the
    forecast jobs) would make each child run that page script as its main module. Put the real one back."""
    main = sys.modules.get("__main__")
    yield
    if main is not None and sys.modules.get("__main__") is not main:
        sys.modules["__main__"] = main


@pytest.fixture(scope="session")
def demo_now() -> datetime:
    """The fixed "now" (naive local time) the demo database was generated at.

    Tests that compute periods relative to today use this instead of the wall clock,
    so results do not change from one day to the next.
    """
    return DEMO_NOW


@pytest.fixture(scope="session")
def demo_db_url(tmp_path_factory: pytest.TempPathFactory, demo_now: datetime) -> str:
    """URL of a small seeded demo DuckDB (seed 7, scale 0.03, 400 days up to `demo_now`).

    Built once per session in a temporary directory; every engine used for the build is
    disposed, so the app (also in a subprocess) can open the file read-only. Treat it as
    read-only: tests that change data must use `any_db_url` instead.
    """
    from dashboard.demo.generator import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    url = f"duckdb:///{path}"
    engine = make_engine(url)
    try:
        build_demo(
            engine,
            seed=DEMO_SEED,
            scale=DEMO_SCALE,
            start=demo_now.date() - timedelta(days=DEMO_DAYS),
            end=demo_now.date(),
            now=demo_now,
        )
    finally:
        engine.dispose()
    return url


@pytest.fixture
def demo_copy_url(demo_db_url: str, tmp_path: Path) -> str:
    """URL of a writable copy of the demo DuckDB in the test's tmp_path (the demo file itself is shared, read-only)."""
    import shutil

    from dashboard.db.engine import duckdb_file

    copy = tmp_path / "app.duckdb"
    shutil.copy(duckdb_file(demo_db_url), copy)
    return f"duckdb:///{copy}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of the PostgreSQL test database, from IOC_TEST_POSTGRES_URL.

    Skips the test when the variable is unset; fails it instead when IOC_REQUIRE_POSTGRES=1,
    so CI cannot pass with the PostgreSQL tests silently skipped. The tests own that
    database: they drop and recreate the IOC tables in it.
    """
    url = os.environ.get("IOC_TEST_POSTGRES_URL", "").strip()
    if not url:
        if os.environ.get("IOC_REQUIRE_POSTGRES") == "1":
            pytest.fail("IOC_REQUIRE_POSTGRES=1 but IOC_TEST_POSTGRES_URL is not set")
        pytest.skip("set IOC_TEST_POSTGRES_URL to run the PostgreSQL tests")
    return _database_of_this_worker(url)


def _database_of_this_worker(url: str) -> str:
    """`url` itself, or under pytest-xdist (`make test` runs two workers) a database of this worker's own beside it
    (`<name>_gw1`, created on first use; the role needs CREATEDB, as .ci/run gives it): the PostgreSQL tests drop and
    recreate tables, so two workers must never share one database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker in ("", "gw0"):
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
                connection.execute(text(f'CREATE DATABASE "{name}"'))  # name: our base name + gwN, never user input
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh database holding the schema and no rows, once per backend.

    DuckDB: a new file in the test's tmp_path. PostgreSQL: the `pg_url` database with every
    IOC table dropped and recreated. Use it for tests that insert their own rows (KPI tests);
    the test ids end in [duckdb] / [postgres].
    """
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path / 'test.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    try:
        create_schema(engine, drop_first=True)
    finally:
        engine.dispose()
    if request.param != "duckdb":
        # The PostgreSQL URL is the same for every test: results that earlier tests' AppTests cached for it (the
        # areas for an hour) describe a database that no longer exists. (A DuckDB file is new, so is its URL.)
        import streamlit as st

        st.cache_data.clear()
    yield url


@pytest.fixture
def tiny_engine(any_db_url: str):
    """An engine on `any_db_url` holding the hand-made tables of tests/tiny_data.py (KPIs worked out by hand there)."""
    from tiny_data import load_tiny

    engine = load_tiny(any_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def areas_engine(any_db_url: str):
    """An engine on `any_db_url` holding Huế's wards and nothing else (the importer's tests start from it)."""
    from dashboard.db.load import load_areas

    engine = make_engine(any_db_url)
    load_areas(engine, "hue")
    yield engine
    engine.dispose()


# ---------------------------------------------------------------- accounts (issue 19)
@pytest.fixture(autouse=True)
def fast_password_hashes(monkeypatch):
    """argon2id with the smallest cost in tests (the library's default costs ~0.1 s and 64 MiB per hash; a sign-in test
    hashes a dozen times). The form and the checks are the same; only the cost parameters differ."""
    from argon2 import PasswordHasher

    from dashboard.db import accounts

    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_HASHER", fast)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", fast.hash("not a password"))


# ---------------------------------------------------------------- real browser (Playwright on system Chromium)
def _browser_module():
    """dashboard.browser, or skip (fail on CI) when Playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401

        from dashboard.testing import browser
    except ImportError as error:
        problem = f"Playwright is not installed ({error}); run `make test`"
    else:
        if Path(browser.CHROMIUM).exists():
            return browser
        problem = f"no Chromium at {browser.CHROMIUM} (set IOC_CHROMIUM or apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def web():
    """dashboard.testing.browser (start/stop the app, launch Chromium), once Playwright and Chromium are known to exist."""
    return _browser_module()


@pytest.fixture(scope="module")
def chromium(web) -> Iterator:
    with web.browser() as instance:
        yield instance


# ---------------------------------------------------------------- the worker soak, beside the rest of the suite
# tests/test_worker_soak.py loads pages for five minutes while the worker writes. So that those minutes overlap the
# other tests instead of adding to the suite's time, the run starts in the background as soon as the soak test is
# collected (and selected), and the test itself is moved to the end, where it waits for the run and checks it.
SOAK_TEST_FILE = "test_worker_soak.py"


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only a selected soak test starts a run
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    soak = [item for item in items if item.path.name == SOAK_TEST_FILE]
    if not soak:
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):
        # Under pytest-xdist every worker collects every test, so none may start a background run: the soak test goes
        # FIRST instead, and the worker that takes it spends its five minutes there while the other runs the rest.
        items[:] = soak + [item for item in items if item.path.name != SOAK_TEST_FILE]
        return
    items[:] = [item for item in items if item.path.name != SOAK_TEST_FILE] + soak
    if config.option.collectonly:
        return
    try:
        import playwright.sync_api  # noqa: F401

        from dashboard.testing import browser
        from dashboard.testing import soak as soak_run
    except ImportError:
        return  # the test skips (or fails on CI) through the `web` fixture
    if Path(browser.CHROMIUM).exists():
        soak_run.start_background(screenshots=Path(__file__).resolve().parents[1] / "artifacts" / "browser")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import sys

    # A soak run still going means the session ended before the soak test waited for it (-x, Ctrl-C): stop it.
    soak_run = sys.modules.get("dashboard.testing.soak")
    if soak_run is not None and soak_run.BACKGROUND is not None:
        soak_run.BACKGROUND.stop()
