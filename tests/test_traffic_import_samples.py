"""The Melbourne pedestrian counts of ../shared/data/samples imported without a sensor list (skipped when that
folder is absent): every readable row imports and the file's 18 sensors are registered from its SensorID and
SensorName columns; `--strict-sensors` rejects them; the sensor locations file then places them.

Expected numbers from the samples' README: 92,016 rows, 6 "NaN" counts, 1 "NaN" sensor id, 18 sensors (1–18),
sensor 9 once named "<undefined>", 43 sensors in the locations file.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from dashboard.config import PROJECT_ROOT
from dashboard.db import schema
from dashboard.db.engine import create_schema, fetch_frame, make_engine
from dashboard.db.load import load_areas
from dashboard.ingest.importer import ImportAborted, ImportOptions, run_import

SAMPLES = PROJECT_ROOT.parent / "shared" / "data" / "samples"
COUNTS = SAMPLES / "traffic_melbourne_pedestrian_hourly_2012-01_to_2012-07.csv"
LOCATIONS = SAMPLES / "traffic_melbourne_pedestrian_sensor_locations.csv"
pytestmark = pytest.mark.skipif(not COUNTS.is_file(), reason="../shared/data/samples is not present")
NOW = datetime(2026, 11, 20, 14, 37)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"duckdb:///{tmp_path / 'melbourne.duckdb'}")
    create_schema(engine)
    load_areas(engine, "hue")
    yield engine
    engine.dispose()


def _sensors(engine):
    return fetch_frame(engine, select(schema.traffic_sensors)).set_index("id").sort_index()


def test_counts_without_a_list_register_the_18_sensors_then_the_list_places_them(engine):
    result = run_import(engine, ImportOptions("traffic", COUNTS, now=NOW))
    assert (result.rows_read, result.inserted, result.rejected) == (92016, 92016 - 7, 7)
    assert dict(result.reasons) == {"unreadable_count": 6, "missing_id": 1}
    assert (result.sensors_registered, result.sensors_added) == (18, 0)
    sensors = _sensors(engine)
    assert sorted(sensors.index, key=int) == [str(k) for k in range(1, 19)]
    assert sensors.loc["9", "name"] == "Southern Cross Station"  # not its one "<undefined>"
    assert sensors.loc["13", "name"] == "Flagstaff Station"
    assert sensors[["lat", "lon", "area_code"]].isna().all().all()

    placed = run_import(engine, ImportOptions("traffic", COUNTS, now=NOW, sensors=LOCATIONS))
    assert (placed.sensors_added, placed.sensors_registered) == (43 - 18, 0)
    assert (placed.inserted, placed.unchanged) == (0, 92016 - 7)
    sensors = _sensors(engine)
    assert len(sensors) == 43 and sensors[["lat", "lon"]].notna().all().all()
    assert sensors.loc["4", "name"] == "Town Hall (West)"  # the list's Sensor Description
    assert sensors["area_code"].isna().all()  # Melbourne is not in Huế


def test_strict_sensors_rejects_every_count_of_the_unknown_sensors(engine):
    with pytest.raises(ImportAborted) as aborted:
        run_import(engine, ImportOptions("traffic", COUNTS, now=NOW, strict_sensors=True))
    result = aborted.value.result
    assert dict(result.reasons) == {"unreadable_count": 6, "missing_id": 1, "unknown_sensor": 92016 - 7}
    assert _sensors(engine).empty
