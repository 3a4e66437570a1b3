"""Every KPI checked against figures computed by hand on tiny tables, on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from tiny_data import MARCH

from dashboard.metrics import kpis
from dashboard.periods import Period


def test_city_kpis_match_hand_computation(tiny_engine):
    result = kpis.compute_kpis(tiny_engine, MARCH)
    assert result["period"] == {"from": "2026-03-01", "to": "2026-03-07"}
    assert result["feedback"] == {
        "received": 6,  # 1, 2, 4, 5, 6, 7
        "resolved": 4,  # 1, 2, 3, 4
        "resolved_on_time_pct": 66.7,  # 1 and 3 of the 3 with a due date
        "median_resolution_hours": 36.0,  # median of 24, 72, 48, 24
        "open_backlog": 3,  # 5, 7, 9
        "satisfaction_avg": 4.0,  # 5, 3, 4
        "reopened_pct": 25.0,  # 2 of 4 resolved
    }
    assert result["dossiers"] == {
        "received": 3,
        "completed": 3,
        "completed_on_time_pct": 50.0,
        "online_pct": 66.7,
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
    assert result["dossiers"] == {
        "received": 1,
        "completed": 1,
        "completed_on_time_pct": 100.0,
        "online_pct": 100.0,
        "median_lead_time_days": 2.0,
    }
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


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("feedback.resolved_on_time_pct", 95.0, "on_target"),
        ("feedback.resolved_on_time_pct", 85.0, "near_target"),
        ("feedback.resolved_on_time_pct", 50.0, "off_target"),
        ("feedback.median_resolution_hours", 48.0, "on_target"),
        ("feedback.median_resolution_hours", 79.0, "near_target"),
        ("feedback.median_resolution_hours", 200.0, "off_target"),
        ("feedback.received", 10, None),
        ("dossiers.online_pct", None, None),
    ],
)
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
    assert (
        kpis.section_kpis(tiny_engine, "feedback", MARCH, dimensions={"category": ["waste_environment"]})["received"]
        == 6
    )
    assert kpis.section_kpis(tiny_engine, "dossiers", MARCH, dimensions={"channel": ["online"]})["received"] == 2
    assert kpis.section_kpis(tiny_engine, "traffic", MARCH, dimensions={"sensor": ["S2"]}) == {
        "vehicles": 150,
        "congestion_index_peak": 100.0,
    }
    with pytest.raises(ValueError, match="unknown KPI section"):
        kpis.section_kpis(tiny_engine, "weather", MARCH)
