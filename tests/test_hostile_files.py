"""Hostile import files: each is refused quickly, in bounded memory, with one line naming the
file, the limit, its setting and where; exit code 2; an import_log row; the data tables unchanged.

The command-line cases run `python -m dashboard import` in a subprocess whose address space is capped
(RLIMIT_AS 1.5 GB; the process reserves about 1.2 GB with DuckDB loaded, so glibc's per-thread malloc arenas are
capped at 2 as the upload worker does) with a 60 s timeout.
Before the limits: the 1 M-column CSV ran past 60 s at 3.1 GB, the 1 GiB shared string past 60 s at 5.1 GB, the
10 M-row sheet past 60 s; the 200 KB header field ended in a traceback; the bad byte was reported at "byte 2".
"""

from __future__ import annotations

import gc
import os
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import hostile_payloads as payloads
import pytest
from sqlalchemy import select

from dashboard.db import schema
from dashboard.db.engine import create_schema, fetch_frame, make_engine
from dashboard.ingest import importer, limits, readers, upload
from dashboard.ingest.importer import ImportOptions

ROOT = Path(__file__).resolve().parent.parent
CAP_BYTES = 1536 << 20
TABLES = ("feedback", "dossiers", "traffic_observations", "import_rejects", "areas")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {
        "columns": payloads.million_columns_csv(folder / "cot.csv"),
        "bomb": payloads.huge_shared_string_xlsx(folder / "bom.xlsx"),
        "rows": payloads.many_rows_xlsx(folder / "dong.xlsx"),
    }


@pytest.fixture
def db(tmp_path) -> Path:
    """A DuckDB file with the schema and Huế's wards, every engine on it closed."""
    from dashboard.db.load import load_areas

    path = tmp_path / "ioc.duckdb"
    engine = make_engine(f"duckdb:///{path}")
    try:
        create_schema(engine)
        load_areas(engine, "hue")
    finally:
        engine.dispose()
    return path


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CAP_BYTES, CAP_BYTES))


def _cli(db: Path, *args: str, env: dict | None = None) -> tuple[int, list[str], float]:
    """Exit code, stderr lines and seconds of one capped `python -m dashboard` run."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "--database-url", f"duckdb:///{db}", *args, "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "MALLOC_ARENA_MAX": "2", **(env or {})},
        preexec_fn=_cap,
    )  # noqa: PLW1509 - the test process starts no threads
    try:
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
    return child.returncode, err.decode().strip().splitlines(), time.monotonic() - started


def _state(db: Path) -> tuple[dict[str, int], list[tuple]]:
    """Row counts of the data tables and the import_log rows (status, file, message) of a DuckDB file."""
    with duckdb.connect(str(db), read_only=True) as connection:
        counts = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
        log = connection.execute("SELECT status, file_name, rows_read, message FROM import_log").fetchall()
    return counts, log


def _refused(db: Path, file: Path, expected: str, kind: str = "feedback", env: dict | None = None) -> float:
    """Import `file`: exit 2, exactly `expected` on one line, one failed import_log row, nothing else changed."""
    before, log_before = _state(db)
    code, lines, seconds = _cli(db, "import", kind, str(file), env=env)
    assert (code, lines) == (2, [f"error: {expected}"])
    after, log = _state(db)
    assert after == before
    assert log == [*log_before, ("failed", file.name, 0, expected)]
    return seconds


# ---------------------------------------------------------------- the findings, through the command line
def test_a_million_columns_are_refused_from_the_header_line(files, db):
    assert files["columns"].stat().st_size == 9_888_890
    seconds = _refused(
        db,
        files["columns"],
        "cot.csv: ≥ 538,177 columns (header row), more than the limit of 500; "
        "raise the setting IOC_IMPORT_MAX_COLUMNS if the file is right",
    )
    assert seconds < 30


def test_a_zip_bomb_xlsx_is_refused_from_its_zip_directory(files, db):
    part = zipfile.ZipFile(files["bomb"]).getinfo("xl/sharedStrings.xml")
    assert files["bomb"].stat().st_size < 1_100_000 and part.file_size > 1 << 30
    ratio = part.file_size // part.compress_size
    seconds = _refused(
        db,
        files["bomb"],
        f"bom.xlsx: the part xl/sharedStrings.xml of this Excel file expands "
        f"{ratio:,} times ({part.compress_size:,} → {part.file_size:,} bytes), "
        f"more than the limit of 200: a zip bomb, not a data export; raise the "
        f"setting IOC_IMPORT_MAX_XLSX_RATIO if the file is right",
    )
    assert seconds < 30


def test_ten_million_rows_in_an_xlsx_are_refused_before_openpyxl_reads_them(files, db):
    sheet = zipfile.ZipFile(files["rows"]).getinfo("xl/worksheets/sheet1.xml")
    assert files["rows"].stat().st_size < 1_000_000 and sheet.file_size == 260_000_241
    ratio = sheet.file_size // sheet.compress_size
    _refused(
        db,
        files["rows"],
        f"dong.xlsx: the part xl/worksheets/sheet1.xml of this Excel file expands {ratio:,} "
        f"times ({sheet.compress_size:,} → {sheet.file_size:,} bytes), more than the limit "
        f"of 200: a zip bomb, not a data export; raise the setting IOC_IMPORT_MAX_XLSX_RATIO "
        f"if the file is right",
    )


def test_rows_of_an_xlsx_are_counted_without_parsing_it(files):
    """With the ratio allowed, the sheet's rows are counted from its tags: Excel's own row limit, then the setting."""
    lenient = limits.Limits(
        columns=500,
        field_chars=10**6,
        line_bytes=1 << 22,
        rows=20_000_000,
        cells=200_000_000,
        xlsx_ratio=1000,
        xlsx_part_bytes=1 << 30,
    )
    started = time.monotonic()
    with pytest.raises(readers.InputError) as error:
        readers.open_source(files["rows"], lenient)
    assert str(error.value) == (
        "dong.xlsx: the sheet has more than 1,048,576 rows, more than Excel allows: not an Excel export"
    )
    assert time.monotonic() - started < 10
    smaller = limits.Limits(**{**lenient.__dict__, "rows": 1000})
    with pytest.raises(readers.InputError) as error:
        readers.open_source(files["rows"], smaller)
    assert str(error.value) == (
        "dong.xlsx: more than 1,000 data rows (row 1,001 is over the limit); raise the setting "
        "IOC_IMPORT_MAX_ROWS if the file is right"
    )
    fewer_cells = limits.Limits(**{**lenient.__dict__, "cells": 500_000})
    with pytest.raises(readers.InputError, match=r"more than 500,000 cells \(rows × columns\), passed by row"):
        readers.open_source(files["rows"], fewer_cells)


def test_a_200_kb_field_without_a_line_end_is_one_line(tmp_path, db):
    header_only = tmp_path / "mot_dong.csv"  # before: _csv.Error "field larger than field limit", exit 1
    header_only.write_bytes(b"id," + b"x" * 200_000)
    _refused(
        db,
        header_only,
        "mot_dong.csv: the file looks truncated: its last line has 1 of 2 columns and no line end ('" + "x" * 60 + "')",
    )
    data_row = payloads.long_field_without_line_end(tmp_path / "cuoi.csv")
    _refused(
        db,
        data_row,
        "cuoi.csv: the file looks truncated: its last line has 1 of 2 columns and no line end ('" + "x" * 60 + "')",
    )


def test_bad_encoding_after_the_first_megabyte_names_its_real_byte_and_line(tmp_path, db):
    path, offset, line = payloads.bad_byte_after(tmp_path / "ma_hoa.csv")
    assert (offset, line) == (2_268_943, 40_002) and path.read_bytes()[offset] == 0xFF
    _refused(db, path, "ma_hoa.csv: byte 2,268,943 (line 40,002) cannot be read as utf-8; save the file as UTF-8")


# ---------------------------------------------------------------- limits scaled down by their settings
def _limited(**changes) -> limits.Limits:
    base = limits.Limits(
        columns=500,
        field_chars=1_000_000,
        line_bytes=4 << 20,
        rows=20_000_000,
        cells=200_000_000,
        xlsx_ratio=200,
        xlsx_part_bytes=1 << 30,
    )
    return limits.Limits(**{**base.__dict__, **changes})


def _error(path: Path, lim: limits.Limits) -> str:
    with pytest.raises(readers.InputError) as error:
        source = readers.open_source(path, lim)
        for _ in readers.iter_chunks(source, chunk_rows=2):
            pass
    return str(error.value)


def test_field_line_row_and_cell_limits_name_where_they_were_hit(tmp_path):
    path = tmp_path / "gioi_han.csv"
    path.write_bytes(
        b"id,created_date,description\n"
        + b"".join(b"A-%d,2026-11-01 08:00,%s\n" % (i, b"y" * (5000 if i == 3 else 10)) for i in range(1, 8))
    )
    assert _error(path, _limited(field_chars=1000)) == (
        "gioi_han.csv: row 3, column 'description': a value of 5,000 characters, more than the limit of 1,000; "
        "raise the setting IOC_IMPORT_MAX_FIELD_CHARS if the file is right"
    )
    line_start = path.read_bytes().index(b"A-3")
    assert _error(path, _limited(line_bytes=1000)) == (
        f"gioi_han.csv: line 4 (from byte {line_start:,}) is longer than the limit of 1,000 bytes; raise the "
        f"setting IOC_IMPORT_MAX_LINE_BYTES if the file is right"
    )
    assert _error(path, _limited(rows=5)) == (
        "gioi_han.csv: more than 5 data rows (row 6 is over the limit); raise the setting IOC_IMPORT_MAX_ROWS if "
        "the file is right"
    )
    assert _error(path, _limited(cells=10)) == (
        "gioi_han.csv: more than 10 cells (rows × columns), passed by row 4; raise the setting IOC_IMPORT_MAX_CELLS "
        "if the file is right"
    )
    assert _error(path, _limited(columns=2)) == (
        "gioi_han.csv: 3 columns (header row), more than the limit of 2; raise the setting IOC_IMPORT_MAX_COLUMNS if "
        "the file is right"
    )


def test_settings_set_the_limits(monkeypatch):
    monkeypatch.setenv("IOC_IMPORT_MAX_COLUMNS", "42")
    monkeypatch.setenv("IOC_IMPORT_MAX_XLSX_PART_MB", "3")
    current = limits.Limits.current()
    assert (current.columns, current.xlsx_part_bytes, current.rows) == (42, 3 << 20, 20_000_000)


# ---------------------------------------------------------------- the log, on both databases
def test_a_failure_while_reading_is_logged(areas_engine, tmp_path):
    path, _, _ = payloads.bad_byte_after(tmp_path / "ma_hoa_2026.csv")
    with pytest.raises(readers.InputError) as error:
        importer.run_import(areas_engine, ImportOptions("feedback", path))
    log = fetch_frame(
        areas_engine,
        select(
            schema.import_log.c.kind,
            schema.import_log.c.source,
            schema.import_log.c.file_name,
            schema.import_log.c.status,
            schema.import_log.c.rows_read,
            schema.import_log.c.message,
        ),
    )
    assert log.values.tolist() == [["feedback", "ma_hoa", "ma_hoa_2026.csv", "failed", 0, str(error.value)]]
    assert str(error.value) == (
        "ma_hoa_2026.csv: byte 2,268,943 (line 40,002) cannot be read as utf-8; save the file as UTF-8"
    )


# ---------------------------------------------------------------- the upload page's worker process
SETTINGS = upload.RunSettings.build("feedback", "x", {"source_id": "c0", "received_at": "c1"})


def test_the_upload_worker_refuses_the_million_columns(files, db):
    before = _state(db)[0]
    with pytest.raises(readers.InputError) as error:
        upload.run_isolated(f"duckdb:///{db}", files["columns"], SETTINGS, dry_run=True, memory_mb=1536)
    assert error.value.key == "ingest.msg.too_many_columns"
    assert error.value.message("vi") == (
        "cot.csv: ≥ 538.177 cột (dòng tiêu đề), vượt giới hạn 500 cột; nếu tệp đúng, "
        "hãy tăng thiết lập IOC_IMPORT_MAX_COLUMNS"
    )
    counts, log = _state(db)
    assert counts == before and [row[0] for row in log] == ["failed"]
    assert not list(db.parent.glob(".*.writing*"))  # the worker's copies are gone


def test_the_upload_worker_is_bounded_in_memory_and_time(tmp_path, db):
    path = tmp_path / "nho.csv"
    path.write_text("c0,c1\nA,2026-11-01 08:00\n", encoding="utf-8")
    with pytest.raises(readers.InputError) as error:
        upload.run_isolated(f"duckdb:///{db}", path, SETTINGS, dry_run=True, memory_mb=200)
    assert str(error.value) == (
        "nho.csv: the import needed more than the 200 MB of memory it may use and was "
        "stopped; nothing was imported (setting IOC_IMPORT_MEMORY_MB)"
    )
    started = time.monotonic()
    with pytest.raises(readers.InputError) as error:
        upload.run_isolated(f"duckdb:///{db}", path, SETTINGS, dry_run=True, timeout=0.2)
    assert str(error.value) == (
        "nho.csv: the import was still running after 0 s and was stopped; nothing was "
        "imported (setting IOC_IMPORT_TIMEOUT_SECONDS)"
    )
    assert time.monotonic() - started < 15
    assert _state(db)[1] == [] and not list(db.parent.glob(".*.writing*"))


# ---------------------------------------------------------------- temporary upload folders
def test_upload_folders_go_with_the_session_and_stale_ones_are_swept(tmp_path):
    path = upload.save_upload(b"a,b\n1,2\n", "phan_anh.csv", folder=tmp_path)
    session_state = {"ingest_temp_uploads": {"ingest_upload": upload.TempUpload(path)}}
    assert path.exists()
    del session_state
    gc.collect()
    assert not path.parent.exists()

    old = upload.save_upload(b"x", "cu.csv", folder=tmp_path).parent
    fresh = upload.save_upload(b"y", "moi.csv", folder=tmp_path).parent
    other = tmp_path / "not-an-upload"
    other.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    for folder in (old, other):
        os.utime(folder, (two_days_ago, two_days_ago))
    assert upload.sweep_stale_uploads(tmp_path) == 1
    assert not old.exists() and fresh.exists() and other.exists()

    replaced = upload.TempUpload(upload.save_upload(b"z", "z.csv", folder=tmp_path))
    replaced.discard()
    assert not Path(replaced.path).exists()


def test_the_upload_page_shows_the_million_columns_as_one_error(monkeypatch, demo_db_url, files):
    """Detection runs in the page's server thread: bounded, one error, no exception (before: 7+ min at 4.5 GB)."""
    from page_support import APP, sign_in
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.navigation import PAGES
    from dashboard.web import admin

    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", demo_db_url)
    app = AppTest.from_file(APP, default_timeout=60)
    sign_in(app, demo_db_url)
    app.session_state["ingest_upload"] = {"path": str(files["columns"]), "name": "cot.csv", "sha256": "0" * 64}
    app.run()
    app.switch_page(str(next(spec for spec in PAGES if spec.key == "data_import").path))
    started = time.monotonic()
    app.run()
    assert time.monotonic() - started < 20
    assert not app.exception
    assert [e.body for e in app.error] == [
        t(
            "ingest.error.input",
            message=(
                "cot.csv: ≥ 538.177 cột (dòng tiêu đề), vượt giới hạn 500 cột; nếu tệp đúng, hãy tăng thiết lập "
                "IOC_IMPORT_MAX_COLUMNS"
            ),
        )
    ]


class _Stopped(Exception):
    """What Streamlit raises in a script run that a closed session or a new click ends."""


def test_the_upload_worker_is_stopped_when_the_page_stops_waiting(monkeypatch, tmp_path, db):
    from dashboard.bench.writes import write_feedback_csv

    path = tmp_path / "phan_anh.csv"
    write_feedback_csv(path, 400_000)
    settings = upload.RunSettings.build("feedback", "phan_anh", upload.detect(path, "feedback").mapping, dayfirst=True)
    started: list[subprocess.Popen] = []

    class Recorded(subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            started.append(self)

    def leave(result, share):
        raise _Stopped

    monkeypatch.setattr(upload.subprocess, "Popen", Recorded)
    before = _state(db)[0]
    with pytest.raises(_Stopped):
        upload.run_isolated(f"duckdb:///{db}", path, settings, dry_run=False, progress=leave)
    assert [child.returncode for child in started] == [130]  # SIGTERM: rolled back, logged and ended by itself
    counts, log = _state(db)
    assert {**counts, "import_rejects": 0} == before  # the rejects seen so far are kept with the failed attempt
    assert [(status, message) for status, _, _, message in log] == [
        ("failed", "interrupted (Ctrl-C); nothing was imported")
    ]
    assert not list(db.parent.glob(".*.writing*"))
