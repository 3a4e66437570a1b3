"""Traffic files whose headers (or sensor column) are the sensors: sensors the database does not know are registered
from the file, without a place, unless `--strict-sensors`; dossiers placed by their point. DuckDB and PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from shapely.geometry import shape
from sqlalchemy import select, text

from dashboard.cli import main
from dashboard.db import schema
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.db.load import load_areas
from dashboard.ingest.importer import ImportAborted, ImportOptions, run_import

NOW = datetime(2026, 11, 20, 14, 37)
# Three sensors named only by the header; one empty and one unreadable count (rejected, 2 of 9 rows).
WIDE = (
    "Thời gian,Cầu Trường Tiền,Lê Lợi - Hùng Vương,S3\n"
    "19/11/2026 08:00,10,20,\n"
    "19/11/2026 09:00,11,abc,5\n"
    "19/11/2026 10:00,12,22,7\n"
)
# A long file with a sensor name column: A1 is named twice one way and once "<undefined>"; B2 has no name.
LONG = (
    "station_id,station_name,timestamp,count\n"
    "A1,Ngã sáu Hùng Vương,2026-11-19 07:00,30\n"
    "A1,<undefined>,2026-11-19 08:00,31\n"
    "A1,Ngã sáu Hùng Vương,2026-11-19 09:00,32\n"
    "B2,,2026-11-19 07:00,5\n"
)


@pytest.fixture
def engine(areas_engine):
    return areas_engine


def _write(tmp_path, name: str, content: str):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def _sensors(engine) -> pd.DataFrame:
    return fetch_frame(engine, select(schema.traffic_sensors).order_by(schema.traffic_sensors.c.id)).set_index("id")


def _wide(engine, path, **options):
    options = {"wide": True, "dayfirst": True, "period_minutes": 60, "max_reject_rate": 0.5, **options}
    return run_import(engine, ImportOptions("traffic", path, now=NOW, **options))


def test_wide_file_registers_its_header_sensors_without_a_place(engine, tmp_path):
    result = _wide(engine, _write(tmp_path, "dem_xe.csv", WIDE))
    assert (result.rows_read, result.inserted, result.rejected, result.sensors_registered) == (9, 7, 2, 3)
    assert (result.sensors_added, dict(result.reasons)) == (0, {"unreadable_count": 2})
    sensors = _sensors(engine)
    assert sensors.index.tolist() == ["Cầu Trường Tiền", "Lê Lợi - Hùng Vương", "S3"]
    assert sensors["name"].tolist() == sensors.index.tolist() == sensors["road"].tolist()
    assert sensors[["lat", "lon", "area_code"]].isna().all().all()  # "chưa có vị trí", unknown ward
    assert sensors["capacity_per_hour"].tolist() == [12.0, 22.0, 7.0]  # the highest count per hour of each
    assert sensors["free_flow_speed_kmh"].tolist() == [40.0, 40.0, 40.0]  # no speed in the file
    with engine.connect() as connection:
        logged = connection.execute(text("SELECT status, sensors_added, rows_inserted FROM import_log")).all()
    assert [tuple(row) for row in logged] == [("done", 3, 7)]

    again = _wide(engine, tmp_path / "dem_xe.csv")
    assert (again.inserted, again.unchanged, again.sensors_registered) == (0, 7, 0)


def test_strict_sensors_rejects_the_unknown_ones(engine, tmp_path):
    path = _write(tmp_path, "dem_xe.csv", WIDE)
    lenient = _wide(engine, path, strict_sensors=True, max_reject_rate=1.0, dry_run=True)
    assert (lenient.inserted, lenient.sensors_registered) == (0, 0)
    assert dict(lenient.reasons) == {"unreadable_count": 2, "unknown_sensor": 7}
    with pytest.raises(ImportAborted) as aborted:
        _wide(engine, path, strict_sensors=True)
    assert aborted.value.result.rejected == 9 and aborted.value.result.status == "aborted"
    assert _sensors(engine).empty


def test_long_file_names_its_sensors_by_the_most_frequent_name_then_a_list_places_them(engine, tmp_path):
    result = run_import(engine, ImportOptions("traffic", _write(tmp_path, "counts.csv", LONG), now=NOW))
    assert result.mapping["sensor_name"] == "station_name"
    assert (result.inserted, result.sensors_registered, result.period_minutes) == (4, 2, 60)
    sensors = _sensors(engine)
    assert sensors["name"].to_dict() == {"A1": "Ngã sáu Hùng Vương", "B2": "B2"}
    assert sensors["lat"].isna().all()

    ward = fetch_frame(engine, select(schema.areas.c.code, schema.areas.c.geometry_geojson)).iloc[0]
    inside = shape(json.loads(ward["geometry_geojson"])).representative_point()
    listed = _write(
        tmp_path, "sensors.csv", f"Sensor ID,Sensor Description,Latitude,Longitude\nA1,Ngã sáu,{inside.y},{inside.x}\n"
    )
    placed = run_import(engine, ImportOptions("traffic", tmp_path / "counts.csv", now=NOW, sensors=listed))
    assert (placed.sensors_added, placed.sensors_registered, placed.unchanged) == (0, 0, 4)  # A1 known: updated
    a1 = _sensors(engine).loc["A1"]
    assert (a1["name"], a1["area_code"]) == ("Ngã sáu", ward["code"])
    assert (round(a1["lat"], 4), round(a1["lon"], 4)) == (round(inside.y, 4), round(inside.x, 4))
    assert a1["capacity_per_hour"] == 32.0  # kept from its counts


def test_cli_summary_and_strict_flag(any_db_url, tmp_path, capsys):
    load_areas(make_engine(any_db_url), "hue")
    path = _write(tmp_path, "dem_xe.csv", WIDE)
    common = ["--database-url", any_db_url, "import", "traffic", str(path), "--wide", "--dayfirst", "--quiet"]
    assert main([*common, "--strict-sensors", "--max-reject-rate", "0.5"]) == 3  # aborted: 9 of 9 rejected
    assert "unknown_sensor" in capsys.readouterr().err
    assert main([*common, "--max-reject-rate", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "inserted 7" in out and "; 3 sensors registered from the file (no location yet)" in out


def test_an_older_database_gains_the_columns_and_nullable_sensor_places(any_db_url, tmp_path):
    engine = make_engine(any_db_url)
    try:
        load_areas(engine, "hue")
        with engine.begin() as connection:  # as made before issue 17
            connection.execute(text("DROP INDEX ix_import_log_kind_started"))
            connection.execute(text("ALTER TABLE import_log DROP COLUMN sensors_added"))
            connection.execute(text("CREATE INDEX ix_import_log_kind_started ON import_log (kind, started_at)"))
            connection.execute(text("ALTER TABLE feedback DROP COLUMN source_category"))
            for column in ("lat", "lon"):
                connection.execute(text(f"ALTER TABLE traffic_sensors ALTER COLUMN {column} SET NOT NULL"))
            assert schema.missing_columns(connection) == {
                "feedback": ["source_category"],
                "import_log": ["sensors_added"],
            }
        result = _wide(engine, _write(tmp_path, "dem_xe.csv", WIDE))
        assert (result.inserted, result.sensors_registered) == (7, 3)
        with engine.connect() as connection:
            assert schema.missing_columns(connection) == {}
            nullable = connection.execute(
                text(
                    "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = "
                    "current_schema() AND table_name = 'traffic_sensors' AND column_name IN ('lat', 'lon')"
                )
            ).all()
        assert sorted(tuple(row) for row in nullable) == [("lat", "YES"), ("lon", "YES")]
    finally:
        engine.dispose()


def test_dossiers_with_coordinates_are_placed_in_their_ward(engine, tmp_path):
    wards = fetch_frame(engine, select(schema.areas.c.code, schema.areas.c.geometry_geojson).order_by("code"))
    points = [shape(json.loads(g)).representative_point() for g in wards["geometry_geojson"][:2]]
    path = _write(
        tmp_path,
        "ho_so.csv",
        "Mã hồ sơ,Ngày tiếp nhận,Tên thủ tục,lat,lon\n"
        f"HS1,2026-11-02 08:00,Cấp phép xây dựng,{points[0].y},{points[0].x}\n"
        f"HS2,2026-11-02 09:00,Cấp phép xây dựng,{points[1].y},{points[1].x}\n"
        "HS3,2026-11-02 10:00,Cấp phép xây dựng,,\n",
    )
    result = run_import(engine, ImportOptions("dossiers", path, source="motcua", now=NOW))
    assert (result.inserted, result.unknown_area) == (3, 1)
    placed = fetch_frame(engine, select(schema.dossiers.c.source_id, schema.dossiers.c.area_code).order_by("source_id"))
    assert placed["area_code"].tolist()[:2] == wards["code"].tolist()[:2]
    assert placed["area_code"].isna().tolist() == [False, False, True]


def test_pages_show_the_sensors_without_a_place(monkeypatch, demo_copy_url, demo_now, tmp_path):
    """The demo plus two sensors registered from a wide file: the traffic page names them as "chưa có vị trí", and
    the traffic, map, overview and quality pages run with their NULL places."""
    from page_support import run_page

    from dashboard.config import PROJECT_ROOT
    from dashboard.i18n import t

    hour = demo_now.replace(minute=0, second=0, microsecond=0)
    content = "time,Cầu Dã Viên,Kiệt *42* Phan Bội Châu\n" + "".join(
        f"{hour.replace(hour=h):%Y-%m-%d %H:%M},{100 + h},{10 + h}\n" for h in range(0, hour.hour)
    )
    engine = make_engine(demo_copy_url)
    try:
        options = {"wide": True, "period_minutes": 60, "now": demo_now}
        result = run_import(engine, ImportOptions("traffic", _write(tmp_path, "moi.csv", content), **options))
        assert (result.sensors_registered, result.rejected) == (2, 0)
    finally:
        engine.dispose()
    app = run_page(monkeypatch, demo_copy_url, {}, str(PROJECT_ROOT / "pages" / "traffic.py"))
    expected = t("traffic.sensors.no_location", count="2", names="Cầu Dã Viên, Kiệt \\*42\\* Phan Bội Châu")
    assert expected in [c.value for c in app.caption]
    for page in ("map.py", "overview.py", "quality.py"):
        run_page(monkeypatch, demo_copy_url, {}, str(PROJECT_ROOT / "pages" / page))


def test_upload_page_registers_by_default_and_rejects_with_known_sensors_only(monkeypatch, demo_copy_url, tmp_path):
    """The upload page: a wide file of two new sensors registers them (tile "Cảm biến mới" 2); with "Chỉ nhận cảm
    biến đã có" checked the new dry run rejects every count as an unknown sensor."""
    from page_support import APP, sign_in
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.ingest import importer, readers, upload
    from dashboard.navigation import PAGES
    from dashboard.web import admin

    path = _write(
        tmp_path, "dem_xe.csv", "Thời gian,Cầu Dã Viên,Cầu Ga\n19/11/2026 08:00,10,20\n19/11/2026 09:00,11,21\n"
    )
    saved = upload.save_upload(path.read_bytes(), path.name, folder=tmp_path)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", demo_copy_url)
    monkeypatch.setattr(importer, "local_now", lambda: NOW)
    app = AppTest.from_file(APP, default_timeout=90)
    sign_in(app, demo_copy_url)
    app.session_state["ingest_upload"] = {"path": str(saved), "name": path.name, "sha256": readers.file_hash(saved)}
    app.run()
    app.switch_page(next(spec for spec in PAGES if spec.key == "data_import").path)
    app.run()
    app.radio(key="ingest_kind").set_value("traffic").run()
    app.checkbox(key="ingest_wide").check().run()
    app.checkbox(key="ingest_dayfirst").check().run()

    def dry_run() -> dict[str, str]:
        next(b for b in app.button if b.key == "ingest_dry_run").click()
        app.run()
        assert not app.exception and not app.error, [e.body for e in app.error]
        return {m.label: m.value for m in app.metric}

    tiles = dry_run()
    assert (tiles[t("ingest.count.inserted.dry")], tiles[t("ingest.count.sensors_added")]) == ("4", "2")
    app.checkbox(key="ingest_strict_sensors").check().run()
    app.number_input(key="ingest_max_reject").set_value(100.0).run()
    tiles = dry_run()
    assert (tiles[t("ingest.count.inserted.dry")], tiles[t("ingest.count.rejected")]) == ("0", "4")
    assert tiles[t("ingest.count.sensors_added")] == "0"
