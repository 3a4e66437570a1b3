"""Measure the importer on a large generated file: rows per second and peak memory (5 M rows within 1 GB).

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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dashboard.bench.writes import write_feedback_csv  # noqa: E402 (after the path above)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", action="store_true", help="keep the generated file and database")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ioc-import-"))
    path = folder / "phan_anh.csv"
    clock = time.monotonic()
    write_feedback_csv(path, args.rows)
    print(f"wrote {args.rows:,} rows, {path.stat().st_size / 1e6:,.0f} MB in {time.monotonic() - clock:.0f} s")
    url = args.database_url or f"duckdb:///{folder / 'import.duckdb'}"
    clock = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dashboard",
            "--database-url",
            url,
            "import",
            "feedback",
            str(path),
            "--quiet",
            "--max-reject-rate",
            "0.05",
        ],
        cwd=ROOT,
        check=False,
    )
    seconds = time.monotonic() - clock
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"import exit {done.returncode}: {seconds:.0f} s, {args.rows / seconds:,.0f} rows/s, peak RSS {peak_mb:,.0f} MB"
    )
    if not args.keep:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
