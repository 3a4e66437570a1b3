"""`inbox`: every minute, files dropped into `data/inbox/{feedback,dossiers,traffic}/` (setting `IOC_INBOX_DIR`) are
imported with the same importer as `python -m dashboard import KIND FILE` (source from the file name, as the command
names it) and moved to `<kind>/done/` or `<kind>/failed/`.

Beside the moved file: `<file>.rejects.csv`, the reject report (every rejected row: row number, column, value,
reason), and for a failed file `<file>.error.txt`, the importer's message. A file that may still be being written —
changed in the last few seconds, or whose size changes between two looks — is left for the next run; so are hidden
files and names ending in `.part`, `.tmp` or `.crdownload`. When the database cannot be reached the file stays where
it is and the job fails (the worker retries it).
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard import config
from dashboard.db import audit
from dashboard.db.engine import DatabaseError
from dashboard.ingest.importer import ImportOptions
from dashboard.jobs.importing import import_file
from dashboard.jobs.registry import JobContext, JobOutcome, job

KINDS = ("feedback", "dossiers", "traffic")
SETTLE_SECONDS = 5.0  # a file changed more recently than this may still be being written
SECOND_LOOK_SECONDS = 0.5
PARTIAL_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial")


def inbox_dir() -> Path:
    folder = Path(config.get("IOC_INBOX_DIR") or "data/inbox")
    return folder if folder.is_absolute() else config.PROJECT_ROOT / folder


def _waiting(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.lower().endswith(PARTIAL_SUFFIXES)
    )


def settled(paths: list[Path], wall_now: float | None = None) -> tuple[list[Path], list[Path]]:
    """(files ready to import, files left for the next run): untouched for SETTLE_SECONDS and the same size on a
    second look."""
    wall_now = time.time() if wall_now is None else wall_now
    first = {}
    for path in paths:
        stat = path.stat()
        if wall_now - stat.st_mtime >= SETTLE_SECONDS:
            first[path] = stat.st_size
    if first:
        time.sleep(SECOND_LOOK_SECONDS)
    ready = [p for p, size in first.items() if p.exists() and p.stat().st_size == size]
    return ready, [p for p in paths if p not in ready]


def _free_name(folder: Path, name: str, stamp: str) -> Path:
    target = folder / name
    if not target.exists():
        return target
    stem, dot, suffix = name.partition(".")
    return folder / f"{stem}_{stamp}{dot}{suffix}"


def import_one(url: str, kind: str, path: Path, now: datetime) -> dict[str, Any]:
    """Import one inbox file and move it (with its reports) to done/ or failed/; the summary of what happened.
    DatabaseError propagates with the file left in place."""
    stamp = f"{datetime.now():%Y%m%dT%H%M%S}"
    work = path.parent / ".reports"
    work.mkdir(exist_ok=True)
    report = work / f"{path.name}.rejects.csv"
    summary: dict[str, Any] = {"file": path.name, "kind": kind}
    error_text = None
    try:
        result = import_file(url, ImportOptions(kind, path, now=now, reject_report=report))
    except DatabaseError:
        report.unlink(missing_ok=True)
        raise
    except Exception as error:  # refused by the importer (bad columns, dates, too many rejects) or unreadable
        error_text = str(error) or type(error).__name__
        summary.update(status="failed", error=error_text)
    else:
        summary.update(
            status="done",
            source=result.source,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
            import_id=result.import_id,
        )
    folder = path.parent / ("done" if error_text is None else "failed")
    folder.mkdir(exist_ok=True)
    target = _free_name(folder, path.name, stamp)
    shutil.move(path, target)
    if report.exists():
        shutil.move(report, target.with_name(target.name + ".rejects.csv"))
    if error_text is not None:
        target.with_name(target.name + ".error.txt").write_text(error_text + "\n", encoding="utf-8")
    summary["moved_to"] = str(target.relative_to(path.parent.parent))
    audit.record_for(url, actor="worker", role="worker", action="import", target=path.name, **summary)
    return summary


@job("inbox", "* * * * *", "Import the files dropped into data/inbox/{feedback,dossiers,traffic}/")
def inbox(ctx: JobContext) -> JobOutcome:
    root = inbox_dir()
    for kind in KINDS:
        (root / kind).mkdir(parents=True, exist_ok=True)
    waiting = {kind: _waiting(root / kind) for kind in KINDS}
    ready, left = settled([p for paths in waiting.values() for p in paths])
    files, rows = [], 0
    for kind in KINDS:
        for path in (p for p in waiting[kind] if p in ready):
            summary = import_one(ctx.url, kind, path, ctx.now)
            files.append(summary)
            rows += summary.get("inserted", 0) + summary.get("updated", 0)
    return JobOutcome(
        rows=rows,
        details={
            "files": files,
            "failed": [f["file"] for f in files if f["status"] == "failed"],
            "left_for_next_run": [str(p.relative_to(root)) for p in left],
        },
    )
