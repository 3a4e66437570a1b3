"""Build the committed ward/commune boundary files for Huế (units in force since 1 July 2025).

Reads `hue_units_2025.geojson` from the shared boundary folder (see data/boundaries/README.md for
where it comes from) and writes, into `data/boundaries/` (or --out):

* `hue_wards_2025.geojson` - one feature per unit, geometry copied unchanged, one feature per line;
* `hue_wards_2025.csv`     - the same properties without geometry.

The source has no population per 2025 unit, so the script adds an ESTIMATE (see `estimate_population`).
The output is deterministic: running the script twice gives byte-identical files.

Usage:
    .venv/bin/python scripts/build_boundaries.py [--shared PATH] [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import unicodedata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = PROJECT_ROOT.parent / "shared" / "data" / "boundaries"
DEFAULT_OUT = PROJECT_ROOT / "data" / "boundaries"

SOURCE_FILE = "hue_units_2025.geojson"
OUT_STEM = "hue_wards_2025"
PARENT_CODE = "46"  # GSO code of Huế (centrally governed city)
EXPECTED_UNITS = 40

KIND_BY_TYPE = {"Phường": "ward", "Xã": "commune"}

# --- Population estimate -------------------------------------------------------------------------
# population_i = TOTAL * weight_i / sum(weights), weight_i = nominal density of the unit's class * official area.
# The densities are relative weights (people per km², order of magnitude only), not measurements.
POPULATION_TOTAL = 1_180_000
ROUND_TO = 100

DENSITY_PER_KM2 = {
    "core": 6000,  # dense centre of old Huế city, both banks of the Perfume River
    "inner_city": 1200,  # the other wards of pre-2025 Huế city (mixed urban / village / hills)
    "ward": 500,  # other wards (former town centres, suburbs)
    "commune": 300,  # lowland and coastal communes
    "large_rural": 120,  # wards and communes over LARGE_RURAL_KM2: mostly upland forest hinterland
    "mountain": 40,  # A Lưới and Nam Đông highlands, Bình Điền
}
LARGE_RURAL_KM2 = 150.0
# Explicit classes by name_short; every other unit follows its kind and area. Kim Long is left to the
# default "ward" class on purpose: most of its 90 km² is the hilly former Hương Thọ commune.
CLASS_BY_NAME = {
    "Phú Xuân": "core",
    "Thuận Hóa": "core",
    "Vỹ Dạ": "core",
    "An Cựu": "core",
    "Hương An": "inner_city",
    "Thủy Xuân": "inner_city",
    "Thuận An": "inner_city",
    "Dương Nỗ": "inner_city",
    "Hóa Châu": "inner_city",
    "A Lưới 1": "mountain",
    "A Lưới 2": "mountain",
    "A Lưới 3": "mountain",
    "A Lưới 4": "mountain",
    "A Lưới 5": "mountain",
    "Nam Đông": "mountain",
    "Khe Tre": "mountain",
    "Long Quảng": "mountain",
    "Bình Điền": "mountain",
}

PROPERTIES = (
    "code",
    "name",
    "name_short",
    "name_ascii",
    "kind",
    "parent_code",
    "centroid_lat",
    "centroid_lon",
    "area_km2",
    "population",
    "population_is_estimate",
    "old_units_pre2025",
)


def density_class(name_short: str, kind: str, area_km2: float) -> str:
    if name_short in CLASS_BY_NAME:
        return CLASS_BY_NAME[name_short]
    if area_km2 > LARGE_RURAL_KM2:
        return "large_rural"
    return kind


def estimate_population(units: list[dict]) -> dict[str, int]:
    """code -> estimated population, rounded to ROUND_TO, summing exactly to POPULATION_TOTAL.

    Rounding uses largest remainders (ties broken by code) so the total is kept exactly.
    """
    weights = {
        u["code"]: DENSITY_PER_KM2[density_class(u["name_short"], u["kind"], u["area_km2"])] * u["area_km2"]
        for u in units
    }
    total_weight = sum(weights.values())
    steps = POPULATION_TOTAL // ROUND_TO
    exact = {code: steps * w / total_weight for code, w in weights.items()}
    floors = {code: int(value) for code, value in exact.items()}
    left = steps - sum(floors.values())
    by_remainder = sorted(exact, key=lambda code: (-(exact[code] - floors[code]), code))
    for code in by_remainder[:left]:
        floors[code] += 1
    return {code: n * ROUND_TO for code, n in floors.items()}


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def read_units(source: Path) -> list[tuple[dict, dict]]:
    """(properties, geometry) for every unit of the source file, sorted by code, checked."""
    with source.open(encoding="utf-8") as handle:
        collection = json.load(handle)
    units = []
    for feature in collection["features"]:
        p = feature["properties"]
        kind = KIND_BY_TYPE.get(p["type"])
        if kind is None:
            raise ValueError(f"{p['code']}: unexpected unit type {p['type']!r}")
        name_ascii = p["name_ascii"]
        if not name_ascii.isascii():
            raise ValueError(f"{p['code']}: name_ascii {name_ascii!r} is not ASCII")
        units.append(
            (
                {
                    "code": str(p["code"]),
                    "name": _nfc(p["name"]),
                    "name_short": _nfc(p["name_short"]),
                    "name_ascii": name_ascii,
                    "kind": kind,
                    "parent_code": PARENT_CODE,
                    # Centroid of the polygon, not the package's lat/lon (which may be Google geocodes).
                    "centroid_lat": float(p["poly_centroid_lat"]),
                    "centroid_lon": float(p["poly_centroid_lon"]),
                    "area_km2": float(p["area_km2"]),
                    "old_units_pre2025": _nfc(p["old_units_pre2025"]),
                },
                feature["geometry"],
            )
        )
    units.sort(key=lambda item: item[0]["code"])
    codes = [u["code"] for u, _ in units]
    if len(units) != EXPECTED_UNITS or len(set(codes)) != EXPECTED_UNITS:
        raise ValueError(
            f"expected {EXPECTED_UNITS} units with unique codes, found {len(units)} ({len(set(codes))} codes)"
        )
    unknown = set(CLASS_BY_NAME) - {u["name_short"] for u, _ in units}
    if unknown:
        raise ValueError(f"density classes name units that are not in the source: {sorted(unknown)}")
    return units


def build(source: Path, out_dir: Path) -> tuple[Path, Path]:
    units = read_units(source)
    population = estimate_population([u for u, _ in units])
    records = []
    for props, geometry in units:
        props = dict(props, population=population[props["code"]], population_is_estimate=True)
        records.append(({key: props[key] for key in PROPERTIES}, geometry))

    out_dir.mkdir(parents=True, exist_ok=True)
    geojson_path = out_dir / f"{OUT_STEM}.geojson"
    csv_path = out_dir / f"{OUT_STEM}.csv"

    lines = [
        json.dumps(
            {"type": "Feature", "properties": props, "geometry": geometry}, ensure_ascii=False, separators=(",", ":")
        )
        for props, geometry in records
    ]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    geojson_path.write_text(text, encoding="utf-8", newline="\n")

    with csv_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(PROPERTIES)
        for props, _ in records:
            writer.writerow(
                ["true" if v is True else "false" if v is False else v for v in (props[k] for k in PROPERTIES)]
            )
    return geojson_path, csv_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared",
        type=Path,
        default=DEFAULT_SHARED,
        help=f"folder holding {SOURCE_FILE} (default: ../shared/data/boundaries from the project root)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: data/boundaries in the project)"
    )
    args = parser.parse_args(argv)
    source = args.shared / SOURCE_FILE
    if not source.exists():
        print(f"error: {source} not found; pass --shared PATH pointing at the boundary source folder", file=sys.stderr)
        return 2
    for path in build(source, args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
