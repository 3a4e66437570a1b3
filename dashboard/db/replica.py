"""Read replica (IOC_DATABASE_READ_URL): which database the pages read, and how far the replica is behind.

What goes where. Page queries (`dashboard.web.cache.query`, `ensure_ready`) read the replica. Everything that writes —
imports, the admin upload, `init-db`, `demo`, `forecast`, the worker and its jobs, the operational store (alerts and
their acknowledgements, events, directives, job runs) — uses IOC_DATABASE_URL, the primary, and so do the reads that
must see a write at once (the operational store's tables, read through `ops_engine(primary URL)`). A replica is
read-only: a write sent to it fails ("cannot execute … in a read-only transaction"), it never half-happens.

When the replica cannot serve. A page query that fails on the replica because it does not answer (down, refused,
frozen: `DatabaseUnavailable`) or because PostgreSQL cancelled it for a conflict with recovery (SQLSTATE 40001) is
run again on the primary, and the replica is set aside for `SET_ASIDE_SECONDS`: pages read the primary meanwhile,
the log has one warning per outage and the data-quality page says so. After that the replica is asked again; its
first answer ends the outage (one line in the log). Pages never show a traceback for it.

Lag. `measure(primary, replica)` asks the primary where its WAL ends (`pg_current_wal_lsn()`) and then polls the
replica until it has replayed that far (`pg_last_wal_replay_lsn()`): the time that took is the lag, measured, not
inferred. `now() - pg_last_xact_replay_timestamp()` alone would grow on an idle primary although the replica is
current, so it is used only when the replica has not caught up within `MEASURE_SECONDS`, as the age of the newest
change it has applied. Both need no privilege (`pg_stat_replication.replay_lag` is hidden from ordinary roles).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine

from dashboard.db.engine import DatabaseUnavailable, fetch_one, redact_url

log = logging.getLogger(__name__)

SET_ASIDE_SECONDS = 30.0
MEASURE_SECONDS = 1.0
POLL_SECONDS = 0.05
RECOVERY_CONFLICT = "40001"  # "canceling statement due to conflict with recovery" on a hot standby
STATEMENT_TIMEOUT = "57014"  # the server cancelled the query at IOC_STATEMENT_TIMEOUT_SECONDS

_set_aside: dict[str, tuple[float, str]] = {}  # replica URL -> (monotonic time, why)
_lock = threading.Lock()


def pages_url(primary: str, read: str) -> str:
    """The URL page queries use now: `read` (the replica) unless it is unset, the primary itself, or set aside."""
    if not read or read == primary:
        return primary
    with _lock:
        aside = _set_aside.get(read)
    return primary if aside is not None and time.monotonic() - aside[0] < SET_ASIDE_SECONDS else read


def should_fall_back(error: BaseException) -> bool:
    """Whether a failed page query on the replica is run again on the primary: the replica did not answer (down,
    refused, frozen past the client's deadline), or it cancelled the query for a conflict with recovery. Other errors
    — a missing table, a bad query, the server's own statement timeout — would fail on the primary alike (a second
    wait as long as the first, for a timeout) and are shown as they are."""
    states = set()
    cause: BaseException | None = error
    while cause is not None:
        states |= {getattr(getattr(cause, "orig", None), "sqlstate", None), getattr(cause, "sqlstate", None)}
        cause = cause.__cause__
    if STATEMENT_TIMEOUT in states:
        return False  # the replica answered: the query is slow, and would be as slow on the primary
    return (
        RECOVERY_CONFLICT in states or isinstance(error, DatabaseUnavailable) or "conflict with recovery" in str(error)
    )


def set_aside(read: str, error: BaseException) -> None:
    """Send page queries to the primary for SET_ASIDE_SECONDS; one warning in the log per outage."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    with _lock:
        first = read not in _set_aside
        _set_aside[read] = (time.monotonic(), reason)
    if first:
        log.warning(
            "read replica %s set aside for %.0f s, pages read the primary: %s",
            redact_url(read),
            SET_ASIDE_SECONDS,
            reason,
        )


def answered(read: str) -> None:
    """The replica answered a page query: an outage it was set aside for is over."""
    if read not in _set_aside:  # the common case, without the lock
        return
    with _lock:
        ended = _set_aside.pop(read, None)
    if ended is not None:
        log.warning("read replica %s answers again; pages read it", redact_url(read))


def set_aside_reason(read: str) -> str | None:
    """Why the replica is set aside now (None while pages read it)."""
    with _lock:
        aside = _set_aside.get(read)
    if aside is None or time.monotonic() - aside[0] >= SET_ASIDE_SECONDS:
        return None
    return aside[1]


def forget() -> None:
    """Clear every set-aside replica (tests)."""
    with _lock:
        _set_aside.clear()


@dataclass(frozen=True)
class Lag:
    """How far the replica is behind the primary.

    seconds: the measured lag (None: not measured); caught_up: the replica had replayed everything the primary had
    written when asked, within MEASURE_SECONDS (then `seconds` is how long that took); otherwise `seconds` is the
    age of the newest change it has applied (at least the wait). behind_bytes: WAL not yet replayed at the last
    look. in_recovery False: the "replica" accepts writes (a primary, or a promoted replica)."""

    seconds: float | None
    caught_up: bool
    behind_bytes: int | None
    in_recovery: bool


_PRIMARY_END = text("SELECT pg_current_wal_lsn()::text AS lsn")
_REPLICA_POSITION = text(
    "SELECT pg_is_in_recovery() AS in_recovery,"
    " pg_wal_lsn_diff(CAST(:target AS pg_lsn), pg_last_wal_replay_lsn())::bigint AS behind,"
    " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float AS since_replay"
)


def measure(primary: Engine, replica: Engine, wait: float = MEASURE_SECONDS) -> Lag:
    """The replica's lag behind the primary (see the module's notes). DatabaseError when either does not answer."""
    target = fetch_one(primary, _PRIMARY_END)["lsn"]
    start = time.monotonic()
    while True:
        row = fetch_one(replica, _REPLICA_POSITION, {"target": target})
        elapsed = time.monotonic() - start
        if not row["in_recovery"]:
            return Lag(None, False, None, False)
        behind = row["behind"]
        if behind is not None and behind <= 0:
            return Lag(elapsed, True, 0, True)
        if elapsed >= wait:
            since = row["since_replay"]
            return Lag(max(elapsed, since if since is not None else elapsed), False, behind, True)
        time.sleep(POLL_SECONDS)
