"""Traffic page: its queries against hand-computed tiny tables (DuckDB and PostgreSQL), its chart
builders, and the page itself in AppTest against the seeded demo database."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import page_support
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.charts import theme
from dashboard.charts import traffic as charts
from dashboard.db import schema
from dashboard.db import traffic_queries as tq
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "traffic.py")

WEEK = Period(date(2026, 4, 6), date(2026, 4, 12))  # Monday 6 – Sunday 12 April 2026
TWO_WEEKS = Period(date(2026, 4, 6), date(2026, 4, 19))
PROFILE_DAY = date(2026, 3, 20)  # a Friday
NOW = datetime(2026, 4, 20, 14, 37)  # Monday afternoon


def _sensor(id_, name, road, area, free_flow):
    return dict(
        id=id_,
        name=name,
        road=road,
        area_code=area,
        lat=16.46 + int(id_[1:]) / 1000,
        lon=107.59,
        free_flow_speed_kmh=free_flow,
        capacity_per_hour=2000.0,
    )


SENSORS = [
    _sensor("S1", "Cầu Trường Tiền – hướng Bắc", "Cầu Trường Tiền", "A", 40.0),
    _sensor("S2", "Lê Lợi – hướng Đông", "Lê Lợi", "A", 60.0),
    _sensor("S3", "Lê Lợi – hướng Tây", "Lê Lợi", "B", 50.0),
    _sensor("S4", "Hùng Vương – hướng Bắc", "Hùng Vương", "B", 45.0),  # never reports
    _sensor("S5", "Điện Biên Phủ – hướng Nam", "Điện Biên Phủ", "C", 40.0),  # the typical-profile sensor
]


def _obs(sensor, observed, count, speed):
    return dict(sensor_id=sensor, observed_at=observed, period_minutes=15, vehicle_count=count, mean_speed_kmh=speed)


def apr(day, hour, minute=0):
    return datetime(2026, 4, day, hour, minute)


OBSERVATIONS = [
    # The week of 6–12 April. Travel-time ratio = free flow ÷ speed.
    _obs("S1", apr(6, 8), 100, 20.0),  # ratio 2
    _obs("S1", apr(6, 8, 15), 100, 40.0),  # ratio 1 -> S1 Monday 8h: 200 vehicles, index 50 %
    _obs("S1", apr(7, 17), 200, 40.0),  # ratio 1 -> Tuesday 17h: index 0 %
    _obs("S2", apr(6, 8), 300, 60.0),  # ratio 1
    _obs("S2", apr(6, 9), 100, 30.0),  # ratio 2 -> S2 Monday 9h: index 100 % (its peak)
    _obs("S2", apr(11, 10), 50, None),  # Saturday, no speed: counted, not weighted
    # The next Monday: outside WEEK, inside TWO_WEEKS.
    _obs("S1", apr(13, 8), 1000, 10.0),  # ratio 4
    _obs("S3", apr(13, 8), 10, 25.0),  # ratio 2
    # 20 April, around NOW (14:37): S1 22 min ago, S2 exactly 60 min ago, S3 67 min ago (and one in the future).
    _obs("S1", apr(20, 14, 15), 10, 40.0),
    _obs("S2", apr(20, 13, 37), 10, 60.0),
    _obs("S3", apr(20, 13, 30), 10, 50.0),
    _obs("S3", apr(20, 15, 0), 10, 50.0),
    # S5 on Fridays, hour 8: the 8 Fridays before 20 March have 100, 300, 200, 400 and four without data.
    _obs("S5", datetime(2026, 3, 13, 8), 100, 40.0),
    _obs("S5", datetime(2026, 3, 13, 9, 30), 50, 40.0),
    _obs("S5", datetime(2026, 3, 6, 8), 100, 40.0),
    _obs("S5", datetime(2026, 3, 6, 8, 30), 200, 40.0),
    _obs("S5", datetime(2026, 2, 27, 8, 45), 200, 40.0),
    _obs("S5", datetime(2026, 2, 20, 8), 400, 40.0),
    _obs("S5", datetime(2026, 1, 16, 8), 10_000, 40.0),  # the 9th Friday before: not in the median
    _obs("S5", datetime(2026, 3, 19, 8), 10_000, 40.0),  # a Thursday: not in the median
    _obs("S5", datetime(2026, 3, 20, 8), 120, 40.0),  # the day itself
    _obs("S5", datetime(2026, 3, 20, 14, 45), 30, 40.0),  # its running hour at 14:xx
]


@pytest.fixture
def traffic_engine(any_db_url):
    engine = make_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(schema.traffic_sensors.insert(), SENSORS)
        connection.execute(schema.traffic_observations.insert(), OBSERVATIONS)
    yield engine
    engine.dispose()


def by_key(frame: pd.DataFrame) -> dict:
    return {row["key"]: row for row in frame.to_dict("records")}


# ------------------------------------------------------------------ queries
def test_congestion_per_sensor(traffic_engine):
    rows = by_key(tq.congestion_ranking(traffic_engine, QueryFilter.build(WEEK)))
    assert list(rows) == ["S1", "S2", "S3", "S4", "S5"]
    # S1: 400 vehicles, Σ ratio = 100·2 + 100·1 + 200·1 = 500 -> mean 100·(500/400 − 1) = 25 %; worst hour Monday 8h = 50 %.
    assert rows["S1"]["vehicles"] == 400
    assert rows["S1"]["congestion_index_mean"] == 25.0
    assert rows["S1"]["congestion_index_peak"] == 50.0
    assert rows["S1"]["peak_hour"] == pd.Timestamp(apr(6, 8))
    # S2: 450 vehicles (50 without a speed), Σ ratio = 300 + 200 = 500 over 400 -> 25 %; peak Monday 9h = 100 %.
    assert rows["S2"]["vehicles"] == 450
    assert rows["S2"]["congestion_index_mean"] == 25.0
    assert rows["S2"]["congestion_index_peak"] == 100.0
    assert rows["S2"]["peak_hour"] == pd.Timestamp(apr(6, 9))
    assert rows["S2"]["name"] == "Lê Lợi – hướng Đông"
    # Sensors without observations in the week are listed (map markers) with no index.
    assert rows["S3"]["vehicles"] == 0 and pd.isna(rows["S3"]["congestion_index_peak"])
    assert rows["S4"]["vehicles"] == 0 and pd.isna(rows["S4"]["congestion_index_mean"])


def test_sensor_peak_equals_the_kpi_module(traffic_engine):
    rows = by_key(tq.congestion_ranking(traffic_engine, QueryFilter.build(TWO_WEEKS)))
    for sensor in ("S1", "S2", "S3"):
        expected = kpis.section_kpis(traffic_engine, "traffic", TWO_WEEKS, dimensions={"sensor": [sensor]})
        assert rows[sensor]["vehicles"] == expected["vehicles"]
        assert rows[sensor]["congestion_index_peak"] == expected["congestion_index_peak"]


def test_congestion_per_road_and_filters(traffic_engine):
    roads = by_key(tq.congestion_ranking(traffic_engine, QueryFilter.build(WEEK), "road"))
    assert set(roads) == {"Cầu Trường Tiền", "Lê Lợi", "Hùng Vương", "Điện Biên Phủ"}
    assert roads["Lê Lợi"]["sensors"] == 2
    assert roads["Lê Lợi"]["vehicles"] == 450
    assert roads["Lê Lợi"]["congestion_index_peak"] == 100.0
    assert roads["Cầu Trường Tiền"]["congestion_index_mean"] == 25.0
    in_b = tq.congestion_ranking(traffic_engine, QueryFilter.build(WEEK, ["B"]))
    assert list(in_b["key"]) == ["S3", "S4"] and in_b["vehicles"].sum() == 0
    one_road = tq.congestion_ranking(traffic_engine, QueryFilter.build(TWO_WEEKS, dimensions={"road": ["Lê Lợi"]}))
    assert list(one_road["key"]) == ["S2", "S3"]
    assert list(one_road["vehicles"]) == [450, 10]
    with pytest.raises(ValueError, match="group must be one of"):
        tq.congestion_ranking(traffic_engine, QueryFilter.build(WEEK), "ward")


def test_hour_weekday_matrix(traffic_engine):
    cells = tq.hour_weekday(traffic_engine, QueryFilter.build(TWO_WEEKS)).set_index(["weekday", "hour"])
    monday_8 = cells.loc[(1, 8)]
    # Two Mondays: 6 April (S1 200 + S2 300) and 13 April (S1 1000 + S3 10).
    assert monday_8["days"] == 2
    assert monday_8["vehicles"] == 1510
    assert monday_8["vehicles_per_day"] == 755.0
    # Σ ratio = 200 + 100 + 300 + 4000 + 20 = 4620 over 1510 vehicles -> 100·(4620/1510 − 1) = 205.96 -> 206.0
    assert monday_8["congestion_index"] == 206.0
    assert cells.loc[(1, 9), "congestion_index"] == 100.0
    assert cells.loc[(2, 17), "vehicles"] == 200 and cells.loc[(2, 17), "congestion_index"] == 0.0
    assert cells.loc[(6, 10), "vehicles"] == 50 and pd.isna(cells.loc[(6, 10), "congestion_index"])
    assert len(cells) == 4


def test_previous_same_weekdays():
    days = tq.previous_same_weekdays(PROFILE_DAY)
    assert len(days) == 8 and days[0] == date(2026, 3, 13) and days[-1] == date(2026, 1, 23)
    assert {d.isoweekday() for d in days} == {5}


def test_typical_profile_is_the_median_of_previous_same_weekdays(traffic_engine):
    query = QueryFilter.build(WEEK, dimensions={"sensor": ["S5"]})
    typical = tq.typical_profile(traffic_engine, query, PROFILE_DAY).set_index("hour")
    # Hour 8 of the 8 previous Fridays: 100, 300, 200, 400 (four Fridays without data are left out) -> 250.
    assert typical.loc[8, "typical_vehicles"] == 250.0
    assert typical.loc[8, "days"] == 4
    assert typical.loc[9, "typical_vehicles"] == 50.0 and typical.loc[9, "days"] == 1
    assert list(typical.index) == [8, 9]
    today = tq.day_profile(traffic_engine, query, PROFILE_DAY).set_index("hour")["vehicles"].to_dict()
    assert today == {8: 120, 14: 30}
    running = tq.day_profile(traffic_engine, query, PROFILE_DAY, until=datetime(2026, 3, 20, 14)).set_index("hour")
    assert running["vehicles"].to_dict() == {8: 120}
    both = tq.profile_comparison(traffic_engine, query, PROFILE_DAY, until=datetime(2026, 3, 20, 14))
    assert list(both["hour"]) == list(range(24))
    assert both.loc[8, "vehicles"] == 120 and both.loc[8, "typical_vehicles"] == 250.0
    assert pd.isna(both.loc[14, "vehicles"]) and both.loc[0, "days"] == 0
    # Another area's sensors are not part of the profile.
    assert tq.typical_profile(traffic_engine, QueryFilter.build(WEEK, ["A"]), PROFILE_DAY).empty


def test_profile_day_leaves_out_the_running_hour():
    assert tq.profile_day(Period(date(2026, 4, 1), date(2026, 4, 20)), NOW) == (
        date(2026, 4, 20),
        datetime(2026, 4, 20, 14),
    )
    assert tq.profile_day(WEEK, NOW) == (date(2026, 4, 12), None)
    assert tq.profile_day(Period(date(2026, 4, 1), date(2026, 4, 30)), NOW)[0] == date(2026, 4, 20)
    # A feed that stopped on 17 April at 09:15: that day is shown, without its last (incomplete) hour.
    assert tq.profile_day(Period(date(2026, 4, 1), date(2026, 4, 20)), NOW, newest=datetime(2026, 4, 17, 9, 15)) == (
        date(2026, 4, 17),
        datetime(2026, 4, 17, 9),
    )
    assert tq.profile_day(WEEK, NOW, newest=datetime(2026, 4, 20, 14, 15)) == (date(2026, 4, 12), None)


def test_silent_sensors_relative_to_now(traffic_engine):
    silent = tq.silent_sensors(traffic_engine, QueryFilter.build(WEEK), NOW)
    # S1 reported 22 min ago and S2 exactly 60 min ago: not silent. S3's last report before NOW was 67 min
    # ago (its 15:00 row is after NOW); S4 never reported; S5 last reported on 20 March at 14:45.
    assert list(silent["id"]) == ["S4", "S5", "S3"]
    minutes = dict(zip(silent["id"], silent["minutes_silent"], strict=True))
    assert pd.isna(minutes["S4"])
    assert minutes["S3"] == 67
    assert minutes["S5"] == 31 * 24 * 60 - 8
    assert silent.loc[2, "last_observed_at"] == pd.Timestamp(apr(20, 13, 30))
    assert tq.silent_sensors(traffic_engine, QueryFilter.build(WEEK, ["A"]), NOW).empty
    assert list(tq.silent_sensors(traffic_engine, QueryFilter.build(WEEK), NOW, silence_minutes=59)["id"]) == [
        "S4",
        "S5",
        "S3",
        "S2",
    ]
    assert len(tq.sensor_last_seen(traffic_engine, QueryFilter.build(WEEK, dimensions={"road": ["Lê Lợi"]}), NOW)) == 2


# ------------------------------------------------------------------ chart builders
def ranking_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": ["S1", "S2", "S3"],
            "name": ["Cầu A", "Cầu B", "Cầu C"],
            "road": ["R1", "R1", "R2"],
            "area_code": ["A", "A", "B"],
            "lat": [16.46, 16.47, 16.45],
            "lon": [107.58, 107.59, 107.60],
            "sensors": [1, 1, 1],
            "vehicles": [400, 900, 0],
            "congestion_index_mean": pd.array([25.0, 10.0, None], dtype="Float64"),
            "congestion_index_peak": pd.array([50.0, 80.0, None], dtype="Float64"),
            "peak_hour": pd.to_datetime([apr(6, 8), apr(6, 9), None]),
        }
    )


def areas_frame() -> pd.DataFrame:
    square = '{"type": "Polygon", "coordinates": [[[107.5, 16.4], [107.7, 16.4], [107.7, 16.5], [107.5, 16.5], [107.5, 16.4]]]}'
    return pd.DataFrame({"code": ["A"], "name": ["Phường Thuận Hóa"], "geometry_geojson": [square]})


def test_sensor_map_is_offline_and_clickable():
    figure = charts.sensor_map(ranking_frame(), areas_frame(), "vi", selected=["S2"])
    assert figure.layout.map.style == "white-bg"
    assert [layer.type for layer in figure.layout.map.layers] == ["fill", "line"]
    idle, active = figure.data
    assert [row[0] for row in idle.customdata] == ["S3"]
    assert [row[0] for row in active.customdata] == ["S1", "S2"]
    assert list(active.marker.color) == [50.0, 80.0]
    assert active.marker.size[1] > active.marker.size[0]  # more vehicles, bigger marker
    assert active.selectedpoints == (1,) and idle.selectedpoints == ()
    assert active.customdata[1][2] == "900" and active.customdata[1][3] == "80,0 %"
    assert active.marker.cmax == 2 * kpis.KPI_BY_KEY["traffic.congestion_index_peak"].target


def test_heatmap_places_weekdays_and_hours():
    frame = pd.DataFrame(
        {
            "weekday": [1, 7],
            "hour": [8, 23],
            "days": [2, 1],
            "vehicles": [1510, 5],
            "vehicles_per_day": [755.0, 5.0],
            "congestion_index": pd.array([206.0, None], dtype="Float64"),
        }
    )
    vehicles = charts.hour_weekday_heatmap(frame, "vehicles", "vi")
    z = vehicles.data[0].z
    assert len(z) == 7 and len(z[0]) == 24
    assert z[0][8] == 755.0 and z[6][23] == 5.0 and pd.isna(z[3][3])
    assert vehicles.data[0].y[0] == "Thứ Hai" and vehicles.data[0].text[0][8] == "755"
    congestion = charts.hour_weekday_heatmap(frame, "congestion", "en")
    assert congestion.data[0].z[0][8] == 206.0 and congestion.data[0].zmin == 0
    assert congestion.data[0].y[6] == "Sunday"
    assert charts.hour_weekday_heatmap(frame.iloc[0:0], "vehicles", "vi").data[0].z.shape == (7, 24)


def test_profile_chart_has_the_day_and_the_typical_line():
    frame = pd.DataFrame(
        {
            "hour": range(24),
            "vehicles": pd.array([None] * 8 + [120] + [None] * 15, dtype="Int64"),
            "typical_vehicles": [None] * 8 + [250.0] + [None] * 15,
            "days": [0] * 8 + [4] + [0] * 15,
        }
    )
    figure = charts.profile_chart(frame, "Hôm nay", 8, "vi")
    bars, line = figure.data
    assert bars.name == "Hôm nay" and bars.y[8] == 120
    assert line.y[8] == 250.0 and "8" in line.name


def test_ranking_chart_puts_the_worst_on_top_with_status_colours():
    figure = charts.congestion_ranking_chart(ranking_frame(), "sensor", "congestion_index_peak", "vi")
    bar = figure.data[0]
    assert list(bar.y) == ["Cầu A", "Cầu B"]  # Plotly draws the last bar on top
    assert [row[0] for row in bar.customdata] == ["S1", "S2"]
    assert list(bar.marker.color) == [theme.status_colour("on_target"), theme.status_colour("off_target")]
    assert figure.layout.shapes[0].x0 == 50.0
    roads = charts.congestion_ranking_chart(
        ranking_frame().assign(key=["R1", "R1b", "R2"]), "road", "congestion_index_mean", "vi"
    )
    assert list(roads.data[0].y) == ["R1b", "R1"] and not roads.layout.shapes


def test_tables_are_labelled_and_never_empty_of_meaning():
    table = charts.ranking_table(ranking_frame(), "sensor", "congestion_index_peak", "vi")
    assert list(table.columns)[:3] == [t("traffic.column.sensor"), t("traffic.column.name"), t("traffic.column.road")]
    assert list(table[t("traffic.column.sensor")]) == ["S2", "S1", "S3"]
    assert table[t("traffic.column.peak_hour")].iloc[0] == "09:00 06/04/2026"
    silent = pd.DataFrame(
        {
            "id": ["S4", "S3"],
            "name": ["a", "b"],
            "road": ["r", "r"],
            "area_code": ["B", "B"],
            "last_observed_at": pd.to_datetime([None, apr(20, 13, 30)]),
            "minutes_silent": pd.array([None, 67], dtype="Int64"),
        }
    )
    shown = charts.silent_table(silent, "vi")
    assert list(shown[t("traffic.column.last_observed_at")]) == [t("traffic.silent.never"), "13:30 20/04/2026"]


# ------------------------------------------------------------------ the page
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


def last_30_days(now: datetime) -> dict[str, str]:
    return {"from": (now.date() - timedelta(days=29)).isoformat(), "to": now.date().isoformat()}


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


# ------------------------------------------------------------------ a real browser clicks a sensor
MARKER_PIXELS = """() => {
    const chart = document.querySelector('.js-plotly-plot');
    const map = chart._fullLayout.map._subplot.map;
    const last = chart.calcdata.length - 1;
    return chart.calcdata[last].map(point => {
        const pixel = map.project(point.lonlat);
        return [pixel.x, pixel.y, chart._fullData[last].customdata[point.i][0]];
    });
}"""


@pytest.mark.browser
def test_clicking_a_sensor_filters_the_page(demo_db_url, demo_now):
    from urllib.parse import parse_qs, urlsplit

    from dashboard.testing import browser

    pytest.importorskip("playwright.sync_api")
    if not Path(browser.CHROMIUM).exists():
        pytest.skip(f"no Chromium at {browser.CHROMIUM}")
    artifacts = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
    params = last_30_days(demo_now)
    with (
        browser.running_app(demo_db_url, log_path=artifacts / "streamlit-traffic-click.log") as base,
        browser.browser() as chromium,
    ):
        page = browser.new_page(chromium)
        page.goto(f"{base}/giao-thong?from={params['from']}&to={params['to']}")
        browser.wait_for_app(page, charts=True, map_canvas=True)
        box = page.locator(browser.MAP_CANVAS).first.bounding_box()
        markers = [
            m for m in page.evaluate(MARKER_PIXELS) if 20 < m[0] < box["width"] - 90 and 20 < m[1] < box["height"] - 20
        ]
        assert markers, "no sensor marker inside the map"
        x, y, sensor = markers[0]
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function("() => window.location.search.includes('sensor=')", timeout=30_000)
        browser.wait_for_app(page, charts=True, map_canvas=True)
        browser.full_page_screenshot(page, artifacts / "traffic-sensor-click.png")
        assert page.locator(browser.EXCEPTION).count() == 0
        clicked = parse_qs(urlsplit(page.url).query)["sensor"][0]
        # The two directions of a site share a spot; the click picks the marker drawn on top.
        number = int(sensor[1:])
        partner = f"S{number + 1 if number % 2 else number - 1:02d}"  # demo sensors S01/S02, S03/S04, … share a site
        assert clicked in {sensor, partner}
        page.context.close()


def test_page_renders_on_an_empty_database(monkeypatch, any_db_url, frozen_now):
    app = run_page(monkeypatch, any_db_url, last_30_days(frozen_now))
    assert tile(app, t("kpi.traffic.vehicles")) == "0"
    assert tile(app, t("traffic.silent.kpi")) == "0 / 0"
