"""Traffic page queries against hand-computed tiny tables (DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from traffic_support import apr

from dashboard.db import schema
from dashboard.db import traffic_queries as tq
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.metrics import kpis
from dashboard.periods import Period

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
