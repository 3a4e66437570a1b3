"""`import areas FILE.geojson|.shp`: replace the city's wards/communes with a user's own boundaries.

The file needs a code and a name per polygon (headers such as code/ma/ma_xa and name/ten/ten_xa); kind and
population are optional. Geometries are reprojected to WGS84; centroids and areas are computed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.db import import_queries as q
from dashboard.db.engine import translating_errors
from dashboard.ingest.fields import plain
from dashboard.ingest.readers import InputError

_CODE_HEADERS = ("code", "ma", "ma_xa", "ma_phuong_xa", "ma_dvhc", "area_code", "ward_code", "id")
_NAME_HEADERS = ("name", "ten", "ten_xa", "ten_phuong_xa", "ten_dvhc", "ward_name", "area_name")
_KIND_HEADERS = ("kind", "loai", "cap")
_POPULATION_HEADERS = ("population", "dan_so")


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    by_plain = {plain(c): c for c in frame.columns if c != "geometry"}
    return next((by_plain[n] for n in names if n in by_plain), None)


def area_frame_from_file(path: Path) -> pd.DataFrame:
    """Rows of the areas table from a GeoJSON or shapefile; InputError when it cannot serve as boundaries."""
    import geopandas as gpd

    from dashboard.boundaries import AREA_COLUMNS

    if not path.exists() or path.stat().st_size == 0:
        raise InputError("ingest.msg.areas_missing", file=path.name)
    try:
        shapes = gpd.read_file(path)
    except Exception as error:  # pyogrio raises its own error types for unreadable files
        raise InputError(
            "ingest.msg.areas_unreadable", file=path.name, detail=(str(error).splitlines() or [""])[0][:120]
        ) from None
    shapes = shapes[shapes.geometry.notna() & shapes.geom_type.isin(["Polygon", "MultiPolygon"])]
    if shapes.empty:
        raise InputError("ingest.msg.areas_no_polygons", file=path.name)
    code, name = _column(shapes, _CODE_HEADERS), _column(shapes, _NAME_HEADERS)
    if code is None or name is None:
        raise InputError(
            "ingest.msg.areas_columns",
            file=path.name,
            columns=", ".join(str(c) for c in shapes.columns if c != "geometry"),
        )
    if shapes.crs is None:
        shapes = shapes.set_crs("EPSG:4326")
    shapes = shapes.to_crs("EPSG:4326")
    codes = shapes[code].astype(str).str.strip()
    if codes.duplicated().any():
        raise InputError(
            "ingest.msg.areas_duplicate_code", file=path.name, code=repr(codes[codes.duplicated()].iloc[0])
        )
    metric = shapes.to_crs(shapes.estimate_utm_crs())
    centroids = metric.centroid.to_crs("EPSG:4326")
    kind, population = _column(shapes, _KIND_HEADERS), _column(shapes, _POPULATION_HEADERS)
    names = shapes[name].astype(str).str.strip()
    frame = pd.DataFrame(
        {
            "code": codes.to_numpy(),
            "name": names.to_numpy(),
            "name_ascii": [plain(n).replace("_", " ").title() for n in names],
            "kind": (
                shapes[kind].map(lambda v: "commune" if plain(v) in ("commune", "xa") else "ward") if kind else "ward"
            ),
            "parent_code": None,
            "geometry_geojson": [json.dumps(g.__geo_interface__, separators=(",", ":")) for g in shapes.geometry],
            "centroid_lat": centroids.y.round(5).to_numpy(),
            "centroid_lon": centroids.x.round(5).to_numpy(),
            "area_km2": (metric.area / 1e6).round(2).to_numpy(),
            "population": (
                pd.to_numeric(shapes[population], errors="coerce").round().astype("Int64")
                if population
                else pd.Series(pd.NA, index=shapes.index, dtype="Int64")
            ).to_numpy(),
            "population_is_estimate": population is None,
        }
    )
    return frame[AREA_COLUMNS]


def import_areas(engine: Engine, path: Path, *, dry_run: bool = False) -> pd.DataFrame:
    """Replace the areas with the file's polygons (in one transaction); the new areas."""
    frame = area_frame_from_file(path)
    if dry_run:
        return frame
    with translating_errors(engine), engine.begin() as connection:
        q.replace_areas(connection, frame)
    return frame
