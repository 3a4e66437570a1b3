"""Writes beside readers: how long does a page wait while the database is being written?

    .venv/bin/python -m dashboard.bench.writes [--rows 1000000] [--database-url URL] [--json]

Copies the demo database (DuckDB) or uses the given URL, starts a reader process that runs the overview page's
queries in a loop (the app's own read-only engine and KPI functions, no result cache) and, while it runs, writes
with the real commands one after the other: `import feedback` of a generated file of `--rows` rows, an admin
upload of a tenth as many rows (through the upload page's worker process), `demo`, `init-db`, and the reads `kpi`
and `brief`. Prints each command's exit code and time, the number of page polls,
the longest and the 99th percentile page wait, and every error a poll saw. The test suite runs it small
(tests/test_write_safety.py); docs/benchmarks.md has the 1 M-row figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard import config
from dashboard.db.engine import DatabaseError, duckdb_file, make_engine
from dashboard.periods import Period

POLL_PAUSE_SECONDS = 0.05
WARDS = ["Phường Phú Xuân", "P. Vỹ Dạ", "phu hoi", "Phường An Cựu", "Xã Phong Sơn", "Không rõ"]
CATEGORIES = ["Rác thải", "Ổ gà mặt đường", "Đèn chiếu sáng", "Ngập úng", "Tiếng ồn"]


def write_feedback_csv(path: Path, rows: int, seed: int = 11) -> None:
    """A seeded feedback export: Vietnamese headers, dd/mm/yyyy times, about 1 % rows resolved before received."""
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
            frame = pd.DataFrame(
                {
                    "id": [f"PA-{i}" for i in range(first, first + n)],
                    "received": received.strftime("%d/%m/%Y %H:%M"),
                    "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), n)],
                    "ward": np.array(WARDS)[rng.integers(0, len(WARDS), n)],
                    "status": np.where(done, "Đã xử lý", "Đang xử lý"),
                    "resolved": np.where(done, resolved.strftime("%d/%m/%Y %H:%M"), ""),
                }
            )
            frame.to_csv(handle, header=False, index=False)


def poll_pages(url: str, stop_file: Path, out_file: Path) -> None:
    """The reader: the overview's KPI queries and the area list, again and again, until `stop_file` exists."""
    from dashboard.db import queries
    from dashboard.metrics import kpis

    engine = make_engine(url, read_only=True)
    waits: list[float] = []
    errors: list[str] = []
    period = Period(date.today() - timedelta(days=29), date.today())
    while not stop_file.exists():
        started = time.perf_counter()
        try:
            kpis.compute_kpis(engine, period, None)
            queries.area_list(engine)
        except DatabaseError as error:
            errors.append(f"{type(error).__name__}: {error}")
        waits.append(time.perf_counter() - started)
        time.sleep(POLL_PAUSE_SECONDS)
    engine.dispose()
    out_file.write_text(json.dumps({"waits": waits, "errors": errors}))


def _command(url: str, *arguments: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "--database-url", url, *arguments],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "IOC_DATABASE_URL": url},
    )
    return {
        "command": " ".join(arguments[:2]),
        "exit": done.returncode,
        "seconds": round(time.perf_counter() - started, 2),
        "stderr": done.stderr.strip().splitlines()[-1:] if done.returncode else [],
    }


def _upload(url: str, path: Path) -> dict:
    """The admin upload page's import: detection, then the same worker process the page starts."""
    from dashboard.ingest import upload

    started = time.perf_counter()
    detection = upload.detect(path, "feedback")
    settings = upload.RunSettings.build("feedback", "admin_upload", detection.mapping)
    try:
        result = upload.run_isolated(url, path, settings, dry_run=False)
        code, problem = 0, []
    except Exception as error:  # noqa: BLE001 (measured and reported, whatever it was)
        code, problem, result = 2, [f"{type(error).__name__}: {error}"], None
    return {
        "command": "upload feedback",
        "exit": code,
        "seconds": round(time.perf_counter() - started, 2),
        "stderr": problem,
        "inserted": getattr(result, "inserted", None),
    }


def run(url: str, rows: int, folder: Path, demo_scale: float = 0.02) -> dict:
    """Start the reader, run the writes and reads, stop the reader; the measurements as a dict."""
    data, uploaded = folder / "phan_anh_beside.csv", folder / "phan_anh_upload.csv"
    write_feedback_csv(data, rows)
    write_feedback_csv(uploaded, max(1, rows // 10), seed=12)
    stop_file, out_file = folder / "stop", folder / "polls.json"
    reader = subprocess.Popen(
        [sys.executable, "-m", "dashboard.bench.writes", "--poll", url, str(stop_file), str(out_file)]
    )
    time.sleep(2.0)  # the reader is polling before the first write starts
    commands = [
        _command(url, "import", "feedback", str(data), "--source", "beside_readers", "--quiet"),
        _upload(url, uploaded),
        _command(url, "demo", "--scale", str(demo_scale), "--start", str(date.today() - timedelta(days=60))),
        _command(url, "init-db"),
        _command(url, "kpi", "--from", str(date.today() - timedelta(days=6)), "--to", str(date.today()), "--json"),
        _command(url, "brief", "--out", str(folder / "brief.pdf")),
    ]
    time.sleep(1.0)
    stop_file.touch()
    reader.wait(timeout=120)
    polls = json.loads(out_file.read_text())
    waits = sorted(polls["waits"])
    return {
        "rows": rows,
        "commands": commands,
        "polls": len(waits),
        "errors": polls["errors"],
        "max_wait_seconds": round(waits[-1], 3) if waits else None,
        "p99_wait_seconds": round(waits[int(0.99 * (len(waits) - 1))], 3) if waits else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: a copy of the configured DuckDB database")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--poll", nargs=3, metavar=("URL", "STOP_FILE", "OUT_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.poll:  # the reader process started by `run`
        poll_pages(args.poll[0], Path(args.poll[1]), Path(args.poll[2]))
        return 0
    folder = Path(tempfile.mkdtemp(prefix="ioc-writes-"))
    url = args.database_url
    if url is None:
        source = duckdb_file(config.database_url())
        if source is None or not source.exists():
            print("error: no DuckDB demo database to copy; run `make demo` or pass --database-url", file=sys.stderr)
            return 2
        shutil.copyfile(source, folder / "served.duckdb")
        url = f"duckdb:///{folder / 'served.duckdb'}"
    try:
        result = run(url, args.rows, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        for command in result["commands"]:
            print(f"{command['command']:<16} exit {command['exit']}  {command['seconds']:>7.1f} s  {command['stderr']}")
        print(
            f"{result['polls']} page polls, {len(result['errors'])} errors, longest wait {result['max_wait_seconds']} s, "
            f"p99 {result['p99_wait_seconds']} s"
        )
        for error in result["errors"][:5]:
            print("  " + error)
    failed = any(c["exit"] for c in result["commands"]) or result["errors"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
