"""Ward/commune boundaries of the city, read from the committed files in data/boundaries/.

The files are built by `scripts/build_boundaries.py` (see data/boundaries/README.md). They are read
with the standard `json` module, so the app needs no geopandas at runtime.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache
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


# ---------------------------------------------------------------- crosswalk from older units to the current ones
# data/boundaries/<city>_crosswalk.csv (built for Huế by scripts/build_crosswalk.py): one row per (old unit, new
# unit). A city without the file has no crosswalk: old codes and names are then not matched, and no caption
# mentions a merger.
CROSSWALK_COLUMNS = ["old_level", "old_code", "old_name", "new_code", "new_name", "share", "new_from", "source"]


class CrosswalkError(ValueError):
    """The city's crosswalk file cannot be used; the message names the file, the line and what is wrong."""


def crosswalk_path(city: str = "hue") -> Path:
    """Where the city's crosswalk file is (it may not exist)."""
    return BOUNDARIES_DIR / f"{city}_crosswalk.csv"


def crosswalk_frame(city: str = "hue", path: Path | None = None) -> pd.DataFrame | None:
    """The crosswalk (columns CROSSWALK_COLUMNS, codes as text, share a float, new_from a date), or None when the
    city has no crosswalk file. CrosswalkError when the file is there but cannot be used."""
    path = path or crosswalk_path(city)
    if not path.exists():
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (ValueError, UnicodeDecodeError) as error:
        raise CrosswalkError(f"crosswalk file {path.name} cannot be read: {error}") from None
    missing = [c for c in CROSSWALK_COLUMNS if c not in frame.columns]
    if missing:
        raise CrosswalkError(f"crosswalk file {path.name} lacks the column(s) {', '.join(missing)}")
    frame = frame[CROSSWALK_COLUMNS].apply(lambda column: column.str.strip())
    share = pd.to_numeric(frame["share"], errors="coerce")
    new_from = pd.to_datetime(frame["new_from"], format="%Y-%m-%d", errors="coerce")
    for line, row in enumerate(frame.itertuples(index=False), start=2):
        if not row.old_code or not row.new_code or not row.old_level:
            raise CrosswalkError(
                f"crosswalk file {path.name}, line {line}: old_level, old_code and new_code are needed"
            )
        if not 0 < share.iloc[line - 2] <= 1:
            raise CrosswalkError(f"crosswalk file {path.name}, line {line}: share {row.share!r} is not in (0, 1]")
        if pd.isna(new_from.iloc[line - 2]):
            raise CrosswalkError(
                f"crosswalk file {path.name}, line {line}: new_from {row.new_from!r} is not YYYY-MM-DD"
            )
    frame["share"] = share.astype(float)
    frame["new_from"] = new_from.dt.date
    totals = frame.groupby(["old_level", "old_code"])["share"].sum()
    wrong = totals[(totals - 1.0).abs() > 0.001]
    if not wrong.empty:
        (level, code), total = next(iter(wrong.items()))
        raise CrosswalkError(
            f"crosswalk file {path.name}: the shares of old unit {level} {code} add up to {total:g}, not 1"
        )
    return frame.reset_index(drop=True)


@lru_cache(maxsize=8)
def merger_date(city: str = "hue") -> date | None:
    """The day the city's current units took effect (the earliest `new_from` of its crosswalk); None without one
    (or when the file cannot be used: the importer reports that, a caption does not)."""
    try:
        frame = crosswalk_frame(city)
    except CrosswalkError:
        return None
    return None if frame is None or frame.empty else min(frame["new_from"])
