"""One writer, many readers on an embedded DuckDB file, without ever taking the dashboard offline.

DuckDB lets one process write a file or several processes read it, never both at once. The app, the CLI and the
worker therefore follow one protocol (see "One writer, many readers" in the README):

* **Readers** never open the served file itself as a database. Each pooled connection is a private in-memory DuckDB
  instance that ATTACHes the file READ_ONLY. A reader remembers which file it attached (device, inode, size,
  mtime); at every checkout from the pool the file is looked at again and a connection to a replaced or deleted file
  is thrown away, so the next query opens the new file (or says it is gone).
* **Writers** (`writing`) never write the served file in place. Under an exclusive lock on ``<file>.lock`` (writers
  queue there) the served file is copied next to itself, the writer changes the copy, checkpoints it and renames it
  over the served file in one atomic `os.replace`. Readers keep answering from the old file until the rename and
  from the new one after it: a page never waits for a write and never sees half of one. A failed or interrupted
  write only leaves the copy behind, which is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, exc, pool
from sqlalchemy.engine import Engine

log = logging.getLogger("dashboard.db")

READER_POOL_SIZE = 4
READER_MAX_OVERFLOW = 8
ATTACHED_AS = "ioc"
_writing_here = threading.local()


class WriteLockTimeout(RuntimeError):
    """Another write held the database longer than IOC_WRITE_LOCK_TIMEOUT_SECONDS."""


def file_identity(path: Path) -> tuple[int, int, int, int] | None:
    """What tells one version of a file from the next (None when there is no file)."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def reader_engine(url: str, path: Path) -> Engine:
    """A pooled read-only engine on the DuckDB file `path` (its `url` kept for messages and checks)."""
    engine = create_engine(
        url, poolclass=pool.QueuePool, pool_size=READER_POOL_SIZE, max_overflow=READER_MAX_OVERFLOW, pool_pre_ping=False
    )

    @event.listens_for(engine, "do_connect")
    def _in_memory(dialect, record, cargs, cparams):
        # The instance is private to this connection, so a replaced file is never served from DuckDB's
        # process-wide cache of open database files.
        cparams["database"] = ":memory:"
        cparams.pop("read_only", None)

    @event.listens_for(engine, "connect")
    def _attach(dbapi_connection, record):
        identity = file_identity(path)
        if identity is None:
            dbapi_connection.close()
            raise FileNotFoundError(f"database does not exist: {path}")
        cursor = dbapi_connection.cursor()
        cursor.execute(f"ATTACH {_sql_literal(str(path))} AS {ATTACHED_AS} (READ_ONLY)")
        cursor.execute(f"USE {ATTACHED_AS}")
        cursor.close()
        record.info["file_identity"] = identity

    @event.listens_for(engine, "checkout")
    def _still_the_same_file(dbapi_connection, record, proxy):
        if record.info.get("file_identity") != file_identity(path):
            raise exc.DisconnectionError(f"{path} was replaced or removed")

    return engine


# ---------------------------------------------------------------- the writer
def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def _exclusive(path: Path, timeout: float) -> Iterator[None]:
    """Hold the writers' lock of `path`, waiting up to `timeout` seconds for the writer before us."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(_lock_path(path), "a+") as handle:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriteLockTimeout(
                        f"another write to {path} (an import, a demo build or a forecast) held it for more than "
                        f"{timeout:.0f} s; try again when it has finished"
                    ) from None
                if not told:
                    log.warning("waiting for another write to %s to finish", path)
                    told = True
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove(*paths: Path) -> None:
    for candidate in paths:
        with contextlib.suppress(FileNotFoundError):
            candidate.unlink()


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def write_copy(path: Path, *, fresh: bool, keep: bool, lock_timeout: float) -> Iterator[Engine]:
    """A read-write engine on a private copy of `path`, put in its place atomically when the block succeeds.

    fresh: start from an empty file instead of a copy (the demo build). keep=False: throw the copy away (dry runs).
    """
    path = path.resolve()
    if getattr(_writing_here, "path", None) == path:
        raise RuntimeError(f"a write to {path} is already open in this thread (writes cannot nest)")
    with _exclusive(path, lock_timeout):
        _writing_here.path = path
        # Under the lock no other writer runs: a copy lying here belongs to a writer that was killed outright.
        for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.writing*"):
            _remove(leftover)
        copy = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.writing")
        copy_wal = copy.with_name(copy.name + ".wal")
        served_wal = path.with_name(path.name + ".wal")
        engine = None
        try:
            if not fresh and path.exists():
                shutil.copyfile(path, copy)
                if served_wal.exists():  # left by a writer that did not follow this protocol: replayed in the copy
                    shutil.copyfile(served_wal, copy_wal)
            engine = create_engine(f"duckdb:///{copy}", poolclass=pool.NullPool)
            yield engine
            if keep:
                with engine.connect() as connection:
                    connection.exec_driver_sql("CHECKPOINT")
                engine.dispose()
                engine = None
                _fsync(copy)
                os.replace(copy, path)
                _remove(served_wal, copy_wal)
                _fsync(path.parent)
        finally:
            if engine is not None:
                engine.dispose()
            _remove(copy, copy_wal)
            _writing_here.path = None
