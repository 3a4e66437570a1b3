"""A whole new database on PostgreSQL, put in place in one transaction (the demo build, `writing(fresh=True)`).

Readers must never see the tables dropped and half loaded. The new tables are built in a schema of their own
(`ioc_build_…`, the only schema on the builder's search_path, so nothing outside it is seen or dropped), then one
transaction moves the old tables of the same names out of the served schema and the new ones in, and drops the old.
Queries running at that moment finish on the old tables; the next ones read the new. Tables of the served schema
that the build did not make are left alone.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# Sequences of the build schema that no column owns (owned ones move with their table).
_FREE_SEQUENCES = text("""
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = :schema AND c.relkind = 'S'
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))""")
_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = :schema")
_EXISTS = text("SELECT to_regclass(:name) IS NOT NULL")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _swap(connection: Connection, build: str) -> None:
    served = connection.execute(text("SELECT current_schema()")).scalar_one()
    connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
    tables = list(connection.execute(_TABLES, {"schema": build}).scalars())
    sequences = list(connection.execute(_FREE_SEQUENCES, {"schema": build}).scalars())
    old = f"ioc_old_{uuid.uuid4().hex[:8]}"
    connection.exec_driver_sql(f"CREATE SCHEMA {_quoted(old)}")
    for kind, names in (("TABLE", tables), ("SEQUENCE", sequences)):
        for name in names:
            if connection.execute(_EXISTS, {"name": f"{_quoted(served)}.{_quoted(name)}"}).scalar_one():
                connection.exec_driver_sql(f"ALTER {kind} {_quoted(served)}.{_quoted(name)} SET SCHEMA {_quoted(old)}")
    for kind, names in (("TABLE", tables), ("SEQUENCE", sequences)):
        for name in names:
            connection.exec_driver_sql(f"ALTER {kind} {_quoted(build)}.{_quoted(name)} SET SCHEMA {_quoted(served)}")
    connection.exec_driver_sql(f"DROP SCHEMA {_quoted(old)} CASCADE")
    connection.exec_driver_sql(f"DROP SCHEMA {_quoted(build)} CASCADE")


@contextlib.contextmanager
def fresh_database(url: str, make_engine: Callable[..., Engine]) -> Iterator[Engine]:
    """An engine on an empty schema of its own; its tables replace the served ones when the block succeeds."""
    build = f"ioc_build_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {_quoted(build)}")
        builder = make_engine(url, search_path=build)
        try:
            yield builder
        except BaseException:
            builder.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {_quoted(build)} CASCADE")
            raise
        builder.dispose()
        with admin.begin() as connection:
            _swap(connection, build)
    finally:
        admin.dispose()
