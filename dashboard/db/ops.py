"""Operational state: job runs, alerts, deliveries and archived briefings — what the worker writes often.

On PostgreSQL these tables live in the project database beside the data (its transactions let several processes
write). On the embedded DuckDB default they do not go into the served file, whose every write is a copy-and-replace
(see "One writer, many readers" in the README): they live in a SQLite file beside it, `<name>.ops.sqlite` (WAL mode,
so the worker writes while the pages and the CLI read). `ops_engine(url)` is the one way to reach them.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.db.engine import duckdb_file, make_engine, translating_errors

ops_metadata = MetaData()

# One row per run of a worker job (scheduled or `jobs run NAME`).
job_runs = Table(
    "job_runs",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),  # naive local time, like every timestamp of the project
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),  # running, done, failed
    Column("rows", Integer),  # rows touched (imported, alerts opened, forecasts stored…)
    Column("attempt", Integer, nullable=False, default=1),
    Column("scheduled_for", DateTime),  # the run time the scheduler meant (None for `jobs run`)
    Column("details", Text),  # JSON of the job's own summary
    Column("error", Text),
    Index("ix_job_runs_job_started", "job", "started_at"),
)

# One row per (rule, subject) while its condition holds; resolved when it clears.
alerts = Table(
    "alerts",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(32), nullable=False),  # feedback_due_soon, feedback_overdue, dossier_overdue, anomaly, …
    Column("subject", String(128), nullable=False),  # case id, "ward:category", source, sensor, job name
    Column("subject_kind", String(16), nullable=False),  # feedback, dossier, ward_category, source, sensor, job
    Column("agency", String(255)),  # handling agency as stored in the data (None: leaders only)
    Column("area_code", String(16)),
    Column("severity", String(16), nullable=False),  # info, warning, critical
    Column("title", Text, nullable=False),  # catalogue key + JSON parameters are in `params`; title is a fallback
    Column("params", Text),  # JSON
    Column("opened_at", DateTime, nullable=False),
    Column("escalated_at", DateTime),
    Column("acknowledged_at", DateTime),
    Column("acknowledged_by", String(128)),
    Column("acknowledged_note", Text),
    Column("resolved_at", DateTime),
    Column("last_notified_at", DateTime),
    Index("ix_alerts_open", "resolved_at", "severity"),
)
# At most one open alert per (rule, subject): enforced by the job inside one transaction (a partial unique index
# is not portable between SQLite and PostgreSQL).

# One row per message sent (or tried) on one channel to one recipient.
deliveries = Table(
    "deliveries",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # alert_digest, alert, briefing
    Column("alert_ids", Text),  # JSON list of alert ids in the message
    Column("briefing_week", String(8)),  # 2026-W47 for a briefing
    Column("channel", String(16), nullable=False),  # email, webhook
    Column("recipient", String(512), nullable=False),
    Column("status", String(16), nullable=False),  # sent, failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("created_at", DateTime, nullable=False),
    Column("sent_at", DateTime),
)

# The weekly briefings the worker made (the files live under data/briefings/).
briefings = Table(
    "briefings",
    ops_metadata,
    Column("week", String(8), primary_key=True),  # ISO week, 2026-W47
    Column("lang", String(8), primary_key=True),
    Column("path", String(1024), nullable=False),  # relative to the project root
    Column("sha256", String(64), nullable=False),
    Column("pages", Integer),
    Column("created_at", DateTime, nullable=False),
    Column("emailed", Boolean, nullable=False, default=False),
)

# Where each pull-style source left off (Open311 endpoints, the inbox): one row per source key.
pull_state = Table(
    "pull_state",
    ops_metadata,
    Column("source", String(255), primary_key=True),
    Column("last_success_at", DateTime),
    Column("watermark", DateTime),  # newest updated_datetime seen
    Column("details", Text),
    UniqueConstraint("source", name="uq_pull_state_source"),
)

# Events marked on every time chart: public holidays (loaded from the `holidays` package) and what operators add
# (a storm, a flood, the Huế Festival, a road closure). One day: start_date = end_date.
events = Table(
    "events",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("kind", String(16), nullable=False),  # holiday, weather, festival, incident, policy
    Column("title", String(255), nullable=False),
    Column("description", Text),
    Column("wards", Text),  # comma-separated area codes; empty or NULL: the whole city
    Column("source", String(32), nullable=False),  # holidays (the package, country in `created_by`) or operator
    Column("created_by", String(128)),
    Column("created_at", DateTime, nullable=False),
    Index("ix_events_dates", "start_date", "end_date"),
)

# Leader directives ("ý kiến chỉ đạo") about a figure, a ward, an agency or a case, followed until done.
directives = Table(
    "directives",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("text", Text, nullable=False),
    Column("subject_kind", String(16), nullable=False),  # figure, ward, agency, case
    Column("subject_key", String(255), nullable=False),  # KPI key, area code, agency name, source:source_id
    Column("assignee", String(255)),  # the agency asked to act
    Column("due_date", Date),
    Column("status", String(16), nullable=False),  # new, in_progress, done (overdue is derived, never stored)
    Column("created_by", String(128)),
    Column("created_at", DateTime, nullable=False),
    Column("closed_at", DateTime),  # when it became done
    Index("ix_directives_status", "status", "due_date"),
)

# Every status change of a directive (the first row is its creation), with who and when.
directive_history = Table(
    "directive_history",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("directive_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("changed_by", String(128)),
    Column("changed_at", DateTime, nullable=False),
    Column("note", Text),
    Index("ix_directive_history_directive", "directive_id", "changed_at"),
)

OPS_TABLES = (job_runs, alerts, deliveries, briefings, pull_state, events, directives, directive_history)


def ops_url(url: str | None = None) -> str:
    """The URL of the operational store for the data database `url` (default: the configured one)."""
    url = url or config.database_url()
    path = duckdb_file(url)
    if path is None:
        if url.startswith("duckdb"):  # in-memory DuckDB (tests): an in-memory SQLite of its own
            return "sqlite://"
        return url
    return f"sqlite:///{path.with_name(path.name.removesuffix('.duckdb') + '.ops.sqlite')}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the worker's writes
    cursor.execute("PRAGMA busy_timeout=10000")  # two writers queue instead of failing at once
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_ops_engine(url: str | None = None) -> Engine:
    """A new engine on the operational store (tables created when missing)."""
    target = ops_url(url)
    if target.startswith("sqlite"):
        engine = create_engine(target, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = make_engine(target)
    _register_tables()
    with translating_errors(engine):
        ops_metadata.create_all(engine)
    return engine


def _register_tables() -> None:
    """Load the modules that put tables of their own on `ops_metadata` (they import this module, so they are
    imported here, when a store is opened, not at the top)."""
    import dashboard.db.accounts  # noqa: F401 — users, sessions, kiosk tokens, login failures
    import dashboard.db.audit  # noqa: F401 — the access log (audit_log)


_OPENING = threading.Lock()


@lru_cache(maxsize=8)
def _cached_ops_engine(target: str | None) -> Engine:
    return make_ops_engine(target)


def ops_engine(url: str | None = None) -> Engine:
    """One engine per operational store and process (outside Streamlit's caches, like the data engine). Opened under
    a lock: two threads asking first at the same moment would both create the tables and meet SQLite's lock."""
    with _OPENING:
        return _cached_ops_engine(url)
