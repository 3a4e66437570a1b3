"""The wall screen's rules without a database: rotation parsing and schedule, the typical day, comparisons,
freshness, alerts, and keeping the last good figures through an outage."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from dashboard.db.engine import DatabaseUnavailable
from dashboard.i18n import t
from dashboard.metrics import kpis
from dashboard.wall import render as draw
from dashboard.wall import rules as wall


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
