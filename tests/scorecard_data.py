"""Hand-made dossiers and feedback for the scorecard tests; every expected value is worked out in tests/test_scorecard.py.

Period: March 2026 (as of 01/04/2026 00:00, the period has ended); previous period 29/01–28/02/2026 (as of 01/03).
Units: agency A (every case of the rules), B and C (identical, a tie), S (small: listed apart). Each agency's rows
sit in a ward of its own (A1, B1, C1, S1), so the table by area is the same table under ward names.
"""

from __future__ import annotations

from datetime import date, datetime

from tiny_data import ward_rows

from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.periods import Period

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
NOW = datetime(2026, 4, 10, 9, 0)
AREAS = {"A": "A1", "B": "B1", "C": "C1", "S": "S1"}


def at(month: int, day: int, hour: int = 8) -> datetime:
    return datetime(2026, month, day, hour)


def dossier(sid, agency, received, due, completed=None, channel="online", status=None, requests=None, days=None,
            complaint=None):  # fmt: skip
    return dict(
        id=None,
        source="t",
        source_id=sid,
        procedure_code="P1",
        procedure_name="Đăng ký khai sinh",
        sector="civil_status",
        agency=agency,
        area_code=AREAS[agency],
        channel=channel,
        received_at=received,
        due_at=due,
        completed_at=completed,
        status=status or ("completed" if completed else "in_progress"),
        supplement_requests=requests,
        supplement_days=days,
        complaint=complaint,
    )


def report(sid, agency, received, due, resolved=None, satisfaction=None, reopened=False, status=None):
    return dict(
        id=None,
        source="t",
        source_id=sid,
        received_at=received,
        category="waste_environment",
        channel="hue_s_app",
        area_code=AREAS[agency],
        lat=None,
        lon=None,
        status=status or ("resolved" if resolved else "in_progress"),
        agency=agency,
        due_at=due,
        first_response_at=None,
        resolved_at=resolved,
        satisfaction=satisfaction,
        reopened=reopened,
    )


DOSSIERS = [
    # agency A
    dossier("a1", "A", at(3, 2), at(3, 5, 17), at(3, 4)),  # on time
    dossier("a2", "A", at(3, 3), at(3, 6, 17), at(3, 9), channel="counter"),  # completed 3 days late
    # completed 2 days after due, but waited 3 days for the citizen: due + 3 days → on time
    dossier("a3", "A", at(3, 10), at(3, 13, 8), at(3, 15, 8), requests=1, days=3),
    dossier("a4", "A", at(3, 12), at(3, 14, 17), at(3, 13), requests=2, days=1),  # early, but 2 requests → late
    dossier("a5", "A", at(3, 25), at(4, 5, 17), complaint=False),  # in progress, due after the period end → on time
    dossier("a6", "A", at(3, 20), at(3, 27, 17), channel="counter", complaint=True),  # in progress past due → late
    dossier("a7", "A", at(2, 20), at(2, 25, 17), at(3, 2), channel="counter"),  # carried over, completed late
    dossier("a8", "A", at(2, 10), at(2, 14, 17), at(2, 15), channel="counter"),  # before March (late then)
    dossier("a9", "A", at(3, 5), at(3, 8, 17), status="returned"),  # returned: received, not in the on-time set
    dossier("a10", "A", at(3, 8), None, at(3, 9)),  # no due date: received, not in the on-time set
    # agencies B and C: five dossiers each, online, completed the day after, no complaint
    *[
        dossier(f"{u.lower()}{k}", u, at(3, 1 + k), at(3, 4 + k, 17), at(3, 2 + k), complaint=False)
        for u in ("B", "C")
        for k in range(1, 6)
    ],
    # agency S: two dossiers, on time, complaint field unknown
    dossier("s1", "S", at(3, 2), at(3, 5, 17), at(3, 3)),
    dossier("s2", "S", at(3, 3), at(3, 6, 17), at(3, 4)),
]

FEEDBACK = [
    report("fa1", "A", at(3, 1), at(3, 4), at(3, 3), satisfaction=5),  # due in March, on time
    report("fa2", "A", at(3, 5), at(3, 8), at(3, 10), satisfaction=4),  # late → overdue
    report("fa3", "A", at(3, 10), at(3, 13), at(3, 12), satisfaction=2),  # on time, dissatisfied
    report("fa4", "A", at(3, 15), at(3, 18), at(3, 16), reopened=True),  # on time, reopened
    report("fa5", "A", at(3, 28), at(4, 3)),  # open, due after the period end: not due, not overdue
    report("fa6", "A", at(2, 25), at(3, 2), at(3, 1)),  # received in February, due in March, on time
    report("fa7", "A", at(3, 20), at(3, 23), status="rejected"),  # rejected: never counted
    report("fa8", "A", at(3, 22), at(3, 25)),  # open past due → late and overdue
    *[
        report(f"f{u.lower()}{k}", u, at(3, 1 + k), at(3, 3 + k), at(3, 2 + k), satisfaction=5)
        for u in ("B", "C")
        for k in range(1, 6)
    ],
]


def load(url: str):
    """Insert the rows into an empty schema at `url`; returns the engine."""
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(
            schema.areas.insert(),
            ward_rows({code: agency for agency, code in AREAS.items()}),
        )
        connection.execute(schema.dossiers.insert(), [{**row, "id": k} for k, row in enumerate(DOSSIERS, 1)])
        connection.execute(schema.feedback.insert(), [{**row, "id": k} for k, row in enumerate(FEEDBACK, 1)])
    return engine
