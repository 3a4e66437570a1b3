"""The importer over the real public samples in ../shared/data/samples (skipped when that folder is absent).

The expected numbers come from the samples' README (row counts, duplicates, bad rows), not from a run.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from dashboard.config import PROJECT_ROOT
from dashboard.db import schema
from dashboard.db.engine import fetch_one, make_engine
from dashboard.db.load import load_areas
from dashboard.ingest.importer import ImportOptions, run_import

SAMPLES = PROJECT_ROOT.parent / "shared" / "data" / "samples"
pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/samples is not present")
NOW = datetime(2026, 11, 20, 14, 37)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from dashboard.db.engine import create_schema

    engine = make_engine(f"duckdb:///{tmp_path_factory.mktemp('samples') / 'samples.duckdb'}")
    create_schema(engine)
    load_areas(engine, "hue")
    yield engine
    engine.dispose()


def _import(engine, kind, name, **options):
    return run_import(engine, ImportOptions(kind, SAMPLES / name, now=NOW, **options))


def _count(engine, table, *where):
    return fetch_one(engine, select(func.count().label("n")).select_from(table).where(*where))["n"]


def test_nyc_311_one_day(engine):
    result = _import(engine, "feedback", "feedback_nyc_311_sample_2018-10-21.csv", source="nyc311")
    assert (result.rows_read, result.inserted, result.rejected, result.duplicates) == (6765, 6765, 0, 0)
    assert result.unknown_area == 6765  # New York is not in Huế
    assert result.date_formats["received_at"].startswith("mm/dd/yyyy")
    feedback = schema.feedback.c
    # 6765 - 4324 rows have a Closed Date; 2 more are "Closed" without one.
    assert _count(engine, schema.feedback, feedback.source == "nyc311", feedback.resolved_at.is_not(None)) == 2441
    assert _count(engine, schema.feedback, feedback.source == "nyc311", feedback.status == "resolved") == 2443
    again = _import(engine, "feedback", "feedback_nyc_311_sample_2018-10-21.csv", source="nyc311")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6765)


def test_boston_311(engine):
    result = _import(engine, "feedback", "feedback_boston_311_100.csv", source="boston311")
    assert (result.rows_read, result.inserted, result.rejected) == (100, 100, 0)
    feedback = schema.feedback.c
    assert _count(engine, schema.feedback, feedback.source == "boston311", feedback.resolved_at.is_not(None)) == 85
    assert _count(engine, schema.feedback, feedback.source == "boston311", feedback.due_at.is_(None)) == 11


def test_burlington_permits(engine):
    result = _import(engine, "dossiers", "permits_burlington_on_building_permits.csv", source="burlington")
    # 356 rows repeat an earlier FILENO (the last is kept); FILENO 22-000251 was issued before it was received.
    assert (result.rows_read, result.duplicates, result.rejected) == (5026, 356, 1)
    assert dict(result.reasons) == {"completed_before_received": 1}
    assert result.inserted == 5026 - 356 - 1
    assert result.unknown_area == result.rows_read - result.rejected  # no ward column, no lat/lon (X/Y are metres)


def test_melbourne_pedestrian_counts_with_sensor_locations(engine):
    result = _import(
        engine,
        "traffic",
        "traffic_melbourne_pedestrian_hourly_2012-01_to_2012-07.csv",
        sensors=SAMPLES / "traffic_melbourne_pedestrian_sensor_locations.csv",
    )
    assert (result.rows_read, result.sensors_added) == (92016, 43)
    assert dict(result.reasons) == {"unreadable_count": 6, "missing_id": 1}  # "NaN" counts and one "NaN" sensor
    assert result.inserted == 92016 - 7
    observations = schema.traffic_observations.c
    assert fetch_one(
        engine,
        select(func.min(observations.period_minutes).label("lo"), func.max(observations.period_minutes).label("hi")),
    ) == {"lo": 60, "hi": 60}
