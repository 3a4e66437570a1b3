"""Ward/commune boundaries of the city, read from the committed files in data/boundaries/.

The files are built by `scripts/build_boundaries.py` (see data/boundaries/README.md). They are read
with the standard `json` module, so the app needs no geopandas at runtime.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from dashboard.config import BOUNDARIES_DIR

# Cities that have boundary files for the units in force since 1 July 2025.
CITIES_2025 = ("hue",)
REBUILD_COMMAND = ".venv/bin/python scripts/build_boundaries.py"

# The columns of the `areas` table, in its order (tests/test_boundaries.py checks them against db.schema; written
# out here so reading boundary files needs no database module).
AREA_COLUMNS = [
    "code",
    "name",
    "name_ascii",
    "kind",
    "parent_code",
    "geometry_geojson",
    "centroid_lat",
    "centroid_lon",
    "area_km2",
    "population",
    "population_is_estimate",
]


def boundary_path(city: str = "hue") -> Path:
    """The GeoJSON file of the city's wards and communes (2025 units)."""
    if city not in CITIES_2025:
        raise ValueError(
            f"unknown city {city!r}: only {', '.join(repr(c) for c in CITIES_2025)} has 2025 ward/commune "
            f"boundaries at present (files data/boundaries/<city>_wards_2025.geojson)"
        )
    path = BOUNDARIES_DIR / f"{city}_wards_2025.geojson"
    if not path.exists():
        raise FileNotFoundError(
            f"boundary file {path} is missing; it is part of the repository - restore it with git, "
            f"or rebuild it with: {REBUILD_COMMAND}"
        )
    return path


def area_frame(city: str = "hue") -> pd.DataFrame:
    """One row per ward/commune with exactly the columns of the `areas` table, sorted by code."""
    with boundary_path(city).open(encoding="utf-8") as handle:
        collection = json.load(handle)
    rows = []
    for feature in collection["features"]:
        p = feature["properties"]
        rows.append(
            {
                "code": str(p["code"]),
                "name": p["name"],
                "name_ascii": p["name_ascii"],
                "kind": p["kind"],
                "parent_code": p.get("parent_code"),
                "geometry_geojson": json.dumps(feature["geometry"], separators=(",", ":")),
                "centroid_lat": float(p["centroid_lat"]),
                "centroid_lon": float(p["centroid_lon"]),
                "area_km2": float(p["area_km2"]),
                "population": int(p["population"]),
                "population_is_estimate": bool(p.get("population_is_estimate", True)),
            }
        )
    frame = pd.DataFrame(rows, columns=AREA_COLUMNS)
    return frame.sort_values("code", kind="stable").reset_index(drop=True)


def feature_collection(areas: pd.DataFrame) -> dict:
    """A GeoJSON FeatureCollection (feature id = code; properties code and name) for a choropleth.

    `areas` needs the columns code, name and geometry_geojson; rows without a geometry are skipped.
    """
    features = []
    for code, name, geometry in zip(areas["code"], areas["name"], areas["geometry_geojson"], strict=True):
        if geometry is None or (isinstance(geometry, float) and pd.isna(geometry)) or geometry == "":
            continue
        code = str(code)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name": name},
                "geometry": json.loads(geometry),
            }
        )
    return {"type": "FeatureCollection", "features": features}
