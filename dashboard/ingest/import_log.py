"""The importer's log: one `import_log` row per attempt (and its rejects), and the columns an older database gains
before anything is written to it.

An attempt that writes nothing (dry run, abort, failure) is logged in a small transaction of its own, as the
import's transaction was rolled back; a finished import logs inside its own transaction (`entry`).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db import import_queries as q
from dashboard.db import schema
from dashboard.ingest import rows
from dashboard.periods import local_now

if TYPE_CHECKING:
    from collections.abc import Callable

    from dashboard.ingest.importer import ImportResult
    from dashboard.ingest.readers import SourceFile

# import_log columns newer than some databases (schema.import_log; NULL in rows logged before them). Kept out of
# schema.ADDED_COLUMNS: they only matter to the importer and the quality page, so a database without them does not
# make the ranking page ask for `init-db`.
LOG_COLUMNS_ADDED = ("rows_crosswalk", "rows_crosswalk_share")


def entry(result: ImportResult, source_file: SourceFile | None, started: datetime) -> dict:
    """The import_log row of an attempt."""
    return {
        "import_id": result.import_id,
        "kind": result.kind,
        "source": result.source,
        "file_name": result.file_name[:256],
        "file_sha256": source_file.sha256 if source_file else "",
        "started_at": started,
        "finished_at": local_now(),
        "status": result.status,
        "rows_read": result.rows_read,
        "rows_inserted": result.inserted,
        "rows_updated": result.updated,
        "rows_unchanged": result.unchanged,
        "rows_rejected": result.rejected,
        "rows_duplicate": result.duplicates,
        "rows_unknown_area": result.unknown_area,
        "rows_crosswalk": result.crosswalk,
        "rows_crosswalk_share": result.crosswalk_share,
        "sensors_added": result.sensors_added + result.sensors_registered if result.kind == "traffic" else None,
        "message": result.message or None,
    }


def log_after(
    engine: Engine,
    result: ImportResult,
    source_file: SourceFile | None,
    started: datetime,
    clock: float,
    rejects: pd.DataFrame | None,
    log: Callable[[dict, pd.DataFrame], None] | None = None,
) -> None:
    """Log an import that wrote nothing (aborted, failed, dry run), in its own small transaction (or via `log`)."""
    result.seconds = time.monotonic() - clock
    row = entry(result, source_file, started)
    rejects = rejects.head(1000) if rejects is not None else pd.DataFrame(columns=rows.REJECT_COLUMNS)
    if log is not None:
        log(row, rejects)
        return
    write_log_entry(engine, row, rejects)


def upgrade_tables(engine: Engine) -> None:
    """Before anything is imported or logged, an older database gains what the importer writes: the import_log
    counts (LOG_COLUMNS_ADDED, nullable), the schema's added columns (feedback.source_category, …) and traffic
    sensors without a place (schema.upgrade_columns). The admin upload writes to databases no `init-db` has seen."""
    try:
        with engine.begin() as connection:
            present = set(
                connection.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns "
                        "WHERE table_schema = current_schema() AND table_name = 'import_log'"
                    )
                ).scalars()
            )
            for name in LOG_COLUMNS_ADDED:
                if present and name not in present:  # no table yet: it is created with them
                    connection.execute(text(f'ALTER TABLE import_log ADD COLUMN "{name}" INTEGER'))
            schema.upgrade_columns(connection)
    except SQLAlchemyError:
        pass  # an unreachable database is reported by the import itself


def write_log_entry(engine: Engine, entry: dict, rejects: pd.DataFrame) -> None:
    """One import_log row (and its rejects) in a transaction of its own; a failure to log is not reported."""
    try:
        with engine.begin() as connection:
            q.write_log(connection, entry)
            q.write_rejects(connection, entry["import_id"], rejects)
    except SQLAlchemyError:
        pass  # the log is a courtesy; the import's own error is what the user needs to see
