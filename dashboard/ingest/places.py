"""Which ward/commune a row belongs to: by code, by name, by an older unit through the crosswalk, or by its point.

Names compare without diacritics, case and the unit prefix: "P. Phú Hội", "Phường Phú Hội" and "phu hoi" are
the same name. The order, first match wins:

1. a current unit's code; then a name as written, with its diacritics (and type when given): a current unit's,
   then an older unit's; then an old code; then the name without diacritics with its type ("xa phu xuan"), then
   without type ("phu xuan") — at each step a current unit before an older one. So current codes and names win
   over old ones, yet "Phường Thuận Hòa" (an old ward, now in Phú Xuân) is not taken for the current "Phường
   Thuận Hóa", nor "Xã Phú Xuân" (an old commune, now in Phú Hồ) for "Phường Phú Xuân". Only a name that is
   the same as a current one in every respect ("Xã Phú Vinh", an old commune of A Lưới and a current commune)
   goes to the current unit.
2. Older units (before the July-2025 merger) come from the city's crosswalk (data/boundaries/<city>_crosswalk.csv,
   see data/boundaries/README.md): pre-2025 GSO codes and names, 2016 commune ids and names. A name that stands
   for old units going to different new units is ambiguous and not guessed (Huế: "Xã Hương Phong" of 2016, now
   in Hóa Châu, and the pre-2025 "Xã Hương Phong", now in A Lưới 4). An old unit split between several new units
   (shares < 1) is placed by the row's point when it lies in one of them, otherwise in the new unit with the
   largest share — such rows are counted apart (`crosswalk_counts`): the figures of those units are not exact.
3. Rows no code or name matched are placed by their point, with a point-in-polygon join (geopandas).

What matches nothing stays unknown (None). A city without a crosswalk file falls back to the pre-2025 unit names
of its boundary file (`old_units_pre2025`), for old units that went into exactly one current unit.
"""

from __future__ import annotations

import json
import re
import unicodedata

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.ingest.fields import plain

_PREFIXES = ("thanh_pho_", "thi_tran_", "phuong_", "tp_", "tt_", "p_", "xa_", "x_", "ward_", "commune_")
# The unit type a prefix names, for the typed key of an old unit's name ("P. Hương Phong" -> "phuong:huong_phong").
_TYPE_OF_PREFIX = {"thi_tran_": "thi_tran", "tt_": "thi_tran", "phuong_": "phuong", "p_": "phuong", "ward_": "phuong"}
_TYPE_OF_PREFIX.update({"xa_": "xa", "x_": "xa", "commune_": "xa"})

# How a row was placed (AreaMatcher.last_how): by current code or name, by an old unit through the crosswalk (whole;
# split and placed by its point; split and placed by the largest share), or by its point alone.
VIA_CROSSWALK = ("old", "old_point", "old_share")

Targets = tuple[tuple[str, float], ...]  # (new code, share), largest share first, ties by code


def name_key(name: object) -> str:
    """ "P. Phú Hội, TP Huế" -> "phu_hoi"."""
    text = plain(str(name).split(",")[0])
    for prefix in _PREFIXES:
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix) :]
    return text


def typed_key(name: object) -> str | None:
    """ "P. Hương Phong" -> "phuong:huong_phong"; None when the name has no unit type."""
    text = plain(str(name).split(",")[0])
    for prefix, kind in _TYPE_OF_PREFIX.items():
        if text.startswith(prefix) and len(text) > len(prefix):
            return f"{kind}:{text[len(prefix) :]}"
    return None


_EXACT_TYPE = re.compile(r"^(thị trấn|phường|xã|tt\.|p\.|x\.)\s*")
_EXACT_TYPES = {"thị trấn": "thi_tran", "tt.": "thi_tran", "phường": "phuong", "p.": "phuong", "xã": "xa", "x.": "xa"}


def exact_keys(name: object) -> tuple[str, ...]:
    """The name as written (Unicode NFC, lower case, single spaces, diacritics kept): with its type when it has one,
    and without. "P. Thuận Hòa" -> ("phuong:thuận hòa", ":thuận hòa"); "Thuận Hòa" -> (":thuận hòa",)."""
    text = " ".join(unicodedata.normalize("NFC", str(name).split(",")[0]).lower().split())
    found = _EXACT_TYPE.match(text)
    if found and len(text) > found.end():
        rest = text[found.end() :]
        return f"{_EXACT_TYPES[found.group(1)]}:{rest}", f":{rest}"
    return (f":{text}",)


def _unambiguous(candidates: dict[str, set[Targets]]) -> dict[str, Targets]:
    return {key: next(iter(found)) for key, found in candidates.items() if len(found) == 1}


class AreaMatcher:
    """Matches places to area codes of one city's current units."""

    def __init__(
        self, areas: pd.DataFrame, old_names: dict[str, str] | None = None, crosswalk: pd.DataFrame | None = None
    ) -> None:
        self.codes = {str(c) for c in areas["code"]}
        self.by_code = {plain(c): str(c) for c in areas["code"]}
        self.by_name, self.by_typed, self.by_exact = {}, {}, {}
        for code, name in zip(areas["code"].astype(str), areas["name"], strict=True):
            self.by_name[name_key(name)] = code
            self.by_typed[typed_key(name)] = code
            self.by_exact.update(dict.fromkeys(exact_keys(name), code))
        self.by_typed.pop(None, None)
        self.old_by_code: dict[str, Targets] = {}
        self.old_by_exact: dict[str, Targets] = {}
        self.old_by_typed: dict[str, Targets] = {}
        self.old_by_name: dict[str, Targets] = {
            key: ((code, 1.0),) for key, code in (old_names or {}).items() if code in self.codes
        }
        if crosswalk is not None:
            self._add_crosswalk(crosswalk)
        self._areas = areas
        self._shapes = None
        self.last_how = pd.Series(dtype=object)  # how each row of the last `match` was placed (see VIA_CROSSWALK)

    def _add_crosswalk(self, crosswalk: pd.DataFrame) -> None:
        """Old codes and names -> their new units (only new units this database has)."""
        usable = crosswalk[crosswalk["new_code"].astype(str).isin(self.codes)]
        units: dict[tuple[str, str], list[tuple[str, float]]] = {}
        names: dict[tuple[str, str], set[str]] = {}
        for row in usable.itertuples(index=False):
            unit = (str(row.old_level), plain(row.old_code))
            units.setdefault(unit, []).append((str(row.new_code), float(row.share)))
            names.setdefault(unit, set()).add(str(row.old_name))
        by_code: dict[str, set[Targets]] = {}
        by_typed: dict[str, set[Targets]] = {}
        by_name: dict[str, set[Targets]] = {}
        by_exact: dict[str, set[Targets]] = {}
        for unit, parts in units.items():
            targets = tuple(sorted(parts, key=lambda part: (-part[1], part[0])))
            by_code.setdefault(unit[1], set()).add(targets)
            for name in names[unit]:
                if typed_key(name):
                    by_typed.setdefault(typed_key(name), set()).add(targets)
                by_name.setdefault(name_key(name), set()).add(targets)
                for key in exact_keys(name):
                    by_exact.setdefault(key, set()).add(targets)
        self.old_by_code = _unambiguous(by_code)
        self.old_by_typed = _unambiguous(by_typed)
        self.old_by_name = _unambiguous(by_name)
        self.old_by_exact = _unambiguous(by_exact)

    @classmethod
    def from_engine(cls, engine: Engine, city: str) -> AreaMatcher:
        from dashboard.boundaries import CrosswalkError, crosswalk_frame
        from dashboard.db.queries import area_list
        from dashboard.ingest.readers import InputError

        try:
            crosswalk = crosswalk_frame(city)
        except CrosswalkError as error:
            raise InputError("ingest.msg.crosswalk_unusable", detail=str(error)) from None
        old_names = old_unit_names(city) if crosswalk is None else None
        return cls(area_list(engine, with_geometry=True), old_names, crosswalk)

    def _lookup(self, place: object) -> tuple[str, Targets] | None:
        """("code" | "name", ((code, 1.0),)) for a current unit, ("old", targets) for an older unit, None."""
        key, typed, short = plain(place), typed_key(place), name_key(place)
        if key in self.by_code:
            return "code", ((self.by_code[key], 1.0),)
        steps = (  # a typed place is looked up by its typed key only: "Xã Phú Xuân" is not "Phường Phú Xuân"
            (self.by_exact, self.old_by_exact, exact_keys(place)[:1]),
            ({}, self.old_by_code, (key,)),
            (self.by_typed, self.old_by_typed, (typed,) if typed else ()),
            (self.by_name, self.old_by_name, (short,)),
        )
        for current, old, keys in steps:
            for candidate in keys:
                if candidate in current:
                    return "name", ((current[candidate], 1.0),)
            for candidate in keys:
                if candidate in old:
                    return "old", old[candidate]
        return None

    def match_names(self, places: pd.Series) -> pd.Series:
        """Area code per place (None when no code or name matches; a split old unit: its largest share)."""
        return self._match_names(places)[0]

    def _match_names(self, places: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        """(code, how, targets of a split old unit) per place; each distinct place is looked up once."""
        position, distinct = pd.factorize(places, use_na_sentinel=True)
        hits = [self._lookup(place) for place in distinct]
        columns = (
            [hit[1][0][0] if hit else None for hit in hits],
            [None if not hit else ("old_share" if len(hit[1]) > 1 else hit[0]) for hit in hits],
            [hit[1] if hit and len(hit[1]) > 1 else None for hit in hits],
        )
        result = []
        for values in columns:
            table = np.empty(len(values) + 1, dtype=object)  # the last entry (None) answers missing places (-1)
            for index, value in enumerate(values):  # tuples one by one: numpy would unpack them into rows
                table[index] = value
            result.append(pd.Series(table[position], index=places.index, dtype=object))
        return tuple(result)

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
        """Area code per row; `last_how` then says how each row was placed."""
        if places is not None:
            codes, how, split = self._match_names(places)
        else:
            codes = pd.Series(None, index=index, dtype=object)
            how, split = codes.copy(), codes.copy()
        if lat is not None and lon is not None:
            missing = codes.isna()
            if missing.any():
                by_point = self.match_points(lat[missing], lon[missing])
                codes[missing] = by_point
                how[missing & codes.notna()] = "point"
            is_split = split.notna()
            if is_split.any():  # an old unit split between new units: its point decides when it lies in one of them
                by_point = self.match_points(lat[is_split], lon[is_split])
                inside = [
                    point is not None and any(point == code for code, _ in targets)
                    for point, targets in zip(by_point, split[is_split], strict=True)
                ]
                placed = by_point.index[inside]
                codes[placed] = by_point[placed]
                how[placed] = "old_point"
        self.last_how = how
        return codes.astype(object).where(codes.notna(), None)

    def crosswalk_counts(self, index: pd.Index) -> tuple[int, int]:
        """(rows placed through the crosswalk, of which rows of a split old unit placed by the largest share) among
        the rows `index` of the last `match`."""
        how = self.last_how.reindex(index)
        return int(how.isin(VIA_CROSSWALK).sum()), int((how == "old_share").sum())


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
