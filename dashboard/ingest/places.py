"""Which ward/commune a row belongs to: by code, by name (also pre-2025 names), or by its point.

Names compare without diacritics, case and the unit prefix: "P. Phú Hội", "Phường Phú Hội" and "phu hoi" are
the same name. A pre-2025 unit name counts when it went into exactly one current unit (the old names come
from the city's boundary file, see data/boundaries/README.md). Rows with a point that no code or name matched
are placed with a point-in-polygon join (geopandas). What matches nothing stays unknown (None).
"""

from __future__ import annotations

import json

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.ingest.fields import plain

_PREFIXES = ("thanh_pho_", "thi_tran_", "phuong_", "tp_", "tt_", "p_", "xa_", "x_", "ward_", "commune_")


def name_key(name: object) -> str:
    """ "P. Phú Hội, TP Huế" -> "phu_hoi"."""
    text = plain(str(name).split(",")[0])
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


class AreaMatcher:
    """Matches places to area codes of one city's current units."""

    def __init__(self, areas: pd.DataFrame, old_names: dict[str, str] | None = None) -> None:
        self.codes = {str(c) for c in areas["code"]}
        self.by_code = {plain(c): str(c) for c in areas["code"]}
        self.by_name: dict[str, str] = {}
        for key, code in (old_names or {}).items():
            if code in self.codes:
                self.by_name[key] = code
        for code, name in zip(areas["code"], areas["name"], strict=True):  # current names win over old ones
            self.by_name[name_key(name)] = str(code)
        self._areas = areas
        self._shapes = None

    @classmethod
    def from_engine(cls, engine: Engine, city: str) -> AreaMatcher:
        from dashboard.db.queries import area_list

        return cls(area_list(engine, with_geometry=True), old_unit_names(city))

    def match_names(self, places: pd.Series) -> pd.Series:
        """Area code per place (None when no code or name matches)."""
        unique = places.dropna().unique()
        found = {}
        for place in unique:
            key = plain(place)
            found[place] = self.by_code.get(key) or self.by_name.get(name_key(place))
        return places.map(found).astype(object).where(places.notna(), None)

    def match_points(self, lat: pd.Series, lon: pd.Series) -> pd.Series:
        """Area code per point inside one of the areas (None outside all of them or without a point)."""
        result = pd.Series(None, index=lat.index, dtype=object)
        has_point = lat.notna() & lon.notna()
        if not has_point.any() or self._areas["geometry_geojson"].isna().all():
            return result
        import geopandas as gpd

        if self._shapes is None:
            from shapely.geometry import shape

            usable = self._areas.dropna(subset=["geometry_geojson"])
            self._shapes = gpd.GeoDataFrame(
                {"area_code": usable["code"].astype(str).to_numpy()},
                geometry=[shape(json.loads(g)) for g in usable["geometry_geojson"]],
                crs="EPSG:4326",
            )
        points = gpd.GeoDataFrame(
            index=lat.index[has_point], geometry=gpd.points_from_xy(lon[has_point], lat[has_point]), crs="EPSG:4326"
        )
        joined = gpd.sjoin(points, self._shapes, how="inner", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        result.loc[joined.index] = joined["area_code"].to_numpy()
        return result

    def match(
        self, places: pd.Series | None, lat: pd.Series | None, lon: pd.Series | None, index: pd.Index
    ) -> pd.Series:
        codes = self.match_names(places) if places is not None else pd.Series(None, index=index, dtype=object)
        if lat is not None and lon is not None:
            missing = codes.isna()
            if missing.any():
                codes[missing] = self.match_points(lat[missing], lon[missing])
        return codes.astype(object).where(codes.notna(), None)


def old_unit_names(city: str) -> dict[str, str]:
    """Pre-2025 unit name key -> current code, for old units that went into exactly one current unit."""
    from dashboard.boundaries import boundary_path

    try:
        with boundary_path(city).open(encoding="utf-8") as handle:
            features = json.load(handle)["features"]
    except (ValueError, FileNotFoundError):
        return {}
    targets: dict[str, set[str]] = {}
    for feature in features:
        properties = feature["properties"]
        for old in str(properties.get("old_units_pre2025") or "").split(";"):
            if old.strip():
                targets.setdefault(name_key(old), set()).add(str(properties["code"]))
    return {key: next(iter(codes)) for key, codes in targets.items() if len(codes) == 1}
