"""Traffic page in AppTest against the seeded demo database: tiles, silent sensors, link parameters."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import page_support
import pytest
from streamlit.testing.v1 import AppTest
from traffic_support import last_30_days

from dashboard.db import traffic_queries as tq
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "traffic.py")


@pytest.fixture
def frozen_now(monkeypatch, demo_now):
    """The page's "now" is the demo database's clock, so silent sensors do not depend on the wall clock."""
    from dashboard import periods

    monkeypatch.setattr(periods, "local_now", lambda: demo_now)
    return demo_now


def run_page(monkeypatch, url: str, params: dict[str, str]) -> AppTest:
    return page_support.run_page(monkeypatch, url, params, PAGE)


def tile(app: AppTest, label: str) -> str:
    return page_support.metric_value(app, label)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"area": "19753"},
        {"sensor": "S01,S03"},
        {"road": "Lê Lợi", "compare": "same_period_last_year"},
        {"sensor": "S02", "rank": "road", "rank_by": "congestion_index_mean", "heat": "congestion"},
    ],
    ids=["city", "ward", "sensors", "road", "sensor-road-ranking"],
)
def test_page_shows_the_kpi_and_query_figures(monkeypatch, demo_db_url, frozen_now, extra):
    params = {**last_30_days(frozen_now), **extra}
    app = run_page(monkeypatch, demo_db_url, params)
    period = Period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]))
    dimensions = {name: extra[name].split(",") for name in ("sensor", "road") if name in extra}
    areas = extra["area"].split(",") if "area" in extra else None
    engine = make_engine(demo_db_url, read_only=True)
    try:
        expected = kpis.section_kpis(engine, "traffic", period, areas, dimensions)
        query = QueryFilter.build(period, areas or (), dimensions)
        silent = tq.silent_sensors(engine, query, frozen_now)
        in_scope = tq.sensor_last_seen(engine, query, frozen_now)
    finally:
        engine.dispose()
    assert tile(app, t("kpi.traffic.vehicles")) == format_number(expected["vehicles"])
    peak = expected["congestion_index_peak"]
    assert tile(app, t("kpi.traffic.congestion_index_peak")) == (
        "–" if peak is None else format_number(peak, "vi", 1) + " %"
    )
    assert tile(app, t("traffic.silent.kpi")) == f"{len(silent)} / {len(in_scope)}"
    for name, values in dimensions.items():
        assert app.session_state[f"dim_{name}"] == values
    assert len(app.get("plotly_chart")) == 4


def test_demo_silent_sensor_is_flagged(monkeypatch, demo_db_url, frozen_now):
    app = run_page(monkeypatch, demo_db_url, last_30_days(frozen_now))
    assert tile(app, t("traffic.silent.kpi")) == "1 / 8"
    table = app.dataframe[-1].value
    assert list(table[t("traffic.column.minutes_silent")]) == [127]  # silent since 12:30, now 14:37


def test_page_filters_round_trip_through_the_url(monkeypatch, demo_db_url, frozen_now):
    params = {
        "lang": "en",
        "from": "2026-10-01",
        "to": "2026-10-31",
        "compare": "previous_period",
        "area": "19753",
        "sensor": "S01,S02",
        "road": "Cầu Trường Tiền",
        "rank": "road",
        "heat": "congestion",
    }
    first = run_page(monkeypatch, demo_db_url, params)
    written = {key: first.query_params[key] for key in params}
    assert written == params
    second = run_page(monkeypatch, demo_db_url, written)
    assert second.session_state["dim_sensor"] == ["S01", "S02"]
    assert second.session_state["dim_road"] == ["Cầu Trường Tiền"]
    assert second.session_state["traffic_rank_group"] == "road"
    assert second.session_state["traffic_heat_measure"] == "congestion"
    assert second.title[0].value == t("traffic.heading", "en")


def test_unknown_sensor_in_the_link_is_named_and_ignored(monkeypatch, demo_db_url, frozen_now):
    app = run_page(monkeypatch, demo_db_url, {**last_30_days(frozen_now), "sensor": "S99"})
    assert app.session_state["dim_sensor"] == []
    assert "S99" in " ".join(w.body for w in app.warning)


def test_empty_period_says_there_is_no_data(monkeypatch, demo_db_url, frozen_now):
    # A link is kept within the data's span, so the empty period is picked in the sidebar, as a person would.
    app = run_page(monkeypatch, demo_db_url, last_30_days(frozen_now))
    app.date_input(key="period_range").set_value((date(2020, 1, 1), date(2020, 1, 31))).run()
    assert not app.exception and app.session_state["period_range"] == (date(2020, 1, 1), date(2020, 1, 31))
    assert tile(app, t("kpi.traffic.vehicles")) == "0"
    assert any(info.body == t("traffic.no_data") for info in app.info)


def test_page_renders_on_an_empty_database(monkeypatch, any_db_url, frozen_now):
    app = run_page(monkeypatch, any_db_url, last_30_days(frozen_now))
    assert tile(app, t("kpi.traffic.vehicles")) == "0"
    assert tile(app, t("traffic.silent.kpi")) == "0 / 0"
