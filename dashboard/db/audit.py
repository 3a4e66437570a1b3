"""The access log ("Nhật ký truy cập"): who did what, when — log-ins, page views with their filters, record views,
exports, imports, alert acknowledgements, directive, event and user changes.

It lives in the operational store (dashboard.db.ops: the SQLite file beside a DuckDB database, or the PostgreSQL
database itself) in one table, `audit_log`, that is APPEND-ONLY:

* the code has no update path (only `record` writes, only `purge` deletes);
* the database itself refuses UPDATE and DELETE (triggers made with the table). The one exception is the retention
  purge (`purge`, run by the worker job `audit_retention`): on PostgreSQL it sets `ioc.audit_purge = 'on'` for its
  own transaction (`set_config(…, true)`), on SQLite it writes the cut-off into `audit_purge` inside its
  transaction and removes it before committing; the trigger then lets through only rows OLDER than that cut-off.
  Rows newer than the retention can never be deleted, even by the purge. (Someone holding the database's own
  password can always drop a trigger: the guard protects against the application and careless scripts, not the DBA.)

`record` never raises into a page or a command: a failure to write is logged as a warning and the action goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import (
    DDL,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Engine

from dashboard.db.engine import fetch_frame, translating_errors
from dashboard.db.ops import ops_metadata

log = logging.getLogger(__name__)

ACTIONS = (
    "login",
    "login_failed",
    "login_locked",
    "logout",
    "logout_all",
    "page_view",
    "record_view",
    "export",
    "pdf_download",
    "import",
    "alert_ack",
    "directive_change",
    "event_change",
    "user_change",
    "kiosk_token",
    "scope_narrowed",
    "audit_export",
    # the account actions S19a records under their own names
    "user_add",
    "user_disable",
    "user_password",
    "kiosk_token_add",
    "kiosk_token_revoke",
)

audit_log = Table(
    "audit_log",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),  # naive local time of the city, like every timestamp of the project
    Column("actor", String(128), nullable=False),  # user name; "" a visitor; kiosk:<label>; cli:<os user>; worker
    Column("role", String(32), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(512), nullable=False, default=""),  # page key, case id, file name, metric …
    Column("details", Text),  # JSON object: the filters, the rows exported, the reason …
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_action_at", "action", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
)

# SQLite only: the cut-off a running purge declared (one row, inside the purge's own transaction). Created by the
# DDL below with audit_log; a Table here only so that the cut-off is written in SQLAlchemy's own DateTime format.
_SQLITE_PURGE_TABLE = "audit_purge"
_purge_flag = Table(_SQLITE_PURGE_TABLE, MetaData(), Column("cutoff", DateTime, nullable=False))

_SQLITE_DDL = (
    f"CREATE TABLE IF NOT EXISTS {_SQLITE_PURGE_TABLE} (cutoff DATETIME NOT NULL)",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
    f"WHEN NOT EXISTS (SELECT 1 FROM {_SQLITE_PURGE_TABLE} WHERE OLD.at < cutoff) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: only the retention purge deletes, and only old rows'); END",
)

_PG_DDL = (
    """
    CREATE OR REPLACE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('ioc.audit_purge', true) = 'on'
           AND OLD.at < current_setting('ioc.audit_purge_before', true)::timestamp THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit_log is append-only: %% refused', TG_OP;
    END $$
    """,
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_guard()",
    """
    CREATE OR REPLACE FUNCTION audit_log_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_log is append-only: TRUNCATE refused';
    END $$
    """,
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_no_truncate()",
)

# The guards are made with the table (create_all on a new or an older store creates both).
for _statement in _SQLITE_DDL:
    event.listen(audit_log, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in _PG_DDL:
    event.listen(audit_log, "after_create", DDL(_statement).execute_if(dialect="postgresql"))

_TARGET_MAX = 512
_DETAILS_MAX = 16000


def _now() -> datetime:
    from dashboard.periods import local_now

    return local_now().replace(microsecond=0)


def _details_json(details: dict | None) -> str | None:
    if not details:
        return None
    text_ = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    if len(text_) > _DETAILS_MAX:
        text_ = json.dumps({"truncated": text_[:_DETAILS_MAX]}, ensure_ascii=False)
    return text_


def record(
    ops_engine: Engine,
    *,
    actor: str,
    role: str,
    action: str,
    target: str = "",
    details: dict | None = None,
    at: datetime | None = None,
) -> None:
    """Append one row to the access log. Never raises: a failure is logged as a warning."""
    try:
        row = {
            "at": at or _now(),
            "actor": (actor or "")[:128],
            "role": str(role or "")[:32],
            "action": str(action)[:32],
            "target": str(target or "")[:_TARGET_MAX],
            "details": _details_json(details),
        }
        with translating_errors(ops_engine), ops_engine.begin() as connection:
            connection.execute(insert(audit_log), row)
    except Exception as error:  # noqa: BLE001 — the log must never take a page or a command down
        log.warning("access log: could not record %s by %r: %s", action, actor, error)


def cli_actor() -> str:
    """The actor of a command run from a shell: "cli:<operating-system user>"."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 — no user name in this environment
        return "cli:?"


def record_for(url: str | None, *, actor: str, role: str, action: str, target: str = "", **details) -> None:
    """`record` in the operational store of the data database `url` (commands and the worker). Never raises."""
    try:
        from dashboard.db.ops import ops_engine

        engine = ops_engine(url)
    except Exception as error:  # noqa: BLE001
        log.warning("access log: no store to record %s by %r: %s", action, actor, error)
        return
    clean = {key: value for key, value in details.items() if value not in (None, "", (), [], {})}
    record(engine, actor=actor, role=role, action=action, target=target, details=clean)


def read_log(
    ops_engine: Engine,
    *,
    start: datetime | None = None,
    end_before: datetime | None = None,
    actors: Sequence[str] = (),
    actions: Sequence[str] = (),
    text_: str = "",
    limit: int | None = 5000,
) -> pd.DataFrame:
    """Rows of the log in [start, end_before), newest first; `text_` is looked for (case-insensitively) in the
    actor, the target and the details."""
    a = audit_log.c
    query = select(a.id, a.at, a.actor, a.role, a.action, a.target, a.details)
    conditions = []
    if start is not None:
        conditions.append(a.at >= start)
    if end_before is not None:
        conditions.append(a.at < end_before)
    if actors:
        conditions.append(a.actor.in_(list(actors)))
    if actions:
        conditions.append(a.action.in_(list(actions)))
    needle = (text_ or "").strip().lower()
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                func.lower(a.actor).like(pattern, escape="\\"),
                func.lower(a.target).like(pattern, escape="\\"),
                func.lower(func.coalesce(a.details, "")).like(pattern, escape="\\"),
            )
        )
    if conditions:
        query = query.where(and_(*conditions))
    query = query.order_by(a.at.desc(), a.id.desc())
    if limit:
        query = query.limit(limit)
    return fetch_frame(ops_engine, query)


def count_by_action(
    ops_engine: Engine,
    *,
    start: datetime | None = None,
    end_before: datetime | None = None,
    actors: Sequence[str] = (),
) -> pd.DataFrame:
    """Rows per action in [start, end_before) (of `actors` only, when given): columns action, rows (most first)."""
    a = audit_log.c
    query = select(a.action, func.count().label("rows")).group_by(a.action)
    if actors:
        query = query.where(a.actor.in_(list(actors)))
    if start is not None:
        query = query.where(a.at >= start)
    if end_before is not None:
        query = query.where(a.at < end_before)
    frame = fetch_frame(ops_engine, query)
    return frame.sort_values(["rows", "action"], ascending=[False, True], ignore_index=True)


def actors(ops_engine: Engine) -> list[str]:
    """Every actor name in the log, sorted (for the page's filter)."""
    frame = fetch_frame(ops_engine, select(audit_log.c.actor).distinct())
    return sorted(str(v) for v in frame["actor"])


def purge(ops_engine: Engine, *, older_than_days: int, now: datetime | None = None) -> int:
    """Delete the rows older than `older_than_days` days (the retention); the number deleted."""
    if older_than_days < 1:
        raise ValueError("the retention must be at least one day")
    cutoff = (now or _now()) - timedelta(days=older_than_days)
    with translating_errors(ops_engine), ops_engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT set_config('ioc.audit_purge', 'on', true)"))
            connection.execute(
                text("SELECT set_config('ioc.audit_purge_before', :cutoff, true)"), {"cutoff": cutoff.isoformat(" ")}
            )
            result = connection.execute(delete(audit_log).where(audit_log.c.at < cutoff))
        else:
            connection.execute(insert(_purge_flag), {"cutoff": cutoff})
            result = connection.execute(delete(audit_log).where(audit_log.c.at < cutoff))
            connection.execute(delete(_purge_flag))
        return int(result.rowcount or 0)
