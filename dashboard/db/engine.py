"""The one place that owns database connections and runs queries.

Every query in the project goes through `fetch_frame`/`fetch_one` with bound parameters.
Driver errors are translated into `DatabaseUnavailable` / `DatabaseNotInitialised`,
whose messages tell a person what to do.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, NoSuchTableError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.sql import Executable

from dashboard import config
from dashboard.db.schema import DATA_TABLES, metadata


class DatabaseError(RuntimeError):
    """A database problem explained for people; `hint` says what to run or check."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached (server down, wrong URL, file locked)."""


class DatabaseNotInitialised(DatabaseError):
    """The database is reachable but holds no IOC tables yet."""


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
    path = url[len(prefix):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str | None = None, *, read_only: bool = False) -> Engine:
    """A new engine for `url` (default: the configured database).

    The app opens DuckDB read-only, so `make demo` or an import can run beside it.
    """
    url = url or config.database_url()
    connect_args: dict = {}
    path = duckdb_file(url)
    if path is not None and not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    if path is not None and read_only:
        connect_args["read_only"] = True
    if url.startswith("postgresql"):
        # Every PostgreSQL session gets a statement timeout so one slow query cannot hang a page.
        connect_args["options"] = f"-c statement_timeout={config.statement_timeout_seconds() * 1000}"
    engine = create_engine(url, pool_pre_ping=not url.startswith("duckdb"), connect_args=connect_args)
    return engine


@lru_cache(maxsize=4)
def shared_engine(url: str) -> Engine:
    """One engine per URL for a process (CLI and tests; the app wraps this in st.cache_resource)."""
    return make_engine(url)


def _translate(error: Exception, engine: Engine) -> DatabaseError:
    url = redact_url(str(engine.url))
    text = str(getattr(error, "orig", error)).strip().splitlines()[0] if str(error) else type(error).__name__
    lowered = text.lower()
    if isinstance(error, NoSuchTableError) or "does not exist" in lowered and ("table" in lowered or "relation" in lowered):
        return DatabaseNotInitialised(
            f"The database at {url} has no IOC tables ({text}).",
            hint="make demo  (or: python -m dashboard init-db)",
        )
    if isinstance(error, (OperationalError, DBAPIError)) and not isinstance(error, ProgrammingError):
        return DatabaseUnavailable(f"Cannot use the database at {url}: {text}", hint="check IOC_DATABASE_URL")
    return DatabaseError(f"Query failed on {url}: {text}")


def fetch_frame(engine: Engine, statement: Executable, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a SELECT and return its rows as a DataFrame."""
    try:
        with engine.connect() as connection:
            result = connection.execute(statement, params or {})
            return pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error


def fetch_one(engine: Engine, statement: Executable, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a SELECT expected to return one row; the row as a dict (empty when no row)."""
    try:
        with engine.connect() as connection:
            row = connection.execute(statement, params or {}).mappings().first()
            return dict(row) if row is not None else {}
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error


def execute(engine: Engine, statement: Executable, params: Any = None) -> None:
    """Run a statement that changes data, in its own transaction."""
    try:
        with engine.begin() as connection:
            connection.execute(statement, params) if params is not None else connection.execute(statement)
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error


def check_ready(engine: Engine) -> None:
    """Raise a DatabaseError unless the database is reachable and has every IOC table."""
    path = duckdb_file(engine.url.render_as_string(hide_password=False))
    if path is not None and not path.exists():
        raise DatabaseNotInitialised(
            f"The DuckDB file {path} does not exist yet.",
            hint="make demo  (or: python -m dashboard demo)",
        )
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error
    missing = [t.name for t in DATA_TABLES if t.name not in present]
    if missing:
        raise DatabaseNotInitialised(
            f"The database at {redact_url(str(engine.url))} is missing tables: {', '.join(missing)}.",
            hint="make demo  (or: python -m dashboard init-db)",
        )


def create_schema(engine: Engine, *, drop_first: bool = False) -> None:
    """Create every table and index (idempotent); with drop_first, start from empty tables."""
    try:
        if drop_first:
            metadata.drop_all(engine)
        metadata.create_all(engine)
    except SQLAlchemyError as error:
        raise _translate(error, engine) from error
