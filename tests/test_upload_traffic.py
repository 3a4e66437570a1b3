"""Traffic on the upload page: wide tables, minutes per count and a sensor list, as pure steps of
dashboard/ingest/upload.py (DuckDB and PostgreSQL) and on the page in AppTest."""

from __future__ import annotations

from datetime import datetime

import pytest
from page_support import APP, sign_in
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.db import schema
from dashboard.db.engine import fetch_one
from dashboard.i18n import t
from dashboard.ingest import importer, readers, upload
from dashboard.navigation import PAGES
from dashboard.web import admin

NOW = datetime(2026, 11, 20, 14, 37)
PAGE = next(spec for spec in PAGES if spec.key == "data_import")
LONG = (
    "sensor_id,timestamp,count,speed\nS1,2026-11-19 07:00,120,31.5\nS1,2026-11-19 07:15,140,\n"
    "S2,2026-11-19 07:00,NaN,20\nS9,2026-11-19 07:00,5,20\n"
)
WIDE = "Thời gian,S1,S2\n19/11/2026 08:00,10,20\n19/11/2026 09:00,11,21\n"
SENSORS = (
    "Sensor ID,Sensor Description,Latitude,Longitude\nS1,Cầu Trường Tiền,16.4671,107.5912\nS2,Lê Lợi,16.4630,107.5940\n"
)
LONG_MAPPING = {
    "sensor_id": "sensor_id",
    "observed_at": "timestamp",
    "vehicle_count": "count",
    "mean_speed_kmh": "speed",
}


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, text in (("counts.csv", LONG), ("wide.csv", WIDE), ("sensors.csv", SENSORS)):
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    return paths


def _rows(engine, table) -> int:
    return fetch_one(engine, select(func.count().label("n")).select_from(table))["n"]


# ---------------------------------------------------------------- pure steps
def test_wide_detection_maps_only_the_time_columns(files):
    detection = upload.detect(files["wide.csv"], "traffic", wide=True)
    assert list(detection.choices) == ["observed_at", "hour"]
    assert detection.mapping == {"observed_at": "Thời gian"} and detection.required == ("observed_at",)
    assert upload.sensor_columns(detection.headers, detection.mapping) == ["S1", "S2"]
    assert upload.wide_problems(detection.headers, detection.mapping) == []
    assert upload.wide_problems(["Thời gian"], {"observed_at": "Thời gian"}) == [
        upload.MappingProblem("no_sensor_columns", "")
    ]
    assert upload.mapping_problems("traffic", {}, wide=True) == [upload.MappingProblem("missing", "observed_at")]
    long = upload.detect(files["counts.csv"], "traffic")
    assert long.mapping == LONG_MAPPING and long.required == ("sensor_id", "observed_at", "vehicle_count")
    assert upload.detect(files["wide.csv"], "feedback", wide=True).required == ("source_id", "received_at")


def test_sensor_list_detection_and_labels(files):
    sensors = upload.detect_sensors(files["sensors.csv"])
    assert sensors.mapping == {
        "sensor_id": "Sensor ID",
        "name": "Sensor Description",
        "lat": "Latitude",
        "lon": "Longitude",
    }
    assert upload.column_label("wide_sensor") == "(tên cột)" and upload.column_label("S1") == "S1"


def test_traffic_settings_reach_the_import_options(files):
    settings = upload.RunSettings.build(
        "traffic", "dem_xe", {"observed_at": "Thời gian"}, wide=True, period_minutes=15, sensors_sha="abc"
    )
    options = upload.options_for(files["wide.csv"], settings, dry_run=True, sensors=files["sensors.csv"])
    assert (options.wide, options.period_minutes, options.sensors) == (True, 15, files["sensors.csv"])
    assert settings != upload.RunSettings.build(
        "traffic", "dem_xe", {"observed_at": "Thời gian"}, wide=True, period_minutes=15
    )  # another sensor list asks for a new dry run
    feedback = upload.RunSettings.build("feedback", "x", {}, wide=True, period_minutes=15, sensors_sha="abc")
    assert (feedback.wide, feedback.period_minutes, feedback.sensors_sha) == (False, None, "")
    assert upload.options_for(files["wide.csv"], feedback, dry_run=True, sensors=files["sensors.csv"]).sensors is None


@pytest.fixture
def engine(areas_engine):
    return areas_engine


def test_long_and_wide_dry_runs_with_a_sensor_list(engine, files):
    long = upload.RunSettings.build("traffic", "dem_xe", LONG_MAPPING, max_reject_rate=0.6, strict_sensors=True)
    dry = upload.run(engine, files["counts.csv"], long, dry_run=True, now=NOW, sensors=files["sensors.csv"])
    assert upload.counts(dry) == {
        "rows_read": 4,
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 2,
        "duplicates": 0,
        "unknown_area": 0,
        "sensors_added": 2,
    }
    assert (dry.status, dry.sensors_added, dry.period_minutes) == ("dry_run", 2, 15)
    assert dict(dry.reasons) == {"unreadable_count": 1, "unknown_sensor": 1}
    assert _rows(engine, schema.traffic_observations) == 0 and _rows(engine, schema.traffic_sensors) == 0

    wide = upload.RunSettings.build("traffic", "dem_xe", {"observed_at": "Thời gian"}, wide=True, dayfirst=True)
    dry = upload.run(engine, files["wide.csv"], wide, dry_run=True, now=NOW, sensors=files["sensors.csv"])
    assert (dry.rows_read, dry.inserted, dry.rejected, dry.period_minutes) == (4, 4, 0, 60)
    assert dry.mapping == {"observed_at": "Thời gian", "sensor_id": "wide_sensor", "vehicle_count": "wide_count"}
    lenient = upload.RunSettings.build(
        "traffic",
        "dem_xe",
        {"observed_at": "Thời gian"},
        wide=True,
        dayfirst=True,
        max_reject_rate=1.0,
        strict_sensors=True,
    )
    without_list = upload.run(engine, files["wide.csv"], lenient, dry_run=True, now=NOW)
    assert (without_list.inserted, dict(without_list.reasons)) == (0, {"unknown_sensor": 4})
    assert _rows(engine, schema.traffic_observations) == 0

    fifteen = upload.RunSettings.build(
        "traffic", "dem_xe", {"observed_at": "Thời gian"}, wide=True, dayfirst=True, period_minutes=15
    )
    done = upload.run(engine, files["wide.csv"], fifteen, dry_run=False, now=NOW, sensors=files["sensors.csv"])
    assert (done.status, done.inserted, done.period_minutes) == ("done", 4, 15)
    assert fetch_one(engine, select(func.sum(schema.traffic_observations.c.vehicle_count).label("n")))["n"] == 62
    assert _rows(engine, schema.traffic_sensors) == 2


# ---------------------------------------------------------------- the page (AppTest)
def _stored(path) -> dict:
    saved = upload.save_upload(path.read_bytes(), path.name, folder=path.parent)
    return {"path": str(saved), "name": path.name, "sha256": readers.file_hash(saved)}


def _open(monkeypatch, url: str, counts, sensors=None) -> AppTest:
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    monkeypatch.setattr(importer, "local_now", lambda: NOW)
    app = AppTest.from_file(APP, default_timeout=90)
    sign_in(app, url)
    app.session_state["ingest_upload"] = _stored(counts)
    if sensors is not None:
        app.session_state["ingest_sensors"] = _stored(sensors)
    app.run()
    app.switch_page(str(PAGE.path))
    app.run()
    app.radio(key="ingest_kind").set_value("traffic")
    return app.run()


def _dry_run(app: AppTest) -> AppTest:
    next(b for b in app.button if b.key == "ingest_dry_run").click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    return app


def test_page_long_then_wide_traffic_dry_run_with_a_sensor_list(monkeypatch, demo_copy_url, files):
    app = _open(monkeypatch, demo_copy_url, files["counts.csv"], files["sensors.csv"])
    assert not app.exception and not app.error, [e.body for e in app.error]
    assert [c.value for c in app.caption if c.value.startswith("Danh sách cảm biến")] == [
        t(
            "ingest.traffic.sensors_found",
            file="sensors.csv",
            mapping="Mã cảm biến ← Sensor ID, Tên ← Sensor Description, Vĩ độ ← Latitude, Kinh độ ← Longitude",
        )
    ]
    app.number_input(key="ingest_max_reject").set_value(60.0)
    _dry_run(app)
    metrics = {m.label: m.value for m in app.metric}  # S9, not in the list, is registered from the counts file
    assert (metrics[t("ingest.count.inserted.dry")], metrics[t("ingest.count.sensors_added")]) == ("3", "3")
    captions = [c.value for c in app.caption]
    assert (
        t("ingest.traffic.period_used", minutes="15") + " · " + t("ingest.traffic.sensors_added", sensors="2")
        in captions
    )

    app.checkbox(key="ingest_wide").check()
    app.run()
    assert [i.body for i in app.info] == [t("ingest.stale_dry_run")]
    token = app.session_state["ingest_upload"]["sha256"][:12] + ".wide"
    assert app.selectbox(key=f"ingest_map.{token}.traffic.observed_at").value == "timestamp"
    assert t("ingest.traffic.wide_sensors", count="3", columns="sensor_id, count, speed") in [
        c.value for c in app.caption
    ]


def test_page_wide_traffic_file(monkeypatch, demo_copy_url, files):
    app = _open(monkeypatch, demo_copy_url, files["wide.csv"], files["sensors.csv"])
    app.checkbox(key="ingest_wide").check()
    app.checkbox(key="ingest_dayfirst").check()
    app.number_input(key="ingest_period").set_value(30)
    app.run()
    assert t("ingest.traffic.wide_sensors", count="2", columns="S1, S2") in [c.value for c in app.caption]
    _dry_run(app)
    assert {m.label: m.value for m in app.metric}[t("ingest.count.inserted.dry")] == "4"
    captions = [c.value for c in app.caption]
    assert (
        t(
            "ingest.columns_used",
            mapping="Mã cảm biến ← (tên cột), Thời điểm đo ← Thời gian, Số lượt xe ← (giá trị trong cột cảm biến)",
        )
        in captions
    )
    assert any(c.startswith(t("ingest.traffic.period_used", minutes="30")) for c in captions)
    next(b for b in app.button if b.key == "ingest_confirm").click()
    app.run()
    assert not app.exception and not app.error, [e.body for e in app.error]
    assert {m.label: m.value for m in app.metric}[t("ingest.count.inserted.done")] == "4"


def test_page_wide_table_without_sensor_columns_cannot_run(monkeypatch, demo_copy_url, tmp_path):
    only_time = tmp_path / "chi_thoi_gian.csv"
    only_time.write_text("Thời gian\n19/11/2026 08:00\n", encoding="utf-8")
    app = _open(monkeypatch, demo_copy_url, only_time)
    app.checkbox(key="ingest_wide").check()
    app.run()
    assert [w.body for w in app.warning] == [t("ingest.problem.no_sensor_columns")]
    assert next(b for b in app.button if b.key == "ingest_dry_run").disabled
