"""The importer end to end on DuckDB and PostgreSQL: exact counts, idempotence, atomicity, the import log."""

from __future__ import annotations

import json
from datetime import date, datetime

import messy_files as messy
import pandas as pd
import pytest
from sqlalchemy import func, select

from dashboard.cli import main
from dashboard.db import import_queries, schema
from dashboard.db.engine import fetch_frame, fetch_one, make_engine
from dashboard.db.load import load_areas
from dashboard.ingest import readers
from dashboard.ingest.importer import ImportAborted, ImportOptions, run_import

NOW = datetime(2026, 11, 20, 14, 37)


@pytest.fixture
def engine(areas_engine):
    return areas_engine


def _table(engine, table) -> pd.DataFrame:
    frame = fetch_frame(engine, select(table))
    keys = [c for c in ("source", "source_id", "sensor_id", "observed_at", "id") if c in frame.columns]
    return frame.sort_values(keys).reset_index(drop=True)


def _snapshot(engine) -> dict[str, pd.DataFrame]:
    return {
        t.name: _table(engine, t)
        for t in (schema.feedback, schema.dossiers, schema.traffic_sensors, schema.traffic_observations, schema.areas)
    }


def _same(before: dict, after: dict) -> None:
    for name, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[name], check_dtype=False, obj=name)


def _import(engine, kind, path, **options):
    return run_import(engine, ImportOptions(kind, path, now=NOW, **options))


def test_windows_1258_feedback_exact_counts_and_values(engine, tmp_path):
    report = tmp_path / "rejects.csv"
    result = _import(
        engine, "feedback", messy.feedback_cp1258(tmp_path), dayfirst=None, max_reject_rate=0.5, reject_report=report
    )
    counts = {k: getattr(result, k) for k in messy.FEEDBACK_VI_EXPECTED}
    assert counts == messy.FEEDBACK_VI_EXPECTED
    assert result.source == "phan_anh" and result.status == "done"
    assert dict(result.reasons) == {
        "missing_id": 1,
        "unreadable_date": 1,
        "resolved_before_received": 1,
        "future_date": 1,
    }
    rows = _table(engine, schema.feedback).set_index("source_id")
    assert list(rows.index) == ["PA-001", "PA-002", "PA-003", "PA-004"]
    assert rows.loc["PA-001", "area_code"] == "19789"  # "P. Phú Hội" went into Thuận Hóa in 2025
    assert rows.loc["PA-001", "category"] == "waste_environment"
    assert rows.loc["PA-001", "received_at"] == pd.Timestamp(2026, 11, 3, 8, 15)
    assert rows.loc["PA-002", "status"] == "resolved"  # the last of the duplicate rows was kept
    assert rows.loc["PA-002", "resolved_at"] == pd.Timestamp(2026, 11, 19, 16, 0)
    assert rows.loc["PA-002", "agency"] == "Sở Xây dựng"  # Vietnamese text survives Windows-1258
    assert rows.loc["PA-003", "area_code"] == "19753" and rows.loc["PA-003", "status"] == "new"
    assert pd.isna(rows.loc["PA-004", "area_code"])
    assert sorted(rows["id"]) == [1, 2, 3, 4]
    report_rows = pd.read_csv(report, encoding="utf-8-sig")
    assert list(report_rows.columns) == ["row_number", "column_name", "value", "reason"]
    assert report_rows.set_index("row_number")["reason"].to_dict() == {
        5: "missing_id",
        6: "unreadable_date",
        7: "resolved_before_received",
        8: "future_date",
    }
    assert report_rows.set_index("row_number").loc[6, "value"] == "31/02/2026 07:00"
    log = fetch_one(engine, select(schema.import_log))
    assert (
        log["status"],
        log["rows_read"],
        log["rows_inserted"],
        log["rows_rejected"],
        log["rows_duplicate"],
        log["rows_unknown_area"],
    ) == ("done", 9, 4, 4, 1, 1)
    assert len(log["file_sha256"]) == 64
    stored = fetch_frame(engine, select(schema.import_rejects.c.reason))
    assert sorted(stored["reason"]) == sorted(report_rows["reason"])


def test_importing_the_same_file_twice_changes_nothing(engine, tmp_path):
    path = messy.feedback_cp1258(tmp_path)
    _import(engine, "feedback", path, max_reject_rate=0.5)
    before = _snapshot(engine)
    again = _import(engine, "feedback", path, max_reject_rate=0.5)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    _same(before, _snapshot(engine))


def test_a_changed_row_is_updated_in_place(engine, tmp_path):
    path = messy.dossiers_bom_semicolon(tmp_path)
    _import(engine, "dossiers", path, max_reject_rate=0.5)
    ids = _table(engine, schema.dossiers).set_index("source_id")["id"]
    path.write_text(
        path.read_text(encoding="utf-8-sig").replace(
            "20/11/2026 17:00:00;;Trực tiếp", "20/11/2026 17:00:00;19/11/2026 08:00:00;Trực tiếp"
        ),
        encoding="utf-8-sig",
    )
    result = _import(engine, "dossiers", path, max_reject_rate=0.5)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 2)
    rows = _table(engine, schema.dossiers).set_index("source_id")
    assert rows.loc["HS-2", "status"] == "completed" and rows.loc["HS-2", "id"] == ids["HS-2"]


@pytest.mark.parametrize("builder", [messy.dossiers_bom_semicolon, messy.dossiers_excel])
def test_dossiers_from_bom_semicolon_csv_and_excel(engine, tmp_path, builder):
    result = _import(engine, "dossiers", builder(tmp_path), max_reject_rate=0.5)
    assert {k: getattr(result, k) for k in messy.DOSSIERS_EXPECTED} == messy.DOSSIERS_EXPECTED
    assert dict(result.reasons) == {"missing_received_at": 1}
    rows = _table(engine, schema.dossiers).set_index("source_id")
    assert rows.loc["HS-1", ["sector", "channel", "status", "area_code"]].tolist() == [
        "civil_status",
        "online",
        "completed",
        "19815",
    ]
    assert rows.loc["HS-2", ["sector", "channel", "status"]].tolist() == ["construction", "counter", "received"]
    assert rows.loc["HS-3", ["sector", "channel"]].tolist() == ["justice", "postal"]  # sector from the name
    assert rows.loc["HS-1", "completed_at"] == pd.Timestamp(2026, 11, 4, 9, 30)


def test_open311_json_times_and_points(engine, tmp_path):
    result = _import(engine, "feedback", messy.open311_json(tmp_path), source="open311")
    assert (result.inserted, result.rejected, result.unknown_area) == (3, 0, 1)
    rows = _table(engine, schema.feedback).set_index("source_id")
    assert rows.loc["311-1", "resolved_at"] == pd.Timestamp(2026, 11, 11, 9)  # closed: its last update
    assert pd.isna(rows.loc["311-2", "resolved_at"])  # open: no resolution
    assert rows.loc["311-2", "received_at"] == pd.Timestamp(2026, 11, 12, 8, 30)  # Z converted to Huế time
    assert rows.loc["311-1", "area_code"] == "19815" and rows.loc["311-2", "area_code"] == "19777"
    assert rows.loc["311-1", "category"] == "roads_traffic"


def test_too_many_rejects_abort_and_write_nothing(engine, tmp_path):
    before = _snapshot(engine)
    with pytest.raises(ImportAborted, match="4 of 9 rows rejected"):
        _import(engine, "feedback", messy.feedback_cp1258(tmp_path), max_reject_rate=0.05)
    _same(before, _snapshot(engine))
    log = fetch_one(engine, select(schema.import_log))
    assert (log["status"], log["rows_inserted"], log["rows_rejected"]) == ("aborted", 0, 4)


def test_a_failure_mid_import_leaves_the_database_as_before(engine, tmp_path, monkeypatch):
    _import(engine, "dossiers", messy.dossiers_bom_semicolon(tmp_path), max_reject_rate=0.5)
    before = _snapshot(engine)
    path = tmp_path / "big.csv"
    rows = [f"N-{i};Đăng ký khai sinh;Hộ tịch;0{1 + i % 9}/11/2026 08:00:00;;;Trực tuyến;" for i in range(50)]
    path.write_text("\n".join([messy.DOSSIERS_HEADER, *rows]) + "\n", encoding="utf-8")
    real_append, calls = import_queries.append, []

    def failing_append(connection, table, frame):
        calls.append(len(frame))
        if len(calls) == 3:
            raise RuntimeError("disk full (injected)")
        real_append(connection, table, frame)

    monkeypatch.setattr(import_queries, "append", failing_append)
    with pytest.raises(RuntimeError, match="injected"):
        _import(engine, "dossiers", path, chunk_rows=10, dayfirst=True)
    assert calls[:2] == [10, 10]  # two chunks were staged before the failure
    _same(before, _snapshot(engine))
    statuses = fetch_frame(engine, select(schema.import_log.c.status).order_by(schema.import_log.c.started_at))
    assert statuses["status"].tolist() == ["done", "failed"]


def test_dry_run_counts_but_writes_nothing(engine, tmp_path):
    before = _snapshot(engine)
    result = _import(engine, "feedback", messy.feedback_cp1258(tmp_path), max_reject_rate=0.5, dry_run=True)
    assert (result.status, result.inserted, result.rejected) == ("dry_run", 4, 4)
    _same(before, _snapshot(engine))


def test_traffic_long_and_wide_with_a_sensor_file(engine, tmp_path):
    sensors = tmp_path / "sensors.csv"
    sensors.write_text(
        "Sensor ID,Sensor Description,Latitude,Longitude\nS1,Cầu Trường Tiền,16.4671,107.5912\n"
        "S2,Lê Lợi,16.4630,107.5940\n",
        encoding="utf-8",
    )
    long = tmp_path / "counts.csv"
    long.write_text(
        "sensor_id,timestamp,count,speed\nS1,2026-11-19 07:00,120,31.5\nS1,2026-11-19 07:15,140,\n"
        "S2,2026-11-19 07:00,NaN,20\nS9,2026-11-19 07:00,5,20\n",
        encoding="utf-8",
    )
    result = _import(engine, "traffic", long, sensors=sensors, max_reject_rate=0.6, strict_sensors=True)
    assert (result.inserted, result.rejected, result.sensors_added) == (2, 2, 2)
    assert dict(result.reasons) == {"unreadable_count": 1, "unknown_sensor": 1}
    observations = _table(engine, schema.traffic_observations)
    assert observations["period_minutes"].tolist() == [15, 15]  # the usual gap in the file
    sensor = _table(engine, schema.traffic_sensors).set_index("id").loc["S1"]
    assert sensor["capacity_per_hour"] == 560.0 and sensor["free_flow_speed_kmh"] == 31.5
    wide = tmp_path / "wide.csv"
    wide.write_text("Thời gian,S1,S2\n19/11/2026 08:00,10,20\n19/11/2026 09:00,11,21\n", encoding="utf-8")
    result = _import(engine, "traffic", wide, wide=True, dayfirst=True, period_minutes=60)
    assert (result.rows_read, result.inserted) == (4, 4)
    assert fetch_one(engine, select(func.sum(schema.traffic_observations.c.vehicle_count).label("n")))["n"] == 322


def test_areas_can_be_replaced_from_geojson(engine, tmp_path):
    from dashboard.ingest.areas import import_areas

    square = {
        "type": "Polygon",
        "coordinates": [[[107.5, 16.4], [107.6, 16.4], [107.6, 16.5], [107.5, 16.5], [107.5, 16.4]]],
    }
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"ma": "A1", "ten": "Khu A", "dan_so": 1000}, "geometry": square}
        ],
    }
    path = tmp_path / "areas.geojson"
    path.write_text(json.dumps(collection), encoding="utf-8")
    import_areas(engine, path)
    areas = _table(engine, schema.areas)
    assert areas[["code", "name", "kind", "population"]].values.tolist() == [["A1", "Khu A", "ward", 1000]]
    assert 100 < areas.loc[0, "area_km2"] < 130
    (tmp_path / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(readers.InputError, match="bad.geojson"):
        import_areas(engine, tmp_path / "bad.geojson")
    assert len(_table(engine, schema.areas)) == 1


@pytest.mark.parametrize(
    ("content", "kind", "message"),
    [
        (b"", "feedback", "empty"),
        (b"\x00\x01\x02\x03" * 100, "feedback", "binary"),
        (b"service_request_id,requested_datetime,status\n1,2026-01-01,open\n2,2026-0", "feedback", "truncated"),
        (b"sensor_id,timestamp,count\nS1,2026-11-19 07:00,12\n", "feedback", "no column for source_id, received_at"),
        ("id,Ngày tiếp nhận\n1,01/02/2026\n".encode(), "feedback", "day-first or month-first"),
    ],
)
def test_cli_garbage_is_one_line_and_exit_2(any_db_url, tmp_path, capsys, content, kind, message):
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    engine = make_engine(any_db_url)
    load_areas(engine, "hue")
    before = _snapshot(engine)
    engine.dispose()
    code = main(["--database-url", any_db_url, "import", kind, str(path), "--quiet"])
    error = capsys.readouterr().err.strip()
    assert code == 2 and message in error and error.count("\n") == 0, error
    engine = make_engine(any_db_url)
    _same(before, _snapshot(engine))
    engine.dispose()


def test_cli_prints_the_mapping_and_summary(any_db_url, tmp_path, capsys):
    path = messy.dossiers_bom_semicolon(tmp_path)
    code = main(
        [
            "--database-url",
            any_db_url,
            "import",
            "dossiers",
            str(path),
            "--source",
            "motcua",
            "--max-reject-rate",
            "0.5",
            "--map",
            "agency=Phường/Xã",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "source_id <- 'Số hồ sơ'" in out and "agency <- 'Phường/Xã'" in out
    assert "inserted 3" in out and "rejected 1" in out and "missing_received_at" in out


def test_an_import_refreshes_the_rollups_in_its_transaction(engine, tmp_path):
    from datetime import date

    from dashboard.db import queries, rollups
    from dashboard.periods import Period

    _import(engine, "feedback", messy.feedback_cp1258(tmp_path), max_reject_rate=0.5)
    _import(engine, "dossiers", messy.dossiers_bom_semicolon(tmp_path), max_reject_rate=0.5)
    rollups.forget(engine)
    assert rollups.rollups_ready(engine)
    period = Period(date(2026, 11, 1), date(2026, 11, 20))
    from_rollups = (queries.feedback_counts(engine, period), queries.dossier_counts(engine, period))
    with rollups.disabled():
        from_rows = (queries.feedback_counts(engine, period), queries.dossier_counts(engine, period))
    for rolled, raw in zip(from_rollups, from_rows, strict=True):
        pd.testing.assert_frame_equal(rolled, raw, check_dtype=False)
    assert from_rollups[0].loc[0, "received"] == 4 and from_rollups[1].loc[0, "received"] == 3


def test_an_import_rebuilds_only_the_days_it_touched_and_equals_a_full_rebuild(engine, tmp_path):
    from dashboard.db import rollups

    first = tmp_path / "first.csv"
    first.write_text(
        "id,Ngày tiếp nhận,Lĩnh vực,Trạng thái,Ngày hoàn thành,Hạn xử lý\n"
        "A,01/10/2026 08:00,Rác thải,Mới,,19/11/2026 08:00\n"
        "B,02/10/2026 08:00,Ổ gà,Đã xử lý,20/10/2026 08:00,06/10/2026 08:00\n"
        "C,15/11/2026 08:00,Đèn,Mới,,\n",
        encoding="utf-8",
    )
    _import(engine, "feedback", first, dayfirst=True, source="s")  # rollups empty before: a full rebuild
    _import(engine, "dossiers", messy.dossiers_bom_semicolon(tmp_path), max_reject_rate=0.5)
    # A resolved late with an earlier due day (its old due day, 19/11, lies after every time in the new file: the
    # replaced row widens the range), B's resolution moved back a week, D new; C untouched.
    second = tmp_path / "second.csv"
    second.write_text(
        "id,Ngày tiếp nhận,Lĩnh vực,Trạng thái,Ngày hoàn thành,Hạn xử lý\n"
        "A,01/10/2026 08:00,Rác thải,Đã xử lý,18/11/2026 09:00,05/10/2026 08:00\n"
        "B,02/10/2026 08:00,Ổ gà,Đã xử lý,13/10/2026 08:00,06/10/2026 08:00\n"
        "D,03/10/2026 08:00,Cây đổ,Mới,,\n",
        encoding="utf-8",
    )
    calls = []
    real = rollups.refresh_rollups

    def spy(engine_, connection=None, parts=None):
        calls.append(parts)
        return real(engine_, connection=connection, parts=parts)

    import dashboard.db.rollups as module

    module.refresh_rollups = spy
    try:
        result = _import(engine, "feedback", second, dayfirst=True, source="s")
    finally:
        module.refresh_rollups = real
    assert (result.inserted, result.updated) == (1, 2)
    assert calls == [{"rollup_feedback_daily": (date(2026, 10, 1), date(2026, 11, 19))}]
    tables = (schema.rollup_feedback_daily, schema.rollup_dossiers_daily, schema.rollup_traffic_hourly)
    incremental = {t.name: _rollup(engine, t) for t in tables}
    rollups.refresh_rollups(engine)
    for table in tables:
        pd.testing.assert_frame_equal(incremental[table.name], _rollup(engine, table), check_dtype=False)
    assert incremental["rollup_dossiers_daily"]["received"].sum() == 3  # left alone, still there


def _rollup(engine, table) -> pd.DataFrame:
    frame = fetch_frame(engine, select(table))
    return frame.sort_values(list(frame.columns[:-1]), na_position="first").reset_index(drop=True)
