"""The wall screen's queries: today against a typical day and overdue feedback, on hand-computed tables
(DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.wall import data as wall_queries


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
