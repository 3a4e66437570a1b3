"""The one place that owns database connections and turns driver errors into messages for people.

Reads (the pages', the wall's, the CLI's and the briefing's queries) go through `fetch_frame`/`fetch_one`, or
`run` for other work on one connection: bound parameters, the statement time limit on both engines (a client
deadline that interrupts the connection: DuckDB's interrupt, or the socket of a PostgreSQL server that stopped
answering) and one retry on a dropped connection. Writers that need a transaction of their own (the importer,
rollups, bulk load, demo, forecast runs) use the connection directly inside `translating_errors(engine)`.
Either way, driver errors become `DatabaseUnavailable` / `DatabaseNotInitialised` / `DatabaseError`, whose
messages tell a person what to do.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DBAPIError,
    NoSuchTableError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)
from sqlalchemy.sql import Executable

from dashboard import config
from dashboard.db import duckdb_files, pg_swap
from dashboard.db.schema import DATA_TABLES, metadata, missing_columns

# The client's own deadline comes this long after PostgreSQL's statement_timeout, so the server's cancel (a
# clean error) normally wins and the client only cuts a server that stopped answering altogether.
CLIENT_GRACE_SECONDS = 5


class DatabaseError(RuntimeError):
    """A database problem explained for people; `hint` says what to run or check."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (server down, wrong URL, file locked)."""


class DatabaseNotInitialised(DatabaseError):
    """The database is reachable but holds no IOC tables yet."""


class DatabaseOutdated(DatabaseNotInitialised):
    """The database was made by an older version: a table lacks columns this one reads (`init-db` adds them)."""


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to show on screen."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def is_duckdb(engine: Engine) -> bool:
    return engine.dialect.name == "duckdb"


def duckdb_file(url: str) -> Path | None:
    """The database file of a DuckDB URL (None for other databases and in-memory DuckDB)."""
    prefix = "duckdb:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str | None = None, *, read_only: bool = False, search_path: str | None = None) -> Engine:
    """A new engine for `url` (default: the configured database).

    read_only on a DuckDB file: connections that ATTACH the file read-only and notice when it is replaced or
    removed (dashboard.db.duckdb_files), so imports and `make demo` write beside the app. Writers on a served
    DuckDB file go through `writing`; a plain read-write engine is for files nobody serves (tests, bench builds).
    search_path (PostgreSQL): the only schema the engine sees (the fresh build of `writing(fresh=True)`).
    """
    url = url or config.database_url()
    path = duckdb_file(url)
    if path is not None and read_only:
        return duckdb_files.reader_engine(url, path)
    connect_args: dict = {}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql"):
        # A statement timeout so one slow query cannot hang a page; a connect timeout and TCP keepalives so a
        # server that accepts but never answers, or a dead network path, is noticed instead of waited on for ever.
        connect_args.update(
            options=f"-c statement_timeout={config.statement_timeout_seconds() * 1000}"
            + (f" -c search_path={search_path}" if search_path else ""),
            connect_timeout=config.connect_timeout_seconds(),
            keepalives=1,
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
        )
    # No pool pre-ping: its SELECT 1 has no deadline and hangs on a frozen server. A connection the server dropped
    # fails its query instead; SQLAlchemy then empties the pool and `run` tries once more on a new connection.
    return create_engine(url, connect_args=connect_args)


@lru_cache(maxsize=8)
def shared_engine(url: str, read_only: bool = False) -> Engine:
    """One engine per URL and mode for a process. It lives outside Streamlit's caches on purpose: clearing those
    (the app menu's "Clear cache") must cost a re-query, never the connections."""
    return make_engine(url, read_only=read_only)


@contextlib.contextmanager
def writing(url: str | None = None, *, fresh: bool = False, keep: bool = True) -> Iterator[Engine]:
    """A read-write engine for a change to the database that never blocks its readers.

    DuckDB file: the change is made on a private copy, under the writers' lock, and replaces the served file
    atomically when the block ends without an error (`fresh`: start from an empty file; `keep=False`: throw the
    copy away, for dry runs). PostgreSQL: a normal engine, disposed afterwards (its transactions isolate readers);
    with `fresh`, an empty schema of its own whose tables replace the served ones in one transaction (pg_swap).
    """
    url = url or config.database_url()
    path = duckdb_file(url)
    if path is None and fresh and url.startswith("postgresql"):
        with pg_swap.fresh_database(url, make_engine) as engine:
            yield engine
        return
    if path is None:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()
        return
    try:
        with duckdb_files.write_copy(
            path, fresh=fresh, keep=keep, lock_timeout=config.write_lock_timeout_seconds()
        ) as engine:
            yield engine
    except duckdb_files.WriteLockTimeout as error:
        raise DatabaseUnavailable(str(error), hint="python -m dashboard info") from error


def _timed_out(engine: Engine, seconds: float) -> DatabaseUnavailable:
    """The one message for a query stopped at its time limit, on either engine."""
    return DatabaseUnavailable(
        f"The database at {redact_url(str(engine.url))} did not answer within {seconds:.0f} s.",
        hint="check the database server (IOC_STATEMENT_TIMEOUT_SECONDS sets this limit)",
    )


def _translate(error: Exception, engine: Engine) -> DatabaseError:
    url = redact_url(str(engine.url))
    path = duckdb_file(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        return DatabaseNotInitialised(
            f"The DuckDB file {path} does not exist (any more).", hint="make demo  (or: python -m dashboard demo)"
        )
    text = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else type(error).__name__
    lowered = text.lower()
    if (
        isinstance(error, NoSuchTableError)
        or "does not exist" in lowered
        and ("table" in lowered or "relation" in lowered)
    ):
        return DatabaseNotInitialised(
            f"The database at {url} has no IOC tables ({text}).",
            hint="make demo  (or: python -m dashboard init-db)",
        )
    if getattr(getattr(error, "orig", None), "sqlstate", None) == "57014" and "statement timeout" in lowered:
        return _timed_out(engine, config.statement_timeout_seconds())  # PostgreSQL's statement_timeout
    if isinstance(error, (OperationalError, DBAPIError)) and not isinstance(error, ProgrammingError):
        return DatabaseUnavailable(f"Cannot use the database at {url}: {text}", hint="check IOC_DATABASE_URL")
    return DatabaseError(f"Query failed on {url}: {text}")


def query_deadline_seconds(engine: Engine) -> float:
    """How long the client lets one page query run before it interrupts it."""
    seconds = config.statement_timeout_seconds()
    return seconds + CLIENT_GRACE_SECONDS if engine.dialect.name == "postgresql" else seconds


def _interrupt(connection: Connection) -> None:
    """Stop the query running on `connection` from another thread: DuckDB's own interrupt; on PostgreSQL the
    socket is shut down, the only thing that frees a client waiting on a frozen server (a cancel request would
    need the server to answer)."""
    raw = connection.connection.dbapi_connection
    if raw is None:
        return
    if connection.dialect.name == "duckdb":
        raw.interrupt()
        return
    with contextlib.suppress(OSError):
        socket.socket(fileno=os.dup(raw.fileno())).shutdown(socket.SHUT_RDWR)


class _Deadline:
    """Interrupts the query of one connection when it runs longer than `seconds`."""

    def __init__(self, connection: Connection, seconds: float) -> None:
        self.expired = False
        self.seconds = seconds
        self._connection = connection
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.expired = True
        with contextlib.suppress(Exception):
            _interrupt(self._connection)

    def __enter__(self) -> _Deadline:  # noqa: PYI034
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()


# A server that did not answer is not asked again for a while: the other queries of the page (or of the wall's
# panels) fail at once instead of each waiting for its own deadline. DuckDB has no server; its timeouts are per query.
BREAKER_SECONDS = 15.0
_unanswered_since: dict[str, float] = {}


def _breaker_key(engine: Engine) -> str | None:
    return engine.url.render_as_string(hide_password=False) if engine.dialect.name == "postgresql" else None


def _check_breaker(engine: Engine) -> None:
    key = _breaker_key(engine)
    since = _unanswered_since.get(key) if key else None
    if since is not None and time.monotonic() - since < BREAKER_SECONDS:
        raise DatabaseUnavailable(
            f"The database at {redact_url(str(engine.url))} did not answer a moment ago; "
            f"it is asked again {BREAKER_SECONDS:.0f} s after that.",
            hint="check IOC_DATABASE_URL",
        )


def _trip_breaker(engine: Engine, error: DatabaseError) -> DatabaseError:
    if (key := _breaker_key(engine)) and isinstance(error, DatabaseUnavailable):
        _unanswered_since[key] = time.monotonic()
    return error


@contextlib.contextmanager
def translating_errors(engine: Engine) -> Iterator[None]:
    """Turn a driver error raised inside the block into a DatabaseError for people (for writers that hold a
    connection or transaction of their own; reads go through `run`/`fetch_frame`/`fetch_one`)."""
    try:
        yield
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error


def run(engine: Engine, work: Callable[[Connection], Any]) -> Any:
    """Run `work(connection)` on a pooled connection within the query deadline (IOC_STATEMENT_TIMEOUT_SECONDS;
    the connection is interrupted when it expires). A connection the server had dropped is retried once on a new
    one; a deadline that expired is reported as the database not answering, in the same words on both engines."""
    _check_breaker(engine)
    deadline_seconds = query_deadline_seconds(engine)
    for attempt in (1, 2):
        deadline = None
        try:
            with engine.connect() as connection, _Deadline(connection, deadline_seconds) as deadline:
                result = work(connection)
            _unanswered_since.pop(_breaker_key(engine) or "", None)
            return result
        except SQLAlchemyError as error:
            if deadline is not None and deadline.expired:
                raise _trip_breaker(engine, _timed_out(engine, deadline_seconds)) from error
            if attempt == 1 and getattr(error, "connection_invalidated", False):
                continue
            raise _trip_breaker(engine, _translate(error, engine)) from error
        except FileNotFoundError as error:  # the DuckDB file went away (see duckdb_files.reader_engine)
            raise _translate(error, engine) from error
    raise AssertionError("unreachable")


def fetch_frame(engine: Engine, statement: Executable, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a SELECT and return its rows as a DataFrame."""

    def work(connection: Connection) -> pd.DataFrame:
        result = connection.execute(statement, params or {})
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))

    return run(engine, work)


def fetch_one(engine: Engine, statement: Executable, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a SELECT expected to return one row; the row as a dict (empty when no row)."""

    def work(connection: Connection) -> dict[str, Any]:
        row = connection.execute(statement, params or {}).mappings().first()
        return dict(row) if row is not None else {}

    return run(engine, work)


def execute(engine: Engine, statement: Executable, params: Any = None) -> None:
    """Run a statement that changes data, in its own transaction."""
    with translating_errors(engine), engine.begin() as connection:
        connection.execute(statement, params) if params is not None else connection.execute(statement)


def check_ready(engine: Engine) -> None:
    """Raise a DatabaseError unless the database is reachable and has every IOC table and column (an older database
    lacking a column added since: DatabaseOutdated, which `init-db` — run by `make run` — fixes)."""
    path = duckdb_file(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        raise DatabaseNotInitialised(
            f"The DuckDB file {path} does not exist yet.",
            hint="make demo  (or: python -m dashboard demo)",
        )
    present = set(run(engine, lambda connection: inspect(connection).get_table_names()))
    missing = [t.name for t in DATA_TABLES if t.name not in present]
    if missing:
        raise DatabaseNotInitialised(
            f"The database at {redact_url(str(engine.url))} is missing tables: {', '.join(missing)}.",
            hint="make demo  (or: python -m dashboard init-db)",
        )
    outdated = run(engine, missing_columns)
    if outdated:
        names = ", ".join(f"{table}.{column}" for table, columns in outdated.items() for column in columns)
        raise DatabaseOutdated(
            f"The database at {redact_url(str(engine.url))} lacks the columns {names} (made before they existed).",
            hint="python -m dashboard init-db",
        )


def create_schema(engine: Engine, *, drop_first: bool = False) -> None:
    """Create every table and index (idempotent); with drop_first, start from empty tables."""
    with translating_errors(engine):
        if drop_first:
            metadata.drop_all(engine)
        metadata.create_all(engine)
