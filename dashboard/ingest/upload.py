"""The upload page's steps as plain functions: keep the uploaded bytes, detect columns, check a mapping, run.

Nothing here imports Streamlit; the page (pages/data_import.py) only lays these out. A run goes through the same
`run_import` as the command line, with the administrator's column choices as the whole mapping.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.i18n import CATALOGUE, VI, t
from dashboard.ingest import fields, readers
from dashboard.ingest.importer import ImportOptions, ImportResult, default_source, run_import

UPLOAD_TYPES = ("csv", "tsv", "txt", "xlsx", "parquet", "json", "jsonl")
UPLOAD_KINDS = ("feedback", "dossiers", "traffic")
PREVIEW_ROWS = 20
REJECT_SAMPLE_ROWS = 50
COUNT_NAMES = ("rows_read", "inserted", "updated", "unchanged", "rejected", "duplicates", "unknown_area")
MERGE_COUNTS = ("inserted", "updated", "unchanged")   # only known once the rows met the database


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
    if folder.name.startswith("ioc-upload-"):
        shutil.rmtree(folder, ignore_errors=True)
    else:
        Path(path).unlink(missing_ok=True)


# ---------------------------------------------------------------- detection
@dataclass
class Detection:
    kind: str
    file_name: str
    headers: list[str]
    preview: pd.DataFrame
    mapping: dict[str, str]                     # field -> header, as detected
    choices: dict[str, list[str | None]]        # field -> None ("(none)") then every header
    required: tuple[str, ...]
    source: str                                 # default source name from the file name
    file_format: str = ""
    encoding: str | None = None
    delimiter: str | None = None


def field_choices(kind: str, headers: list[str]) -> dict[str, list[str | None]]:
    """For each field of `kind`: None (not in the file) followed by the file's headers."""
    return {name: [None, *headers] for name in fields.field_names(kind)}


def detect(path: Path | str, kind: str) -> Detection:
    """Headers, the first rows, the detected mapping and the choices; readers.InputError for unreadable files."""
    if kind not in UPLOAD_KINDS:
        raise readers.InputError("ingest.msg.upload_kind", kind=repr(kind), kinds=", ".join(UPLOAD_KINDS))
    source_file = readers.open_source(Path(path))
    frame = readers.preview(source_file, PREVIEW_ROWS)
    headers = list(source_file.headers)
    return Detection(kind=kind, file_name=source_file.name, headers=headers, preview=frame.reset_index(drop=True),
                     mapping=fields.detect_mapping(kind, headers), choices=field_choices(kind, headers),
                     required=tuple(f.name for f in fields.FIELDS[kind] if f.required),
                     source=default_source(Path(path)), file_format=source_file.format,
                     encoding=source_file.encoding, delimiter=source_file.delimiter)


def chosen_mapping(choices: dict[str, str | None]) -> dict[str, str]:
    """field -> header for the fields given a column (None and "" mean "not in the file")."""
    return {name: header for name, header in choices.items() if header}


def in_field_order(kind: str, mapping: dict[str, str]) -> list[str]:
    """The mapped fields in the order the data model lists them (source_id, received_at, ...)."""
    return [name for name in fields.field_names(kind) if name in mapping]


@dataclass(frozen=True)
class MappingProblem:
    code: str       # "missing" (a required field has no column) or "twice" (one column for several fields)
    subject: str    # the field or the column
    fields: tuple[str, ...] = ()


def mapping_problems(kind: str, mapping: dict[str, str]) -> list[MappingProblem]:
    """What stops a run: required fields without a column, and a column chosen for more than one field."""
    problems = [MappingProblem("missing", f.name) for f in fields.FIELDS[kind] if f.required and f.name not in mapping]
    users: dict[str, list[str]] = {}
    for name, header in mapping.items():
        users.setdefault(header, []).append(name)
    problems += [MappingProblem("twice", header, tuple(names)) for header, names in users.items() if len(names) > 1]
    return problems


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

    @classmethod
    def build(cls, kind: str, source: str, mapping: dict[str, str], *, dayfirst: bool = False, date_format: str = "",
              max_reject_rate: float = 0.05, file_sha: str = "") -> RunSettings:
        return cls(kind, source.strip(), tuple(sorted(mapping.items())), bool(dayfirst), (date_format or "").strip(),
                   float(max_reject_rate), file_sha)


def options_for(path: Path | str, settings: RunSettings, *, dry_run: bool, now: datetime | None = None) -> ImportOptions:
    return ImportOptions(kind=settings.kind, path=Path(path), source=settings.source or None,
                         columns=dict(settings.mapping), exact_columns=True,
                         dayfirst=True if settings.dayfirst else None, date_format=settings.date_format or None,
                         dry_run=dry_run, max_reject_rate=settings.max_reject_rate, now=now)


def run(engine: Engine, path: Path | str, settings: RunSettings, *, dry_run: bool,
        progress: Callable[[ImportResult, float], None] | None = None, now: datetime | None = None) -> ImportResult:
    """A dry run or the real import of the uploaded file; raises what run_import raises."""
    return run_import(engine, options_for(path, settings, dry_run=dry_run, now=now), progress=progress)


def counts(result: ImportResult) -> dict[str, int]:
    return {name: int(getattr(result, name)) for name in COUNT_NAMES}


def reject_sample(result: ImportResult, lang: str = "vi", rows: int = REJECT_SAMPLE_ROWS) -> pd.DataFrame:
    """The first rejected rows (row number, column, value, reason in words)."""
    sample = result.reject_sample.head(rows).copy()
    sample["reason"] = [reason_label(code, lang) for code in sample["reason"]]
    sample["value"] = sample["value"].astype(object).where(sample["value"].notna(), "–")
    return sample.reset_index(drop=True)


def reason_counts(result: ImportResult, lang: str = "vi") -> pd.DataFrame:
    """Rejected rows per reason, most frequent first, reasons in words."""
    return pd.DataFrame([{"reason": reason_label(code, lang), "rows": count}
                         for code, count in result.reasons.most_common()], columns=["reason", "rows"])


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
