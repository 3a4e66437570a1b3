"""Feedback page: its queries against hand-computed tiny tables, and the page itself in AppTest."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import demo_sql
import page_support
import pandas as pd
import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from tiny_data import MARCH

from dashboard.db import feedback_queries as fq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "feedback.py")


def test_volume_by_day_and_week(tiny_engine):
    march = QueryFilter.build(MARCH)
    daily = fq.volume(tiny_engine, march, "day")
    assert daily["received"].sum() == 6
    weekly = fq.volume(tiny_engine, march, "week")
    assert [(pd.Timestamp(b).date(), n) for b, n in zip(weekly["bucket"], weekly["received"], strict=True)] == [
        (date(2026, 2, 23), 1),
        (date(2026, 3, 2), 5),
    ]  # 1 March 2026 is a Sunday
    with pytest.raises(ValueError, match="grain"):
        fq.volume(tiny_engine, march, "hour")


def test_agency_and_category_resolution(tiny_engine):
    agency = fq.by_agency(tiny_engine, QueryFilter.build(MARCH)).set_index("agency").loc["X"]
    assert (
        agency["resolved"],
        agency["resolved_with_due"],
        agency["resolved_on_time"],
        agency["reopened"],
        agency["received"],
        agency["open_backlog"],
    ) == (4, 3, 2, 1, 6, 3)
    category = fq.resolution_by_category(tiny_engine, QueryFilter.build(MARCH)).iloc[0]
    assert category["median_resolution_hours"] == pytest.approx(36.0)
    assert category["p90_resolution_hours"] == pytest.approx(64.8)  # 48 + 0.7 × (72 − 48)


def test_backlog_ageing_and_overdue(tiny_engine):
    ageing = fq.backlog_ageing(tiny_engine, QueryFilter.build(MARCH))
    assert ageing.to_dict("records") == [
        {"age_bucket": "0-3", "open_reports": 1},
        {"age_bucket": "3-7", "open_reports": 1},
        {"age_bucket": "7-14", "open_reports": 0},
        {"age_bucket": ">14", "open_reports": 1},
    ]
    assert ageing["open_reports"].sum() == kpis.compute_kpis(tiny_engine, MARCH)["feedback"]["open_backlog"]
    late = fq.overdue(tiny_engine, QueryFilter.build(MARCH))
    assert list(late["source_id"]) == ["9"]
    assert late["days_overdue"].iloc[0] == pytest.approx(11.0)
    assert late["age_days"].iloc[0] == pytest.approx(16.0)
    assert fq.overdue_count(tiny_engine, QueryFilter.build(MARCH)) == 1


def test_satisfaction_records_and_filters(tiny_engine):
    assert list(fq.satisfaction(tiny_engine, QueryFilter.build(MARCH))["reports"]) == [0, 0, 1, 1, 1]
    assert list(fq.records(tiny_engine, QueryFilter.build(MARCH))["source_id"]) == ["5", "4", "7", "6", "2", "1"]
    assert list(fq.records(tiny_engine, QueryFilter.build(MARCH), limit=2)["source_id"]) == ["5", "4"]
    only_a = QueryFilter.build(MARCH, ["A"])
    assert fq.volume(tiny_engine, only_a)["received"].sum() == 2
    assert fq.records(tiny_engine, QueryFilter.build(MARCH, dimensions={"category": ["noise"]})).empty
    assert fq.distinct_values(tiny_engine, "agency") == ["X"]
    with pytest.raises(ValueError):
        fq.distinct_values(tiny_engine, "status; drop table feedback")


# ------------------------------------------------------------------ the page
def run_page(monkeypatch, url: str, params: dict[str, str]) -> AppTest:
    return page_support.run_page(monkeypatch, url, params, PAGE)


def shown(app: AppTest, key: str) -> str:
    return page_support.metric_value(app, t(f"kpi.{key}"))


def pandas_feedback_figures(url: str, period: Period, areas=(), categories=(), agencies=()) -> dict:
    """The page's headline figures recomputed independently with pandas from the raw table."""
    engine = make_engine(url, read_only=True)
    with engine.connect() as connection:
        rows = pd.read_sql_query(select(schema.feedback), connection)
    engine.dispose()
    if areas:
        rows = rows[rows["area_code"].isin(areas)]
    if categories:
        rows = rows[rows["category"].isin(categories)]
    if agencies:
        rows = rows[rows["agency"].isin(agencies)]
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end + timedelta(days=1))
    received = rows[(rows["received_at"] >= start) & (rows["received_at"] < end)]
    resolved = rows[(rows["resolved_at"] >= start) & (rows["resolved_at"] < end)]
    with_due = resolved[resolved["due_at"].notna()]
    on_time = with_due[with_due["resolved_at"] <= with_due["due_at"]]
    open_at_end = rows[
        (rows["received_at"] < end)
        & (rows["status"] != "rejected")
        & (rows["resolved_at"].isna() | (rows["resolved_at"] >= end))
    ]
    return {
        "received": len(received),
        "resolved": len(resolved),
        "resolved_on_time_pct": round(100 * len(on_time) / len(with_due), 1) if len(with_due) else None,
        "open_backlog": len(open_at_end),
        "overdue": int((open_at_end["due_at"] < end).sum()),
    }


@pytest.mark.parametrize(
    ("combination", "received"),
    [
        ({}, 535),
        ({"area": ["19753", "19789"]}, 119),
        ({"category": ["waste_environment", "water_drainage"], "area": ["19753"]}, 28),
    ],
    ids=["city", "two-wards", "categories-and-ward"],
)
def test_page_figures_equal_an_independent_pandas_computation(
    monkeypatch, demo_db_url, demo_now, combination, received
):
    period = Period(demo_now.date() - timedelta(days=59), demo_now.date())
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    params.update({key: ",".join(values) for key, values in combination.items()})
    app = run_page(monkeypatch, demo_db_url, params)
    expected = pandas_feedback_figures(
        demo_db_url, period, combination.get("area", ()), combination.get("category", ())
    )
    # Reports received in the demo's last 60 days, counted in SQL as well (tests/demo_sql.py).
    columns = {"category": combination["category"]} if "category" in combination else None
    assert demo_sql.feedback_figures(demo_db_url, period, combination.get("area", ()), columns)["received"] == received
    assert expected["received"] == received
    assert shown(app, "feedback.received") == format_number(expected["received"])
    assert shown(app, "feedback.resolved") == format_number(expected["resolved"])
    assert (
        shown(app, "feedback.resolved_on_time_pct") == format_number(expected["resolved_on_time_pct"], "vi", 1) + " %"
    )
    assert shown(app, "feedback.open_backlog") == format_number(expected["open_backlog"])
    assert app.session_state["overdue_shown"] == expected["overdue"]


def test_page_filters_round_trip_through_the_url(monkeypatch, demo_db_url):
    params = {
        "lang": "en",
        "from": "2026-09-01",
        "to": "2026-10-31",
        "compare": "previous_period",
        "area": "19753",
        "category": "water_drainage,trees_parks",
        "grain": "week",
    }
    first = run_page(monkeypatch, demo_db_url, params)
    written = {key: first.query_params[key] for key in params}
    assert written == params
    second = run_page(monkeypatch, demo_db_url, written)
    assert second.session_state["dim_category"] == ["water_drainage", "trees_parks"]
    assert second.session_state["feedback_grain"] == "week"


def test_agency_filter_narrows_the_page(monkeypatch, demo_db_url, demo_now):
    engine = make_engine(demo_db_url, read_only=True)
    agency = (
        fq.by_agency(engine, QueryFilter.build(Period(demo_now.date() - timedelta(days=29), demo_now.date())))
        .sort_values("received")
        .iloc[-1]["agency"]
    )
    engine.dispose()
    city = run_page(monkeypatch, demo_db_url, {})
    narrowed = run_page(monkeypatch, demo_db_url, {"agency": agency})
    assert narrowed.session_state["dim_agency"] == [agency]
    assert (
        0
        < int(shown(narrowed, "feedback.received").replace(".", ""))
        < int(shown(city, "feedback.received").replace(".", ""))
    )
