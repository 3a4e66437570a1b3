"""SQL of the importer: a stage table per import, the merge into the target table, the import log.

Everything runs on one connection inside the caller's transaction, so an import that fails, is aborted or is
interrupted leaves no trace in the data tables. Table and column names come from the schema; values travel as
bound parameters or as Arrow/COPY data, never as SQL text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from dashboard.db import schema

# The key a source row is known by in each target table.
MERGE_KEYS = {
    "feedback": ("source", "source_id"),
    "dossiers": ("source", "source_id"),
    "traffic_observations": ("sensor_id", "observed_at"),
    "traffic_sensors": ("id",),
}
TARGETS = {
    "feedback": schema.feedback,
    "dossiers": schema.dossiers,
    "traffic_observations": schema.traffic_observations,
    "traffic_sensors": schema.traffic_sensors,
}


# Columns no file fills: computed after the import (feedback.duplicate_of: the worker's `duplicates` job, issue 18).
# Left out of the stage, so new rows get NULL and a re-import never overwrites them.
COMPUTED_COLUMNS = {"feedback": ("duplicate_of",)}


def stage_table(target: Table, import_id: str) -> Table:
    """A plain table shaped like `target` (no id, no constraints, no COMPUTED_COLUMNS) plus the file's row number."""
    computed = COMPUTED_COLUMNS.get(target.name, ())
    columns = [
        Column(c.name, c.type)
        for c in target.columns
        if not (c.primary_key and c.name == "id" and isinstance(c.type, Integer)) and c.name not in computed
    ]
    name = f"import_stage_{target.name}_{import_id[-8:]}"
    return Table(name, MetaData(), *columns, Column("row_number", Integer, nullable=False))


def create_stage(connection: Connection, stage: Table) -> None:
    stage.create(connection)


def drop_stage(connection: Connection, stage: Table) -> None:
    stage.drop(connection, checkfirst=True)


def append(connection: Connection, table: Table, frame: pd.DataFrame) -> None:
    """Append `frame` (columns of `table`) inside the connection's open transaction."""
    if frame.empty:
        return
    import pyarrow as pa

    frame = frame[[c.name for c in table.columns]]
    arrow_table = pa.Table.from_pandas(frame, preserve_index=False)
    column_list = ", ".join(f'"{c.name}"' for c in table.columns)
    driver = connection.connection.driver_connection
    if connection.dialect.name == "duckdb":
        # DuckDB reads the local variable `incoming_rows` by name (a replacement scan). Measured: register() /
        # unregister() per chunk grows memory by ~10 MB per 100,000 rows inside one transaction; this does not.
        incoming_rows = arrow_table  # noqa: F841
        driver.execute(f'INSERT INTO "{table.name}" ({column_list}) SELECT {column_list} FROM incoming_rows')  # noqa: S608
        return
    import pyarrow.csv as pa_csv

    buffer = io.BytesIO()
    pa_csv.write_csv(arrow_table, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    buffer.seek(0)
    with driver.cursor().copy(f"COPY \"{table.name}\" ({column_list}) FROM STDIN WITH (FORMAT csv, NULL '')") as copy:  # noqa: S608
        while block := buffer.read(1 << 20):
            copy.write(block)


def drop_duplicates(connection: Connection, stage: Table, keys: Sequence[str]) -> int:
    """Keep the last row of each key in the stage (file order); the number of rows dropped."""
    later = stage.alias("later")
    statement = delete(stage).where(
        exists(
            select(1)
            .select_from(later)
            .where(*[later.c[k] == stage.c[k] for k in keys], later.c.row_number > stage.c.row_number)
        )
    )
    return connection.execute(statement).rowcount or 0


def _match(target: Table, stage: Table, keys: Sequence[str]):
    return and_(*[target.c[k] == stage.c[k] for k in keys])


def _changed(target: Table, stage: Table, columns: Sequence[str]):
    return or_(*[target.c[c].is_distinct_from(stage.c[c]) for c in columns])


def merge(
    connection: Connection, stage: Table, target: Table, keys: Sequence[str], keep: Sequence[str] = ()
) -> dict[str, int]:
    """Upsert the stage into `target`: {"inserted", "updated", "unchanged"}.

    Rows whose key exists are updated only where a value differs; columns in `keep` are never overwritten.
    New feedback and dossier rows take their ids from the table's sequence (safe beside a concurrent import).
    """
    compared = [c.name for c in stage.columns if c.name != "row_number" and c.name not in keys and c.name not in keep]
    matched = exists(select(1).select_from(target).where(_match(target, stage, keys)))
    counts = (
        connection.execute(
            select(
                func.count().label("staged"),
                func.count().filter(matched).label("matched"),
            ).select_from(stage)
        )
        .mappings()
        .one()
    )
    updated = 0
    if counts["matched"] and compared:
        updated = connection.execute(
            select(func.count())
            .select_from(target)
            .join(stage, _match(target, stage, keys))
            .where(_changed(target, stage, compared))
        ).scalar_one()
        if updated:
            connection.execute(
                update(target)
                .where(_match(target, stage, keys), _changed(target, stage, compared))
                .values({c: stage.c[c] for c in compared})
            )
    names = [c.name for c in stage.columns if c.name != "row_number"]
    fresh = select(*[stage.c[n] for n in names]).where(~matched)
    if target.name in schema.ID_SEQUENCES and "id" not in names:  # ids from the table's sequence, in file order
        sequence = schema.ensure_id_sequence(connection, target)
        ordered = fresh.order_by(stage.c.row_number).subquery("fresh")
        fresh = select(sequence.next_value().label("id"), *[ordered.c[n] for n in names])
        names = ["id", *names]
    inserted = connection.execute(insert(target).from_select(names, fresh)).rowcount
    inserted = inserted if inserted is not None and inserted >= 0 else counts["staged"] - counts["matched"]
    return {"inserted": int(inserted), "updated": int(updated), "unchanged": int(counts["matched"] - updated)}


def event_days(connection: Connection, stage: Table, target: Table, keys: Sequence[str], columns: Sequence[str]):
    """(first day, last day) that any of `columns` falls on, over the staged rows and the rows they will replace;
    None when there is no such time. Rollups of those days are the ones an import changes."""
    replaced = (
        select(*[target.c[c] for c in columns])
        .select_from(target.join(stage, _match(target, stage, keys)))
        .subquery("replaced")
    )
    moments = []
    for rows in (stage, replaced):
        found = connection.execute(
            select(*[func.min(rows.c[c]) for c in columns], *[func.max(rows.c[c]) for c in columns])
        ).one()
        moments += [value for value in found if value is not None]
    if not moments:
        return None
    return min(moments).date(), max(moments).date()


def known_sensors(connection: Connection) -> set[str]:
    return {str(v) for v in connection.execute(select(schema.traffic_sensors.c.id)).scalars()}


def sensor_capacity_defaults(connection: Connection, stage: Table) -> pd.DataFrame:
    """Per sensor in a traffic stage: the highest count per hour and the highest mean speed seen."""
    per_hour = stage.c.vehicle_count * 60.0 / stage.c.period_minutes
    result = connection.execute(
        select(
            stage.c.sensor_id,
            func.max(per_hour).label("capacity_per_hour"),
            func.max(stage.c.mean_speed_kmh).label("free_flow_speed_kmh"),
        ).group_by(stage.c.sensor_id)
    )
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def write_log(connection: Connection, entry: dict) -> None:
    connection.execute(insert(schema.import_log).values(**entry))


def write_rejects(connection: Connection, import_id: str, rejects: pd.DataFrame) -> None:
    if rejects.empty:
        return
    rows = rejects.assign(import_id=import_id)[["import_id", "row_number", "column_name", "value", "reason"]]
    append(connection, schema.import_rejects, rows.astype({"row_number": "int64"}))


def replace_areas(connection: Connection, frame: pd.DataFrame) -> None:
    """The city's areas replaced by `frame` (columns of the areas table)."""
    connection.execute(delete(schema.areas))
    append(connection, schema.areas, frame)
