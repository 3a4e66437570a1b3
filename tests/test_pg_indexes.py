"""PostgreSQL-only indexes (issue 20, point 2): `create_schema` (init-db, import, the demo) gives an existing database
the schema's indexes it lacks and drops the ones they replaced; DuckDB has none and is left as it is."""

from __future__ import annotations

from sqlalchemy import inspect

from dashboard.db import schema
from dashboard.db.engine import create_schema, make_engine


def _indexes(engine, table: str) -> set[str]:
    with engine.connect() as connection:
        return {index["name"] for index in inspect(connection).get_indexes(table)}


def test_an_existing_database_gains_the_covering_indexes_and_loses_the_replaced_ones(any_db_url):
    engine = make_engine(any_db_url)
    try:
        if engine.dialect.name == "duckdb":
            create_schema(engine)  # idempotent, no index made (duckdb_engine cannot reflect indexes: ask DuckDB)
            with engine.connect() as connection:
                made = connection.exec_driver_sql(
                    "SELECT count(*) FROM duckdb_indexes() WHERE table_name IN ('feedback', 'dossiers')"
                ).scalar_one()
            assert made == 0
            return
        with engine.begin() as connection:  # a database made before: the plain indexes, no covering ones
            connection.exec_driver_sql("DROP INDEX ix_feedback_resolved_cover")
            connection.exec_driver_sql("DROP INDEX ix_dossiers_completed_cover")
            connection.exec_driver_sql("CREATE INDEX ix_feedback_resolved_at ON feedback (resolved_at)")
            connection.exec_driver_sql("CREATE INDEX ix_dossiers_completed_at ON dossiers (completed_at)")
        create_schema(engine)
        feedback, dossiers = _indexes(engine, "feedback"), _indexes(engine, "dossiers")
        assert {"ix_feedback_resolved_cover", "ix_feedback_received_at"} <= feedback
        assert {"ix_dossiers_completed_cover", "ix_dossiers_received_at"} <= dossiers
        assert not (feedback | dossiers) & set(schema.REPLACED_INDEXES)
        with engine.connect() as connection:
            definition = connection.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_dossiers_completed_cover'"
            ).scalar_one()
        assert definition.endswith("(completed_at) INCLUDE (received_at, area_code, due_at, status)")
        create_schema(engine)  # a second run changes nothing
        assert _indexes(engine, "feedback") == feedback and _indexes(engine, "dossiers") == dossiers
    finally:
        engine.dispose()
