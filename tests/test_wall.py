"""The wall screen: rotation parsing and schedule, today against a typical day (hand-computed tables on
DuckDB and PostgreSQL), freshness, alerts, keeping the last good figures, and the page itself in AppTest
(figures equal to the KPI module; an outage banner with the last figures kept, then recovery)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import demo_sql
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.db import schema
from dashboard.db.engine import DatabaseUnavailable, make_engine
from dashboard.i18n import t
from dashboard.metrics import kpis
from dashboard.wall import data as wall_queries
from dashboard.wall import panels as wall_panels
from dashboard.wall import render as draw
from dashboard.wall import rules as wall

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "wall.py")


# ---------------------------------------------------------------- rotation
def test_parse_rotation_one_dwell_per_panel_or_one_for_all():
    assert wall.parse_rotation("overview,map,traffic", "20,40,20") == wall.Rotation(
        ("overview", "map", "traffic"), (20, 40, 20)
    )
    assert wall.parse_rotation(" Map , forecast ", "15") == wall.Rotation(("map", "forecast"), (15, 15))


@pytest.mark.parametrize(
    ("panels", "dwell", "message"),
    [
        ("overview,mapp", "20", "unknown panel 'mapp': choose from overview, map, traffic, procedures, forecast"),
        ("", "20", "no panels given"),
        (
            "overview,map,traffic",
            "20,40",
            "3 panels but 2 dwell values: give one value for all panels or one per panel",
        ),
        ("overview", "twenty", "dwell 'twenty' is not a whole number of seconds"),
        ("overview", "2", "dwell 2 s is outside 3–3600 s"),
        ("overview", "", "no dwell given"),
    ],
)
def test_parse_rotation_explains_bad_values(panels, dwell, message):
    with pytest.raises(wall.RotationError) as error:
        wall.parse_rotation(panels, dwell)
    assert message in str(error.value)


def test_schedule_follows_each_dwell_and_repeats():
    rotation = wall.parse_rotation("overview,map,traffic", "20,40,20")
    assert rotation.cycle_seconds == 80 and rotation.tick_seconds == 20
    assert rotation.slack_seconds == 10
    assert rotation.step(0, 0) == 0 and rotation.step(0, 9.9) == 0
    assert rotation.step(0, 18.5) == 1 and rotation.step(0, 20) == 1  # a tick a little early still changes
    assert rotation.step(1, 20) == 1 and rotation.step(1, 38.5) == 2  # the map keeps its 40 s
    assert rotation.step(2, 20) == 0  # and the cycle repeats


def test_a_late_timer_delays_but_never_skips_a_panel():
    rotation = wall.parse_rotation("overview,map,traffic", "20,40,20")
    assert rotation.step(0, 95) == 1  # 95 s late: the map still comes next, not the traffic panel
    assert wall.parse_rotation("map,traffic", "6,9").tick_seconds == 3


def test_url_overrides_settings_and_bad_values_fall_back(monkeypatch):
    monkeypatch.setenv("IOC_WALL_PANELS", "map,forecast")
    monkeypatch.setenv("IOC_WALL_DWELL_SECONDS", "30,10")
    assert wall.wall_rotation({}) == (wall.Rotation(("map", "forecast"), (30, 10)), None)
    assert wall.wall_rotation({"dwell": "5"}) == (wall.Rotation(("map", "forecast"), (5, 5)), None)
    assert wall.wall_rotation({"panels": "traffic", "dwell": "7"}) == (wall.Rotation(("traffic",), (7,)), None)
    rotation, problem = wall.wall_rotation({"panels": "weather"})
    assert rotation == wall.Rotation(("map", "forecast"), (30, 10))
    assert problem.startswith("?panels/dwell: unknown panel 'weather'")
    assert wall.wall_rotation({"panels": "weather"}, "vi")[1].startswith(
        "?panels/dwell: không có bảng 'weather': chọn trong overview, map"
    )  # in the wall's language
    monkeypatch.setenv("IOC_WALL_DWELL_SECONDS", "1,2,3")
    rotation, problem = wall.wall_rotation({})
    assert rotation == wall.DEFAULT_ROTATION and "IOC_WALL_DWELL_SECONDS" in problem


# ---------------------------------------------------------------- today against a typical day
def test_typical_kpis_is_the_median_of_days_with_records():
    days = [
        {
            "feedback": {"received": n, "resolved": 0, "resolved_on_time_pct": pct},
            "traffic": {"vehicles": 0, "congestion_index_peak": None},
        }
        for n, pct in ((1, 80.0), (2, None), (3, 90.0), (10, 70.0), (0, 99.0))
    ]
    medians, counted = wall.typical_kpis(days)
    assert counted == {"feedback": 4, "dossiers": 0, "traffic": 0}  # the day without any record is left out
    assert medians["feedback"]["received"] == 2.5  # median of 1, 2, 3, 10
    assert medians["feedback"]["resolved_on_time_pct"] == 80.0  # median of 80, 90, 70 (None left out)
    assert medians["traffic"]["vehicles"] is None and medians["dossiers"]["received"] is None


def test_windows_are_the_same_part_of_the_day_on_previous_same_weekdays():
    as_of = datetime(2026, 3, 27, 14, 0)  # a Friday
    windows = wall.typical_windows(as_of, weeks=3)
    assert [(w.start_at, w.end_before) for w in windows] == [
        (datetime(2026, 3, 20), datetime(2026, 3, 20, 14)),
        (datetime(2026, 3, 13), datetime(2026, 3, 13, 14)),
        (datetime(2026, 3, 6), datetime(2026, 3, 6, 14)),
    ]
    assert wall.last_full_hour(datetime(2026, 3, 27, 14, 37)) == wall.TimeWindow(
        datetime(2026, 3, 27, 13), datetime(2026, 3, 27, 14)
    )
    assert wall.data_clock(
        datetime(2026, 3, 27, 14, 37, 5), {"feedback": datetime(2026, 3, 25, 9, 12, 40), "traffic": None}
    ) == datetime(2026, 3, 25, 9, 12)
    assert wall.data_clock(datetime(2026, 3, 27, 14, 37, 5), {"feedback": None}) == datetime(2026, 3, 27, 14, 37)


def _report(id_, received, *, status="new", agency="X", due=None, resolved=None):
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        received_at=received,
        category="noise",
        channel="hue_s_app",
        area_code=None,
        lat=None,
        lon=None,
        status=status,
        agency=agency,
        due_at=due,
        first_response_at=None,
        resolved_at=resolved,
        satisfaction=None,
        reopened=False,
    )


AS_OF = datetime(2026, 3, 27, 14, 0)  # Friday


def _typical_rows() -> list[dict]:
    rows, next_id = [], 1
    for week, count in enumerate((1, 2, 3, 4, 5, 6, 7, 0), start=1):  # before 14:00 on the k-th previous Friday
        day = AS_OF.replace(hour=0) - timedelta(weeks=week)
        for k in range(count):
            rows.append(_report(next_id, day + timedelta(hours=8, minutes=k)))
            next_id += 1
        rows.append(_report(next_id, day + timedelta(hours=15)))  # later that day: not counted
        rows.append(_report(next_id + 1, day - timedelta(hours=3)))  # the Thursday before: not counted
        next_id += 2
    for minute in (5, 10, 15):
        rows.append(_report(next_id, AS_OF.replace(hour=9, minute=minute)))  # today, before the data clock
        next_id += 1
    rows.append(_report(next_id, AS_OF.replace(hour=14, minute=30)))  # after the data clock
    return rows


def test_today_and_typical_day_from_sql(any_db_url):
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(schema.feedback.insert(), _typical_rows())
        typical = wall_queries.typical_day(engine, AS_OF)
        # Seven Fridays had 1..7 reports before 14:00 (the eighth had none and is left out): median 4.
        assert typical["days"] == {"feedback": 7, "dossiers": 0, "traffic": 0}
        assert typical["kpis"]["feedback"]["received"] == 4.0
        assert typical["kpis"]["dossiers"]["received"] is None
        today = wall_queries.today_so_far(engine, AS_OF)
        assert today["kpis"]["feedback"]["received"] == 3
        assert today["hour_start"] == datetime(2026, 3, 27, 13)
        newest = wall_queries.newest_records(engine)
        assert newest == {"feedback": datetime(2026, 3, 27, 14, 30), "dossiers": None, "traffic": None}
    finally:
        engine.dispose()


def test_overdue_feedback_by_agency(any_db_url):
    rows = [
        _report(1, datetime(2026, 3, 1), due=datetime(2026, 3, 20), agency="Sở Xây dựng"),  # 7 days overdue: yes
        _report(2, datetime(2026, 3, 1), due=datetime(2026, 3, 20), agency="Sở Xây dựng"),  # yes
        _report(3, datetime(2026, 3, 1), due=datetime(2026, 3, 25), agency="Sở Xây dựng"),  # 2 days: no
        _report(
            4, datetime(2026, 3, 1), due=datetime(2026, 3, 1), status="resolved", resolved=datetime(2026, 3, 26)
        ),  # resolved before: no
        _report(5, datetime(2026, 3, 1), due=datetime(2026, 3, 1), status="rejected"),  # rejected: no
        _report(
            6,
            datetime(2026, 3, 1),
            due=datetime(2026, 3, 1),
            status="resolved",
            agency=None,
            resolved=datetime(2026, 3, 28),
        ),  # open at AS_OF: yes
        _report(7, datetime(2026, 3, 28), due=datetime(2026, 3, 1)),  # received later: no
    ]
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(schema.feedback.insert(), rows)
        overdue = wall_queries.overdue_feedback(engine, AS_OF, days=3)
        assert overdue.to_dict("records") == [{"agency": "Sở Xây dựng", "reports": 2}, {"agency": "–", "reports": 1}]
    finally:
        engine.dispose()


def test_compare_says_whether_a_change_is_good_news():
    on_time = kpis.KPI_BY_KEY["feedback.resolved_on_time_pct"]
    received = kpis.KPI_BY_KEY["feedback.received"]
    congestion = kpis.KPI_BY_KEY["traffic.congestion_index_peak"]
    assert wall.compare(on_time, 91.0, 88.5) == wall.Comparison(91.0, 88.5, 2.5, 2.8, "better")
    assert wall.compare(congestion, 40.0, 30.0).tone == "worse"
    assert wall.compare(received, 120, 100).tone == "neutral"
    assert wall.compare(on_time, None, 88.0).tone == "unknown"


# ---------------------------------------------------------------- freshness and alerts
def test_freshness_live_late_and_missing(monkeypatch):
    now = datetime(2026, 11, 20, 14, 37)
    assert wall.freshness("feedback", now - timedelta(minutes=60), now, 60) == wall.Freshness(
        "feedback", now - timedelta(minutes=60), 60, True
    )
    late = wall.freshness("traffic", now - timedelta(minutes=61, seconds=30), now, 60)
    assert (late.minutes_late, late.live) == (61, False)
    assert wall.freshness("dossiers", None, now, 60) == wall.Freshness("dossiers", None, None, False)
    assert (
        wall.lag_parts(119) == (119, "minutes")
        and wall.lag_parts(130) == (2, "hours")
        and wall.lag_parts(3 * 1440 + 5) == (3, "days")
    )
    assert draw.lag_text(late, "vi") == "chậm 61 phút" and draw.lag_text(late, "en") == "61 min late"
    monkeypatch.setenv("IOC_FRESHNESS_TRAFFIC_MINUTES", "15")
    assert wall.freshness_thresholds() == {"feedback": 60, "dossiers": 1440, "traffic": 15}


def test_alerts_most_serious_first():
    now = datetime(2026, 11, 20, 14, 37)
    sources = [
        wall.freshness("feedback", now - timedelta(minutes=5), now, 60),
        wall.freshness("traffic", now - timedelta(hours=3), now, 30),
        wall.freshness("dossiers", None, now, 60),
    ]
    silent = pd.DataFrame({"name": ["Cầu Trường Tiền", "Hùng Vương", "Lê Lợi", "Kim Long"]})
    overdue = pd.DataFrame({"agency": ["Sở Xây dựng", "UBND Phường Thuận Hóa"], "reports": [5, 2]})
    anomalies = pd.DataFrame(
        {
            "area_name": ["Phường Phú Xuân"],
            "area_code": ["19753"],
            "category": ["water_drainage"],
            "ds": [pd.Timestamp("2026-11-19")],
            "actual": [42.0],
            "expected": [12.0],
            "size": [6.1],
        }
    )
    alerts = wall.build_alerts(sources, silent, 60, overdue, 3, anomalies)
    assert [a.kind for a in alerts] == ["stale_source", "no_data", "silent_sensors", "overdue_feedback", "anomaly_up"]
    texts = [draw.alert_text(a, "vi") for a in alerts]
    assert texts[0] == "Nguồn Giao thông chậm 3 giờ (bản ghi mới nhất lúc 11:37 20/11)"
    assert texts[2] == "4/60 cảm biến mất tín hiệu: Cầu Trường Tiền, Hùng Vương, Lê Lợi và 1 cảm biến khác"
    assert texts[3] == "7 phản ánh quá hạn hơn 3 ngày — nhiều nhất: Sở Xây dựng (5), UBND Phường Thuận Hóa (2)"
    assert texts[4].startswith("Tăng bất thường: Cấp thoát nước, ngập úng tại Phường Phú Xuân ngày 19/11 — 42 phản ánh")
    calm = wall.build_alerts(sources[:1], pd.DataFrame({"name": []}), 60, None, 3, None)
    assert [a.kind for a in calm] == ["all_clear"]
    assert "wall-still" in draw.ticker_html(calm, "vi") and t("wall.alert.all_clear") in draw.ticker_html(calm, "vi")


# ---------------------------------------------------------------- last good figures
def test_last_good_figures_survive_an_outage_and_recovery_clears_it():
    store: dict = {}
    memory = wall.LastGood(store, (DatabaseUnavailable,))
    t0 = datetime(2026, 11, 20, 14, 0)

    def fail():
        raise DatabaseUnavailable("down")

    assert memory.load("overview", lambda: {"received": 12}, t0) == wall.Loaded({"received": 12}, t0, True)
    assert memory.outage_since is None
    assert memory.load("overview", fail, t0 + timedelta(minutes=1)) == wall.Loaded({"received": 12}, t0, False)
    assert memory.load("overview", fail, t0 + timedelta(minutes=2)).value == {"received": 12}
    assert memory.outage_since == t0 + timedelta(minutes=1)  # the first failure, not the latest
    assert memory.load("map", fail, t0 + timedelta(minutes=2)) == wall.Loaded(None, None, False)
    memory.load("areas", lambda: "cached", t0 + timedelta(minutes=3), tracks_outage=False)
    assert memory.outage_since is not None  # a cached answer proves nothing
    memory.load("overview", lambda: {"received": 13}, t0 + timedelta(minutes=4))
    assert memory.outage_since is None


# ---------------------------------------------------------------- drawing
def test_overview_tiles_show_value_typical_and_change():
    today = {
        "kpis": {
            "feedback": {"received": 302, "resolved": 165, "resolved_on_time_pct": 87.3, "open_backlog": 733},
            "dossiers": {"received": 154, "completed_on_time_pct": 91.9},
            "traffic": {"vehicles": 1_132_349},
        },
        "traffic_hour": {"congestion_index_peak": 15.1},
        "hour_start": datetime(2026, 11, 23, 17),
    }
    typical = {
        "kpis": {
            "feedback": {"received": 275.0, "resolved": 178.0, "resolved_on_time_pct": 86.1, "open_backlog": 730.5},
            "dossiers": {"received": 156.0, "completed_on_time_pct": 95.4},
            "traffic": {"vehicles": 1_126_436.0},
        },
        "traffic_hour": {"congestion_index_peak": 16.4},
    }
    html = draw.overview_html(today, typical, "vi")
    tiles = dict(re.findall(r'data-kpi="([^"]+)">.*?class="wall-tile-value">([^<]+?)\s*<', html))
    assert tiles["feedback.received"] == "302" and tiles["feedback.resolved_on_time_pct"] == "87,3"
    assert tiles["traffic.vehicles"] == "1,13 tr" and tiles["traffic.congestion_now"] == "15,1"
    assert "▲ 9,8 %" in html and "ngày thường 275" in html and "▲ 1,2 điểm %" in html
    assert "Ùn tắc 17:00–18:00" in html


def test_database_text_is_escaped():
    sensors = pd.DataFrame({"congestion_index_mean": [50.0]})
    points = pd.DataFrame({"category": ["<script>"], "lat": [16.4], "lon": [107.6]})
    html = draw.map_legend_html(points.assign(category="noise"), 1, sensors, datetime(2026, 1, 1, 8), "vi")
    assert "Tiếng ồn" in html
    data = {
        "hour_start": datetime(2026, 1, 1, 8),
        "top": pd.DataFrame({"name": ["<b>x</b>"], "congestion_index_mean": [40.0]}),
        "silent": pd.DataFrame(),
        "sensor_total": 1,
    }
    today = {"traffic_hour": {"congestion_index_peak": 40.0}, "kpis": {"traffic": {"vehicles": 10}}}
    typical = {"traffic_hour": {"congestion_index_peak": None}, "kpis": {"traffic": {"vehicles": None}}}
    assert "&lt;b&gt;x&lt;/b&gt;" in wall_panels.traffic_side_html(today, typical, data, "vi")


def test_layout_heights_add_up_to_the_screen():
    for width, height in ((1920, 1080), (3840, 2160)):
        unit = draw.theme.wall_unit_px(width, height)
        _stage_width, stage_height = draw.stage_size(width, height)
        assert stage_height + (draw.HEADER_U + draw.TABS_U + draw.TICKER_U) * unit == pytest.approx(height)
        assert draw.panel_height(width, height) < stage_height
    assert draw.theme.wall_unit_px(1920, 1080) >= 28
    assert draw.theme.wall_unit_px(3840, 2160) == pytest.approx(2 * draw.theme.wall_unit_px(1920, 1080))


# ---------------------------------------------------------------- the page in AppTest
def _wall(monkeypatch, url: str, params: dict[str, str] | None = None) -> AppTest:
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in (params or {}).items():
        app.query_params[key] = value
    app.run()
    return app


def _html(app: AppTest) -> str:
    return "\n".join(element.proto.body for element in app.html)


def _tile_values(app: AppTest) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="([^"]+)">.*?class="wall-tile-value">([^<]+?)\s*<', _html(app)))


def test_page_shows_the_kpi_module_figures(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview,procedures", "dwell": "5"})
    assert not app.exception, [e.message for e in app.exception]
    engine = make_engine(demo_db_url, read_only=True)
    try:
        as_of = wall.data_clock(datetime.now(), wall_queries.newest_records(engine))
        expected = kpis.section_kpis(engine, "feedback", wall.day_so_far(as_of))
        dossiers = kpis.section_kpis(engine, "dossiers", wall.day_so_far(as_of))
    finally:
        engine.dispose()
    # The demo's last day up to its data clock (14:15), counted in SQL as well (tests/demo_sql.py).
    today = wall.day_so_far(as_of)
    assert demo_sql.feedback_received_between(demo_db_url, today.start_at, today.end_before) == 9
    assert expected["received"] == 9
    tiles = _tile_values(app)
    assert tiles["feedback.received"] == draw.compact(expected["received"], "vi")
    assert tiles["dossiers.received"] == draw.compact(dossiers["received"], "vi")
    html = _html(app)
    assert 'data-current="overview"' in html and "Thủ tục hành chính" in html
    assert "Bản đồ 24 giờ qua" not in html  # only the requested panels are in the rotation
    assert 'data-source="feedback"' in html and 'data-testid="wall-banner"' not in html


def test_outage_keeps_the_last_figures_with_a_banner_then_recovers(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview", "dwell": "30"})
    before = _tile_values(app)
    assert before and 'data-testid="wall-banner"' not in _html(app)

    real = wall_queries.newest_records

    def unreachable(engine):
        raise DatabaseUnavailable("Cannot use the database: connection refused", hint="check IOC_DATABASE_URL")

    monkeypatch.setattr(wall_queries, "newest_records", unreachable)
    app.run()
    assert not app.exception
    html = _html(app)
    assert "Mất kết nối cơ sở dữ liệu từ" in html and "đang hiện số liệu lúc" in html
    assert _tile_values(app) == before  # the last good figures stay on screen
    assert "Traceback" not in html

    monkeypatch.setattr(wall_queries, "newest_records", real)
    app.run()
    assert 'data-testid="wall-banner"' not in _html(app) and _tile_values(app) == before


def test_bad_rotation_in_the_address_is_said_and_the_configured_one_used(monkeypatch, demo_db_url):
    app = _wall(monkeypatch, demo_db_url, {"panels": "overview,weather", "dwell": "10", "lang": "en"})
    assert not app.exception
    html = _html(app)
    assert "Rotation parameters not usable" in html and "unknown panel &#x27;weather&#x27;" in html
    assert "The city today" in html and "Last 24 hours map" in html  # the configured panels, in English


def test_missing_database_shows_the_banner_and_creates_nothing(monkeypatch, tmp_path):
    missing = tmp_path / "absent.duckdb"
    app = _wall(monkeypatch, f"duckdb:///{missing}", {"panels": "overview,map", "dwell": "10"})
    assert not app.exception, [e.message for e in app.exception]
    html = _html(app)
    assert "Mất kết nối cơ sở dữ liệu từ" in html and "đang thử kết nối lại" in html
    assert t("wall.waiting") in html and "Traceback" not in html
    assert not missing.exists(), "the wall must not create an empty database file"
