"""Rollup tables: every query that reads them returns what the same query returns from the base tables.

Each query runs twice on the same database, once as the pages run it (rollups when they can answer)
and once inside `rollups.disabled()` (base tables only), for several filters: the whole city, one
ward, page dimensions, a period across a month end, periods without data, and windows that are not
whole days (which must fall back to the base tables). On DuckDB and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from dashboard.db import (
    dossier_queries,
    feedback_queries,
    map_queries,
    queries,
    rollups,
    schema,
    traffic_queries,
)
from dashboard.db.engine import create_schema, fetch_one, make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.metrics import kpis
from dashboard.periods import Period
from dashboard.wall import rules as wall

DEMO_END = date(2026, 11, 20)  # conftest.DEMO_NOW's day
NOW = datetime(2026, 11, 20, 14, 37)


# ---------------------------------------------------------------- comparing results
def _plain(value):
    """Driver values made comparable across paths: Decimal/numpy → float/int, NaN/NaT/None → None."""
    if isinstance(value, (Decimal, np.floating)):
        value = float(value)
    if isinstance(value, np.integer):
        value = int(value)
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _rows(frame: pd.DataFrame) -> list[tuple]:
    rows = [tuple(_plain(v) for v in row) for row in frame.itertuples(index=False)]
    return sorted(rows, key=repr)  # unordered GROUP BY results compare as sets of rows


def _same(fast, slow, where: str) -> None:
    if isinstance(fast, pd.DataFrame):
        assert list(fast.columns) == list(slow.columns), where
        fast_rows, slow_rows = _rows(fast), _rows(slow)
        assert len(fast_rows) == len(slow_rows), where
        for a, b in zip(fast_rows, slow_rows, strict=True):
            assert len(a) == len(b)
            for x, y in zip(a, b, strict=True):
                if isinstance(x, float) or isinstance(y, float):
                    assert x == pytest.approx(y, rel=1e-9, abs=1e-9), (where, a, b)
                else:
                    assert x == y, (where, a, b)
    elif isinstance(fast, dict):
        assert fast.keys() == slow.keys(), where
        for key in fast:
            _same(fast[key], slow[key], f"{where}.{key}")
    elif isinstance(fast, map_queries.FeedbackLayer):
        assert (fast.kind, fast.total) == (slow.kind, slow.total), where
        _same(fast.frame, slow.frame, where)
    else:
        assert _plain(fast) == _plain(slow), where


def _both(engine, call):
    fast = call(engine)
    with rollups.disabled():
        slow = call(engine)
    return fast, slow


# ---------------------------------------------------------------- what is compared
def _kpi_calls(p: Period, f: QueryFilter):
    dims = dict(f.dimensions)
    areas = list(f.areas) or None
    return {
        "feedback_counts": lambda e: queries.feedback_counts(e, p, areas, dimensions=dims),
        "feedback_counts_by_area": lambda e: queries.feedback_counts(e, p, by_area=True, dimensions=dims),
        "feedback_daily": lambda e: queries.feedback_daily(e, p, areas),
        "dossier_counts": lambda e: queries.dossier_counts(e, p, areas, dimensions=dims),
        "dossier_counts_by_area": lambda e: queries.dossier_counts(e, p, by_area=True, dimensions=dims),
        "dossier_daily": lambda e: queries.dossier_daily(e, p, areas),
        "traffic_hourly": lambda e: queries.traffic_hourly(e, p, areas, dimensions=dims),
        "traffic_hourly_by_area": lambda e: queries.traffic_hourly(e, p, by_area=True, dimensions=dims),
        "traffic_daily": lambda e: queries.traffic_daily(e, p, areas),
        "compute_kpis": lambda e: kpis.compute_kpis(e, p, areas),
        "compute_area_kpis": lambda e: kpis.compute_area_kpis(e, p, dimensions=dims),
    }


def _page_calls(f: QueryFilter, as_of: datetime):
    day = min(f.period.end, DEMO_END)
    return {
        **{f"volume_{g}": (lambda e, g=g: feedback_queries.volume(e, f, g)) for g in feedback_queries.GRAINS},
        "by_agency": lambda e: feedback_queries.by_agency(e, f),
        "satisfaction": lambda e: feedback_queries.satisfaction(e, f),
        "overdue_count": lambda e: feedback_queries.overdue_count(e, f),
        "backlog_ageing": lambda e: feedback_queries.backlog_ageing(e, f),
        "extra_counts": lambda e: dossier_queries.extra_counts(e, f, as_of),
        **{f"channel_mix_{g}": (lambda e, g=g: dossier_queries.channel_mix(e, f, g)) for g in dossier_queries.GRAINS},
        "agency_ranking": lambda e: dossier_queries.agency_ranking(e, f),
        "procedure_stats": lambda e: dossier_queries.procedure_stats(e, f),
        "sector_stats": lambda e: dossier_queries.sector_stats(e, f),
        "congestion_sensor": lambda e: traffic_queries.congestion_ranking(e, f, "sensor"),
        "congestion_road": lambda e: traffic_queries.congestion_ranking(e, f, "road"),
        "hour_weekday": lambda e: traffic_queries.hour_weekday(e, f),
        "profile_comparison": lambda e: traffic_queries.profile_comparison(e, f, day, until=datetime(2026, 11, 20, 14)),
        "profile_whole_day": lambda e: traffic_queries.profile_comparison(e, f, day - timedelta(days=1)),
        "sensor_last_seen": lambda e: traffic_queries.sensor_last_seen(e, f, as_of),
        "located": lambda e: map_queries.located_feedback_count(e, f),
        "feedback_layer": lambda e: map_queries.feedback_layer(e, f, threshold=50),
    }


LAST_30 = Period(DEMO_END - timedelta(days=29), DEMO_END)
ACROSS_MONTH = Period(date(2026, 9, 25), date(2026, 10, 5))
FUTURE = Period(date(2027, 1, 1), date(2027, 1, 7))
BEFORE_DATA = Period(date(2020, 1, 1), date(2020, 1, 31))


def _filters(engine) -> dict[str, QueryFilter]:
    busiest = fetch_one(
        engine,
        select(schema.feedback.c.area_code, func.count().label("n"))
        .group_by(schema.feedback.c.area_code)
        .order_by(func.count().desc())
        .limit(1),
    )["area_code"]
    category = fetch_one(engine, select(schema.feedback.c.category).limit(1))["category"]
    sector = fetch_one(engine, select(schema.dossiers.c.sector).limit(1))["sector"]
    road = fetch_one(engine, select(schema.traffic_sensors.c.road).limit(1))["road"]
    return {
        "city": QueryFilter.build(LAST_30),
        "one_area": QueryFilter.build(LAST_30, [busiest]),
        "dimensions": QueryFilter.build(
            LAST_30,
            dimensions={"category": [category], "sector": [sector], "road": [road], "channel": ["online", "hue_s_app"]},
        ),
        "across_month": QueryFilter.build(ACROSS_MONTH, [busiest]),
        "future": QueryFilter.build(FUTURE),
        "before_data": QueryFilter.build(BEFORE_DATA),
    }


# ---------------------------------------------------------------- databases
@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def demo_engine(request):
    """The session demo DuckDB (read-only), or a small demo built into the PostgreSQL test database."""
    if request.param == "duckdb":
        engine = make_engine(request.getfixturevalue("demo_db_url"), read_only=True)
    else:
        from dashboard.demo.generator import build_demo

        engine = make_engine(request.getfixturevalue("pg_url"))
        build_demo(engine, seed=7, scale=0.03, start=DEMO_END - timedelta(days=200), end=DEMO_END, now=NOW)
    assert rollups.rollups_ready(engine)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("name", ["city", "one_area", "dimensions", "across_month", "future", "before_data"])
def test_kpi_queries_equal_base_tables(demo_engine, name):
    query_filter = _filters(demo_engine)[name]
    for label, call in _kpi_calls(query_filter.period, query_filter).items():
        _same(*_both(demo_engine, call), f"{name}/{label}")


@pytest.mark.parametrize("name", ["city", "one_area", "dimensions", "across_month", "future", "before_data"])
def test_page_queries_equal_base_tables(demo_engine, name):
    query_filter = _filters(demo_engine)[name]
    for as_of in (query_filter.period.end_before, NOW):  # a midnight (rollup) and a minute (base tables)
        for label, call in _page_calls(query_filter, as_of).items():
            _same(*_both(demo_engine, call), f"{name}/{label}/{as_of}")


def test_windows_that_are_not_whole_days_read_the_base_tables(demo_engine):
    window = wall.TimeWindow(datetime(2026, 11, 19, 0, 0), datetime(2026, 11, 19, 14, 37))
    assert not rollups.usable(demo_engine, window)
    assert rollups.usable(demo_engine, wall.TimeWindow(datetime(2026, 11, 19, 13), datetime(2026, 11, 19, 14)), "hour")
    for section in ("feedback", "dossiers", "traffic"):
        _same(*_both(demo_engine, lambda e, s=section: kpis.section_kpis(e, s, window)), section)
    hour = QueryFilter(wall.TimeWindow(datetime(2026, 11, 19, 13), datetime(2026, 11, 19, 14)))
    _same(*_both(demo_engine, lambda e: traffic_queries.congestion_ranking(e, hour)), "last hour")


def test_rollups_are_much_smaller_than_the_base_tables(demo_engine):
    with demo_engine.connect() as connection:
        count = {
            t.name: connection.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (*schema.ROLLUP_TABLES, schema.feedback, schema.traffic_observations)
        }
    assert 0 < count["rollup_traffic_hourly"] <= count["traffic_observations"] / 3
    assert 0 < count["rollup_feedback_daily"] <= 4 * count["feedback"]  # a tiny demo: about one row per event


# ---------------------------------------------------------------- refreshing
def _new_feedback(id_, received, resolved=None, area="A", due=None, status="resolved", satisfaction=None):
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        received_at=received,
        category="waste_environment",
        channel="hue_s_app",
        area_code=area,
        lat=16.46,
        lon=107.59,
        status=status,
        agency="X",
        due_at=due,
        first_response_at=None,
        resolved_at=resolved,
        satisfaction=satisfaction,
        reopened=False,
    )


def test_refresh_follows_new_rows_and_handles_odd_ones(any_db_url):
    from tiny_data import MARCH, load_tiny

    engine = load_tiny(any_db_url)
    try:
        assert not rollups.rollups_ready(engine)  # tables exist but were never filled: base tables serve
        base = kpis.compute_kpis(engine, MARCH)
        rows = rollups.refresh_rollups(engine)
        assert rows["rollup_feedback_daily"] > 0 and rows["rollup_traffic_hourly"] > 0
        assert rollups.rollups_ready(engine)
        assert kpis.compute_kpis(engine, MARCH) == base
        assert (
            base["feedback"]["received"] == 6 and base["feedback"]["open_backlog"] == 3
        )  # tiny_data: 1 2 4 5 6 7; 5 7 9

        # New rows, among them one resolved before it was received and one received after the period
        # but "resolved" inside it: the rollups count them only after a refresh, then exactly as the base.
        added = [
            _new_feedback(101, datetime(2026, 3, 4, 9), datetime(2026, 3, 5, 9), satisfaction=2),
            _new_feedback(102, datetime(2026, 3, 6, 9), status="new", due=datetime(2026, 3, 7, 9)),
            _new_feedback(103, datetime(2026, 3, 5, 12), datetime(2026, 3, 5, 8)),
            _new_feedback(104, datetime(2026, 3, 9, 12), datetime(2026, 3, 6, 8), area="B"),
        ]
        with engine.begin() as connection:
            connection.execute(schema.feedback.insert(), added)
        stale = kpis.compute_kpis(engine, MARCH)["feedback"]  # counts stale until refreshed (medians are live)
        assert (stale["received"], stale["resolved"]) == (base["feedback"]["received"], base["feedback"]["resolved"])
        rollups.refresh_rollups(engine)
        fresh = kpis.compute_kpis(engine, MARCH)
        assert fresh["feedback"]["received"] == 6 + 3
        assert fresh["feedback"]["resolved"] == base["feedback"]["resolved"] + 2  # not 104: received after
        assert fresh["feedback"]["open_backlog"] == base["feedback"]["open_backlog"] + 1
        for period in (MARCH, Period(date(2026, 3, 6), date(2026, 3, 9)), Period(date(2026, 2, 1), date(2026, 3, 31))):
            for section in ("feedback", "dossiers", "traffic"):
                _same(*_both(engine, lambda e, s=section, p=period: kpis.section_kpis(e, s, p)), f"{period}/{section}")
            query_filter = QueryFilter.build(period)
            for label, call in _page_calls(query_filter, query_filter.period.end_before).items():
                _same(*_both(engine, call), f"{period}/{label}")
            _same(*_both(engine, lambda e, p=period: kpis.compute_area_kpis(e, p)), f"{period}/areas")
    finally:
        engine.dispose()


def test_refresh_inside_the_callers_transaction_rolls_back_with_it(any_db_url):
    from tiny_data import load_tiny

    engine = load_tiny(any_db_url)
    try:
        rollups.refresh_rollups(engine)
        with pytest.raises(RuntimeError), engine.begin() as connection:
            connection.execute(delete(schema.feedback))
            assert rollups.refresh_rollups(engine, connection)["rollup_feedback_daily"] == 0
            raise RuntimeError("the import failed")
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(schema.rollup_feedback_daily)).scalar_one() > 0
    finally:
        engine.dispose()


def test_a_database_without_rollup_tables_still_works(any_db_url):
    from tiny_data import MARCH, load_tiny

    engine = load_tiny(any_db_url)
    try:
        expected = kpis.compute_kpis(engine, MARCH)
        with engine.begin() as connection:
            for table in schema.ROLLUP_TABLES:
                table.drop(connection)
        rollups.forget(engine)
        assert not rollups.rollups_ready(engine)
        assert kpis.compute_kpis(engine, MARCH) == expected
        assert feedback_queries.overdue_count(engine, QueryFilter.build(MARCH)) >= 0
        rollups.refresh_rollups(engine)  # the first refresh creates them
        assert rollups.rollups_ready(engine)
        assert kpis.compute_kpis(engine, MARCH) == expected
    finally:
        create_schema(engine)
        engine.dispose()
