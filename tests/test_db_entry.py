"""The one database entry point: `run`/`fetch_*` for reads, `translating_errors` for writers, one time-limit message."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from dashboard.db import engine as db_engine
from dashboard.db.engine import (
    DatabaseError,
    DatabaseNotInitialised,
    DatabaseUnavailable,
    fetch_one,
    make_engine,
    run,
    translating_errors,
)


def test_run_hands_work_a_connection_and_returns_its_result(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'run.duckdb'}")
    assert run(engine, lambda connection: connection.execute(text("SELECT 6 * 7")).scalar_one()) == 42
    engine.dispose()


def test_translating_errors_turns_driver_errors_into_messages_for_people(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'writer.duckdb'}")
    with pytest.raises(DatabaseNotInitialised, match="has no IOC tables") as raised:
        with translating_errors(engine), engine.begin() as connection:
            connection.execute(text("DELETE FROM feedback"))
    assert raised.value.hint == "make demo  (or: python -m dashboard init-db)"
    with pytest.raises(DatabaseError, match=r"^Query failed on duckdb:///.*writer\.duckdb: "):
        with translating_errors(engine), engine.begin() as connection:
            connection.execute(text("SELECT nonsense("))
    with pytest.raises(ZeroDivisionError):  # only database errors are translated
        with translating_errors(engine):
            raise ZeroDivisionError
    engine.dispose()


@pytest.mark.postgres
def test_postgres_statement_timeout_says_what_duckdb_says(pg_url, monkeypatch):
    """The server's own statement_timeout and the client's deadline on DuckDB give the same message."""
    monkeypatch.setenv("IOC_STATEMENT_TIMEOUT_SECONDS", "1")
    engine = make_engine(pg_url)
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseUnavailable, match=r"did not answer within 1 s\.$") as raised:
            fetch_one(engine, text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 4
        assert raised.value.hint == "check the database server (IOC_STATEMENT_TIMEOUT_SECONDS sets this limit)"
    finally:
        db_engine._unanswered_since.clear()
        engine.dispose()
