"""The committed Huế ward/commune boundaries and their loader."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import shape
from sqlalchemy import func, select

from dashboard import boundaries
from dashboard.config import BOUNDARIES_DIR, PROJECT_ROOT
from dashboard.db import schema
from dashboard.db.engine import create_schema, fetch_one, make_engine
from dashboard.db.load import load_areas

DOCUMENTED_TOTAL = 1_180_000  # stated in data/boundaries/README.md and scripts/build_boundaries.py
LON_RANGE = (107.01, 108.20)
LAT_RANGE = (15.99, 16.75)
SHARED_DIR = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="module")
def areas() -> pd.DataFrame:
    return boundaries.area_frame("hue")


@pytest.fixture(scope="module")
def collection() -> dict:
    with boundaries.boundary_path("hue").open(encoding="utf-8") as handle:
        return json.load(handle)


def test_forty_units_with_unique_codes(areas):
    assert len(areas) == 40
    assert areas["code"].is_unique
    assert list(areas["code"]) == sorted(areas["code"])
    assert (areas["kind"] == "ward").sum() == 21
    assert (areas["kind"] == "commune").sum() == 19
    assert set(areas["parent_code"]) == {"46"}


def test_geometries_valid_and_inside_hue(areas):
    for code, text in zip(areas["code"], areas["geometry_geojson"], strict=True):
        geometry = shape(json.loads(text))
        assert geometry.is_valid, code
        assert not geometry.is_empty, code
        centroid = geometry.centroid
        assert LON_RANGE[0] <= centroid.x <= LON_RANGE[1], code
        assert LAT_RANGE[0] <= centroid.y <= LAT_RANGE[1], code
    assert areas["centroid_lon"].between(*LON_RANGE).all()
    assert areas["centroid_lat"].between(*LAT_RANGE).all()


def test_names_are_nfc_with_diacritics(areas, collection):
    names = list(areas["name"])
    assert "Phường Phú Xuân" in names
    assert "Xã A Lưới 1" in names
    for name in names:
        assert unicodedata.is_normalized("NFC", name), name
        assert name.startswith(("Phường ", "Xã ")), name
    assert all(text.isascii() for text in areas["name_ascii"])
    for feature in collection["features"]:
        p = feature["properties"]
        assert p["kind"] == ("ward" if p["name"].startswith("Phường ") else "commune")
        assert unicodedata.is_normalized("NFC", p["old_units_pre2025"])
    old = {f["properties"]["name"]: f["properties"]["old_units_pre2025"] for f in collection["features"]}
    assert "Phường Gia Hội" in old["Phường Phú Xuân"].split(";")


def test_population_estimate(areas):
    assert (areas["population"] > 0).all()
    assert (areas["population"] % 100 == 0).all()
    assert areas["population_is_estimate"].all()
    assert abs(areas["population"].sum() - DOCUMENTED_TOTAL) <= 0.01 * DOCUMENTED_TOTAL
    assert "1,180,000" in (BOUNDARIES_DIR / "README.md").read_text(encoding="utf-8")
    density = areas.set_index("name")["population"] / areas.set_index("name")["area_km2"]
    assert density["Phường Phú Xuân"] > density["Xã Phú Vang"] > density["Xã A Lưới 1"]


def test_area_frame_has_the_schema_columns(areas):
    assert list(areas.columns) == [column.name for column in schema.areas.columns]


def test_csv_matches_geojson(collection):
    table = pd.read_csv(BOUNDARIES_DIR / "hue_wards_2025.csv", dtype={"code": str, "parent_code": str})
    properties = pd.DataFrame([f["properties"] for f in collection["features"]])
    assert list(table.columns) == list(properties.columns)
    pd.testing.assert_frame_equal(table, properties, check_dtype=False)


def test_feature_collection_round_trips(areas, collection):
    built = boundaries.feature_collection(areas)
    assert built["type"] == "FeatureCollection"
    assert len(built["features"]) == 40
    by_code = {f["properties"]["code"]: f["geometry"] for f in collection["features"]}
    for feature in built["features"]:
        assert feature["id"] == feature["properties"]["code"]
        assert set(feature["properties"]) == {"code", "name"}
        assert feature["geometry"] == by_code[feature["id"]]
    again = json.loads(json.dumps(built))
    assert again == built


def test_unknown_city_and_missing_file(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="only 'hue'"):
        boundaries.boundary_path("can_tho")
    monkeypatch.setattr(boundaries, "BOUNDARIES_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="build_boundaries.py") as error:
        boundaries.boundary_path("hue")
    assert "hue_wards_2025.geojson" in str(error.value)


def test_load_areas_into_duckdb(tmp_path):
    engine = make_engine("duckdb:///" + str(tmp_path / "t.duckdb"))
    try:
        create_schema(engine)
        assert load_areas(engine) == 40
        assert load_areas(engine) == 40  # replaces, does not append
        row = fetch_one(engine, select(func.count().label("n"), func.sum(schema.areas.c.population).label("people")))
        assert row["n"] == 40
        assert row["people"] == boundaries.area_frame()["population"].sum()
    finally:
        engine.dispose()


def test_build_script_reproduces_committed_files(tmp_path):
    source = SHARED_DIR / "data" / "boundaries"
    if not SHARED_DIR.exists() or not (source / "hue_units_2025.geojson").exists():
        pytest.skip(f"boundary sources not available at {source}")
    script = PROJECT_ROOT / "scripts" / "build_boundaries.py"
    subprocess.run(
        [sys.executable, str(script), "--shared", str(source), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=PROJECT_ROOT,
    )
    for name in ("hue_wards_2025.geojson", "hue_wards_2025.csv"):
        assert (tmp_path / name).read_bytes() == (BOUNDARIES_DIR / name).read_bytes(), name
    assert (BOUNDARIES_DIR / "hue_wards_2025.geojson").stat().st_size < 150_000


def test_committed_geojson_is_small():
    assert Path(BOUNDARIES_DIR / "hue_wards_2025.geojson").stat().st_size < 150_000


def test_area_columns_are_the_areas_table():
    from dashboard.boundaries import AREA_COLUMNS
    from dashboard.db import schema

    assert [column.name for column in schema.areas.columns] == AREA_COLUMNS
