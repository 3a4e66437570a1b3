"""Measure the importer on a large generated file: rows per second and peak memory (issue 8: 5 M rows, ≤ 1 GB).

    .venv/bin/python scripts/import_memory.py --rows 5000000 [--database-url URL] [--keep]

Writes a seeded feedback CSV (Vietnamese headers, dd/mm/yyyy times, 1 % bad rows) to a temporary folder, runs
`python -m dashboard import feedback` on it in a child process against a fresh DuckDB (or the given URL), and
prints the child's wall time and peak RSS (getrusage of the child).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
WARDS = ["Phường Phú Xuân", "P. Vỹ Dạ", "phu hoi", "Phường An Cựu", "Xã Phong Sơn", "Không rõ"]
CATEGORIES = ["Rác thải", "Ổ gà mặt đường", "Đèn chiếu sáng", "Ngập úng", "Tiếng ồn"]


def write_file(path: Path, rows: int, seed: int = 11) -> None:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    block = 500_000
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write("Mã phản ánh,Ngày tiếp nhận,Lĩnh vực,Phường/Xã,Trạng thái,Ngày hoàn thành\n")
        for first in range(0, rows, block):
            n = min(block, rows - first)
            received = start + pd.to_timedelta(rng.integers(0, 3 * 365 * 86400, n), unit="s")
            resolved = received + pd.to_timedelta(rng.integers(-3600, 5 * 86400, n), unit="s")  # ~1 % before
            done = rng.random(n) < 0.7
            frame = pd.DataFrame({
                "id": [f"PA-{i}" for i in range(first, first + n)],
                "received": received.strftime("%d/%m/%Y %H:%M"),
                "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
                "ward": np.array(WARDS)[rng.integers(0, len(WARDS), n)],
                "status": np.where(done, "Đã xử lý", "Đang xử lý"),
                "resolved": np.where(done, resolved.strftime("%d/%m/%Y %H:%M"), ""),
            })
            frame.to_csv(handle, header=False, index=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated file and database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ioc-import-"))
    path = folder / "phan_anh.csv"
    clock = time.monotonic()
    write_file(path, args.rows)
    print(f"wrote {args.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB in {time.monotonic() - clock:.0f} s")
    url = args.database_url or f"duckdb:///{folder / 'import.duckdb'}"
    clock = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "dashboard", "--database-url", url, "import", "feedback", str(path),
                           "--quiet", "--max-reject-rate", "0.05"], cwd=ROOT, check=False)
    seconds = time.monotonic() - clock
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"import exit {done.returncode}: {seconds:.0f} s, {args.rows / seconds:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB")
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
