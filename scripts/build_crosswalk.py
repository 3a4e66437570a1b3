"""Build the committed crosswalk from Huế's older units to the units in force since 1 July 2025.

Reads, from the shared boundary folder (see data/boundaries/README.md):

* `hue_units_2025.csv`         - the 40 units of 2025 with `old_units_pre2025` / `old_codes_pre2025`
  (the 133 units of just before the merger, GSO codes);
* `hue_communes_2016.geojson`  - the 152 communes of about 2016 (vietnam63 ids, not GSO codes) with the
  2025 unit each went into (`unit_2025_code`, `match` = name or manual);

and writes `data/boundaries/hue_crosswalk.csv` (or --out), one row per (old unit, new unit):

    old_level, old_code, old_name, new_code, new_name, share, new_from, source

* `old_level`: `pre2025` (the GSO units of just before the merger) or `commune_2016` (the vietnam63 communes).
* `share`: the part of the old unit's area that lies in the new unit; 1.0 when the old unit went whole into it.
  An old unit split between several new units has one row per new unit, its shares adding up to 1.
  For Huế no old unit was split (the sources list no divided unit), so every share is 1.0.
* `new_from`: the day the new units took effect (the merger date, 2025-07-01).

The output is deterministic (sorted by level, old code, new code): rerunning gives a byte-identical file.

Usage:
    .venv/bin/python scripts/build_crosswalk.py [--shared PATH] [--out FILE]
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
DEFAULT_OUT = PROJECT_ROOT / "data" / "boundaries" / "hue_crosswalk.csv"

COLUMNS = ["old_level", "old_code", "old_name", "new_code", "new_name", "share", "new_from", "source"]
MERGER_DATE = "2025-07-01"  # the day the 2025 units took effect (see data/boundaries/README.md)
EXPECTED = {"pre2025": 133, "commune_2016": 152, "new_units": 40}
SOURCE_PRE2025 = "vietnamadminunits 1.0.4 converter_2025"
SOURCE_2016_NAME = "vietnam63 commune by name -> pre2025 unit -> 2025 unit"
SOURCE_2016_MANUAL = "vietnam63 commune matched by hand -> 2025 unit (see data/boundaries/README.md)"


def nfc(text: object) -> str:
    return unicodedata.normalize("NFC", str(text).strip())


def pre2025_rows(units_csv: Path) -> list[dict]:
    rows = []
    with units_csv.open(encoding="utf-8", newline="") as handle:
        for unit in csv.DictReader(handle):
            names = [nfc(n) for n in unit["old_units_pre2025"].split(";") if n.strip()]
            codes = [c.strip() for c in unit["old_codes_pre2025"].split(";") if c.strip()]
            if len(names) != len(codes):
                raise SystemExit(
                    f"{units_csv.name}: unit {unit['code']} lists {len(names)} names but {len(codes)} codes"
                )
            for name, code in zip(names, codes, strict=True):
                rows.append(
                    {
                        "old_level": "pre2025",
                        "old_code": code,
                        "old_name": name,
                        "new_code": unit["code"].strip(),
                        "new_name": nfc(unit["name"]),
                        "share": "1.0",
                        "new_from": MERGER_DATE,
                        "source": SOURCE_PRE2025,
                    }
                )
    return rows


def commune_2016_rows(communes_geojson: Path, new_names: dict[str, str]) -> list[dict]:
    with communes_geojson.open(encoding="utf-8") as handle:
        features = json.load(handle)["features"]
    rows = []
    for feature in features:
        p = feature["properties"]
        new_code = str(p["unit_2025_code"]).strip()
        rows.append(
            {
                "old_level": "commune_2016",
                "old_code": str(p["code"]).strip(),
                "old_name": nfc(p["name"]),
                "new_code": new_code,
                "new_name": new_names.get(new_code, nfc(p["unit_2025_name"])),
                "share": "1.0",
                "new_from": MERGER_DATE,
                "source": SOURCE_2016_MANUAL if p.get("match") == "manual" else SOURCE_2016_NAME,
            }
        )
    return rows


def build(shared: Path) -> list[dict]:
    units_csv, communes = shared / "hue_units_2025.csv", shared / "hue_communes_2016.geojson"
    for path in (units_csv, communes):
        if not path.exists():
            raise SystemExit(f"missing source file {path} (pass --shared PATH to the shared boundary folder)")
    with units_csv.open(encoding="utf-8", newline="") as handle:
        new_names = {row["code"].strip(): nfc(row["name"]) for row in csv.DictReader(handle)}
    rows = pre2025_rows(units_csv) + commune_2016_rows(communes, new_names)
    counts = {
        level: len({r["old_code"] for r in rows if r["old_level"] == level})
        for level in EXPECTED
        if level != "new_units"
    }
    counts["new_units"] = len({r["new_code"] for r in rows})
    if counts != EXPECTED:
        raise SystemExit(f"unexpected counts {counts}, expected {EXPECTED}")
    unknown = {r["new_code"] for r in rows} - set(new_names)
    if unknown:
        raise SystemExit(f"new codes not among the 2025 units: {sorted(unknown)}")
    order = {"pre2025": 0, "commune_2016": 1}
    return sorted(rows, key=lambda r: (order[r["old_level"]], int(r["old_code"]), int(r["new_code"])))


def write(rows: list[dict], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared boundary folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="crosswalk CSV to write")
    args = parser.parse_args(argv)
    rows = build(args.shared)
    write(rows, args.out)
    levels = {level: sum(r["old_level"] == level for r in rows) for level in ("pre2025", "commune_2016")}
    print(f"wrote {args.out}: {len(rows)} rows ({levels['pre2025']} pre2025, {levels['commune_2016']} commune_2016)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
