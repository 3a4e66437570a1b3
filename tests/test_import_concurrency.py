"""New feedback and dossier ids come from a sequence: two imports of different sources running at
the same time on PostgreSQL both succeed; on both backends ids continue past rows loaded with explicit ids (the demo)
and a database made before the sequences existed gets them, started after its largest id."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text

from dashboard.db import schema
from dashboard.db.engine import create_schema, fetch_frame, make_engine
from dashboard.db.load import bulk_load, load_areas
from dashboard.ingest.importer import ImportOptions, run_import

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 20, 14, 37)
ROWS = 4000
HEADER = "id,Ngày tiếp nhận,Lĩnh vực,Trạng thái,Ngày hoàn thành,Hạn xử lý\n"
CATEGORIES = ("Rác thải", "Ổ gà", "Đèn", "Cây đổ")


def feedback_file(path: Path, prefix: str, rows: int, seed: int) -> Path:
    """`rows` feedback rows with ids `prefix`-1…, received in October–November 2026, half of them resolved."""
    rng = np.random.default_rng(seed)
    received = [datetime(2026, 10, 1) + timedelta(minutes=int(m)) for m in rng.integers(0, 45 * 24 * 60, rows)]
    resolved = rng.random(rows) < 0.5
    hours = rng.integers(1, 200, rows)
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        for k in range(rows):
            done = received[k] + timedelta(hours=int(hours[k]))
            handle.write(
                f"{prefix}-{k + 1},{received[k]:%Y-%m-%d %H:%M},{CATEGORIES[k % 4]},"
                f"{'Đã xử lý' if resolved[k] else 'Mới'},{f'{done:%Y-%m-%d %H:%M}' if resolved[k] else ''},"
                f"{received[k] + timedelta(days=5):%Y-%m-%d %H:%M}\n"
            )
    return path


def _waiting_on_locks(connection) -> int:
    waiting = connection.execute(
        text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
    ).scalar_one()
    connection.rollback()  # pg_stat_activity is read once per transaction
    return waiting


def _import_together(engine, url: str, jobs: list[tuple[Path, str]]) -> list[subprocess.CompletedProcess]:
    """`python -m dashboard import feedback FILE --source S` for every job, all started at one barrier and all held
    just before they commit: the test locks the import log, which every import writes after its merge, until each
    import waits on a lock (the log, or before the fix the other import's uncommitted ids), then lets them go."""
    barrier, results = threading.Barrier(len(jobs)), [None] * len(jobs)
    environment = {**os.environ, "IOC_DATABASE_URL": url}

    def run(position: int, path: Path, source: str) -> None:
        barrier.wait()
        results[position] = subprocess.run(
            [sys.executable, "-m", "dashboard", "import", "feedback", str(path), "--source", source, "--quiet"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    threads = [threading.Thread(target=run, args=(k, *job)) for k, job in enumerate(jobs)]
    with engine.connect() as holder, engine.connect() as watcher, holder.begin():
        holder.execute(text("LOCK TABLE import_log IN EXCLUSIVE MODE"))  # reads pass, inserts wait
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while _waiting_on_locks(watcher) < len(jobs) and time.monotonic() < deadline:
            time.sleep(0.05)
        held = _waiting_on_locks(watcher)
    for thread in threads:
        thread.join()
    assert held == len(jobs), "the imports were not all held before their commit"
    return results


@pytest.mark.postgres
def test_two_concurrent_postgres_imports_of_two_sources_both_succeed(pg_url, tmp_path):
    engine = make_engine(pg_url)
    try:
        create_schema(engine, drop_first=True)
        load_areas(engine, "hue")
        files = [
            (feedback_file(tmp_path / f"{source}.csv", source.upper(), ROWS, seed), source)
            for seed, source in enumerate(("a", "b"))
        ]
        for _round in range(2):  # the second round updates every row and inserts nothing
            results = _import_together(engine, pg_url, files)
            assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
        rows = fetch_frame(engine, select(schema.feedback.c.id, schema.feedback.c.source))
        assert len(rows) == 2 * ROWS and rows["id"].is_unique
        assert rows["source"].value_counts().to_dict() == {"a": ROWS, "b": ROWS}
        assert sorted(rows["id"]) == list(range(1, 2 * ROWS + 1))  # no id skipped when nothing was loaded by hand
        log = fetch_frame(
            engine,
            select(
                schema.import_log.c.source,
                schema.import_log.c.status,
                schema.import_log.c.rows_inserted,
                schema.import_log.c.rows_unchanged,
            ).order_by(schema.import_log.c.source, schema.import_log.c.started_at),
        )
        assert log.values.tolist() == [
            ["a", "done", ROWS, 0],
            ["a", "done", 0, ROWS],
            ["b", "done", ROWS, 0],
            ["b", "done", 0, ROWS],
        ]
        with engine.connect() as connection:
            rolled = connection.execute(select(func.sum(schema.rollup_feedback_daily.c.received))).scalar()
        assert rolled == 2 * ROWS  # the two rollup rebuilds did not double count
    finally:
        engine.dispose()


# ---------------------------------------------------------------- ids after explicit ids, and the upgrade
def _feedback_row(id_: int | None, source_id: str) -> dict:
    row = {
        "source": "hand",
        "source_id": source_id,
        "received_at": datetime(2026, 11, 2, 9),
        "category": "street_lighting",
        "channel": None,
        "area_code": None,
        "lat": None,
        "lon": None,
        "status": "new",
        "agency": None,
        "due_at": None,
        "first_response_at": None,
        "resolved_at": None,
        "satisfaction": None,
        "reopened": False,
    }
    return row if id_ is None else {"id": id_, **row}


def test_ids_continue_after_a_demo_database_and_its_explicit_ids(demo_db_url, tmp_path):
    """The demo loads its rows with explicit ids; an import into it (and a plain insert) gets ids after them."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_url.removeprefix("duckdb:///"), path)
    engine = make_engine(f"duckdb:///{path}")
    try:
        largest = {
            t.name: fetch_frame(engine, select(func.max(t.c.id), func.count())).iloc[0].tolist()
            for t in (schema.feedback, schema.dossiers)
        }
        assert all(high == count for high, count in largest.values())  # the demo numbers its rows 1…n
        result = run_import(
            engine, ImportOptions("feedback", feedback_file(tmp_path / "new.csv", "N", 50, 3), now=NOW, source="new")
        )
        assert (result.inserted, result.status) == (50, "done")
        new = fetch_frame(
            engine,
            select(schema.feedback.c.id, schema.feedback.c.source_id)
            .where(schema.feedback.c.source == "new")
            .order_by(schema.feedback.c.id),
        )
        first = largest["feedback"][0] + 1
        assert new["id"].tolist() == list(range(first, first + 50))
        assert new["source_id"].tolist() == [f"N-{k}" for k in range(1, 51)]  # in the file's order
        with engine.begin() as connection:
            connection.execute(insert(schema.feedback).values(_feedback_row(None, "by-hand")))
            connection.execute(
                insert(schema.dossiers).values(
                    source="hand",
                    source_id="1",
                    procedure_code="P",
                    procedure_name="P",
                    sector="s",
                    channel="online",
                    received_at=datetime(2026, 11, 2),
                    status="received",
                )
            )
        hand = fetch_frame(engine, select(schema.feedback.c.id).where(schema.feedback.c.source == "hand"))
        assert hand["id"].tolist() == [first + 50]
        dossier = fetch_frame(engine, select(schema.dossiers.c.id).where(schema.dossiers.c.source == "hand"))
        assert dossier["id"].tolist() == [largest["dossiers"][0] + 1]
    finally:
        engine.dispose()


def test_bulk_load_with_explicit_ids_moves_the_sequence_past_them(any_db_url):
    engine = make_engine(any_db_url)
    try:
        frame = pd.DataFrame([_feedback_row(k, f"L{k}") for k in (5, 900, 17)])
        bulk_load(engine, schema.feedback, frame)
        with engine.begin() as connection:
            connection.execute(insert(schema.feedback).values(_feedback_row(None, "after")))
        ids = fetch_frame(engine, select(schema.feedback.c.id).order_by(schema.feedback.c.id))["id"].tolist()
        assert ids == [5, 17, 900, 901]
    finally:
        engine.dispose()


def test_a_database_made_before_the_sequences_gets_them_after_its_largest_id(any_db_url, tmp_path):
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as connection:  # the schema as it was: ids without a default, no sequences
            for table in (schema.feedback, schema.dossiers):
                connection.execute(text(f'ALTER TABLE "{table.name}" ALTER COLUMN id DROP DEFAULT'))
                connection.execute(text(f"DROP SEQUENCE {table.name}_id_seq"))
            connection.execute(insert(schema.feedback), [_feedback_row(k, f"old{k}") for k in (1, 2, 41)])
        # An upload runs the importer without `init-db`: it creates the sequence it needs, after the largest id
        result = run_import(
            engine, ImportOptions("feedback", feedback_file(tmp_path / "up.csv", "U", 3, 5), now=NOW, source="up")
        )
        assert (result.status, result.inserted) == ("done", 3)
        create_schema(engine)  # what `init-db` and `import` run on an existing database
        create_schema(engine)  # idempotent: a second run changes nothing
        with engine.begin() as connection:
            connection.execute(insert(schema.feedback).values(_feedback_row(None, "new")))
            connection.execute(
                insert(schema.dossiers).values(
                    source="hand",
                    source_id="1",
                    procedure_code="P",
                    procedure_name="P",
                    sector="s",
                    channel="online",
                    received_at=datetime(2026, 11, 2),
                    status="received",
                )
            )
        ids = fetch_frame(engine, select(schema.feedback.c.id).order_by(schema.feedback.c.id))["id"].tolist()
        assert ids == [1, 2, 41, 42, 43, 44, 45]
        assert fetch_frame(engine, select(schema.dossiers.c.id))["id"].tolist() == [1]
    finally:
        engine.dispose()
