"""The dossiers' optional fields (supplement_requests, supplement_days, complaint): import, rejects, upsert, and the
columns added to a database made before they existed. DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import select, text

from dashboard.db import schema
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.db.load import bulk_load, prepare_database
from dashboard.ingest.importer import ImportOptions, run_import

NOW = datetime(2026, 11, 20, 14, 37)
HEADER = "Mã hồ sơ,Ngày tiếp nhận,Hạn xử lý,Tên thủ tục,Số lần yêu cầu bổ sung,Số ngày chờ bổ sung,Khiếu nại\n"


def _write(tmp_path, name: str, lines: list[str]):
    path = tmp_path / name
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _dossiers(engine) -> pd.DataFrame:
    columns = schema.dossiers.c
    statement = select(
        columns.source_id, columns.supplement_requests, columns.supplement_days, columns.complaint
    ).order_by(columns.source_id)
    return fetch_frame(engine, statement)


def test_optional_fields_imported_and_bad_values_rejected(areas_engine, tmp_path):
    path = _write(
        tmp_path,
        "ho_so.csv",
        [
            "HS1,2026-11-02 08:00,2026-11-05 17:00,Đăng ký khai sinh,0,0,không",
            'HS2,2026-11-02 09:00,2026-11-05 17:00,Đăng ký khai sinh,2,"4,5",có',
            "HS3,2026-11-02 10:00,2026-11-05 17:00,Đăng ký khai sinh,,,",  # all unknown
            "HS4,2026-11-02 11:00,2026-11-05 17:00,Đăng ký khai sinh,-1,0,0",  # negative count
            "HS5,2026-11-02 12:00,2026-11-05 17:00,Đăng ký khai sinh,hai,0,0",  # not a number
            "HS6,2026-11-02 13:00,2026-11-05 17:00,Đăng ký khai sinh,1.5,0,0",  # not whole
            "HS7,2026-11-02 14:00,2026-11-05 17:00,Đăng ký khai sinh,1,-3,1",  # negative days
            "HS8,2026-11-02 15:00,2026-11-05 17:00,Đăng ký khai sinh,1,ba,1",  # unreadable days
            "HS9,2026-11-02 16:00,2026-11-05 17:00,Đăng ký khai sinh,1,2,maybe",  # not yes/no
            "HS10,2026-11-02 16:30,2026-11-05 17:00,Đăng ký khai sinh,1,2.5,yes",
        ],
    )
    report = tmp_path / "rejects.csv"
    result = run_import(
        areas_engine,
        ImportOptions("dossiers", path, source="dvc", now=NOW, max_reject_rate=0.9, reject_report=report),
    )
    assert (result.inserted, result.rejected) == (4, 6)
    assert dict(result.reasons) == {
        "supplement_requests_negative": 1,
        "supplement_requests_unreadable": 2,
        "supplement_days_negative": 1,
        "supplement_days_unreadable": 1,
        "complaint_unreadable": 1,
    }
    rejects = pd.read_csv(report, encoding="utf-8-sig", dtype=str)
    assert rejects.values.tolist() == [
        ["4", "Số lần yêu cầu bổ sung", "'-1", "supplement_requests_negative"],  # a leading - is neutralised
        ["5", "Số lần yêu cầu bổ sung", "hai", "supplement_requests_unreadable"],
        ["6", "Số lần yêu cầu bổ sung", "1.5", "supplement_requests_unreadable"],
        ["7", "Số ngày chờ bổ sung", "'-3", "supplement_days_negative"],
        ["8", "Số ngày chờ bổ sung", "ba", "supplement_days_unreadable"],
        ["9", "Khiếu nại", "maybe", "complaint_unreadable"],
    ]
    rows = _dossiers(areas_engine)
    assert rows["source_id"].tolist() == ["HS1", "HS10", "HS2", "HS3"]
    assert rows["supplement_requests"].tolist()[:3] == [0, 1, 2] and pd.isna(rows["supplement_requests"].iloc[3])
    assert rows["supplement_days"].tolist()[:3] == [0.0, 2.5, 4.5] and pd.isna(rows["supplement_days"].iloc[3])
    assert rows["complaint"].tolist()[:3] == [False, True, True] and pd.isna(rows["complaint"].iloc[3])


def test_a_file_without_the_columns_keeps_what_the_database_knows(areas_engine, tmp_path):
    first = _write(tmp_path, "a.csv", ["HS1,2026-11-02 08:00,2026-11-05 17:00,Đăng ký khai sinh,2,3,có"])
    run_import(areas_engine, ImportOptions("dossiers", first, source="dvc", now=NOW))
    bare = tmp_path / "b.csv"
    bare.write_text("Mã hồ sơ,Ngày tiếp nhận,Hạn xử lý,Tên thủ tục\nHS1,2026-11-02 08:00,2026-11-06 17:00,X\n")
    result = run_import(areas_engine, ImportOptions("dossiers", bare, source="dvc", now=NOW))
    assert (result.inserted, result.updated) == (0, 1)  # the new due date and name
    assert _dossiers(areas_engine).values.tolist() == [["HS1", 2, 3.0, True]]
    again = run_import(areas_engine, ImportOptions("dossiers", first, source="dvc", now=NOW))
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 0)  # due date and name back; fields the same


@pytest.mark.parametrize("repeat", [1, 2])
def test_prepare_database_adds_the_missing_columns(any_db_url, repeat):
    """A database made before the optional columns existed gets them (NULL for its rows), once, idempotently."""
    engine = make_engine(any_db_url)
    try:
        row = dict(
            id=1,
            source="t",
            source_id="1",
            procedure_code="P",
            procedure_name="P",
            sector="justice",
            agency="A",
            area_code=None,
            channel="online",
            received_at=datetime(2026, 3, 1),
            due_at=None,
            completed_at=None,
            status="received",
        )
        with engine.begin() as connection:
            for name in schema.ADDED_COLUMNS["dossiers"]:
                connection.execute(text(f'ALTER TABLE dossiers DROP COLUMN "{name}"'))
            connection.execute(
                text(
                    "INSERT INTO dossiers (id, source, source_id, procedure_code, procedure_name, sector, agency, "
                    "channel, received_at, status) VALUES (:id, :source, :source_id, :procedure_code, "
                    ":procedure_name, :sector, :agency, :channel, :received_at, :status)"
                ),
                row,
            )
            assert schema.missing_columns(connection) == {
                "dossiers": ["supplement_requests", "supplement_days", "complaint", *schema.PII_COLUMNS]
            }
        for _ in range(repeat):
            prepare_database(engine, "hue")
        with engine.connect() as connection:
            assert schema.missing_columns(connection) == {}
        assert _dossiers(engine).values.tolist()[0][0] == "1"
        assert _dossiers(engine).iloc[0, 1:].isna().tolist() == [True, True, True]
        # A frame without the optional columns still loads (NULL = unknown): callers written before them.
        bulk_load(engine, schema.dossiers, pd.DataFrame([{**row, "id": 2, "source_id": "2"}]))
        assert _dossiers(engine)["source_id"].tolist() == ["1", "2"]
    finally:
        engine.dispose()


def test_init_db_adds_the_missing_columns_to_an_older_duckdb_file(tmp_path, capsys):
    """`init-db` looks read-only first; a file whose dossiers table lacks the optional columns is not "complete"."""
    from dashboard.cli import main

    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    engine = make_engine(url)
    prepare_database(engine, "hue")  # tables and wards: complete but for the columns dropped below
    with engine.begin() as connection:
        for name in schema.ADDED_COLUMNS["dossiers"]:
            connection.execute(text(f'ALTER TABLE dossiers DROP COLUMN "{name}"'))
    engine.dispose()
    assert main(["--database-url", url, "init-db"]) == 0
    assert "nothing to change" not in capsys.readouterr().out
    assert main(["--database-url", url, "init-db"]) == 0
    assert "(nothing to change)" in capsys.readouterr().out
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            assert schema.missing_columns(connection) == {}
    finally:
        engine.dispose()
