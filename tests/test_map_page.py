"""Map page: the feedback point/density queries on hand-computed tiny tables (DuckDB and PostgreSQL),
the map-layer builders, the page in AppTest against the seeded demo database, and a real browser
clicking a ward."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import page_support
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.boundaries import area_frame
from dashboard.charts import map_layers
from dashboard.db import map_queries as mq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.map_queries import FeedbackLayer
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "map.py")
MARCH = Period(date(2026, 3, 1), date(2026, 3, 7))


def _report(id_, received, lat, lon, area="A", category="waste_environment"):
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        received_at=received,
        category=category,
        channel="hue_s_app",
        area_code=area,
        lat=lat,
        lon=lon,
        status="resolved",
        agency="X",
        due_at=None,
        first_response_at=None,
        resolved_at=None,
        satisfaction=None,
        reopened=False,
    )


REPORTS = [
    _report(1, datetime(2026, 3, 2, 8), 16.461, 107.591),  # cell (1646, 10759)
    _report(2, datetime(2026, 3, 3, 9), 16.462, 107.599),  # same cell
    _report(3, datetime(2026, 3, 4, 10), 16.471, 107.591, category="noise"),  # cell (1647, 10759)
    _report(4, datetime(2026, 3, 5, 11), 16.301, 107.701, area="B"),  # cell (1630, 10770)
    _report(5, datetime(2026, 3, 6, 12), None, None),  # no coordinates
    _report(6, datetime(2026, 3, 8, 8), 16.461, 107.591),  # after the period
]


@pytest.fixture
def reports_engine(any_db_url):
    engine = make_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(schema.feedback.insert(), REPORTS)
    yield engine
    engine.dispose()


# ------------------------------------------------------------------ queries
def test_located_reports_are_counted_with_the_filter(reports_engine):
    assert mq.located_feedback_count(reports_engine, QueryFilter.build(MARCH)) == 4
    assert mq.located_feedback_count(reports_engine, QueryFilter.build(MARCH, ["B"])) == 1
    assert mq.located_feedback_count(reports_engine, QueryFilter.build(MARCH, dimensions={"category": ["noise"]})) == 1


def test_points_are_the_newest_up_to_the_limit(reports_engine):
    points = mq.feedback_points(reports_engine, QueryFilter.build(MARCH), limit=2)
    assert list(points["id"]) == [4, 3]
    assert list(points.columns) == ["id", "received_at", "category", "status", "area_code", "lat", "lon"]
    assert len(mq.feedback_points(reports_engine, QueryFilter.build(MARCH))) == 4


def test_grid_counts_reports_per_cell(reports_engine):
    grid = mq.feedback_grid(reports_engine, QueryFilter.build(MARCH), cell_degrees=0.01)
    cells = {
        (round(lat, 3), round(lon, 3)): n for lat, lon, n in zip(grid["lat"], grid["lon"], grid["reports"], strict=True)
    }
    assert cells == {(16.305, 107.705): 1, (16.465, 107.595): 2, (16.475, 107.595): 1}
    coarse = mq.feedback_grid(reports_engine, QueryFilter.build(MARCH), cell_degrees=1.0)
    assert list(coarse["reports"]) == [4] and coarse["lat"].iloc[0] == pytest.approx(16.5)


def test_layer_switches_to_density_above_the_threshold(reports_engine):
    points = mq.feedback_layer(reports_engine, QueryFilter.build(MARCH), threshold=4)
    assert (points.kind, points.total, len(points.frame)) == ("points", 4, 4)
    density = mq.feedback_layer(reports_engine, QueryFilter.build(MARCH), threshold=3, cell_degrees=0.01)
    assert (density.kind, density.total, density.threshold) == ("density", 4, 3)
    assert density.frame["reports"].sum() == 4 and len(density.frame) == 3


# ------------------------------------------------------------------ layer builders
def _square(west, south, size=0.1):
    east, north = west + size, south + size
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]}, separators=(", ", ": "))


GEOMETRY = pd.DataFrame(
    {
        "code": ["A", "B"],
        "name": ["Phường Thuận Hóa", "Xã Phú Vang"],
        "geometry_geojson": [_square(107.5, 16.4), _square(107.9, 16.4)],
    }
)
AREA_TABLE = pd.DataFrame(
    {
        "code": ["A", "B"],
        "name": ["Phường Thuận Hóa", "Xã Phú Vang"],
        "feedback.received_per_10k": [12.5, 3.25],
        "feedback.resolved_on_time_pct": [80.0, None],
        "traffic.congestion_index_peak": [None, 42.0],
    }
)


def test_ward_layer_map_is_offline_and_fits_the_wards():
    layer = map_layers.WARD_LAYER_BY_KEY["feedback_per_10k"]
    figure = map_layers.ward_layer_map(GEOMETRY, AREA_TABLE, layer, "vi", selected=["B"])
    assert figure.layout.map.style == "white-bg"
    assert figure.layout.map.center.lon == pytest.approx(107.95) and figure.layout.map.center.lat == pytest.approx(
        16.45
    )
    city = map_layers.ward_layer_map(GEOMETRY, AREA_TABLE, layer, "vi")  # nothing selected: both wards
    assert city.layout.map.center.lon == pytest.approx(107.75) and city.layout.map.zoom < figure.layout.map.zoom
    assert figure.layout.separators == ",."
    valued = figure.data[-1]
    assert list(valued.locations) == ["A", "B"] and list(valued.z) == [12.5, 3.25]
    assert valued.colorbar.title.text == t("wardmap.layer.feedback_per_10k")
    missing = map_layers.ward_layer_map(GEOMETRY, AREA_TABLE, map_layers.WARD_LAYER_BY_KEY["congestion"], "en")
    assert list(missing.data[0].locations) == ["A"] and list(missing.data[1].locations) == ["B"]


def test_point_layer_never_changes_the_area_filter():
    points = pd.DataFrame(
        {
            "id": [1],
            "received_at": [datetime(2026, 3, 2, 8)],
            "category": ["noise"],
            "status": ["resolved"],
            "area_code": ["A"],
            "lat": [16.46],
            "lon": [107.59],
        }
    )
    figure = map_layers.ward_layer_map(GEOMETRY, AREA_TABLE, map_layers.WARD_LAYERS[0], "vi")
    map_layers.add_feedback_layer(figure, FeedbackLayer("points", 1, points, 5000), "vi")
    trace = figure.data[-1]
    assert trace.type == "scattermap" and trace.customdata is None
    assert t("category.noise") in trace.text[0] and "08:00 02/03/2026" in trace.text[0]
    assert not figure.layout.annotations


def test_density_layer_says_so_on_the_map():
    cells = pd.DataFrame({"lat": [16.465, 16.475], "lon": [107.595, 107.595], "reports": [1, 100]})
    layer = FeedbackLayer("density", 183_245, cells, 5_000)
    figure = map_layers.ward_layer_map(GEOMETRY, AREA_TABLE, map_layers.WARD_LAYERS[0], "vi")
    map_layers.add_feedback_layer(figure, layer, "vi")
    assert figure.layout.annotations[0].text == "Hiển thị mật độ vì có 183.245 điểm > 5.000"
    assert figure.data[-1].marker.size[1] > figure.data[-1].marker.size[0]
    assert figure.data[-1].customdata is None
    assert map_layers.feedback_layer_note(layer, "en").startswith(
        "Showing density because there are 183,245 points > 5,000"
    )


def test_comparison_table_puts_a_ward_beside_the_city():
    ward = {"feedback": {"received": 1234, "resolved_on_time_pct": 87.25}, "dossiers": {}, "traffic": {}}
    city = {"feedback": {"received": 56789, "resolved_on_time_pct": 85.9}, "dossiers": {}, "traffic": {}}
    for section in ("feedback", "dossiers", "traffic"):
        for definition in [d for d in kpis.KPI_DEFINITIONS if d.section == section]:
            ward[section].setdefault(definition.name, None)
            city[section].setdefault(definition.name, None)
    table = map_layers.comparison_table({"Phường Phú Xuân": ward, t("wardmap.city"): city}, "vi").set_index(
        t("wardmap.compare.indicator")
    )
    assert table.loc[t("kpi.feedback.received"), "Phường Phú Xuân"] == "1.234"
    assert table.loc[t("kpi.feedback.received"), t("wardmap.city")] == "56.789"
    assert table.loc[t("kpi.feedback.resolved_on_time_pct"), "Phường Phú Xuân"] == "87,2 %"
    assert table.loc[t("kpi.traffic.vehicles"), t("wardmap.city")] == "–"
    assert len(table) == len(kpis.KPI_DEFINITIONS)


def test_ward_ranking_worst_first_without_missing_values():
    on_time = map_layers.ward_ranking(AREA_TABLE, map_layers.WARD_LAYER_BY_KEY["feedback_on_time"], "vi")
    assert list(on_time[t("wardmap.column.code")]) == ["A"]
    density = map_layers.ward_ranking(AREA_TABLE, map_layers.WARD_LAYER_BY_KEY["feedback_per_10k"], "vi")
    assert list(density[t("wardmap.layer.feedback_per_10k")]) == [12.5, 3.2]


def test_fit_view_contains_the_points():
    view = map_layers.fit_view([16.0, 16.8], [107.0, 108.0], 900, 640)
    assert view["center"] == {"lat": pytest.approx(16.4), "lon": pytest.approx(107.5)}
    assert 8 < view["zoom"] < 10
    assert map_layers.fit_view([], [], 900, 640)["zoom"] == 11
    assert map_layers.fit_view([16.46], [107.59], 900, 640)["zoom"] == 15.0


# ------------------------------------------------------------------ the page
def run_page(monkeypatch, url: str, params: dict[str, str], points: bool = False) -> AppTest:
    app = page_support.run_page(monkeypatch, url, params, PAGE)
    if points:
        app.toggle(key="map_points").set_value(True).run()
        assert not app.exception, [e.message for e in app.exception]
        assert not app.error, [e.body for e in app.error]
    return app


def last_30_days(now: datetime) -> tuple[Period, dict[str, str]]:
    period = Period(now.date() - timedelta(days=29), now.date())
    return period, {"from": period.start.isoformat(), "to": period.end.isoformat()}


def ranking_shown(app: AppTest) -> pd.DataFrame:
    return app.dataframe[-1].value


@pytest.mark.parametrize("layer", map_layers.WARD_LAYERS, ids=[layer.key for layer in map_layers.WARD_LAYERS])
def test_each_layer_ranks_the_kpi_module_figures(monkeypatch, demo_db_url, demo_now, layer):
    period, params = last_30_days(demo_now)
    app = run_page(monkeypatch, demo_db_url, {**params, "layer": layer.key})
    engine = make_engine(demo_db_url, read_only=True)
    try:
        expected = kpis.compute_area_kpis(engine, period).set_index("code")[layer.column].dropna()
    finally:
        engine.dispose()
    shown = ranking_shown(app).set_index(t("wardmap.column.code"))[t(f"wardmap.layer.{layer.key}")]
    assert len(shown) == len(expected) > 0
    for code, value in shown.items():
        assert value == pytest.approx(round(float(expected[code]), layer.decimals))
    assert shown.is_monotonic_increasing if layer.higher_is_better else shown.is_monotonic_decreasing
    assert any(info.body == t("wardmap.click_hint") for info in app.info)  # nothing selected: the hint


def test_clicked_ward_is_shown_beside_the_city(monkeypatch, demo_db_url, demo_now):
    period, params = last_30_days(demo_now)
    app = run_page(monkeypatch, demo_db_url, {**params, "area": "19753"})
    engine = make_engine(demo_db_url, read_only=True)
    try:
        ward = kpis.compute_kpis(engine, period, ["19753"])
        city = kpis.compute_kpis(engine, period)
    finally:
        engine.dispose()
    table = app.dataframe[0].value.set_index(t("wardmap.compare.indicator"))
    assert list(table.columns) == ["Phường Phú Xuân", t("wardmap.city")]
    assert table.loc[t("kpi.feedback.received"), "Phường Phú Xuân"] == format_number(ward["feedback"]["received"])
    assert table.loc[t("kpi.feedback.received"), t("wardmap.city")] == format_number(city["feedback"]["received"])
    assert table.loc[t("kpi.dossiers.received"), "Phường Phú Xuân"] == format_number(ward["dossiers"]["received"])
    assert (
        table.loc[t("kpi.feedback.resolved_on_time_pct"), t("wardmap.city")]
        == format_number(city["feedback"]["resolved_on_time_pct"], "vi", 1) + " %"
    )
    assert 0 < ward["feedback"]["received"] < city["feedback"]["received"]


def test_point_layer_switches_to_density_above_a_lowered_threshold(monkeypatch, demo_db_url, demo_now):
    period, params = last_30_days(demo_now)
    engine = make_engine(demo_db_url, read_only=True)
    try:
        total = mq.located_feedback_count(engine, QueryFilter.build(period))
    finally:
        engine.dispose()
    assert total > 50
    points = run_page(monkeypatch, demo_db_url, params, points=True)
    captions = " ".join(c.value for c in points.caption)
    assert t("wardmap.points_shown", count=format_number(total)) in captions
    monkeypatch.setattr(mq, "POINT_THRESHOLD", 50)
    density = run_page(monkeypatch, demo_db_url, params, points=True)
    captions = " ".join(c.value for c in density.caption)
    assert t("wardmap.density_shown", count=format_number(total), threshold="50") in captions


def test_page_filters_round_trip_through_the_url(monkeypatch, demo_db_url):
    params = {
        "lang": "en",
        "from": "2026-09-01",
        "to": "2026-10-31",
        "compare": "same_period_last_year",
        "area": "19753,19789",
        "layer": "congestion",
    }
    first = run_page(monkeypatch, demo_db_url, params)
    written = {key: first.query_params[key] for key in params}
    assert written == params
    second = run_page(monkeypatch, demo_db_url, written)
    assert second.session_state["areas"] == ["19753", "19789"]
    assert second.session_state["map_layer"] == "congestion"
    assert second.title[0].value == t("wardmap.heading", "en")
    assert list(second.dataframe[0].value.columns)[-1] == t("wardmap.city", "en")


def test_page_renders_on_an_empty_database(monkeypatch, any_db_url, demo_now):
    _, params = last_30_days(demo_now)
    app = run_page(monkeypatch, any_db_url, params, points=True)
    assert ranking_shown(app).empty
    assert any(info.body == t("wardmap.no_polygons") for info in app.info)


# ------------------------------------------------------------------ a real browser clicks a ward
WARD_NAMES = dict(zip(*[area_frame()[column] for column in ("code", "name")], strict=True))


@pytest.mark.browser
def test_clicking_a_ward_filters_the_page(web, chromium, demo_db_url, demo_now):
    artifacts = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
    _, params = last_30_days(demo_now)
    with web.running_app(demo_db_url, log_path=artifacts / "streamlit-map-click.log") as base:
        page = web.new_page(chromium)
        page.goto(f"{base}/ban-do?from={params['from']}&to={params['to']}")
        web.wait_for_app(page, map_canvas=True)
        assert "area=" not in page.url
        assert t("wardmap.click_hint") in page.locator("body").inner_text()
        box = page.locator(web.MAP_CANVAS).first.bounding_box()
        # The map is fitted to the city, so its centre lies on the central wards (Kim Long / Phú Xuân).
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("() => window.location.search.includes('area=')", timeout=30_000)
        web.wait_for_app(page, map_canvas=True)
        web.full_page_screenshot(page, artifacts / "map-ward-click.png")
        assert page.locator(web.EXCEPTION).count() == 0
        code = parse_qs(urlsplit(page.url).query)["area"][0]
        text = page.locator("body").inner_text()
        assert WARD_NAMES[code] in text  # its chip (and the comparison column heading)
        assert t("wardmap.click_hint") not in text  # the ward-vs-city table replaced the hint
        page.context.close()
