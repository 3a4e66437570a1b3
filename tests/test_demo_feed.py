"""The `demo_feed` job: a demo database keeps receiving what the demo generator would have made since the last run.

On the session's small demo (seed 7, scale 0.03, 400 days up to DEMO_NOW; 8 sensors): new rows in the window only,
with new unique ids; an idempotent rerun; open cases handled with times in the window; every sensor counting (so the
alerts job opens no `sensor_silent` alert, while without the feed it opens one per sensor); the rollups equal a full
rebuild; nothing done on a database that is not a demo. The simulation itself (dashboard.demo.feed) is checked
against the generator: window volumes against the generator's own frames, and the hazard's durations against the
generator's on-time rates. One PostgreSQL run of the main path.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from dashboard.db import ops, rollups, schema
from dashboard.db.engine import make_engine
from dashboard.demo import feed
from dashboard.demo import generator as gen
from dashboard.jobs.registry import JobContext, load_all
from dashboard.jobs.runner import run_job

NOW = datetime(2026, 11, 20, 14, 37)  # conftest.DEMO_NOW
SENSORS = 8  # sensor_count(0.03)


def feed_at(url: str, now: datetime) -> dict:
    status, outcome, error = run_job("demo_feed", url, now)
    assert status == "done", error
    return {**outcome.details, "rows": outcome.rows}


def frame(url: str, table) -> pd.DataFrame:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(*table.columns)).fetchall()
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=[c.name for c in table.columns])


def counts(url: str) -> dict[str, int]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            return {
                t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (schema.feedback, schema.dossiers, schema.traffic_observations, schema.dataset_info)
            }
    finally:
        engine.dispose()


def check_fed(url: str, before: dict[str, pd.DataFrame], details: dict, now: datetime) -> None:
    """The feed's rows are what its details say, after the old ones, never later than `now`, with unique keys."""
    after = {name: frame(url, table) for name, table in (("feedback", schema.feedback), ("dossiers", schema.dossiers))}
    for name, prefix in (("feedback", "PA"), ("dossiers", "HS")):
        old, new = before[name], after[name]
        added = new[~new["id"].isin(old["id"])]
        assert len(added) == details[f"{name}_added"]
        assert new["id"].is_unique and new["source_id"].is_unique
        assert added["id"].min() > old["id"].max() if len(added) else True
        assert (added["source_id"] == [f"{prefix}-{i:07d}" for i in added["id"]]).all()
        assert (added["received_at"] > NOW).all() and (added["received_at"] <= now).all()
        ends = ("first_response_at", "resolved_at") if name == "feedback" else ("completed_at",)
        for column in ("received_at", *ends):
            assert not (pd.to_datetime(new[column]) > now).any(), column
    observations = frame(url, schema.traffic_observations)
    assert not observations.duplicated(["sensor_id", "observed_at"]).any()
    assert (observations["observed_at"] + pd.Timedelta(minutes=15) <= now).all()


# ---------------------------------------------------------------- the job on the demo database
def test_six_hours_are_fed_once(demo_copy_url: str) -> None:
    before = {"feedback": frame(demo_copy_url, schema.feedback), "dossiers": frame(demo_copy_url, schema.dossiers)}
    start_counts = counts(demo_copy_url)
    now = NOW + timedelta(hours=6)
    details = feed_at(demo_copy_url, now)
    check_fed(demo_copy_url, before, details, now)
    # 14:30 is the first slot the build did not count (its last ended at 14:30); slots ending by 20:37: 24.
    assert details["observations_added"] == SENSORS * 24
    changed = ("feedback_resolved", "feedback_responded", "dossiers_completed", "dossiers_taken_in_hand")
    added = ("feedback_added", "dossiers_added", "observations_added", "dossiers_returned_or_withdrawn")
    assert details["rows"] == sum(details[key] for key in changed + added)
    after = counts(demo_copy_url)
    assert after["traffic_observations"] - start_counts["traffic_observations"] == SENSORS * 24
    assert after["dataset_info"] == start_counts["dataset_info"] + 1
    info = frame(demo_copy_url, schema.dataset_info).set_index("key")["value"]
    assert info["fed_until"] == "2026-11-20T20:37:00" and info["generated_at"] == "2026-11-20T14:37:00"

    # The same new feedback as the simulation makes for this window with the run's streams (an exact check).
    demo = feed.Demo.from_info(info.to_dict())
    rng_feedback, rng_dossiers, *_ = feed.run_streams(7, NOW)
    engine = make_engine(demo_copy_url, read_only=True)
    with engine.connect() as connection:
        from dashboard.jobs import demo_feed as job_module

        areas = job_module._areas(connection)
        cutoff = NOW - job_module.RATE_CUTOFF
        wards = job_module._ward_rates(
            connection,
            schema.feedback,
            schema.feedback.c.resolved_at,
            gen._FEEDBACK_ON_TIME,
            areas,
            cutoff,
            (0.78, 0.97),
        )
    engine.dispose()
    cal, reference = feed.calendars(demo, NOW.date(), now)
    expected = feed.new_feedback(rng_feedback, areas, cal, reference, demo, NOW, now, wards)
    added = frame(demo_copy_url, schema.feedback).query("id > @before['feedback']['id'].max()").sort_values("id")
    assert len(added) == len(expected) == details["feedback_added"]
    for column in ("received_at", "category", "channel", "area_code", "agency", "status", "due_at"):
        assert added[column].tolist() == expected[column].tolist(), column

    # A rerun at the same moment adds nothing and writes nothing.
    again = feed_at(demo_copy_url, now)
    assert again["skipped"] == "nothing new" and again["rows"] == 0
    assert counts(demo_copy_url) == after


def test_two_steps_feed_like_one(demo_copy_url: str, tmp_path) -> None:
    import shutil

    from dashboard.db.engine import duckdb_file

    other = tmp_path / "other.duckdb"
    shutil.copy(duckdb_file(demo_copy_url), other)
    one_url = f"duckdb:///{other}"
    first = feed_at(demo_copy_url, NOW + timedelta(hours=3))
    second = feed_at(demo_copy_url, NOW + timedelta(hours=6))
    single = feed_at(one_url, NOW + timedelta(hours=6))
    assert first["window"]["to"] == second["window"]["from"]
    assert first["observations_added"] + second["observations_added"] == single["observations_added"] == SENSORS * 24
    for key in ("feedback_added", "dossiers_added", "feedback_resolved", "dossiers_completed"):
        steps, once = first[key] + second[key], single[key]
        assert abs(steps - once) <= 4 * np.sqrt(steps + once) + 2, (key, steps, once)
    assert counts(demo_copy_url)["traffic_observations"] == counts(one_url)["traffic_observations"]


def test_open_cases_are_handled_in_the_window(demo_copy_url: str) -> None:
    before_fb, before_do = frame(demo_copy_url, schema.feedback), frame(demo_copy_url, schema.dossiers)
    now = NOW + timedelta(days=3)
    details = feed_at(demo_copy_url, now)
    fb, do = frame(demo_copy_url, schema.feedback), frame(demo_copy_url, schema.dossiers)
    was_open = before_fb[before_fb["status"].isin(["new", "in_progress"])]
    moved = fb[fb["id"].isin(was_open["id"])].merge(was_open[["id", "status"]], on="id", suffixes=("", "_before"))
    resolved = moved[moved["status"] == "resolved"]
    assert len(resolved) == details["feedback_resolved"] > 0
    assert ((resolved["resolved_at"] > NOW) & (resolved["resolved_at"] <= now)).all()
    assert (resolved["first_response_at"] <= resolved["resolved_at"]).all()
    assert resolved["satisfaction"].dropna().between(1, 5).all()
    assert moved.loc[moved["status"].isin(["new", "in_progress"]), "resolved_at"].isna().all()
    # Reports waiting for a first response got it in the window, or still have none.
    waited = moved[moved["status_before"] == "new"]
    answered = waited[waited["status"] != "new"]
    assert waited.loc[waited["status"] == "new", "first_response_at"].isna().all()  # (few wait at this scale)
    assert ((answered["first_response_at"] > NOW) & (answered["first_response_at"] <= now)).all()
    assert answered.loc[answered["status"] == "rejected", "resolved_at"].isna().all()

    was_open_do = before_do[before_do["status"].isin(["received", "in_progress"])]
    moved_do = do[do["id"].isin(was_open_do["id"])]
    completed = moved_do[moved_do["status"] == "completed"]
    assert len(completed) == details["dossiers_completed"] > 0
    assert ((completed["completed_at"] > NOW) & (completed["completed_at"] <= now)).all()
    assert moved_do.loc[moved_do["status"] != "completed", "completed_at"].isna().all()
    # Untouched history: rows already closed before the run keep every value.
    closed = before_fb[~before_fb["id"].isin(was_open["id"])]
    assert fb.set_index("id").loc[closed["id"]].equals(closed.set_index("id"))


def test_sensors_keep_counting_so_no_sensor_silent_alert(demo_copy_url: str, tmp_path) -> None:
    import shutil

    from dashboard.db.engine import duckdb_file

    unfed = tmp_path / "unfed.duckdb"
    shutil.copy(duckdb_file(demo_copy_url), unfed)
    now = NOW + timedelta(hours=3)
    alerts = load_all()["alerts"]
    without = alerts.run(JobContext(f"duckdb:///{unfed}", now)).details
    assert without["opened"]["sensor_silent"] == SENSORS  # three hours without a count: every sensor is silent

    feed_at(demo_copy_url, now)
    last = frame(demo_copy_url, schema.traffic_observations).groupby("sensor_id")["observed_at"].max()
    assert len(last) == SENSORS
    assert (last >= pd.Timestamp(now - timedelta(minutes=30))).all()  # the slot 17:15–17:30 ended by 17:37
    with_feed = alerts.run(JobContext(demo_copy_url, now)).details
    assert with_feed["opened"]["sensor_silent"] == 0


def test_rollups_equal_a_full_rebuild_after_the_feed(demo_copy_url: str) -> None:
    feed_at(demo_copy_url, NOW + timedelta(days=2, hours=5))
    check_rollups(demo_copy_url)


def check_rollups(url: str) -> None:
    """The rollups after the feed's partial refresh hold exactly the rows of a full rebuild, and a KPI over the fed
    days computed from the rollups equals the base tables'."""
    from dashboard.metrics import kpis
    from dashboard.periods import Period

    fed = {table.name: frame(url, table) for table in schema.ROLLUP_TABLES}
    engine = make_engine(url)
    try:
        rollups.refresh_rollups(engine)
    finally:
        engine.dispose()
    for table in schema.ROLLUP_TABLES:
        rebuilt = frame(url, table)
        keys = list(rebuilt.columns)
        left = fed[table.name].sort_values(keys, na_position="first").reset_index(drop=True)
        right = rebuilt.sort_values(keys, na_position="first").reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_dtype=False, obj=table.name)
    engine = make_engine(url, read_only=True)
    try:
        period = Period(NOW.date(), (NOW + timedelta(days=1)).date())
        assert rollups.usable(engine, period)
        fast = kpis.compute_kpis(engine, period)
        with rollups.disabled():
            slow = kpis.compute_kpis(engine, period)
    finally:
        engine.dispose()
    from test_rollups import _same

    _same(fast, slow, "kpis")


def test_catch_up_is_limited_and_said(demo_copy_url: str) -> None:
    now = NOW + timedelta(days=40)
    details = feed_at(demo_copy_url, now)
    assert "at most 14 days" in details["caught_up"]
    fb = frame(demo_copy_url, schema.feedback)
    new = fb[fb["received_at"] > NOW]
    assert len(new) == details["feedback_added"] > 0
    assert new["received_at"].min() > pd.Timestamp(now - timedelta(days=14))
    # 14 days of slots for every sensor, less the generator's outages (hours to days; they end a day before now).
    slots = SENSORS * 14 * 96
    assert 0.9 * slots <= details["observations_added"] <= slots
    obs = frame(demo_copy_url, schema.traffic_observations)
    fed = obs[obs["observed_at"] >= pd.Timestamp(feed.slot_floor(now - timedelta(days=14)))]
    assert len(fed) == details["observations_added"]
    assert (fed.groupby("sensor_id")["observed_at"].max() == pd.Timestamp(now.replace(minute=15))).all()


def test_not_a_demo_database_is_left_alone(tiny_engine) -> None:
    url = tiny_engine.url.render_as_string(hide_password=False)
    tiny_engine.dispose()  # DuckDB: the job's readers attach the file
    before = counts(url)
    details = feed_at(url, NOW + timedelta(hours=6))
    assert details == {"skipped": "not a demo database", "rows": 0}
    assert counts(url) == before


# ---------------------------------------------------------------- the simulation against the generator
def _areas() -> pd.DataFrame:
    from dashboard.boundaries import area_frame

    return area_frame("hue").reset_index(drop=True)


def test_window_volumes_match_the_generators() -> None:
    """Rows received in (NOW, NOW + 6 h]: the feed's window against the generator's own frames built at NOW + 6 h
    (what `build_demo` at that moment would hold there), 40 seeds each, scale 1: equal within 4 standard deviations
    of the difference of two Poisson totals (about ±12 %)."""
    areas = _areas()
    end = NOW + timedelta(hours=6)
    totals = {"feed": [0, 0], "generator": [0, 0]}
    for seed in range(40):
        demo = feed.Demo(seed=seed, scale=1.0, start=NOW.date() - timedelta(days=10), generated_at=NOW)
        cal, reference = feed.calendars(demo, NOW.date(), end)
        a, b, *_ = feed.run_streams(seed, NOW)
        totals["feed"][0] += len(feed.new_feedback(a, areas, cal, reference, demo, NOW, end, None))
        totals["feed"][1] += len(feed.new_dossiers(b, areas, cal, reference, demo, NOW, end, None))
        built, _ = feed.calendars(demo, NOW.date() - timedelta(days=2), end)  # the build's days up to NOW + 6 h
        rng = np.random.default_rng(1000 + seed)
        fb = gen.feedback_frame(rng, areas, built, reference, 1.0, end)
        do = gen.dossier_frame(rng, areas, built, reference, 1.0, end)
        totals["generator"][0] += int(((fb["received_at"] > NOW) & (fb["received_at"] <= end)).sum())
        totals["generator"][1] += int(((do["received_at"] > NOW) & (do["received_at"] <= end)).sum())
    for k in range(2):
        ours, theirs = totals["feed"][k], totals["generator"][k]
        assert theirs > 500
        assert abs(ours - theirs) <= 4 * np.sqrt(ours + theirs), (k, ours, theirs)


@pytest.mark.parametrize("steps", [1, 12])
def test_hazard_keeps_the_generators_on_time_rates(steps: int) -> None:
    """20,000 reports and dossiers filed at NOW, handled over 40 days in `steps` runs: the share done by the
    deadline is the generator's on-time rate (±0.015), and the median report takes the generator's median."""
    rng = np.random.default_rng(5)
    n = 20_000
    received = pd.Series([NOW] * n)
    due = received + pd.Timedelta(days=3)
    cases = pd.DataFrame(
        {
            "id": np.arange(n),
            "received_at": received,
            "due_at": due,
            "first_response_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
            "status": "new",
        }
    )
    dossiers = pd.DataFrame({"id": np.arange(n), "received_at": received, "due_at": due, "status": "received"})
    rate = np.full(n, 0.9)
    moments = [NOW + timedelta(days=40) * k / steps for k in range(steps + 1)]
    fb_done, do_done = [], []
    first_responses = None
    for start, end in zip(moments, moments[1:], strict=False):
        changes = feed.progress_feedback(rng, cases, rate[: len(cases)], start, end)
        if first_responses is None:
            first_responses = changes["first_response_at"]
        done = changes[changes["status"].isin(["resolved", "rejected"])]
        fb_done.append(done)
        cases = cases[~cases["id"].isin(done["id"])].copy()
        responded = changes.set_index("id")["first_response_at"]
        cases.loc[cases["id"].isin(responded.index), "status"] = "in_progress"
        answered = cases[["id"]].merge(responded.rename("at").reset_index(), on="id", how="left")["at"]
        kept = cases["first_response_at"].to_numpy()
        cases["first_response_at"] = np.where(answered.notna().to_numpy(), answered.to_numpy(), kept)
        d_changes = feed.progress_dossiers(rng, dossiers, rate[: len(dossiers)], start, end)
        closed = d_changes[d_changes["status"].isin(["completed", "returned", "withdrawn"])]
        do_done.append(closed)
        dossiers = dossiers[~dossiers["id"].isin(closed["id"])].copy()
        taken = d_changes.loc[d_changes["status"] == "in_progress", "id"]
        dossiers.loc[dossiers["id"].isin(taken), "status"] = "in_progress"
    fb_done, do_done = pd.concat(fb_done), pd.concat(do_done)
    resolved = fb_done[fb_done["status"] == "resolved"]
    assert len(cases) < 10 and len(dossiers) < 10  # almost every case is done after 40 days
    assert abs(len(fb_done[fb_done["status"] == "rejected"]) / n - feed.REJECTED_SHARE) < 0.005
    on_time = (resolved["resolved_at"] <= NOW + timedelta(days=3)).mean()
    assert abs(on_time - 0.9) < 0.015
    hours = (resolved["resolved_at"] - NOW).dt.total_seconds() / 3600
    generator_median = 72 * np.exp(-feed.FEEDBACK_SIGMA * 1.2815515655446004)  # deadline × e^(−σ·z₀.₉)
    assert abs(hours.median() / generator_median - 1) < 0.03
    # First responses: the generator's lognormal delay (median 1.5 h) plus one minute, never after the resolution.
    assert len(first_responses) == n
    delay = (first_responses - NOW).dt.total_seconds()
    assert abs(delay.median() / (feed.FIRST_RESPONSE_MEDIAN + 60) - 1) < 0.03
    assert (resolved.set_index("id")["first_response_at"] <= resolved.set_index("id")["resolved_at"]).all()
    completed = do_done[do_done["status"] == "completed"]
    assert abs((completed["completed_at"] <= NOW + timedelta(days=3)).mean() - 0.9) < 0.015
    settled = do_done["status"].isin(["returned", "withdrawn"]).mean()
    assert abs(settled - (feed.RETURNED + feed.WITHDRAWN)) < 0.006


# ---------------------------------------------------------------- PostgreSQL
@pytest.mark.postgres
def test_feed_on_postgres(pg_url: str) -> None:
    from dashboard.db.engine import create_schema
    from dashboard.demo.generator import build_demo

    engine = make_engine(pg_url)
    try:
        create_schema(engine, drop_first=True)
        build_demo(engine, seed=7, scale=0.03, start=NOW.date() - timedelta(days=60), end=NOW.date(), now=NOW)
    finally:
        engine.dispose()
    with ops.ops_engine(pg_url).begin() as connection:
        connection.execute(delete(ops.job_runs))
    before = {"feedback": frame(pg_url, schema.feedback), "dossiers": frame(pg_url, schema.dossiers)}
    now = NOW + timedelta(days=1, hours=6)
    details = feed_at(pg_url, now)
    check_fed(pg_url, before, details, now)
    assert details["observations_added"] == SENSORS * (24 * 4 + 24)
    assert details["feedback_resolved"] + details["dossiers_completed"] > 0
    after = counts(pg_url)
    assert feed_at(pg_url, now)["skipped"] == "nothing new"
    assert counts(pg_url) == after
    check_rollups(pg_url)


def test_a_benchmark_database_is_left_alone(demo_copy_url: str) -> None:
    from sqlalchemy import insert

    engine = make_engine(demo_copy_url)
    with engine.begin() as connection:
        connection.execute(insert(schema.dataset_info).values(key="bench_scale", value="1"))
    engine.dispose()
    before = counts(demo_copy_url)
    assert feed_at(demo_copy_url, NOW + timedelta(hours=6)) == {"skipped": "benchmark database", "rows": 0}
    assert counts(demo_copy_url) == before


def test_a_minute_without_events_writes_nothing(demo_copy_url: str) -> None:
    """(NOW, NOW + 1 min]: no slot ends, no report arrives, no case moves (seed 7): the served file is not replaced
    and fed_until stays, so the next run covers that minute too (its first slot, 14:30–14:45, then counts)."""
    from dashboard.db.engine import duckdb_file

    path = duckdb_file(demo_copy_url)
    before = path.stat()
    details = feed_at(demo_copy_url, NOW + timedelta(minutes=1))
    assert details["skipped"] == "nothing happened yet" and details["rows"] == 0
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    later = feed_at(demo_copy_url, NOW + timedelta(minutes=9))
    assert later["window"]["from"] == NOW and later["observations_added"] == SENSORS
