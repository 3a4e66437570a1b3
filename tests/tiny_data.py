"""Tiny hand-made tables whose KPIs are worked out by hand in the tests' comments."""

from __future__ import annotations

from datetime import date, datetime

from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.periods import Period

MARCH = Period(date(2026, 3, 1), date(2026, 3, 7))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, second)


def _feedback(id_, received, status, area="A", due=None, resolved=None, satisfaction=None, reopened=False):
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        received_at=received,
        category="waste_environment",
        channel="hue_s_app",
        area_code=area,
        lat=None,
        lon=None,
        status=status,
        agency="X",
        due_at=due,
        first_response_at=None,
        resolved_at=resolved,
        satisfaction=satisfaction,
        reopened=reopened,
    )


FEEDBACK = [
    _feedback(1, at(1, 8), "resolved", due=at(3, 8), resolved=at(2, 8), satisfaction=5),  # on time, 24 h
    _feedback(2, at(2, 10), "resolved", due=at(4, 10), resolved=at(5, 10), satisfaction=3, reopened=True),  # late, 72 h
    _feedback(3, at(27, 9, month=2), "resolved", due=at(1, 12), resolved=at(1, 9)),  # received before, 48 h
    _feedback(
        4, at(6, 23, 59, 59), "resolved", area="B", resolved=at(7, 23, 59, 59), satisfaction=4
    ),  # no due; last second
    _feedback(5, at(7, 12), "new", area="B"),  # open at end
    _feedback(6, at(3), "rejected", area="B"),  # rejected: never backlog
    _feedback(7, at(5), "resolved", area="B", resolved=at(8)),  # resolved after the period
    _feedback(8, at(8), "new", area="B"),  # received after the period
    _feedback(9, at(20, month=2), "in_progress", area="B", due=at(25, month=2)),  # old, open, overdue
    _feedback(10, at(25, month=2), "resolved", area="B", resolved=at(28, month=2)),  # entirely before
]


def _dossier(id_, received, channel, area="A", due=None, completed=None):
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        procedure_code="P1",
        procedure_name="Đăng ký khai sinh",
        sector="civil_status",
        agency="UBND",
        area_code=area,
        channel=channel,
        received_at=received,
        due_at=due,
        completed_at=completed,
        status="completed" if completed else "in_progress",
    )


DOSSIERS = [
    _dossier(1, at(2), "online", due=at(5), completed=at(4)),  # on time, 2 days
    _dossier(2, at(3), "counter", area="B", due=at(4), completed=at(6)),  # late, 3 days
    _dossier(3, at(20, month=2), "counter", area="B", completed=at(1)),  # no due, 9 days
    _dossier(4, at(7), "online", area="B"),
    _dossier(5, at(8), "online", area="B"),  # after the period
]

SENSORS = [
    dict(
        id="S1",
        name="Cầu Trường Tiền",
        road="Lê Lợi",
        area_code="A",
        lat=16.46,
        lon=107.58,
        free_flow_speed_kmh=40.0,
        capacity_per_hour=2000.0,
    ),
    dict(
        id="S2",
        name="Hùng Vương",
        road="Hùng Vương",
        area_code="B",
        lat=16.46,
        lon=107.59,
        free_flow_speed_kmh=60.0,
        capacity_per_hour=2000.0,
    ),
]


def _obs(sensor, observed, count, speed):
    return dict(sensor_id=sensor, observed_at=observed, period_minutes=15, vehicle_count=count, mean_speed_kmh=speed)


OBSERVATIONS = [
    _obs("S1", at(1, 8), 100, 20.0),  # ratio 2
    _obs("S2", at(1, 8), 100, 60.0),  # ratio 1  -> hour index 50 %
    _obs("S1", at(2, 17), 100, 40.0),  # ratio 1  -> 0 %
    _obs("S2", at(7, 23, 45), 50, 30.0),  # ratio 2  -> 100 % (the peak, last quarter hour of the period)
    _obs("S1", at(8), 1000, 10.0),  # after the period
]


def ward_rows(names: dict[str, str]) -> list[dict]:
    """`areas` rows of wards without boundaries: code → the name after "Phường"."""
    return [
        dict(
            code=code,
            name=f"Phường {name}",
            name_ascii=f"Phuong {name}",
            kind="ward",
            parent_code="46",
            geometry_geojson=None,
            centroid_lat=16.4,
            centroid_lon=107.5,
            area_km2=10.0,
            population=20_000,
            population_is_estimate=True,
        )
        for code, name in names.items()
    ]


def load_tiny(url: str):
    """Insert the tiny tables into an empty schema at `url`; returns the engine."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            schema.areas.insert(),
            ward_rows({c: c for c in ("A", "B")}),
        )
        connection.execute(schema.feedback.insert(), FEEDBACK)
        connection.execute(schema.dossiers.insert(), DOSSIERS)
        connection.execute(schema.traffic_sensors.insert(), SENSORS)
        connection.execute(schema.traffic_observations.insert(), OBSERVATIONS)
    return engine
