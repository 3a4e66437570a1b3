"""`demo_feed`: on a demo database only (dataset_info kind = demo), append what the demo generator would have
produced since the last run, so a demonstration stays live for days: new reports and dossiers, open cases handled
(first responses, resolutions with ratings, dossiers completed, returned or withdrawn) and every sensor counting.

The simulation is `dashboard.demo.feed`. State: dataset_info `fed_until`, the moment fed up to (at first the
demo's `generated_at`); a run covers (fed_until, now] and is seeded from (seed, fed_until), so a rerun at the same
`now` adds nothing and the same sequence of runs gives the same rows. A demo left alone for more than
`feed.MAX_CATCH_UP` gets new records for that last stretch only (its open cases still move on over the whole gap);
the details say so. Everything is one write (the one-writer path): the rows, the changed cases, the rollup days they
touch and fed_until commit together; a window in which nothing happened writes nothing (fed_until stays, the next run
covers it too). A benchmark database (dataset_info `bench_scale`) is never fed.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, MetaData, Table, case, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from dashboard.db import import_queries, schema
from dashboard.db.engine import check_ready, create_schema, make_engine, translating_errors, writing
from dashboard.db.rollups import refresh_rollups
from dashboard.demo import feed
from dashboard.demo import generator as gen
from dashboard.jobs.registry import JobContext, JobOutcome, job

NAME = "demo_feed"
CRON = "*/5 * * * *"
STATE_KEY = "fed_until"
RATE_CUTOFF = timedelta(days=60)  # cases received this long before the window have all finished: their rates count
F, D, OBS = schema.feedback.c, schema.dossiers.c, schema.traffic_observations.c


class _NothingYet(Exception):
    """Raised inside the write when the window produced nothing, so the write is thrown away."""

    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__("nothing happened yet")
        self.details = details


def read_info(connection: Connection) -> dict[str, str]:
    rows = connection.execute(select(schema.dataset_info.c.key, schema.dataset_info.c.value))
    return {key: value for key, value in rows}


def fed_until(info: dict[str, str]) -> datetime:
    return datetime.fromisoformat(info.get(STATE_KEY) or info["generated_at"])


def _quick_check(url: str, now: datetime) -> dict[str, Any] | None:
    """A reason to do nothing, read without writing (not a demo, nothing new since the last run)."""
    engine = make_engine(url, read_only=True)
    try:
        check_ready(engine)
        with translating_errors(engine), engine.connect() as connection:
            info = read_info(connection)
    finally:
        engine.dispose()
    if info.get("kind") != "demo":
        return {"skipped": "not a demo database"}
    if "bench_scale" in info:  # the benchmark's fixed data (dashboard.bench), often gigabytes: never fed
        return {"skipped": "benchmark database"}
    if fed_until(info) >= now:
        return {"skipped": "nothing new", "fed_until": fed_until(info)}
    return None


# ---------------------------------------------------------------- reading
def _areas(connection: Connection) -> pd.DataFrame:
    rows = connection.execute(select(*schema.areas.columns).order_by(schema.areas.c.code))
    return pd.DataFrame(rows.fetchall(), columns=[c.name for c in schema.areas.columns])


def _ward_rates(connection: Connection, table, finished, named: dict, areas: pd.DataFrame, cutoff, bounds):
    c = table.c
    on_time = func.sum(case((finished <= c.due_at, 1), else_=0))
    query = (
        select(c.area_code, func.count().label("cases"), on_time.label("on_time"))
        .where(c.received_at < cutoff, finished.is_not(None), c.due_at.is_not(None), c.agency.not_in(list(named)))
        .group_by(c.area_code)
    )
    observed = pd.DataFrame(connection.execute(query).fetchall(), columns=["area_code", "cases", "on_time"])
    return feed.shrunk_rates(observed, areas["code"], *bounds)


def _open_cases(connection: Connection, table, columns, statuses, before: datetime) -> pd.DataFrame:
    query = select(*[table.c[name] for name in columns]).where(
        table.c.status.in_(statuses), table.c.received_at <= before
    )
    return pd.DataFrame(connection.execute(query.order_by(table.c.id)).fetchall(), columns=list(columns))


def _sensors(connection: Connection) -> pd.DataFrame:
    s = schema.traffic_sensors
    rows = connection.execute(select(*s.columns).order_by(s.c.id)).fetchall()
    return pd.DataFrame(rows, columns=[c.name for c in s.columns])


# ---------------------------------------------------------------- writing
def _take_ids(connection: Connection, table, n: int) -> np.ndarray:
    """`n` new ids from the table's sequence (after its largest id), as the importer takes them."""
    if n == 0:
        return np.array([], dtype=np.int64)
    sequence = schema.ensure_id_sequence(connection, table)
    series = "range(:n)" if connection.dialect.name == "duckdb" else "generate_series(1, :n)"
    found = connection.execute(text(f"SELECT nextval('{sequence.name}') FROM {series} AS taken(k)"), {"n": n})
    return np.sort(np.array([int(v) for v in found.scalars()], dtype=np.int64))


def _table_frame(frame: pd.DataFrame, table) -> pd.DataFrame:
    """The frame in the table's columns; optional columns it lacks (schema.ADDED_COLUMNS) as NULL."""
    frame = frame.copy()
    for column in table.columns:
        if column.name not in frame.columns:
            frame[column.name] = pd.Series(None, index=frame.index, dtype=object)
    return frame[[c.name for c in table.columns]]


def _apply_changes(connection: Connection, table, changes: pd.DataFrame) -> None:
    """UPDATE the rows of `changes` (id plus the changed columns) from a temporary stage table."""
    if changes.empty:
        return
    stage = Table(
        f"demo_feed_stage_{table.name}",
        MetaData(),
        *[Column(name, table.c[name].type) for name in changes.columns],
        prefixes=["TEMPORARY"],
    )
    stage.create(connection)
    try:
        import_queries.append(connection, stage, changes)
        values = {name: stage.c[name] for name in changes.columns if name != "id"}
        connection.execute(update(table).where(table.c.id == stage.c.id).values(**values))
    finally:
        stage.drop(connection)


def _days(*series) -> tuple[date, date] | None:
    parts = [pd.to_datetime(pd.Series(s)) for s in series if len(s)]
    moments = pd.concat(parts, ignore_index=True).dropna() if parts else pd.Series(dtype="datetime64[us]")
    if moments.empty:
        return None
    return moments.min().date(), moments.max().date()


def _union(*ranges) -> tuple[date, date] | None:
    found = [r for r in ranges if r is not None]
    return (min(r[0] for r in found), max(r[1] for r in found)) if found else None


def _set_state(connection: Connection, moment: datetime) -> None:
    info = schema.dataset_info
    connection.execute(delete(info).where(info.c.key == STATE_KEY))
    connection.execute(insert(info).values(key=STATE_KEY, value=moment.isoformat(timespec="seconds")))


def _rollup_parts(new_fb, fb_open, fb_changes, new_do, do_open, do_changes, observations) -> dict:
    """The rollup days the run changed: every event day of the new rows; for a case handled, the day it was
    resolved or completed and its deadline's day (the overdue / past-due "out" event is on the later of the two);
    a report rejected also leaves the backlog on the day it was received."""
    fb = fb_changes.merge(fb_open[["id", "received_at", "due_at"]], on="id")
    rejected = fb[fb["status"] == "rejected"]
    do = do_changes.merge(do_open[["id", "due_at"]], on="id")
    closed = do[do["status"].isin(["completed", "returned", "withdrawn"])]
    found = {
        "rollup_feedback_daily": _union(
            _days(new_fb["received_at"], new_fb["due_at"], new_fb["resolved_at"]),
            _days(fb["resolved_at"], fb.loc[fb["resolved_at"].notna(), "due_at"]),
            _days(rejected["received_at"], rejected["due_at"]),
        ),
        "rollup_dossiers_daily": _union(
            _days(new_do["received_at"], new_do["due_at"], new_do["completed_at"]),
            _days(closed["completed_at"], closed["due_at"]),
        ),
        "rollup_traffic_hourly": _days(observations["observed_at"]) if len(observations) else None,
    }
    return {name: days for name, days in found.items() if days is not None}


def _feed(connection: Connection, now: datetime) -> dict[str, Any]:
    if connection.dialect.name != "duckdb":  # one feed at a time on a server; readers are never blocked
        connection.execute(text('LOCK TABLE "dataset_info" IN SHARE ROW EXCLUSIVE MODE'))
        connection.execute(text("SET LOCAL statement_timeout = 0"))
    info = read_info(connection)
    if info.get("kind") != "demo":
        return {"skipped": "not a demo database"}
    since = fed_until(info)
    if since >= now:
        return {"skipped": "nothing new", "fed_until": since}
    demo = feed.Demo.from_info(info)
    start = max(since, now - feed.MAX_CATCH_UP)  # new records from here; open cases move on from `since`
    rng_feedback, rng_dossiers, rng_traffic, rng_fb_cases, rng_do_cases, _ = feed.run_streams(demo.seed, since)
    areas = _areas(connection)
    cutoff = since - RATE_CUTOFF
    feedback_wards = _ward_rates(
        connection, schema.feedback, F.resolved_at, gen._FEEDBACK_ON_TIME, areas, cutoff, (0.78, 0.97)
    )
    dossier_wards = _ward_rates(
        connection, schema.dossiers, D.completed_at, gen._DOSSIER_ON_TIME, areas, cutoff, (0.88, 0.99)
    )

    cal, reference = feed.calendars(demo, start.date(), now)
    new_fb = feed.new_feedback(rng_feedback, areas, cal, reference, demo, start, now, feedback_wards)
    new_do = feed.new_dossiers(rng_dossiers, areas, cal, reference, demo, start, now, dossier_wards)

    fb_open = _open_cases(
        connection,
        schema.feedback,
        ("id", "received_at", "due_at", "first_response_at", "status", "agency", "area_code"),
        ("new", "in_progress"),
        since,
    )
    fb_open = fb_open[fb_open["due_at"].notna()].reset_index(drop=True)
    fb_rates = feed.case_rates(fb_open["agency"], fb_open["area_code"], gen._FEEDBACK_ON_TIME, areas, feedback_wards)
    fb_changes = feed.progress_feedback(rng_fb_cases, fb_open, fb_rates, since, now)
    do_open = _open_cases(
        connection,
        schema.dossiers,
        ("id", "received_at", "due_at", "status", "agency", "area_code"),
        ("received", "in_progress"),
        since,
    )
    do_open = do_open[do_open["due_at"].notna()].reset_index(drop=True)
    do_rates = feed.case_rates(do_open["agency"], do_open["area_code"], gen._DOSSIER_ON_TIME, areas, dossier_wards)
    do_changes = feed.progress_dossiers(rng_do_cases, do_open, do_rates, since, now)

    last_observed = connection.execute(select(func.max(OBS.observed_at))).scalar()
    sensors = _sensors(connection)
    observations = pd.DataFrame()
    if last_observed is not None and len(sensors):
        first_slot = max(pd.Timestamp(last_observed).to_pydatetime() + timedelta(minutes=15), feed.slot_floor(start))
        observations = feed.new_observations(
            rng_traffic, feed.demo_sensors(demo, areas, sensors), demo, first_slot, now
        )

    new_fb = feed.with_ids(new_fb, _take_ids(connection, schema.feedback, len(new_fb)), "PA")
    new_do = feed.with_ids(new_do, _take_ids(connection, schema.dossiers, len(new_do)), "HS")
    import_queries.append(connection, schema.feedback, _table_frame(new_fb, schema.feedback))
    import_queries.append(connection, schema.dossiers, _table_frame(new_do, schema.dossiers))
    if len(observations):
        import_queries.append(connection, schema.traffic_observations, observations)
    _apply_changes(connection, schema.feedback, fb_changes)
    _apply_changes(connection, schema.dossiers, do_changes)

    parts = _rollup_parts(new_fb, fb_open, fb_changes, new_do, do_open, do_changes, observations)
    rows = len(new_fb) + len(new_do) + len(observations) + len(fb_changes) + len(do_changes)
    if rows == 0:  # nothing happened yet: keep the served database as it is (the next run covers this stretch too)
        raise _NothingYet({"skipped": "nothing happened yet", "fed_until": since, "window": {"from": since, "to": now}})
    if parts:
        refresh_rollups(connection.engine, connection=connection, parts=parts)
    _set_state(connection, now)
    details: dict[str, Any] = {
        "feedback_added": len(new_fb),
        "dossiers_added": len(new_do),
        "feedback_resolved": int(fb_changes["status"].eq("resolved").sum()),
        "feedback_responded": int(fb_changes["status"].isin(["in_progress", "rejected"]).sum()),
        "dossiers_completed": int(do_changes["status"].eq("completed").sum()),
        "dossiers_taken_in_hand": int(do_changes["status"].eq("in_progress").sum()),
        "dossiers_returned_or_withdrawn": int(do_changes["status"].isin(["returned", "withdrawn"]).sum()),
        "observations_added": len(observations),
        "window": {"from": since, "to": now},
        "fed_until": now,
        "rows": rows,
    }
    if start > since:
        details["caught_up"] = (
            f"the demo was last fed {since:%Y-%m-%d %H:%M}; new records only from {start:%Y-%m-%d %H:%M} "
            f"(at most {feed.MAX_CATCH_UP.days} days), open cases moved on over the whole gap"
        )
    return details


@job(NAME, CRON, "Append the demo generator's new records (demo databases only)", run_on_start=True)
def demo_feed(ctx: JobContext) -> JobOutcome:
    began = time.perf_counter()
    now = ctx.now.replace(microsecond=0)
    reason = _quick_check(ctx.url, now)
    if reason is not None:
        return JobOutcome(0, reason)
    try:
        with writing(ctx.url) as engine:
            create_schema(engine)  # an older demo gains the optional columns the frames fill
            with translating_errors(engine), engine.begin() as connection:
                details = _feed(connection, now)
    except _NothingYet as nothing:
        details = nothing.details
    rows = int(details.pop("rows", 0))
    details["seconds"] = round(time.perf_counter() - began, 2)
    return JobOutcome(rows, details)
