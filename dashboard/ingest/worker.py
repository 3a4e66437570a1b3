"""One upload's import in a process of its own: `python -m dashboard.ingest.worker`, driven by the upload page.

The page (dashboard/ingest/upload.py `run_isolated`) writes one JSON request on stdin; this process limits its own
address space (RLIMIT_AS, IOC_IMPORT_MEMORY_MB: set here rather than in a preexec_fn, which is unsafe in the
threaded Streamlit server), runs the import on `engine.writing(url, keep=not dry_run)` and prints JSON lines on
stdout: {"event": "progress", "rows", "share"} while reading, then one {"event": "result"|"aborted"|"error", ...}.
Errors travel as their i18n key and parameters, so the page shows them in the user's language.
Exit codes as the command line: 0 done or dry run, 2 bad input or database problem, 3 aborted (too many rejects).
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

import pandas as pd

from dashboard.ingest.messages import Quoted, Reasons, Share

PROGRESS_SECONDS = 0.25  # at most four progress lines a second


# ---------------------------------------------------------------- what travels between the processes
def encode_value(value: Any) -> Any:
    """One i18n parameter as JSON, keeping the types that are rendered differently (numbers, shares, lists)."""
    if isinstance(value, Share):
        return {"share": float(value)}
    if isinstance(value, Reasons):
        return {"reasons": [[str(code), int(count)] for code, count in value]}
    if isinstance(value, Quoted):
        return {"quoted": [str(v) for v in value]}
    if isinstance(value, bool) or value is None:
        return {"text": str(value)}
    if isinstance(value, int):
        return {"int": value}
    return {"text": str(value)}


def decode_value(value: dict) -> Any:
    ((kind, inner),) = value.items()
    return {
        "share": Share,
        "reasons": lambda v: Reasons(tuple(p) for p in v),
        "quoted": Quoted,
        "int": int,
        "text": str,
    }[kind](inner)


def encode_error(error: Any) -> dict:
    return {"key": error.key, "params": {name: encode_value(v) for name, v in error.params.items()}}


def decode_params(encoded: dict) -> dict:
    return {name: decode_value(value) for name, value in encoded.items()}


def encode_result(result: Any) -> dict:
    sample = result.reject_sample.astype(object).where(result.reject_sample.notna(), None)
    return {
        "import_id": result.import_id,
        "kind": result.kind,
        "source": result.source,
        "file_name": result.file_name,
        "status": result.status,
        "mapping": result.mapping,
        "date_formats": result.date_formats,
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": result.rejected,
        "duplicates": result.duplicates,
        "unknown_area": result.unknown_area,
        "crosswalk": result.crosswalk,
        "crosswalk_share": result.crosswalk_share,
        "reasons": dict(result.reasons),
        "reject_sample": sample.to_dict("records"),
        "sensors_added": result.sensors_added,
        "sensors_registered": result.sensors_registered,
        "period_minutes": result.period_minutes,
        "message": result.message,
        "seconds": result.seconds,
    }


def decode_result(encoded: dict):
    from dashboard.ingest import rows
    from dashboard.ingest.importer import ImportResult

    values = dict(encoded)
    values["reasons"] = Counter(values.get("reasons") or {})
    sample = pd.DataFrame(values.pop("reject_sample") or [], columns=rows.REJECT_COLUMNS)
    if len(sample):
        sample["row_number"] = sample["row_number"].astype("int64")
    return ImportResult(**values, reject_sample=sample)


# ---------------------------------------------------------------- the import
def _emit(event: dict) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def import_in_copy(url: str, options, progress=None):
    """`run_import` on `engine.writing(url, keep=not dry_run)`: a DuckDB file is changed on a copy that replaces
    it only when a real import succeeds, so the app's readers never wait. The log entry of an attempt that wrote
    nothing (dry run, abort, failure) is written afterwards in a write of its own, as the copy it was made in is
    thrown away."""
    from dashboard.db.engine import duckdb_file, writing
    from dashboard.ingest.importer import run_import, write_log_entry

    copied = duckdb_file(url) is not None
    deferred: list[tuple[dict, pd.DataFrame]] = []
    try:
        with writing(url, keep=not options.dry_run) as engine:
            return run_import(
                engine,
                options,
                progress=progress,
                log=(lambda entry, rejects: deferred.append((entry, rejects))) if copied else None,
            )
    finally:
        for entry, rejects in deferred:
            with writing(url) as engine:
                write_log_entry(engine, entry, rejects)


def _request_options(request: dict):
    from dashboard.ingest.upload import RunSettings, options_for

    settings = dict(request["settings"])
    settings["mapping"] = tuple(tuple(pair) for pair in settings["mapping"])
    now = datetime.fromisoformat(request["now"]) if request.get("now") else None
    return options_for(
        request["path"],
        RunSettings(**settings),
        dry_run=bool(request["dry_run"]),
        now=now,
        sensors=request.get("sensors"),
    )


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt  # the import rolls back, logs the attempt and the copy of a DuckDB file is removed


def main() -> int:
    request = json.loads(sys.stdin.readline())
    _limit_memory(int(request.get("memory_mb") or 0))
    signal.signal(signal.SIGTERM, _stop)
    from dashboard.db.engine import DatabaseError
    from dashboard.ingest import dates, readers
    from dashboard.ingest.importer import ImportAborted

    last = [0.0]

    def progress(result, share: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_SECONDS or share >= 1.0:
            last[0] = now
            _emit({"event": "progress", "rows": result.rows_read, "share": float(share)})

    try:
        result = import_in_copy(request["url"], _request_options(request), progress)
    except (readers.InputError, dates.DateFormatError) as error:
        _emit({"event": "error", "type": type(error).__name__, **encode_error(error)})
        return 2
    except ImportAborted as aborted:
        _emit({"event": "aborted", **encode_error(aborted), "result": encode_result(aborted.result)})
        return 3
    except DatabaseError as error:
        _emit({"event": "error", "type": "DatabaseError", "message": str(error)})
        return 2
    except MemoryError:
        _emit(
            {
                "event": "error",
                "type": "InputError",
                "key": "ingest.msg.out_of_memory",
                "params": {
                    "file": encode_value(request["name"]),
                    "limit": encode_value(int(request.get("memory_mb") or 0)),
                    "setting": encode_value("IOC_IMPORT_MEMORY_MB"),
                },
            }
        )
        return 2
    except KeyboardInterrupt:
        return 130
    _emit({"event": "result", "result": encode_result(result)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
