"""Bulk loading of DataFrames: Arrow into DuckDB, COPY into PostgreSQL.

Used by the demo generator and the importer. Table and column names come from the
schema objects, never from user input; values travel as data, never as SQL text.
"""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Engine

from dashboard.db import schema
from dashboard.db.engine import create_schema, is_duckdb, translating_errors
from dashboard.db.schema import ID_SEQUENCES, advance_id_sequence


def _ordered(frame: pd.DataFrame, table: Table) -> pd.DataFrame:
    """The frame's columns in the table's order; optional columns added later (schema.ADDED_COLUMNS) that the
    frame lacks are loaded as NULL (unknown), any other missing column is an error."""
    columns = [c.name for c in table.columns]
    optional = set(schema.ADDED_COLUMNS.get(table.name, ()))
    absent = [c for c in columns if c not in frame.columns and c in optional]
    if absent:
        frame = frame.assign(**{c: pd.Series(None, index=frame.index, dtype=object) for c in absent})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table.name}: frame lacks columns {missing}")
    return frame[columns]


def _load_duckdb(engine: Engine, table: Table, frame: pd.DataFrame) -> None:
    import pyarrow as pa

    arrow_table = pa.Table.from_pandas(frame, preserve_index=False)
    raw = engine.raw_connection()
    try:
        con = raw.driver_connection
        con.register("incoming_frame", arrow_table)
        column_list = ", ".join(f'"{c.name}"' for c in table.columns)
        con.execute(f'INSERT INTO "{table.name}" ({column_list}) SELECT {column_list} FROM incoming_frame')
        con.unregister("incoming_frame")
        raw.commit()
    finally:
        raw.close()


def _load_postgres(engine: Engine, table: Table, frame: pd.DataFrame) -> None:
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()  # Arrow's CSV writer is about 4× faster than pandas' for millions of rows
    pa_csv.write_csv(
        pa.Table.from_pandas(frame, preserve_index=False),
        buffer,
        pa_csv.WriteOptions(include_header=False, quoting_style="needed"),
    )
    buffer.seek(0)
    column_list = ", ".join(f'"{c.name}"' for c in table.columns)
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        copy_sql = f"COPY \"{table.name}\" ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '')"
        with cursor.copy(copy_sql) as copy:
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        raw.commit()
    finally:
        raw.close()


def bulk_load(engine: Engine, table: Table, frame: pd.DataFrame, *, replace: bool = False) -> int:
    """Append `frame` to `table` (after deleting every row when `replace`); returns rows loaded."""
    frame = _ordered(frame, table)
    with translating_errors(engine):
        if replace:
            with engine.begin() as connection:
                connection.execute(delete(table))
        if frame.empty:
            return 0
        if is_duckdb(engine):
            _load_duckdb(engine, table, frame)
        else:
            _load_postgres(engine, table, frame)
        if table.name in ID_SEQUENCES:  # rows came with their ids: the sequence must hand out later ones
            with engine.begin() as connection:
                advance_id_sequence(connection, table)
    return len(frame)


def load_areas(engine: Engine, city: str = "hue") -> int:
    """Replace every row of the `areas` table with the city's wards/communes (data/boundaries/); the row count."""
    from dashboard.boundaries import area_frame

    return bulk_load(engine, schema.areas, area_frame(city), replace=True)


def prepare_database(engine: Engine, city: str) -> int:
    """Create the tables a database lacks and add the optional columns an older table lacks (schema.ADDED_COLUMNS,
    ALTER TABLE … ADD COLUMN; idempotent), and load the city's areas when it has none: what `init-db`, `import` and
    the worker's imports do first. Returns the number of areas loaded (0 when they were there)."""
    create_schema(engine)
    with engine.connect() as connection:
        present = connection.execute(select(func.count()).select_from(schema.areas)).scalar_one()
    return 0 if present else load_areas(engine, city)
