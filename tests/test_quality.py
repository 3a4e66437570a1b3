"""Data-quality page: the queries on a tiny database with known problems (DuckDB and PostgreSQL), the pure
figures, the freshness rule, and the page in AppTest on the demo database and on one with imports."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from page_support import metric_value, run_page
from sqlalchemy import text

from dashboard.db import quality_queries as qq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.i18n import t
from dashboard.metrics import quality
from dashboard.navigation import PAGES
from dashboard.wall import rules as wall

PAGE = str(next(spec.path for spec in PAGES if spec.key == "quality"))
NOW = datetime(2026, 3, 6, 12, 0)
THRESHOLDS = {"feedback": 60, "dossiers": 1440, "traffic": 30}
SINCE = datetime(2026, 2, 1)


def _square(west: float, south: float, east: float, north: float) -> str:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def _report(
    id_,
    source,
    received,
    area,
    lat,
    lon,
    status="new",
    channel="hue_s_app",
    agency="X",
    resolved=None,
    satisfaction=None,
    category="waste_environment",
):
    return dict(
        id=id_,
        source=source,
        source_id=str(id_),
        received_at=received,
        category=category,
        channel=channel,
        area_code=area,
        lat=lat,
        lon=lon,
        status=status,
        agency=agency,
        due_at=None,
        first_response_at=None,
        resolved_at=resolved,
        satisfaction=satisfaction,
        reopened=False,
    )


def _dossier(id_, received, area):
    return dict(
        id=id_,
        source="d",
        source_id=str(id_),
        procedure_code="P1",
        procedure_name="Khai sinh",
        sector="civil_status",
        agency="UBND",
        area_code=area,
        channel="online",
        received_at=received,
        due_at=None,
        completed_at=None,
        status="received",
    )


def _import(import_id, kind, source, started, status="done", rejected=0):
    return dict(
        import_id=import_id,
        kind=kind,
        source=source,
        file_name=f"{import_id}.csv",
        file_sha256="0" * 64,
        started_at=started,
        finished_at=started,
        status=status,
        rows_read=10,
        rows_inserted=10 - rejected,
        rows_updated=0,
        rows_unchanged=0,
        rows_rejected=rejected,
        rows_duplicate=0,
        rows_unknown_area=0,
        message=None,
    )


T = datetime(2026, 3, 1, 8, 0)
FEEDBACK = [
    _report(1, "s1", T, "A", 16.1, 107.1, status="resolved", resolved=datetime(2026, 3, 2), satisfaction=5),
    _report(2, "s1", T, "A", 16.1, 107.1, status="resolved", resolved=datetime(2026, 3, 2)),  # duplicate of 1
    _report(3, "s1", datetime(2026, 3, 2), None, 16.2, 107.2, channel=None),  # in the box, no ward: outside
    _report(4, "s1", datetime(2026, 3, 3), None, 10.0, 106.0, channel=None),  # far away: unknown and outside
    _report(5, "s1", datetime(2026, 3, 4), "B", 20.0, 107.6),  # ward set but outside the box
    _report(6, "s1", datetime(2026, 3, 6, 11, 30), None, None, None, agency=None),  # no place at all: unknown only
    _report(7, "s2", datetime(2026, 3, 5, 12, 0), "A", None, None),
]
DOSSIERS = [
    _dossier(1, datetime(2026, 3, 6, 8), "A"),
    _dossier(2, datetime(2026, 3, 6, 8), "A"),
    _dossier(3, datetime(2026, 3, 5, 9), None),
]
SENSORS = [
    dict(
        id="S1",
        name="S1",
        road="Lê Lợi",
        area_code="A",
        lat=16.1,
        lon=107.1,
        free_flow_speed_kmh=40,
        capacity_per_hour=1000,
    ),
    dict(
        id="S2",
        name="S2",
        road="Hùng Vương",
        area_code=None,
        lat=17.0,
        lon=107.0,
        free_flow_speed_kmh=40,
        capacity_per_hour=1000,
    ),
]
OBSERVATIONS = [
    dict(sensor_id=s, observed_at=at, period_minutes=15, vehicle_count=10, mean_speed_kmh=speed)
    for s, at, speed in [
        ("S1", datetime(2026, 3, 6, 10), 30.0),
        ("S1", datetime(2026, 3, 6, 10), 31.0),
        ("S1", datetime(2026, 3, 6, 10, 15), None),
        ("S2", datetime(2026, 3, 6, 10), 20.0),
        ("S9", datetime(2026, 3, 6, 10), 20.0),
    ]
]
IMPORTS = [
    _import("imp0", "feedback", "s1", datetime(2026, 3, 1, 9)),
    _import("imp1", "feedback", "s1", datetime(2026, 3, 6, 9), rejected=3),
    _import("imp2", "feedback", "nyc311", datetime(2026, 3, 6, 10), status="aborted", rejected=1),
    _import("old", "dossiers", "d", datetime(2025, 12, 1), rejected=1),
]
REJECTS = [
    dict(import_id=i, row_number=n, column_name="c", value="v", reason=r)
    for i, n, r in [
        ("imp1", 1, "missing_id"),
        ("imp1", 2, "missing_id"),
        ("imp1", 3, "future_date"),
        ("imp2", 1, "missing_id"),
        ("old", 1, "bad_date"),
    ]
]


def load_problems(url: str):
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            schema.areas.insert(),
            [
                dict(
                    code=c,
                    name=f"Phường {c}",
                    name_ascii=f"Phuong {c}",
                    kind="ward",
                    parent_code=None,
                    geometry_geojson=g,
                    centroid_lat=16.25,
                    centroid_lon=107.25,
                    area_km2=10.0,
                    population=None if c == "B" else 1000,
                    population_is_estimate=True,
                )
                for c, g in [("A", _square(107.0, 16.0, 107.5, 16.5)), ("B", _square(107.5, 16.0, 108.0, 16.5))]
            ],
        )
        connection.execute(schema.feedback.insert(), FEEDBACK)
        connection.execute(schema.dossiers.insert(), DOSSIERS)
        connection.execute(schema.traffic_sensors.insert(), SENSORS)
        connection.execute(schema.traffic_observations.insert(), OBSERVATIONS)
        connection.execute(schema.import_log.insert(), IMPORTS)
        connection.execute(schema.import_rejects.insert(), REJECTS)
    return engine


@pytest.fixture
def problems(any_db_url):
    engine = load_problems(any_db_url)
    yield engine
    engine.dispose()


def _rows(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame[columns].itertuples(index=False)]


# ---------------------------------------------------------------- queries, on both databases
def test_bbox_of_the_ward_polygons(problems):
    assert qq.city_bbox(problems) == (16.0, 107.0, 16.5, 108.0)
    assert qq.geojson_bbox(
        [None, "not json", json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}})]
    ) == (2, 1, 2, 1)
    assert qq.geojson_bbox([]) is None


def test_source_summary_counts_unknown_areas_and_points_outside(problems):
    summary = qq.source_summary(problems, qq.city_bbox(problems))
    assert _rows(
        summary.sort_values(["table", "source"]), ["table", "source", "rows", "unknown_area", "outside_city"]
    ) == [
        ("areas", None, 2, None, None),
        ("dossiers", "d", 3, 1, None),
        ("feedback", "s1", 6, 3, 3),  # unknown: 3, 4, 6; outside: 3 (no ward), 4 (both), 5 (outside the box)
        ("feedback", "s2", 1, 0, 0),
        ("traffic_observations", None, 5, 2, None),  # S2 has no ward, S9 is no known sensor
        ("traffic_sensors", None, 2, 1, 1),
    ]
    feedback = summary[summary["source"] == "s1"].iloc[0]
    assert (feedback["first_at"], feedback["last_at"]) == (pd.Timestamp(T), pd.Timestamp(2026, 3, 6, 11, 30))
    without_box = qq.source_summary(problems, None)
    assert int(without_box.loc[without_box["source"] == "s1", "outside_city"].iloc[0]) == 2  # 5 has a ward


def test_completeness_per_column_and_source(problems):
    frame = qq.completeness(problems).set_index(["table", "source", "column"])
    assert tuple(frame.loc[("feedback", "s1", "channel"), ["filled", "expected"]]) == (4, 6)
    assert tuple(frame.loc[("feedback", "s1", "lat"), ["filled", "expected"]]) == (5, 6)
    assert tuple(frame.loc[("feedback", "s1", "agency"), ["filled", "expected"]]) == (5, 6)
    assert tuple(frame.loc[("feedback", "s1", "satisfaction"), ["filled", "expected"]]) == (1, 2)  # resolved only
    assert frame.loc[("feedback", "s1", "satisfaction"), "filled_pct"] == 50.0
    assert tuple(frame.loc[("feedback", "s2", "lat"), ["filled", "expected"]]) == (0, 1)
    assert frame.loc[("feedback", "s2", "resolved_at"), "expected"] == 0
    assert pd.isna(frame.loc[("feedback", "s2", "resolved_at"), "filled_pct"])
    assert tuple(frame.loc[("dossiers", "d", "area_code"), ["filled", "expected"]]) == (2, 3)
    observations = frame.xs("traffic_observations", level="table")
    assert tuple(observations.iloc[0][["filled", "expected"]]) == (4, 5)
    areas = frame.xs("areas", level="table").reset_index(level="source", drop=True)
    assert tuple(areas.loc["population", ["filled", "expected"]]) == (1, 2)


def test_likely_duplicates(problems):
    frame = qq.likely_duplicates(problems)
    assert _rows(frame, ["table", "groups", "rows", "extra_rows"]) == [
        ("feedback", 1, 2, 1),
        ("dossiers", 1, 2, 1),
        ("traffic_observations", 1, 2, 1),
    ]


def test_last_imports_and_reject_reasons(problems):
    last = qq.last_imports(problems)
    assert _rows(last, ["kind", "source", "import_id", "status", "rows_rejected"]) == [
        ("feedback", "nyc311", "imp2", "aborted", 1),
        ("feedback", "s1", "imp1", "done", 3),
        ("dossiers", "d", "old", "done", 1),
    ]
    assert list(qq.import_history(problems, limit=2)["import_id"]) == ["imp2", "imp1"]
    assert _rows(qq.reject_reasons(problems, SINCE), ["kind", "source", "reason", "rows", "imports"]) == [
        ("feedback", "s1", "missing_id", 2, 1),
        ("feedback", "nyc311", "missing_id", 1, 1),
        ("feedback", "s1", "future_date", 1, 1),
    ]


def test_import_queries_on_a_database_without_import_tables(problems):
    with problems.begin() as connection:
        connection.execute(text("DROP TABLE import_rejects"))
        connection.execute(text("DROP TABLE import_log"))
    assert qq.last_imports(problems).empty and list(qq.last_imports(problems).columns) == qq.LAST_IMPORT_COLUMNS
    assert qq.import_history(problems).empty
    assert qq.reject_reasons(problems, SINCE).empty


# ---------------------------------------------------------------- the rule and the pure figures
@pytest.mark.parametrize(
    ("minutes", "status"), [(0, "live"), (60, "live"), (61, "late"), (240, "late"), (241, "stale")]
)
def test_freshness_status_rule(minutes, status):
    item = wall.freshness("feedback", datetime(2026, 3, 6, 12) - pd.Timedelta(minutes=minutes), NOW, 60)
    assert wall.freshness_status(item, 60) == status
    assert wall.freshness_status(wall.freshness("feedback", None, NOW, 60), 60) == "none"


def test_freshness_rows_and_headline(problems):
    summary = qq.source_summary(problems, qq.city_bbox(problems))
    freshness = quality.freshness_rows(summary, qq.last_imports(problems), NOW, THRESHOLDS)
    assert _rows(freshness, ["table", "source", "rows", "minutes_late", "status", "last_import_status"]) == [
        ("feedback", "s1", 6, 30, "live", "done"),
        ("feedback", "s2", 1, 1440, "stale", None),
        ("dossiers", "d", 3, 240, "live", "done"),
        ("traffic_observations", None, 5, 105, "late", None),
        ("feedback", "nyc311", 0, None, "none", "aborted"),  # known only from its failed import
    ]
    assert freshness.loc[0, "last_import_at"] == pd.Timestamp(2026, 3, 6, 9)
    assert quality.worst_status(freshness) == "stale"
    figures = quality.headline(freshness, summary, qq.likely_duplicates(problems), qq.reject_reasons(problems, SINCE))
    assert figures == {
        "sources": 5,
        "live": 2,
        "late": 1,
        "stale": 2,
        "unknown_area": 4,
        "outside_city": 4,
        "duplicate_rows": 3,
        "rejected_rows": 4,
    }
    location = quality.location_rows(summary)
    assert location.loc[location["source"] == "s1", "unknown_area_pct"].iloc[0] == 50.0
    gaps = quality.completeness_gaps(qq.completeness(problems))
    assert tuple(gaps.iloc[0][["table", "source", "column", "filled_pct", "missing"]]) == (
        "dossiers",
        "d",
        "due_at",
        0.0,
        3,
    )


def test_reject_window_starts_at_midnight():
    assert quality.reject_window_start(datetime(2026, 3, 6, 12, 30)) == datetime(2026, 2, 4)


# ---------------------------------------------------------------- the page
def test_page_on_the_demo_database(monkeypatch, demo_db_url):
    app = run_page(monkeypatch, demo_db_url, {}, PAGE)
    assert app.title[0].value == t("quality.heading")
    assert metric_value(app, t("quality.tile.unknown_area")) == "0"
    assert metric_value(app, t("quality.tile.rejected", days=30)) == "0"
    assert any(i.body == t("quality.imports.none") for i in app.info)


def test_page_on_a_database_with_imports(monkeypatch, tmp_path):
    url = f"duckdb:///{tmp_path / 'quality.duckdb'}"
    engine = make_engine(url)
    from dashboard.db.engine import create_schema

    create_schema(engine)
    engine.dispose()
    load_problems(url).dispose()
    monkeypatch.setattr("dashboard.periods.local_now", lambda: NOW)
    app = run_page(monkeypatch, url, {"lang": "en"}, PAGE)
    assert metric_value(app, t("quality.tile.live", "en")) == "2/5"
    assert metric_value(app, t("quality.tile.unknown_area", "en")) == "4"
    assert metric_value(app, t("quality.tile.outside_city", "en")) == "4"
    assert metric_value(app, t("quality.tile.duplicates", "en")) == "3"
    assert metric_value(app, t("quality.tile.rejected", "en", days=30)) == "4"
    assert metric_value(app, "Citizen reports · nyc311") == t("quality.status.none", "en")
    tables = [frame.value for frame in app.dataframe]
    assert any(
        t("reject_reason.missing_id", "en") in set(frame.get(t("quality.col.reason", "en"), [])) for frame in tables
    )
