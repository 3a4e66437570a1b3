"""The importer as the worker's jobs run it: the same `run_import` as `python -m dashboard import`, on a writing engine
(on DuckDB a copy that replaces the served file when the block ends), with the schema and the city's areas made sure
of first, as the command does."""

from __future__ import annotations

from dashboard import config
from dashboard.db.engine import writing
from dashboard.db.load import prepare_database
from dashboard.ingest import dates, readers
from dashboard.ingest.importer import ImportAborted, ImportOptions, ImportResult, run_import


def import_file(url: str, options: ImportOptions) -> ImportResult:
    """Import one file into the database at `url`; raises what `run_import` raises (no data written then).

    An import the importer refuses (bad input, too many rejects) still keeps its `import_log` entry: the error is
    caught inside the writing block, so the block ends normally and the log is kept, then raised again."""
    refused: Exception | None = None
    with writing(url) as engine:
        prepare_database(engine, config.city())
        try:
            return run_import(engine, options)
        except (readers.InputError, dates.DateFormatError, ImportAborted) as error:
            refused = error
    raise refused
