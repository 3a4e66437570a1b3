"""The upload page's steps as plain functions: keep the uploaded bytes, detect columns, check a mapping, run.

Nothing here imports Streamlit; the page (pages/data_import.py) only lays these out. A run goes through the same
`run_import` as the command line, with the administrator's column choices as the whole mapping; the page runs it
in a process of its own (`run_isolated`, dashboard/ingest/worker.py) with bounded memory and time.

Uploaded files live in temporary folders `ioc-upload-*`. Streamlit has no session-end hook to rely on, so three
things remove them: a new upload replaces the previous one's folder; the session keeps a `TempUpload` whose
finalizer removes its folder when the session state is dropped (the session ended) or the server stops; and
folders older than a day (`STALE_SECONDS`) are swept on the first upload page of a server process.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.i18n import CATALOGUE, VI, t
from dashboard.ingest import dates, fields, importer, readers, worker
from dashboard.ingest.importer import (
    ImportAborted,
    ImportOptions,
    ImportResult,
    default_source,
    run_import,
)

UPLOAD_TYPES = ("csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl")
UPLOAD_KINDS = ("feedback", "dossiers", "traffic")
PREVIEW_ROWS = 20
REJECT_SAMPLE_ROWS = 50
WIDE_TIME_FIELDS = ("observed_at", "hour")  # the only columns of a wide traffic table that are not sensors
COUNT_NAMES = ("rows_read", "inserted", "updated", "unchanged", "rejected", "duplicates", "unknown_area", "crosswalk")
MERGE_COUNTS = ("inserted", "updated", "unchanged")  # only known once the rows met the database


def reason_label(code: object, lang: str = "vi") -> str:
    """The words for a reject reason code ("future_date" -> "Ngày trong tương lai"); the code itself when unknown."""
    key = f"reject_reason.{code}"
    return t(key, lang) if key in CATALOGUE.get(lang, VI) else str(code)


# ---------------------------------------------------------------- the uploaded file
def safe_file_name(name: str) -> str:
    """The uploaded file's own name without folders or odd characters, extension kept: "../a b.CSV" -> "a b.CSV"."""
    base = Path(str(name).replace("\\", "/")).name
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    stem = re.sub(r"[^\w\- .]+", "_", stem).strip(" .") or "upload"
    extension = re.sub(r"\W+", "", extension)[:10]
    return stem[:100] + ("." + extension if extension else "")


def save_upload(data: bytes, file_name: str, folder: Path | None = None) -> Path:
    """Write the uploaded bytes to a new temporary folder under the file's own name (the import log shows it)."""
    target = Path(tempfile.mkdtemp(prefix="ioc-upload-", dir=folder)) / safe_file_name(file_name)
    target.write_bytes(data)
    return target


def discard_upload(path: Path | str | None) -> None:
    """Remove a file written by `save_upload` together with its temporary folder."""
    if not path:
        return
    folder = Path(path).parent
    if folder.name.startswith(UPLOAD_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


UPLOAD_PREFIX = "ioc-upload-"
STALE_SECONDS = 24 * 3600


class TempUpload:
    """Kept in the session next to an upload: when the session state is dropped (or the process exits), the
    finalizer removes the upload's folder."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._finalizer = weakref.finalize(self, discard_upload, self.path)

    def discard(self) -> None:
        self._finalizer()


def sweep_stale_uploads(folder: Path | str | None = None, older_than: float = STALE_SECONDS) -> int:
    """Remove `ioc-upload-*` folders not changed for `older_than` seconds (a session that ended without its
    finalizer running, a killed server); the number removed."""
    root = Path(folder or tempfile.gettempdir())
    cutoff, removed = time.time() - older_than, 0
    for candidate in root.glob(UPLOAD_PREFIX + "*"):
        try:
            if candidate.is_dir() and candidate.stat().st_mtime < cutoff:
                shutil.rmtree(candidate, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


_swept: list[bool] = []


def sweep_once() -> None:
    """`sweep_stale_uploads` once per process (the first upload page after a start)."""
    if not _swept:
        _swept.append(True)
        sweep_stale_uploads()


# ---------------------------------------------------------------- detection
@dataclass
class Detection:
    kind: str
    file_name: str
    headers: list[str]
    preview: pd.DataFrame
    mapping: dict[str, str]  # field -> header, as detected
    choices: dict[str, list[str | None]]  # field -> None ("(none)") then every header
    required: tuple[str, ...]
    source: str  # default source name from the file name
    file_format: str = ""
    encoding: str | None = None
    delimiter: str | None = None


def field_names(kind: str, wide: bool = False) -> list[str]:
    """The fields the administrator maps: a wide traffic table has only its time columns, the rest are sensors."""
    names = fields.field_names(kind)
    return [n for n in names if n in WIDE_TIME_FIELDS] if wide and kind == "traffic" else names


def required_fields(kind: str, wide: bool = False) -> tuple[str, ...]:
    return tuple(f.name for f in fields.FIELDS[kind] if f.required and f.name in field_names(kind, wide))


def field_choices(kind: str, headers: list[str], wide: bool = False) -> dict[str, list[str | None]]:
    """For each field of `kind`: None (not in the file) followed by the file's headers."""
    return {name: [None, *headers] for name in field_names(kind, wide)}


def _detection(path: Path | str, kind: str, wide: bool) -> Detection:
    source_file = readers.open_source(Path(path))
    frame = readers.preview(source_file, PREVIEW_ROWS)
    headers = list(source_file.headers)
    names = field_names(kind, wide)
    mapping = {f: h for f, h in fields.detect_mapping(kind, headers).items() if f in names}
    return Detection(
        kind=kind,
        file_name=source_file.name,
        headers=headers,
        preview=frame.reset_index(drop=True),
        mapping=mapping,
        choices=field_choices(kind, headers, wide),
        required=required_fields(kind, wide),
        source=default_source(Path(path)),
        file_format=source_file.format,
        encoding=source_file.encoding,
        delimiter=source_file.delimiter,
    )


def detect(path: Path | str, kind: str, wide: bool = False) -> Detection:
    """Headers, the first rows, the detected mapping and the choices; readers.InputError for unreadable files.

    `wide` (traffic only): one time column and one count column per sensor; only the time fields are mapped."""
    if kind not in UPLOAD_KINDS:
        raise readers.InputError("ingest.msg.upload_kind", kind=repr(kind), kinds=", ".join(UPLOAD_KINDS))
    return _detection(path, kind, wide and kind == "traffic")


def detect_sensors(path: Path | str) -> Detection:
    """The sensor list uploaded with a traffic file: its columns as the importer will read them."""
    return _detection(path, "sensors", False)


def sensor_columns(headers: list[str], mapping: dict[str, str]) -> list[str]:
    """The columns of a wide traffic table read as sensors: every column not chosen as a time field."""
    used = set(mapping.values())
    return [h for h in headers if h not in used]


def column_label(header: str, lang: str = "vi") -> str:
    """A column name for the "columns used" line; a wide table's generated sensor and count columns in words."""
    return t(f"ingest.wide.{header}", lang) if header in ("wide_sensor", "wide_count") else header


def chosen_mapping(choices: dict[str, str | None]) -> dict[str, str]:
    """field -> header for the fields given a column (None and "" mean "not in the file")."""
    return {name: header for name, header in choices.items() if header}


def in_field_order(kind: str, mapping: dict[str, str]) -> list[str]:
    """The mapped fields in the order the data model lists them (source_id, received_at, ...)."""
    return [name for name in fields.field_names(kind) if name in mapping]


@dataclass(frozen=True)
class MappingProblem:
    code: str  # "missing" (a required field has no column) or "twice" (one column for several fields)
    subject: str  # the field or the column
    fields: tuple[str, ...] = ()


def mapping_problems(kind: str, mapping: dict[str, str], wide: bool = False) -> list[MappingProblem]:
    """What stops a run: required fields without a column, and a column chosen for more than one field."""
    problems = [MappingProblem("missing", name) for name in required_fields(kind, wide) if name not in mapping]
    users: dict[str, list[str]] = {}
    for name, header in mapping.items():
        users.setdefault(header, []).append(name)
    problems += [MappingProblem("twice", header, tuple(names)) for header, names in users.items() if len(names) > 1]
    return problems


def wide_problems(headers: list[str], mapping: dict[str, str]) -> list[MappingProblem]:
    """A wide traffic table needs at least one column besides its time columns (one per sensor)."""
    return [] if sensor_columns(headers, mapping) else [MappingProblem("no_sensor_columns", "")]


# ---------------------------------------------------------------- running
@dataclass(frozen=True)
class RunSettings:
    """Everything the administrator chose; equal settings mean the dry run shown still describes the import."""

    kind: str
    source: str
    mapping: tuple[tuple[str, str], ...]
    dayfirst: bool = False
    date_format: str = ""
    max_reject_rate: float = 0.05
    file_sha: str = ""
    wide: bool = False  # traffic: one time column, one count column per sensor
    period_minutes: int | None = None  # traffic: minutes per count; None = the usual gap in the file
    sensors_sha: str = ""  # traffic: the sensor list uploaded with the counts ("" = none)
    strict_sensors: bool = False  # traffic: reject counts of unknown sensors instead of registering them

    @classmethod
    def build(
        cls,
        kind: str,
        source: str,
        mapping: dict[str, str],
        *,
        dayfirst: bool = False,
        date_format: str = "",
        max_reject_rate: float = 0.05,
        file_sha: str = "",
        wide: bool = False,
        period_minutes: int | None = None,
        sensors_sha: str = "",
        strict_sensors: bool = False,
    ) -> RunSettings:
        traffic = kind == "traffic"
        return cls(
            kind,
            source.strip(),
            tuple(sorted(mapping.items())),
            bool(dayfirst),
            (date_format or "").strip(),
            float(max_reject_rate),
            file_sha,
            bool(wide) and traffic,
            int(period_minutes) if traffic and period_minutes else None,
            sensors_sha if traffic else "",
            bool(strict_sensors) and traffic,
        )


def options_for(
    path: Path | str,
    settings: RunSettings,
    *,
    dry_run: bool,
    now: datetime | None = None,
    sensors: Path | str | None = None,
) -> ImportOptions:
    traffic = settings.kind == "traffic"
    return ImportOptions(
        kind=settings.kind,
        path=Path(path),
        source=settings.source or None,
        columns=dict(settings.mapping),
        exact_columns=True,
        dayfirst=True if settings.dayfirst else None,
        date_format=settings.date_format or None,
        dry_run=dry_run,
        max_reject_rate=settings.max_reject_rate,
        now=now,
        wide=settings.wide,
        period_minutes=settings.period_minutes,
        sensors=Path(sensors) if traffic and sensors else None,
        strict_sensors=settings.strict_sensors,
    )


def run(
    engine: Engine,
    path: Path | str,
    settings: RunSettings,
    *,
    dry_run: bool,
    progress: Callable[[ImportResult, float], None] | None = None,
    now: datetime | None = None,
    sensors: Path | str | None = None,
) -> ImportResult:
    """A dry run or the real import of the uploaded file (with `sensors`, a traffic run's sensor list)."""
    options = options_for(path, settings, dry_run=dry_run, now=now, sensors=sensors)
    return run_import(engine, options, progress=progress)


def run_isolated(
    url: str,
    path: Path | str,
    settings: RunSettings,
    *,
    dry_run: bool,
    file_name: str = "",
    progress: Callable[[object, float], None] | None = None,
    now: datetime | None = None,
    sensors: Path | str | None = None,
    memory_mb: int | None = None,
    timeout: float | None = None,
) -> ImportResult:
    """`run` in a worker process (dashboard/ingest/worker.py) with at most `memory_mb` of address space and
    `timeout` seconds (default: the settings IOC_IMPORT_MEMORY_MB, IOC_IMPORT_TIMEOUT_SECONDS).

    Raises what `run` raises (InputError, DateFormatError, ImportAborted, DatabaseError), rebuilt from the
    worker's i18n keys and parameters. The worker is stopped (SIGTERM, then SIGKILL) when the time is up or when
    the caller stops waiting: Streamlit ends a script run that a closed session or a new click interrupts by
    raising in `progress`, and this function's `finally` stops the worker then."""
    memory_mb = config.value("IOC_IMPORT_MEMORY_MB") if memory_mb is None else memory_mb
    timeout = config.value("IOC_IMPORT_TIMEOUT_SECONDS") if timeout is None else timeout
    name = file_name or Path(path).name
    request = {
        "url": url,
        "path": str(path),
        "name": name,
        "settings": asdict(settings),
        "dry_run": dry_run,
        "now": (now or importer.local_now()).isoformat(),
        "sensors": str(sensors) if sensors else None,
        "memory_mb": memory_mb,
    }
    environment = {**os.environ, "MALLOC_ARENA_MAX": "2", "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "dashboard.ingest.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=config.PROJECT_ROOT,
            env=environment,
            start_new_session=True,
        )
        try:
            child.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
            child.stdin.close()
            final = _follow(child, time.monotonic() + timeout, progress)
        finally:
            stop_worker(child)
        if final is None:
            errors.seek(0)
            raise _worker_failure(child, errors.read().decode(errors="replace"), name, memory_mb, timeout)
    return _outcome(final)


def _follow(child: subprocess.Popen, deadline: float, progress) -> dict | None:
    """Read the worker's JSON lines until its final one (None: it ended without one, or the time is up)."""
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    buffer = b""
    while time.monotonic() < deadline:
        if not selector.select(timeout=min(1.0, max(deadline - time.monotonic(), 0.0))):
            continue
        chunk = os.read(child.stdout.fileno(), 1 << 16)
        if not chunk:
            return None
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                event = json.loads(line)
            except ValueError:
                continue  # not one of the worker's lines (a library printing to stdout)
            if not isinstance(event, dict) or "event" not in event:
                continue
            if event["event"] != "progress":
                return event
            if progress is not None:
                progress(SimpleNamespace(rows_read=event["rows"]), event["share"])
    child.timed_out = True
    return None


def stop_worker(child: subprocess.Popen, grace: float = 10.0) -> None:
    """End the worker and everything it started: SIGTERM (it rolls back and removes its copy), then SIGKILL."""
    if child.poll() is None:
        try:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
        except ProcessLookupError:
            pass
    child.stdout.close()


_MEMORY_WORDS = ("MemoryError", "bad_alloc", "Cannot allocate memory", "Out of Memory", "out of memory")


def _worker_failure(child: subprocess.Popen, errors: str, name: str, memory_mb: int, timeout: float) -> Exception:
    """The worker ended without its final line: out of time, out of memory (or killed for it), or a crash."""
    if getattr(child, "timed_out", False):
        return readers.InputError(
            "ingest.msg.timeout", file=name, limit=int(timeout), setting="IOC_IMPORT_TIMEOUT_SECONDS"
        )
    if child.returncode == -signal.SIGKILL or any(word in errors for word in _MEMORY_WORDS):
        return readers.InputError(
            "ingest.msg.out_of_memory", file=name, limit=memory_mb, setting="IOC_IMPORT_MEMORY_MB"
        )
    lines = [line for line in errors.strip().splitlines() if line.strip()]
    detail = f"exit {child.returncode}" + (f": {lines[-1][:160]}" if lines else "")
    return readers.InputError("ingest.msg.worker_failed", file=name, detail=detail)


def _outcome(event: dict) -> ImportResult:
    from dashboard.db.engine import DatabaseError

    if event["event"] == "result":
        return worker.decode_result(event["result"])
    if event["event"] == "aborted":
        raise ImportAborted(
            event["key"], worker.decode_result(event["result"]), **worker.decode_params(event["params"])
        )
    if event.get("type") == "DatabaseError":
        raise DatabaseError(event["message"])
    error_type = dates.DateFormatError if event.get("type") == "DateFormatError" else readers.InputError
    raise error_type(event["key"], **worker.decode_params(event["params"]))


def counts(result: ImportResult) -> dict[str, int]:
    """The tiles' figures; a traffic import has no wards to convert: its last tile is the sensors it added (from
    the sensor list and registered from the counts file)."""
    figures = {name: int(getattr(result, name)) for name in COUNT_NAMES}
    if result.kind == "traffic":
        del figures["crosswalk"]
        figures["sensors_added"] = int(result.sensors_added + result.sensors_registered)
    return figures


def reject_sample(result: ImportResult, lang: str = "vi", rows: int = REJECT_SAMPLE_ROWS) -> pd.DataFrame:
    """The first rejected rows (row number, column, value, reason in words)."""
    sample = result.reject_sample.head(rows).copy()
    sample["reason"] = [reason_label(code, lang) for code in sample["reason"]]
    sample["value"] = sample["value"].astype(object).where(sample["value"].notna(), "–")
    return sample.reset_index(drop=True)


def reason_counts(result: ImportResult, lang: str = "vi") -> pd.DataFrame:
    """Rejected rows per reason, most frequent first, reasons in words."""
    return pd.DataFrame(
        [{"reason": reason_label(code, lang), "rows": count} for code, count in result.reasons.most_common()],
        columns=["reason", "rows"],
    )


@dataclass
class Outcome:
    """What the page keeps between reruns after a run: the result (or the error text) and the settings used."""

    settings: RunSettings
    dry_run: bool
    result: ImportResult | None = None
    error: str = ""
    details: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result is not None and not self.error
