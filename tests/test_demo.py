"""The demo generator: properties of the loaded database, not just "it ran".

Small builds (scale 0.02 over 120 days, scale 0.1 over a year) into temporary DuckDB files;
one build on PostgreSQL when IOC_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest
import shapely
from sqlalchemy import create_engine, text

from dashboard.db.engine import fetch_frame, fetch_one, make_engine
from dashboard.demo.generator import build_demo
from dashboard.demo.traffic import sensor_count
from dashboard.domain import (
    DOSSIER_CHANNELS,
    DOSSIER_SECTORS,
    DOSSIER_STATUSES,
    FEEDBACK_CATEGORIES,
    FEEDBACK_CHANNELS,
    FEEDBACK_STATUSES,
)

NOW = datetime(2026, 3, 18, 14, 37, 0)  # a Wednesday, four weeks after Tết 2026 (17 February)
SMALL = {"scale": 0.02, "start": NOW.date() - timedelta(days=119), "now": NOW}
YEAR = {"scale": 0.1, "start": NOW.date() - timedelta(days=364), "now": NOW}


def _build(tmp_path_factory, name: str, **kwargs):
    engine = make_engine(f"duckdb:///{tmp_path_factory.mktemp(name) / 'demo.duckdb'}")
    return engine, build_demo(engine, **kwargs)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    engine, summary = _build(tmp_path_factory, "small", seed=7, **SMALL)
    yield engine, summary
    engine.dispose()


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    engine, summary = _build(tmp_path_factory, "year", seed=11, **YEAR)
    yield engine, summary
    engine.dispose()


def value(engine, sql: str, **params):
    return next(iter(fetch_one(engine, text(sql), params).values()))


def fingerprint(engine) -> dict:
    """Aggregates that change when any generated value changes."""
    return fetch_one(
        engine,
        text("""
        SELECT
          (SELECT count(*) FROM feedback) AS feedback_rows,
          (SELECT sum(extract(epoch FROM received_at)) FROM feedback) AS feedback_received,
          (SELECT sum(extract(epoch FROM resolved_at)) FROM feedback) AS feedback_resolved,
          (SELECT round(sum(lat * 1000 + lon)) FROM feedback) AS feedback_position,
          (SELECT sum(satisfaction) FROM feedback) AS satisfaction,
          (SELECT count(DISTINCT category || channel || area_code || agency || status) FROM feedback) AS feedback_mix,
          (SELECT count(*) FROM dossiers) AS dossier_rows,
          (SELECT sum(extract(epoch FROM completed_at)) FROM dossiers) AS dossier_completed,
          (SELECT count(DISTINCT procedure_code || agency || area_code || channel) FROM dossiers) AS dossier_mix,
          (SELECT count(*) FROM traffic_observations) AS traffic_rows,
          (SELECT sum(vehicle_count) FROM traffic_observations) AS vehicles,
          (SELECT round(sum(mean_speed_kmh)) FROM traffic_observations) AS speed,
          (SELECT sum(capacity_per_hour) FROM traffic_sensors) AS capacity
    """),
    )


def test_sensor_count_follows_scale():
    assert [sensor_count(s) for s in (2.0, 1.0, 0.5, 0.1, 0.02)] == [60, 60, 30, 8, 8]


def test_row_counts_match_summary_and_scale(small, year):
    for engine, summary in (small, year):
        for table, rows in summary.rows.items():
            assert value(engine, f"SELECT count(*) FROM {table}") == rows, table  # noqa: S608 - fixed names
    engine, summary = small
    days = (summary.end - summary.start).days + 1
    assert summary.start == SMALL["start"] and summary.end == NOW.date() and days == 120
    # 200k feedback and 150k dossiers per three years at scale 1.0 (seasons and growth move it a little)
    assert 0.7 < summary.rows["feedback"] / (200_000 * 0.02 * days / 1096) < 1.5
    assert 0.7 < summary.rows["dossiers"] / (150_000 * 0.02 * days / 1096) < 1.4
    assert 0.8 < year[1].rows["feedback"] / (200_000 * 0.1 * 365 / 1096) < 1.25
    assert summary.rows["areas"] == 40 and summary.rows["traffic_sensors"] == 8
    slots = int((NOW - datetime.combine(summary.start, datetime.min.time())) / timedelta(minutes=15))
    assert 0.95 * 8 * slots < summary.rows["traffic_observations"] < 8 * slots


def test_counts_scale_linearly(small, tmp_path_factory):
    engine, double = _build(tmp_path_factory, "double", seed=7, **{**SMALL, "scale": 0.04})
    engine.dispose()
    for table in ("feedback", "dossiers"):
        assert double.rows[table] / small[1].rows[table] == pytest.approx(2.0, rel=0.02)


def test_same_seed_same_data_other_seed_differs(small, tmp_path_factory):
    again_engine, _ = _build(tmp_path_factory, "again", seed=7, **SMALL)
    other_engine, _ = _build(tmp_path_factory, "other", seed=8, **SMALL)
    expected = fingerprint(small[0])
    assert fingerprint(again_engine) == expected
    other = fingerprint(other_engine)
    changed = [key for key in expected if other[key] != expected[key]]
    assert len(changed) >= 8, changed
    again_engine.dispose()
    other_engine.dispose()


def test_nothing_after_now_and_no_gap_before(small):
    engine, _ = small
    latest = fetch_one(
        engine,
        text("""
        SELECT (SELECT max(received_at) FROM feedback) AS feedback_received,
               (SELECT max(first_response_at) FROM feedback) AS feedback_first_response,
               (SELECT max(resolved_at) FROM feedback) AS feedback_resolved,
               (SELECT max(received_at) FROM dossiers) AS dossier_received,
               (SELECT max(completed_at) FROM dossiers) AS dossier_completed,
               (SELECT max(observed_at) FROM traffic_observations) AS observed
    """),
    )
    for name, moment in latest.items():
        assert moment <= NOW, name
    assert latest["feedback_received"] > NOW - timedelta(hours=6)
    # observed_at is the start of a 15-minute slot: the last one has ended by `now`
    assert NOW - timedelta(minutes=30) < latest["observed"] <= NOW - timedelta(minutes=15)
    first_moment = datetime.combine(SMALL["start"], datetime.min.time())
    assert value(engine, "SELECT min(received_at) FROM feedback") >= first_moment
    assert value(engine, "SELECT count(*) FROM feedback WHERE due_at > :now", now=NOW) > 0  # deadlines may lie ahead


def test_codes_are_domain_codes(small):
    engine, _ = small
    checks = (
        ("feedback", "status", FEEDBACK_STATUSES),
        ("feedback", "channel", FEEDBACK_CHANNELS),
        ("feedback", "category", FEEDBACK_CATEGORIES),
        ("dossiers", "status", DOSSIER_STATUSES),
        ("dossiers", "channel", DOSSIER_CHANNELS),
        ("dossiers", "sector", DOSSIER_SECTORS),
    )
    for table, column, codes in checks:
        query = text(f"SELECT DISTINCT {column} AS code FROM {table}")  # noqa: S608 - fixed names
        found = set(fetch_frame(engine, query)["code"])
        assert found and found <= set(codes), (table, column, found - set(codes))
    assert value(engine, "SELECT count(DISTINCT source) FROM feedback") == 1
    rows = value(engine, "SELECT count(*) FROM feedback")
    assert value(engine, "SELECT count(DISTINCT source_id) FROM feedback") == rows
    assert value(engine, "SELECT min(id) FROM feedback") == 1


def test_case_lifecycles_are_consistent(year):
    engine, _ = year
    bad = fetch_one(
        engine,
        text("""
        SELECT
          sum(CASE WHEN status = 'resolved' AND (resolved_at IS NULL OR resolved_at < received_at)
                   THEN 1 ELSE 0 END) AS resolved,
          sum(CASE WHEN status <> 'resolved' AND resolved_at IS NOT NULL THEN 1 ELSE 0 END) AS unresolved_with_time,
          sum(CASE WHEN status <> 'resolved' AND satisfaction IS NOT NULL THEN 1 ELSE 0 END) AS rated_unresolved,
          sum(CASE WHEN first_response_at < received_at THEN 1 ELSE 0 END) AS response_before_receipt,
          sum(CASE WHEN due_at <= received_at THEN 1 ELSE 0 END) AS due_before_receipt,
          sum(CASE WHEN reopened AND status <> 'resolved' THEN 1 ELSE 0 END) AS reopened_unresolved
        FROM feedback"""),
    )
    assert all(count == 0 for count in bad.values()), bad
    assert value(engine, "SELECT count(*) FROM feedback WHERE status = 'rejected'") > 0
    bad = fetch_one(
        engine,
        text("""
        SELECT
          sum(CASE WHEN status = 'completed' AND (completed_at IS NULL OR completed_at < received_at)
                   THEN 1 ELSE 0 END) AS completed,
          sum(CASE WHEN status <> 'completed' AND completed_at IS NOT NULL THEN 1 ELSE 0 END) AS open_with_time,
          sum(CASE WHEN due_at <= received_at THEN 1 ELSE 0 END) AS due_before_receipt
        FROM dossiers"""),
    )
    assert all(count == 0 for count in bad.values()), bad
    stats = fetch_one(
        engine,
        text("""
        SELECT avg(CASE WHEN status IN ('resolved', 'rejected') THEN 1.0 ELSE 0 END) AS closed_share,
               avg(satisfaction) AS satisfaction,
               avg(CASE WHEN satisfaction >= 4 THEN 1.0 WHEN satisfaction IS NOT NULL THEN 0 END) AS satisfied,
               avg(CASE WHEN reopened THEN 1.0 WHEN status = 'resolved' THEN 0 END) AS reopened
        FROM feedback WHERE received_at < :old"""),
        {"old": NOW - timedelta(days=60)},
    )
    assert stats["closed_share"] > 0.99
    assert 3.9 < stats["satisfaction"] < 4.5 and stats["satisfied"] > 0.88
    assert 0.01 < stats["reopened"] < 0.08


def test_areas_and_positions(year):
    engine, _ = year
    for table in ("feedback", "dossiers", "traffic_sensors"):
        orphans = (
            f"SELECT count(*) FROM {table} t LEFT JOIN areas a ON a.code = t.area_code "  # noqa: S608
            "WHERE a.code IS NULL"
        )
        assert value(engine, orphans) == 0, table
    points = fetch_frame(
        engine, text("SELECT f.lat, f.lon, a.geometry_geojson FROM feedback f JOIN areas a ON a.code = f.area_code")
    )
    inside = [
        shapely.contains_xy(shapely.from_geojson(g), lon, lat)
        for lat, lon, g in points.sample(500, random_state=1).itertuples(index=False)
    ]
    assert sum(inside) / len(inside) > 0.97
    # Per capita, the central wards report far more than the mountain communes.
    per_capita = fetch_frame(
        engine,
        text("""
        SELECT a.kind, count(*) * 1.0 / max(a.population) AS per_person
        FROM feedback f JOIN areas a ON a.code = f.area_code GROUP BY a.code, a.kind"""),
    )
    means = per_capita.groupby("kind")["per_person"].median()
    assert means["ward"] > 2 * means["commune"]


def test_dossier_calendar(year):
    engine, _ = year
    by_dow = fetch_frame(
        engine, text("SELECT extract(dow FROM received_at) AS dow, count(*) AS n FROM dossiers GROUP BY 1")
    )
    counts = dict(zip(by_dow["dow"].astype(int), by_dow["n"], strict=True))
    weekday_mean = sum(counts.get(d, 0) for d in range(1, 6)) / 5
    assert weekday_mean > 3 * counts.get(0, 0) and weekday_mean > 2 * counts.get(6, 0)
    # Tết 2026 (first day 17 February): the week of closed offices, then a backlog surge.
    week = "SELECT count(*) FROM dossiers WHERE received_at >= :monday AND received_at < :saturday"
    tet_week = value(engine, week, monday=datetime(2026, 2, 16), saturday=datetime(2026, 2, 21))
    after = value(engine, week, monday=datetime(2026, 2, 23), saturday=datetime(2026, 2, 28))
    before = value(engine, week, monday=datetime(2026, 1, 5), saturday=datetime(2026, 1, 10))
    assert tet_week < 0.3 * before and after > before


def test_online_share_grows(year):
    engine, summary = year
    share = (
        "SELECT avg(CASE WHEN channel = 'online' THEN 1.0 ELSE 0 END) FROM dossiers "
        "WHERE received_at >= :a AND received_at < :b"
    )
    first = value(engine, share, a=summary.start, b=summary.start + timedelta(days=60))
    last = value(engine, share, a=NOW - timedelta(days=60), b=NOW)
    assert last > first + 0.05
    assert 0.55 < last < 0.85


def test_rainy_season_floods_the_drains(year):
    engine, _ = year
    shares = fetch_frame(
        engine,
        text("""
        SELECT CASE WHEN extract(month FROM received_at) IN (10, 11) THEN 'rainy'
                    WHEN extract(month FROM received_at) BETWEEN 2 AND 7 THEN 'dry' END AS season,
               avg(CASE WHEN category = 'water_drainage' THEN 1.0 ELSE 0 END) AS water,
               avg(CASE WHEN category = 'trees_parks' THEN 1.0 ELSE 0 END) AS trees
        FROM feedback GROUP BY 1"""),
    ).set_index("season")
    assert shares.loc["rainy", "water"] > 2 * shares.loc["dry", "water"]
    assert shares.loc["rainy", "trees"] > shares.loc["dry", "trees"]
    top = fetch_frame(engine, text("SELECT category, count(*) AS n FROM feedback GROUP BY 1 ORDER BY 2 DESC"))
    assert set(top["category"].head(2)) == {"waste_environment", "roads_traffic"}
    assert top["category"].iloc[-1] == "food_safety"


def test_traffic_peaks_and_speeds(small):
    engine, _ = small
    hourly = fetch_frame(
        engine,
        text("""
        SELECT extract(hour FROM observed_at) AS hour, avg(vehicle_count) AS vehicles, avg(mean_speed_kmh) AS speed
        FROM traffic_observations WHERE extract(dow FROM observed_at) BETWEEN 1 AND 5 GROUP BY 1"""),
    ).set_index("hour")
    assert hourly.loc[7, "vehicles"] > 5 * hourly.loc[3, "vehicles"]
    assert hourly.loc[17, "vehicles"] > 1.3 * hourly.loc[13, "vehicles"]
    assert hourly.loc[7, "speed"] < hourly.loc[3, "speed"]
    bounds = fetch_one(
        engine,
        text("""
        SELECT min(o.mean_speed_kmh) AS slowest, max(o.mean_speed_kmh / s.free_flow_speed_kmh) AS fastest_ratio,
               min(o.vehicle_count) AS fewest, min(o.period_minutes) AS pmin, max(o.period_minutes) AS pmax
        FROM traffic_observations o JOIN traffic_sensors s ON s.id = o.sensor_id"""),
    )
    assert bounds["slowest"] >= 5 and bounds["fastest_ratio"] <= 1.1 + 1e-6 and bounds["fewest"] >= 0
    assert bounds["pmin"] == bounds["pmax"] == 15


def test_one_silent_sensor(small):
    engine, _ = small
    last = fetch_frame(engine, text("SELECT sensor_id, max(observed_at) AS last FROM traffic_observations GROUP BY 1"))
    silent = last[last["last"] <= NOW - timedelta(hours=2)]
    assert len(silent) == 1
    assert (last["last"] >= NOW - timedelta(minutes=30)).sum() == len(last) - 1


def test_dataset_info(small):
    engine, summary = small
    info = dict(fetch_frame(engine, text("SELECT key, value FROM dataset_info")).itertuples(index=False))
    assert info["kind"] == "demo" and info["seed"] == "7" and info["city"] == "hue"
    assert float(info["scale"]) == 0.02 and info["timezone"]
    assert info["start"] == summary.start.isoformat() and info["end"] == NOW.date().isoformat()
    assert datetime.fromisoformat(info["generated_at"]) == NOW


def test_default_window_is_three_years():
    from dashboard.demo import generator as demo

    assert demo._three_years_before(date(2026, 11, 23)) + timedelta(days=1) == date(2023, 11, 24)
    assert demo._three_years_before(date(2028, 2, 29)) == date(2025, 2, 28)
    with pytest.raises(ValueError):
        build_demo(make_engine("duckdb:///:memory:"), scale=0)


@pytest.mark.postgres
def test_postgres_build_matches_duckdb(small, pg_url):
    url = pg_url
    # A schema of its own, so other test modules using the same database cannot interfere.
    schema = f"demo_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema} -c statement_timeout=60000"})
    try:
        summary = build_demo(engine, seed=7, **SMALL)
        assert summary.rows == small[1].rows
        on_postgres, on_duckdb = fingerprint(engine), fingerprint(small[0])
        for key, expected in on_duckdb.items():  # float columns may round differently per engine
            assert float(on_postgres[key]) == pytest.approx(float(expected), rel=1e-6), key
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
