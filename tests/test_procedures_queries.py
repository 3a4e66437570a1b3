"""The administrative-procedures page's queries on a hand-made table worked out by hand (DuckDB and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from procedures_support import AS_OF, NAMES, PERIOD, SECTORS, at
from tiny_data import ward_rows

from dashboard.db import dossier_queries as dq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.metrics import kpis
from dashboard.periods import Period


def _dossier(id_, procedure, agency, area, channel, received, due=None, completed=None, status=None):
    return dict(
        id=id_,
        source="t",
        source_id=f"HS-{id_}",
        procedure_code=procedure,
        procedure_name=NAMES[procedure],
        sector=SECTORS[procedure],
        agency=agency,
        area_code=area,
        channel=channel,
        received_at=received,
        due_at=due,
        completed_at=completed,
        status=status or ("completed" if completed else "in_progress"),
    )


DOSSIERS = [
    _dossier(1, "P1", "UBND A", "A", "online", at(2), at(4, 17), at(3)),  # lead 1 d, on time
    _dossier(2, "P1", "UBND A", "A", "online", at(3), at(5, 17), at(5)),  # lead 2 d, on time
    _dossier(3, "P1", "UBND A", "A", "counter", at(4), at(6, 17), at(7)),  # lead 3 d, late
    _dossier(4, "P1", "UBND B", "B", "counter", at(9), at(10, 17), at(13)),  # lead 4 d, late
    _dossier(5, "P1", "UBND B", "B", "online", at(10), at(20, 17), at(15)),  # lead 5 d, on time
    _dossier(
        6, "P2", "Land office", "B", "postal", at(20, month=2), at(1, 17), at(2)
    ),  # received before; lead 10 d, late
    _dossier(7, "P2", "Land office", "A", "online", at(12), at(13, 17)),  # open, past due: age 3 d 16 h, 2 d 7 h over
    _dossier(8, "P2", "Land office", "A", "counter", at(14), at(25, 17)),  # open, not yet due
    _dossier(9, "P2", "Land office", "B", "counter", at(1), at(5, 17), status="returned"),  # returned: never past due
    _dossier(
        10, "P1", "UBND B", "B", "online", at(5), at(9, 17), at(17)
    ),  # completed after: open and past due at 16/03
    _dossier(11, "P3", None, "A", "online", at(16), at(18, 17)),  # received after the period
    _dossier(12, "P3", "Finance dept", None, "online", at(6), None, at(8)),  # no due date; lead 2 d
]


@pytest.fixture
def tiny(any_db_url):
    engine = make_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(
            schema.areas.insert(),
            ward_rows({c: c for c in ("A", "B")}),
        )
        connection.execute(schema.dossiers.insert(), DOSSIERS)
    yield engine
    engine.dispose()


def scope(areas=(), **dimensions) -> QueryFilter:
    return QueryFilter.build(PERIOD, areas, dimensions)


def test_kpis_and_extra_counts_on_the_tiny_table(tiny):
    # received in the period: 1,2,3,4,5,7,8,10,12 (9); online 1,2,5,7,10,12 (6); completed 1-6 and 12 (7);
    # with a due date 1-6, on time 1,2,5; late 3,4,6; lead times 1,2,3,4,5,10,2 -> median 3.
    assert kpis.section_kpis(tiny, "dossiers", PERIOD) == {
        "received": 9,
        "completed": 7,
        "completed_on_time_pct": 50.0,
        "online_pct": 66.7,
        "median_lead_time_days": 3.0,
    }
    assert dq.extra_counts(tiny, scope(), AS_OF) == {"late": 3, "past_due_open": 2}
    assert dq.extra_counts(tiny, scope(areas=("A",)), AS_OF) == {"late": 1, "past_due_open": 1}
    # At 13/03 00:00 dossier 7 (due 13/03 17:00) is not late yet; 10 (due 09/03 17:00) and 4 (due 10/03 17:00,
    # completed only at 13/03 08:00) are open and past due.
    assert dq.past_due(tiny, scope(), datetime(2026, 3, 13))["source_id"].tolist() == ["HS-10", "HS-4"]


def test_page_dimensions_narrow_every_query(tiny):
    civil_online = scope(sector=["civil_status"], channel=["online"])  # received 1,2,5,10; completed 1,2,5 all on time
    assert kpis.section_kpis(tiny, "dossiers", PERIOD, dimensions=dict(civil_online.dimensions))["received"] == 4
    assert dq.procedure_stats(tiny, civil_online)[
        ["procedure_code", "received", "completed", "late"]
    ].values.tolist() == [["P1", 4, 3, 0]]
    assert dq.extra_counts(tiny, civil_online, AS_OF) == {"late": 0, "past_due_open": 1}
    assert dq.past_due(tiny, scope(procedure=["P2"]), AS_OF)["source_id"].tolist() == ["HS-7"]


def test_past_due_list_oldest_first_with_ages(tiny):
    rows = dq.past_due(tiny, scope(), AS_OF)
    assert rows["source_id"].tolist() == ["HS-10", "HS-7"]
    # 10: received 05/03 08:00, due 09/03 17:00 -> 10 d 16 h old, 6 d 7 h over; 7: 3 d 16 h old, 2 d 7 h over.
    assert rows["age_days"].tolist() == [10.7, 3.7]
    assert rows["overdue_days"].tolist() == [6.3, 2.3]
    assert rows["area_name"].tolist() == ["Phường B", "Phường A"]
    assert len(dq.past_due(tiny, scope(), AS_OF, limit=1)) == 1


def test_agency_ranking_lowest_on_time_first(tiny):
    ranking = dq.agency_ranking(tiny, scope())
    # Land office 0/1, UBND B 1/2 (4 late, 5 on time), UBND A 2/3, Finance dept nothing with a due date.
    assert ranking["agency"].tolist() == ["Land office", "UBND B", "UBND A", "Finance dept"]
    assert ranking["on_time_pct"].tolist()[:3] == [0.0, 50.0, 66.7]
    assert pd.isna(ranking["on_time_pct"].iloc[3])
    assert ranking["received"].tolist() == [2, 3, 3, 1]
    assert ranking["late"].tolist() == [1, 1, 1, 0]


def test_procedure_and_sector_figures(tiny):
    stats = dq.procedure_stats(tiny, scope())
    assert stats[["procedure_code", "received", "completed", "completed_with_due", "late"]].values.tolist() == [
        ["P1", 6, 5, 5, 2],
        ["P2", 2, 1, 1, 1],
        ["P3", 1, 1, 0, 0],
    ]
    assert stats["late_pct"].tolist()[:2] == [40.0, 100.0] and pd.isna(stats["late_pct"].iloc[2])
    assert dq.top_procedures(stats, "received")["procedure_code"].tolist() == ["P1", "P2", "P3"]
    assert dq.top_procedures(stats, "late")["procedure_code"].tolist() == ["P1", "P2"]
    assert dq.top_procedures(stats, "late", top=1)["procedure_code"].tolist() == ["P1"]
    with pytest.raises(ValueError):
        dq.top_procedures(stats, "completed")
    sectors = dq.sector_stats(tiny, scope())
    assert sectors[["sector", "received", "completed"]].values.tolist() == [
        ["civil_status", 6, 5],
        ["land", 2, 1],
        ["business", 1, 1],
    ]


def test_lead_time_quantiles_are_computed_in_sql(tiny):
    quantiles = dq.lead_time_quantiles(tiny, scope())
    # P1 lead times 1, 2, 3, 4, 5 days: linear interpolation gives P10 1.4 and P90 4.6.
    assert quantiles["procedure_code"].tolist() == ["P1", "P2", "P3"]
    assert quantiles.iloc[0][["completed", "p10", "p25", "p50", "p75", "p90"]].tolist() == [5, 1.4, 2.0, 3.0, 4.0, 4.6]
    assert quantiles.iloc[1][["p10", "p90"]].tolist() == [10.0, 10.0]
    assert dq.lead_time_quantiles(tiny, scope(), top=1)["procedure_code"].tolist() == ["P1"]


def test_channel_mix_per_week_and_day(tiny):
    weekly = dq.channel_mix(tiny, scope(), "week")
    assert [(b.date(), c, n) for b, c, n in weekly.itertuples(index=False)] == [
        (date(2026, 3, 2), "counter", 1),
        (date(2026, 3, 2), "online", 4),
        (date(2026, 3, 9), "counter", 2),
        (date(2026, 3, 9), "online", 2),
    ]
    daily = dq.channel_mix(tiny, scope(), "day")
    assert daily["received"].sum() == 9 and daily["bucket"].min() == pd.Timestamp(2026, 3, 2)
    with pytest.raises(ValueError):
        dq.channel_mix(tiny, scope(), "month")


def test_filter_options_are_the_distinct_values(tiny):
    options = dq.filter_options(tiny)
    assert list(options["sector"]) == ["business", "civil_status", "land"]
    assert list(options["agency"]) == ["Finance dept", "Land office", "UBND A", "UBND B"]
    assert list(options["channel"]) == ["counter", "online", "postal"]
    assert options["procedure"] == NAMES


def test_as_of_and_grain():
    assert dq.as_of_instant(PERIOD, datetime(2026, 4, 1, 9, 30)) == AS_OF
    assert dq.as_of_instant(PERIOD, datetime(2026, 3, 10, 9, 30, 45)) == datetime(2026, 3, 10, 9, 30)
    assert dq.channel_grain(PERIOD) == "day"
    assert dq.channel_grain(Period(date(2026, 3, 1), date(2026, 3, 15))) == "week"
    assert [d.name for d in dq.page_kpis()] == [
        "received",
        "completed",
        "completed_on_time_pct",
        "late",
        "online_pct",
        "median_lead_time_days",
        "past_due_open",
    ]
