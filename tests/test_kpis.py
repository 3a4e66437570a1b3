"""Every KPI checked against figures computed by hand on tiny tables, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from dashboard import kpis
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.periods import Period

MARCH = Period(date(2026, 3, 1), date(2026, 3, 7))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second)


def _feedback(id_, received, status, area="A", due=None, resolved=None, satisfaction=None, reopened=False):
    return dict(id=id_, source="t", source_id=str(id_), received_at=received, category="waste_environment",
                channel="hue_s_app", area_code=area, lat=None, lon=None, status=status, agency="X",
                due_at=due, first_response_at=None, resolved_at=resolved, satisfaction=satisfaction, reopened=reopened)


FEEDBACK = [
    _feedback(1, at(1, 8), "resolved", due=at(3, 8), resolved=at(2, 8), satisfaction=5),           # on time, 24 h
    _feedback(2, at(2, 10), "resolved", due=at(4, 10), resolved=at(5, 10), satisfaction=3, reopened=True),  # late, 72 h
    _feedback(3, at(27, 9, month=2), "resolved", due=at(1, 12), resolved=at(1, 9)),                # received before, 48 h
    _feedback(4, at(6, 23, 59, 59), "resolved", area="B", resolved=at(7, 23, 59, 59), satisfaction=4),  # no due; last second
    _feedback(5, at(7, 12), "new", area="B"),                                                       # open at end
    _feedback(6, at(3), "rejected", area="B"),                                                      # rejected: never backlog
    _feedback(7, at(5), "resolved", area="B", resolved=at(8)),                                      # resolved after the period
    _feedback(8, at(8), "new", area="B"),                                                           # received after the period
    _feedback(9, at(20, month=2), "in_progress", area="B"),                                         # old and still open
    _feedback(10, at(25, month=2), "resolved", area="B", resolved=at(28, month=2)),                 # entirely before
]


def _dossier(id_, received, channel, area="A", due=None, completed=None):
    return dict(id=id_, source="t", source_id=str(id_), procedure_code="P1", procedure_name="Đăng ký khai sinh",
                sector="civil_status", agency="UBND", area_code=area, channel=channel, received_at=received,
                due_at=due, completed_at=completed, status="completed" if completed else "in_progress")


DOSSIERS = [
    _dossier(1, at(2), "online", due=at(5), completed=at(4)),                      # on time, 2 days
    _dossier(2, at(3), "counter", area="B", due=at(4), completed=at(6)),           # late, 3 days
    _dossier(3, at(20, month=2), "counter", area="B", completed=at(1)),            # no due, 9 days
    _dossier(4, at(7), "online", area="B"),
    _dossier(5, at(8), "online", area="B"),                                        # after the period
]

SENSORS = [
    dict(id="S1", name="Cầu Trường Tiền", road="Lê Lợi", area_code="A", lat=16.46, lon=107.58,
         free_flow_speed_kmh=40.0, capacity_per_hour=2000.0),
    dict(id="S2", name="Hùng Vương", road="Hùng Vương", area_code="B", lat=16.46, lon=107.59,
         free_flow_speed_kmh=60.0, capacity_per_hour=2000.0),
]


def _obs(sensor, observed, count, speed):
    return dict(sensor_id=sensor, observed_at=observed, period_minutes=15, vehicle_count=count, mean_speed_kmh=speed)


OBSERVATIONS = [
    _obs("S1", at(1, 8), 100, 20.0),      # ratio 2
    _obs("S2", at(1, 8), 100, 60.0),      # ratio 1  -> hour index 50 %
    _obs("S1", at(2, 17), 100, 40.0),     # ratio 1  -> 0 %
    _obs("S2", at(7, 23, 45), 50, 30.0),  # ratio 2  -> 100 % (the peak, last quarter hour of the period)
    _obs("S1", at(8), 1000, 10.0),        # after the period
]


@pytest.fixture
def tiny_engine(any_db_url):
    engine = make_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(schema.areas.insert(), [
            dict(code=c, name=f"Phường {c}", name_ascii=f"Phuong {c}", kind="ward", parent_code="46",
                 geometry_geojson=None, centroid_lat=16.4, centroid_lon=107.5, area_km2=10.0, population=20_000,
                 population_is_estimate=True) for c in ("A", "B")])
        connection.execute(schema.feedback.insert(), FEEDBACK)
        connection.execute(schema.dossiers.insert(), DOSSIERS)
        connection.execute(schema.traffic_sensors.insert(), SENSORS)
        connection.execute(schema.traffic_observations.insert(), OBSERVATIONS)
    yield engine
    engine.dispose()


def test_city_kpis_match_hand_computation(tiny_engine):
    result = kpis.compute_kpis(tiny_engine, MARCH)
    assert result["period"] == {"from": "2026-03-01", "to": "2026-03-07"}
    assert result["feedback"] == {
        "received": 6,                      # 1, 2, 4, 5, 6, 7
        "resolved": 4,                      # 1, 2, 3, 4
        "resolved_on_time_pct": 66.7,       # 1 and 3 of the 3 with a due date
        "median_resolution_hours": 36.0,    # median of 24, 72, 48, 24
        "open_backlog": 3,                  # 5, 7, 9
        "satisfaction_avg": 4.0,            # 5, 3, 4
        "reopened_pct": 25.0,               # 2 of 4 resolved
    }
    assert result["dossiers"] == {
        "received": 3, "completed": 3, "completed_on_time_pct": 50.0, "online_pct": 66.7,
        "median_lead_time_days": 3.0,
    }
    assert result["traffic"] == {"vehicles": 350, "congestion_index_peak": 100.0}


def test_area_filter_restricts_every_section(tiny_engine):
    result = kpis.compute_kpis(tiny_engine, MARCH, ["A"])
    assert result["feedback"]["received"] == 2
    assert result["feedback"]["resolved"] == 3
    assert result["feedback"]["median_resolution_hours"] == 48.0
    assert result["feedback"]["open_backlog"] == 0
    assert result["feedback"]["satisfaction_avg"] == 4.0
    assert result["dossiers"] == {"received": 1, "completed": 1, "completed_on_time_pct": 100.0,
                                  "online_pct": 100.0, "median_lead_time_days": 2.0}
    assert result["traffic"] == {"vehicles": 200, "congestion_index_peak": 100.0}


def test_empty_period_gives_nulls_not_zero_percentages(tiny_engine):
    result = kpis.compute_kpis(tiny_engine, Period(date(2025, 1, 1), date(2025, 1, 2)))
    assert result["feedback"]["received"] == 0
    assert result["feedback"]["resolved_on_time_pct"] is None
    assert result["feedback"]["median_resolution_hours"] is None
    assert result["feedback"]["satisfaction_avg"] is None
    assert result["dossiers"]["online_pct"] is None
    assert result["traffic"] == {"vehicles": 0, "congestion_index_peak": None}


def test_due_missing_everywhere_gives_null_on_time_rate(tiny_engine):
    # 7 March alone: only report 4 is resolved, and it has no due date.
    result = kpis.compute_kpis(tiny_engine, Period(date(2026, 3, 7), date(2026, 3, 7)))
    assert result["feedback"]["resolved"] == 1
    assert result["feedback"]["resolved_on_time_pct"] is None


def test_area_table_has_one_row_per_area_and_rates(tiny_engine):
    table = kpis.compute_area_kpis(tiny_engine, MARCH).set_index("code")
    assert list(table.index) == ["A", "B"]
    assert table.loc["A", "feedback.received"] == 2
    assert table.loc["B", "feedback.received"] == 4
    assert table.loc["B", "feedback.received_per_10k"] == 2.0
    assert table.loc["A", "feedback.received_per_km2"] == 0.2
    assert table.loc["B", "dossiers.online_pct"] == 50.0
    assert table.loc["A", "traffic.vehicles"] == 200


def test_area_table_sums_to_city_counts(tiny_engine):
    table = kpis.compute_area_kpis(tiny_engine, MARCH)
    city = kpis.compute_kpis(tiny_engine, MARCH)
    assert table["feedback.received"].sum() == city["feedback"]["received"]
    assert table["dossiers.completed"].sum() == city["dossiers"]["completed"]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("feedback.resolved_on_time_pct", 95.0, "on_target"),
    ("feedback.resolved_on_time_pct", 85.0, "near_target"),
    ("feedback.resolved_on_time_pct", 50.0, "off_target"),
    ("feedback.median_resolution_hours", 48.0, "on_target"),
    ("feedback.median_resolution_hours", 79.0, "near_target"),
    ("feedback.median_resolution_hours", 200.0, "off_target"),
    ("feedback.received", 10, None),
    ("dossiers.online_pct", None, None),
])
def test_target_status(key, value, expected):
    assert kpis.status(kpis.KPI_BY_KEY[key], value) == expected


def test_score_is_capped():
    assert kpis.score(kpis.KPI_BY_KEY["dossiers.online_pct"], 600.0) == kpis.CITYSCORE_CAP
    assert kpis.score(kpis.KPI_BY_KEY["feedback.median_resolution_hours"], 0.0) == kpis.CITYSCORE_CAP


def test_change_against_comparison():
    assert kpis.change(120, 100) == {"absolute": 20.0, "relative_pct": 20.0}
    assert kpis.change(5, 0) == {"absolute": 5.0, "relative_pct": None}
    assert kpis.change(None, 3) == {"absolute": None, "relative_pct": None}


def test_congestion_index_definition():
    assert kpis.congestion_index(300, 200) == 50.0
    assert kpis.congestion_index(0, 0) is None


def test_page_dimensions_narrow_a_section(tiny_engine):
    assert kpis.section_kpis(tiny_engine, "feedback", MARCH, dimensions={"category": ["noise"]})["received"] == 0
    assert kpis.section_kpis(tiny_engine, "feedback", MARCH, dimensions={"category": ["waste_environment"]})["received"] == 6
    assert kpis.section_kpis(tiny_engine, "dossiers", MARCH, dimensions={"channel": ["online"]})["received"] == 2
    assert kpis.section_kpis(tiny_engine, "traffic", MARCH, dimensions={"sensor": ["S2"]}) == {"vehicles": 150, "congestion_index_peak": 100.0}
    with pytest.raises(ValueError, match="unknown KPI section"):
        kpis.section_kpis(tiny_engine, "weather", MARCH)
