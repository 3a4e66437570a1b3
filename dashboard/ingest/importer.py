"""One import, start to end: plan the columns, stream the file into a stage table, then swap in one transaction.

Nothing reaches the data tables until the whole file has been read and checked: rows are staged inside the
import's transaction, duplicates within the file keep their last row, and the merge (upsert on source +
source_id, or sensor + time for traffic), the log entry and the rollup refresh commit together. A failure, an
abort (too many rejects) or Ctrl-C rolls everything back; the attempt is still logged afterwards.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Connection, Engine

from dashboard import config, exports
from dashboard.db import import_queries as q
from dashboard.db import schema
from dashboard.db.engine import DatabaseError, translating_errors
from dashboard.ingest import dates, fields, import_log, readers, rows
from dashboard.ingest.import_log import write_log_entry
from dashboard.ingest.messages import Localized, Quoted, Reasons, Share
from dashboard.ingest.places import AreaMatcher
from dashboard.ingest.sensors import NewSensors, fill_defaults
from dashboard.periods import local_now

REJECTS_KEPT = 100_000  # reject rows stored in the database per import (the report file has them all)
SAMPLE_ROWS = 20_000  # rows read to detect date formats and the traffic period
# DuckDB keeps a transaction's new rows and hash tables in memory up to its limit (80 % of RAM by default);
# with a lower limit it spills to disk, which keeps a multi-million-row import within about 1 GB.
DUCKDB_IMPORT_SETTINGS = ("SET memory_limit = '600MB'", "SET preserve_insertion_order = false")


class ImportAborted(Localized, RuntimeError):
    """The import was stopped and nothing was written; `result` has the counts, the message an i18n key."""

    def __init__(self, key: str, result: ImportResult, **params: object) -> None:
        RuntimeError.__init__(self, self._localize(key, params))
        self.result = result


@dataclass
class ImportOptions:
    kind: str
    path: Path
    source: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # --map FIELD=COLUMN
    exact_columns: bool = False  # `columns` is the whole mapping, no header detection (the upload page)
    mapping_file: Path | None = None
    date_format: str | None = None
    dayfirst: bool | None = None
    wide: bool = False
    dry_run: bool = False
    max_reject_rate: float = 0.05
    reject_report: Path | None = None
    sensors: Path | None = None
    strict_sensors: bool = False  # traffic: reject counts of sensors the database does not know (else register them)
    period_minutes: int | None = None
    now: datetime | None = None
    chunk_rows: int = readers.CHUNK_ROWS


@dataclass
class ImportResult:
    import_id: str
    kind: str
    source: str
    file_name: str
    status: str = "running"
    mapping: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    duplicates: int = 0
    unknown_area: int = 0
    crosswalk: int = 0  # rows given with an older unit, placed on a current one through the crosswalk
    crosswalk_share: int = 0  # of them: a split old unit's rows without a point, put in its largest share
    reasons: Counter = field(default_factory=Counter)
    reject_sample: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=rows.REJECT_COLUMNS))
    sensors_added: int = 0  # sensors new to the database from the --sensors list
    sensors_registered: int = 0  # sensors new to the database registered from the counts file itself (no place)
    period_minutes: int | None = None  # traffic: minutes per count, given or found in the file
    message: str = ""
    seconds: float = 0.0

    @property
    def reject_rate(self) -> float:
        return self.rejected / self.rows_read if self.rows_read else 0.0


def default_source(path: Path) -> str:
    """A source name from the file name without dates and counters: "phan_anh_2026-11-20.csv" -> "phan_anh"."""
    stem = fields.plain(path.stem)
    stem = re.sub(r"(_?\d+)+$", "", stem) or "import"
    return stem[:32]


def read_mapping_file(path: Path) -> dict:
    import yaml

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise readers.InputError(
            "ingest.msg.mapping_file_unreadable", file=path.name, detail=(str(error).splitlines() or [""])[0][:160]
        ) from None
    if not isinstance(content, dict):
        raise readers.InputError("ingest.msg.mapping_file_not_mapping", file=path.name)
    return content


def plan(
    kind: str, source_file: readers.SourceFile, options: ImportOptions, settings: dict, sample: pd.DataFrame
) -> rows.Plan:
    """Decide the column mapping and the date formats; InputError when a required field has no column."""
    mapping = {} if options.exact_columns else fields.detect_mapping(kind, source_file.headers)
    for name, header in {**(settings.get("columns") or {}), **options.columns}.items():
        if name not in fields.field_names(kind):
            raise readers.InputError(
                "ingest.msg.unknown_field", field=name, kind=kind, fields=", ".join(fields.field_names(kind))
            )
        if header not in source_file.headers:
            raise readers.InputError(
                "ingest.msg.no_such_column",
                file=source_file.name,
                column=repr(header),
                field=name,
                columns=Quoted(source_file.headers),
            )
        mapping = {f: h for f, h in mapping.items() if h != header}
        mapping[name] = header
    if options.wide:
        mapping = {f: h for f, h in mapping.items() if f in ("observed_at", "hour")}
        mapping.update(sensor_id="wide_sensor", vehicle_count="wide_count")
    missing = [f.name for f in fields.FIELDS[kind] if f.required and f.name not in mapping]
    if missing:
        first = fields.field(kind, missing[0])
        raise readers.InputError(
            "ingest.msg.missing_columns",
            file=source_file.name,
            missing=", ".join(missing),
            kind=kind,
            synonyms=Quoted(first.synonyms[:5]),
            columns=Quoted(source_file.headers[:15]),
            first=missing[0],
        )
    date_format = options.date_format or settings.get("date_format")
    dayfirst = options.dayfirst if options.dayfirst is not None else settings.get("dayfirst")
    rules = {
        name: dates.detect_rule(header, sample[header], date_format=date_format, dayfirst=dayfirst)
        for name, header in mapping.items()
        if header in sample.columns and fields.field(kind, name).kind == "time"
    }
    values = {
        name: {str(k): str(v) for k, v in (table or {}).items()}
        for name, table in (settings.get("values") or {}).items()
    }
    return rows.Plan(
        kind=kind,
        source=(options.source or settings.get("source") or default_source(options.path))[:32],
        mapping=mapping,
        date_rules=rules,
        values=values,
        timezone=config.timezone(),
        now=options.now or local_now(),
        wide=options.wide,
        period_minutes=options.period_minutes or settings.get("period_minutes"),
    )


class _RejectSink:
    """Counts rejects by reason, keeps the first ones for the database and writes all to the report file."""

    def __init__(self, result: ImportResult, report: Path | None) -> None:
        self.result, self.kept, self.report = result, [], report
        self.handle = report.open("w", encoding="utf-8-sig", newline="") if report else None
        if self.handle:
            pd.DataFrame(columns=rows.REJECT_COLUMNS).to_csv(self.handle, index=False, lineterminator="\r\n")

    def add(self, frame: pd.DataFrame) -> None:
        if frame.empty:
            return
        self.result.rejected += len(frame)
        self.result.reasons.update(frame["reason"].value_counts().to_dict())
        if sum(len(k) for k in self.kept) < REJECTS_KEPT:
            self.kept.append(frame)
        if self.handle:  # values from the file: a rejected `=HYPERLINK(…)` must not become a formula in the report
            exports.safe_frame(frame).to_csv(self.handle, index=False, header=False, lineterminator="\r\n")

    def frame(self) -> pd.DataFrame:
        kept = pd.concat(self.kept, ignore_index=True) if self.kept else pd.DataFrame(columns=rows.REJECT_COLUMNS)
        return kept.head(REJECTS_KEPT)

    def close(self) -> None:
        if self.handle:
            self.handle.close()


Progress = Callable[[ImportResult, float], None]
LogWriter = Callable[[dict, pd.DataFrame], None]  # (import_log entry, reject rows) of an import that wrote nothing


def _stream(
    connection: Connection,
    kind: str,
    source_file: readers.SourceFile,
    the_plan: rows.Plan,
    stage,
    matcher: AreaMatcher,
    sensors: set[str] | None,
    new_sensors: NewSensors | None,
    sink: _RejectSink,
    result: ImportResult,
    chunk_rows: int,
    progress: Progress | None,
) -> None:
    for chunk in readers.iter_chunks(source_file, chunk_rows):
        if the_plan.wide:
            chunk = rows.widen(chunk, the_plan)
        result.rows_read += len(chunk)
        if kind == "feedback":
            prepared, rejects = rows.prepare_feedback(chunk, the_plan, matcher)
        elif kind == "dossiers":
            prepared, rejects = rows.prepare_dossiers(chunk, the_plan, matcher)
        elif kind == "sensors":
            prepared, rejects = rows.prepare_sensors(chunk, the_plan, matcher)
        else:
            prepared, rejects = rows.prepare_traffic(chunk, the_plan, sensors)
            if new_sensors is not None:
                named = the_plan.mapping.get("sensor_name")
                new_sensors.add(prepared, chunk[named] if named else None)
        sink.add(rejects.frame())
        if "area_code" in prepared and kind != "sensors":
            result.unknown_area += int(prepared["area_code"].isna().sum())
            via, by_share = matcher.crosswalk_counts(prepared.index)
            result.crosswalk, result.crosswalk_share = result.crosswalk + via, result.crosswalk_share + by_share
        q.append(connection, stage, prepared.reset_index(names="row_number"))
        if progress:
            progress(result, source_file.progress)


def _sensor_file(
    connection: Connection,
    options: ImportOptions,
    matcher: AreaMatcher,
    import_id: str,
    result: ImportResult,
    now: datetime,
) -> set[str]:
    """Upsert the sensors of `--sensors FILE`; the ids of sensors new to the database.

    New sensors get a placeholder capacity and free-flow speed, replaced from their own counts once the counts
    are staged (`sensors.fill_defaults`)."""
    source_file = readers.open_source(options.sensors)
    sample = readers.preview(source_file, SAMPLE_ROWS)
    sensor_plan = plan("sensors", source_file, ImportOptions("sensors", options.sensors, now=now), {}, sample)
    stage = q.stage_table(schema.traffic_sensors, import_id + "s")
    q.create_stage(connection, stage)
    sink = _RejectSink(ImportResult(import_id, "sensors", "", source_file.name), None)
    for chunk in readers.iter_chunks(source_file):
        prepared, rejects = rows.prepare_sensors(chunk, sensor_plan, matcher)
        sink.add(rejects.frame())
        prepared = prepared.assign(free_flow_speed_kmh=40.0, capacity_per_hour=1.0)
        q.append(connection, stage, prepared.reset_index(names="row_number"))
    q.drop_duplicates(connection, stage, ["id"])
    before = q.known_sensors(connection)
    counts = q.merge(
        connection, stage, schema.traffic_sensors, ["id"], keep=["free_flow_speed_kmh", "capacity_per_hour"]
    )
    result.sensors_added = counts["inserted"]
    q.drop_stage(connection, stage)
    return q.known_sensors(connection) - before


# Optional dossier fields a file may not have: an import without the column keeps what the database knows.
_DOSSIER_OPTIONAL = ("supplement_requests", "supplement_days", "complaint")


def _kept_columns(kind: str, the_plan: rows.Plan) -> tuple[str, ...]:
    """Columns the merge never overwrites: feedback's reopened flag (and its rating when the file has none), and the
    optional dossier fields the file does not map."""
    if kind == "feedback":
        return ("reopened",) + (("satisfaction",) if "satisfaction" not in the_plan.mapping else ())
    if kind == "dossiers":
        return tuple(name for name in _DOSSIER_OPTIONAL if name not in the_plan.mapping)
    return ()


def run_import(
    engine: Engine, options: ImportOptions, progress: Progress | None = None, log: LogWriter | None = None
) -> ImportResult:
    """Import one file; raises readers.InputError / dates.DateFormatError before writing, ImportAborted after.

    Every attempt that writes nothing (dry run, abort, failure, also while the file is read) is logged in
    `import_log` in a small transaction of its own, or handed to `log` when given (a caller whose engine is
    thrown away afterwards, as a dry run's copy of a DuckDB file is, writes it elsewhere)."""
    started, clock = local_now(), time.monotonic()
    if options.kind not in ("feedback", "dossiers", "traffic"):
        raise readers.InputError("ingest.msg.unknown_kind", kind=repr(options.kind))
    import_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    logged: list[str] = []
    import_log.upgrade_tables(engine)

    def record(entry: dict, rejects: pd.DataFrame) -> None:
        logged.append(entry["status"])
        if log is not None:
            log(entry, rejects)
        else:
            write_log_entry(engine, entry, rejects)

    try:
        return _run(engine, options, progress, record, started, clock, import_id)
    except (readers.InputError, dates.DateFormatError, MemoryError) as error:
        if not logged:  # failed while reading or planning, before the import's transaction
            result = ImportResult(
                import_id,
                options.kind,
                (options.source or default_source(options.path))[:32],
                options.path.name,
                status="failed",
                message=str(error) or type(error).__name__,
            )
            import_log.log_after(engine, result, None, started, clock, None, record)
        raise


def _run(
    engine: Engine,
    options: ImportOptions,
    progress: Progress | None,
    log: LogWriter | None,
    started: datetime,
    clock: float,
    import_id: str,
) -> ImportResult:
    kind = options.kind
    source_file = readers.open_source(options.path)
    settings = read_mapping_file(options.mapping_file) if options.mapping_file else {}
    options.wide = options.wide or bool(settings.get("wide"))
    sample = readers.preview(source_file, SAMPLE_ROWS)
    if sample.empty:
        raise readers.InputError("ingest.msg.no_data_rows", file=source_file.name)
    if options.wide:
        sample_plan = plan(kind, source_file, options, settings, sample)
        sample = rows.widen(sample, sample_plan)
    the_plan = plan(kind, source_file, options, settings, sample)
    if kind == "traffic" and not the_plan.period_minutes:
        the_plan.period_minutes = rows.infer_period_minutes(sample, the_plan)
    result = ImportResult(
        import_id,
        kind,
        the_plan.source,
        source_file.name,
        mapping=dict(the_plan.mapping),
        date_formats={f: r.describe() for f, r in the_plan.date_rules.items()},
        period_minutes=the_plan.period_minutes if kind == "traffic" else None,
    )
    target = q.TARGETS["traffic_observations" if kind == "traffic" else kind]
    keys = q.MERGE_KEYS[target.name]
    matcher = AreaMatcher.from_engine(engine, config.city())
    sink = _RejectSink(result, options.reject_report)
    try:
        with translating_errors(engine), engine.connect() as connection:
            transaction = connection.begin()
            if connection.dialect.name == "duckdb":
                for setting in DUCKDB_IMPORT_SETTINGS:  # constants, not user input
                    connection.exec_driver_sql(setting)
            else:  # the page-query time limit (IOC_STATEMENT_TIMEOUT_SECONDS) would stop a merge of millions of rows
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
            try:
                new_sensors = set()
                if kind == "traffic" and options.sensors:
                    new_sensors = _sensor_file(connection, options, matcher, import_id, result, the_plan.now)
                known = q.known_sensors(connection) if kind == "traffic" else set()
                registry = NewSensors(known) if kind == "traffic" and not options.strict_sensors else None
                sensors = None if registry is not None else known  # None: every sensor is accepted
                stage = q.stage_table(target, import_id)
                q.create_stage(connection, stage)
                _stream(
                    connection,
                    kind,
                    source_file,
                    the_plan,
                    stage,
                    matcher,
                    sensors,
                    registry,
                    sink,
                    result,
                    options.chunk_rows,
                    progress,
                )
                result.duplicates = q.drop_duplicates(connection, stage, keys)
                if result.reject_rate > options.max_reject_rate:
                    raise ImportAborted(
                        "ingest.msg.too_many_rejects",
                        result,
                        file=source_file.name,
                        rejected=result.rejected,
                        rows=result.rows_read,
                        rate=Share(result.reject_rate),
                        allowed=Share(options.max_reject_rate),
                        reasons=Reasons(result.reasons.most_common(3)),
                    )
                # A listed sensor's ward or road may have changed (every hour of it is refreshed); a registered one's
                # rows are all in the stage, whose days are refreshed anyway.
                rollup_parts = _rollup_parts(
                    connection, kind, stage, target, keys, bool(new_sensors or options.sensors)
                )
                if registry is not None:
                    result.sensors_registered = registry.register(connection)
                    new_sensors = new_sensors | registry.ids
                counts = q.merge(connection, stage, target, keys, keep=_kept_columns(kind, the_plan))
                result.inserted, result.updated, result.unchanged = (
                    counts["inserted"],
                    counts["updated"],
                    counts["unchanged"],
                )
                if new_sensors:
                    fill_defaults(connection, stage, new_sensors)
                q.drop_stage(connection, stage)
                result.status = "dry_run" if options.dry_run else "done"
                result.seconds = time.monotonic() - clock
                if options.dry_run:
                    transaction.rollback()
                else:
                    q.write_log(connection, import_log.entry(result, source_file, started))
                    q.write_rejects(connection, import_id, sink.frame())
                    _refresh_rollups(connection, engine, rollup_parts)
                    transaction.commit()
            except BaseException:
                transaction.rollback()
                raise
    except ImportAborted as aborted:
        result.status, result.message = "aborted", str(aborted)
        result.reject_sample = sink.frame().head(50)
        import_log.log_after(engine, result, source_file, started, clock, sink.frame(), log)
        raise
    except KeyboardInterrupt:
        result.status, result.message = "failed", "interrupted (Ctrl-C); nothing was imported"
        import_log.log_after(engine, result, source_file, started, clock, sink.frame(), log)
        raise
    except DatabaseError as error:
        result.status, result.message = "failed", str(error)
        import_log.log_after(engine, result, source_file, started, clock, sink.frame(), log)
        raise
    except Exception as error:
        result.status, result.message = (
            "failed",
            (str(error) if isinstance(error, Localized) else f"{type(error).__name__}: {error}"),
        )
        import_log.log_after(engine, result, source_file, started, clock, sink.frame(), log)
        raise
    finally:
        sink.close()
    result.reject_sample = sink.frame().head(50)
    if options.dry_run:
        import_log.log_after(engine, result, source_file, started, clock, sink.frame(), log)
    return result


# The rollup each kind of import feeds, and the time columns whose days it touches.
ROLLUP_OF_KIND = {
    "feedback": ("rollup_feedback_daily", ("received_at", "resolved_at", "due_at")),
    "dossiers": ("rollup_dossiers_daily", ("received_at", "due_at", "completed_at")),
    "traffic": ("rollup_traffic_hourly", ("observed_at",)),
}


def _rollup_parts(connection: Connection, kind: str, stage, target, keys, sensors_changed: bool) -> dict:
    """Which rollup days this import changes (read before the merge, while the replaced rows are still there)."""
    name, columns = ROLLUP_OF_KIND[kind]
    if sensors_changed:  # a sensor's ward or road may have changed: every hour of it
        return {name: None}
    days = q.event_days(connection, stage, target, keys, columns)
    return {name: days} if days is not None else {}


def _refresh_rollups(connection: Connection, engine: Engine, parts: dict) -> None:
    """Rebuild the rollup days the import touched (all of them when the rollups were never built)."""
    from dashboard.db.rollups import refresh_rollups

    refresh_rollups(engine, connection=connection, parts=parts)
