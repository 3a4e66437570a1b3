"""Hotspots (repeat locations) and likely duplicates on hand-placed reports, on DuckDB and PostgreSQL.

Distances are laid out north/east of fixed points in metres (1° of latitude = 111,195 m on the haversine sphere;
east offsets divided by cos(latitude)); the exact distances are checked by the tests themselves."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta

import pytest

from dashboard.cli import main
from dashboard.db import hotspot_queries as hq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.load import load_areas
from dashboard.db.predicates import QueryFilter
from dashboard.jobs.hotspots import flag_duplicates
from dashboard.metrics import hotspots as hs
from dashboard.periods import Period

METRES_PER_DEGREE = 111_195.08
WARD = "19753"
B = (16.4637, 107.5909)  # the corner where the road and the lights are reported
C = (16.4737, 107.5909)  # 1.1 km north: the waste reported twice 31 days apart


def moved(point, north=0.0, east=0.0):
    lat, lon = point
    return (
        round(lat + north / METRES_PER_DEGREE, 7),
        round(lon + east / (METRES_PER_DEGREE * math.cos(math.radians(lat))), 7),
    )


def report(sid, category, point, received, resolved=None, reopened=False, agency="Sở Xây dựng"):
    lat, lon = point
    return {
        "source": "hue-s",
        "source_id": sid,
        "received_at": received,
        "category": category,
        "channel": "hue_s_app",
        "area_code": WARD,
        "lat": lat,
        "lon": lon,
        "status": "resolved" if resolved else "new",
        "agency": agency,
        "due_at": received + timedelta(days=3),
        "resolved_at": resolved,
        "reopened": reopened,
    }


HOTSPOT_ROWS = [
    # road: R1 at B, resolved; R2 30 m north after R1 was resolved; R3 30 m east, flagged reopened → one hotspot of 3
    report("R1", "roads_traffic", B, datetime(2026, 11, 1, 8), resolved=datetime(2026, 11, 2, 8)),
    report("R2", "roads_traffic", moved(B, north=30), datetime(2026, 11, 10, 9), agency="UBND phường"),
    report("R3", "roads_traffic", moved(B, east=30), datetime(2026, 11, 12, 9), reopened=True),
    # road 80 m west of B: near none of them
    report("R4", "roads_traffic", moved(B, east=-80), datetime(2026, 11, 5, 9)),
    # lights at the same corner: their own hotspot, never joined with the road reports
    report("L1", "street_lighting", B, datetime(2026, 11, 3, 19), agency="Điện lực"),
    report("L2", "street_lighting", moved(B, north=20), datetime(2026, 11, 4, 19), agency="Điện lực"),
    # waste 10 m apart but 31 days apart: not a hotspot
    report("W1", "waste_environment", C, datetime(2026, 10, 1, 8)),
    report("W2", "waste_environment", moved(C, north=10), datetime(2026, 11, 1, 8)),
]


def load(url, rows):
    engine = make_engine(url)
    load_areas(engine, "hue")
    with engine.begin() as connection:
        connection.execute(schema.feedback.insert(), [{**row, "id": k} for k, row in enumerate(rows, 1)])
    return engine


def test_the_layout_is_what_the_tests_say():
    def metres(a, b):
        return float(hs.haversine_m(a[0], a[1], b[0], b[1]))

    assert round(metres(B, moved(B, north=30)), 1) == 30.0
    assert round(metres(B, moved(B, east=30)), 1) == 30.0
    assert round(metres(B, moved(B, east=-80)), 1) == 80.0
    assert round(metres(moved(B, north=30), moved(B, east=30)), 1) == 42.4


def test_pairs_within_the_radius_are_all_found_and_no_others():
    """The H3 candidate search finds exactly the pairs a brute-force check finds (seeded random points)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(7)
    n = 2_000
    frame = pd.DataFrame(
        {
            "category": rng.choice(["a", "b"], n),
            "lat": 16.46 + rng.normal(0, 0.002, n),
            "lon": 107.59 + rng.normal(0, 0.002, n),
            "received_at": pd.Timestamp("2026-11-01") + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
        }
    )
    for radius in (20, 50, 150):
        pairs = hs.near_pairs(frame, radius, timedelta(days=30))
        i, j = np.triu_indices(n, 1)
        metres = hs.haversine_m(
            frame["lat"].to_numpy()[i],
            frame["lon"].to_numpy()[i],
            frame["lat"].to_numpy()[j],
            frame["lon"].to_numpy()[j],
        )
        same = frame["category"].to_numpy()[i] == frame["category"].to_numpy()[j]
        brute = set(zip(i[(metres <= radius) & same].tolist(), j[(metres <= radius) & same].tolist(), strict=True))
        found = {(min(a, b), max(a, b)) for a, b in zip(pairs["a"].tolist(), pairs["b"].tolist(), strict=True)}
        assert found == brute
        assert len(brute) > 100


def test_hotspots_join_close_reports_only(any_db_url):
    engine = load(any_db_url, HOTSPOT_ROWS)
    try:
        query_filter = QueryFilter.build(Period(date(2026, 10, 1), date(2026, 11, 30)), [], {})
        table = hq.hotspots_for(engine, query_filter, rules=hs.Rules(50, 30, 2, 48))
    finally:
        engine.dispose()
    assert table["id"].tolist() == ["roads_traffic:hue-s:R1", "street_lighting:hue-s:L1"]
    road, lights = table.to_dict("records")
    assert road["source_ids"] == ["R1", "R2", "R3"]
    assert road["reports"] == 3
    assert road["reopened"] == 2  # R2 came after R1 was resolved; R3 too, and is flagged reopened
    assert road["agencies"] == ["Sở Xây dựng", "UBND phường"]
    assert road["area_code"] == WARD
    assert (road["first"], road["last"]) == (datetime(2026, 11, 1, 8), datetime(2026, 11, 12, 9))
    assert lights["source_ids"] == ["L1", "L2"]
    assert lights["reopened"] == 0
    assert hs.in_hotspots(table) == {1, 2, 3, 5, 6}


def test_min_reports_and_category(any_db_url):
    engine = load(any_db_url, HOTSPOT_ROWS)
    try:
        query_filter = QueryFilter.build(Period(date(2026, 10, 1), date(2026, 11, 30)), [], {})
        three = hq.hotspots_for(engine, query_filter, rules=hs.Rules(50, 30, 3, 48))
        lights = hq.hotspots_for(engine, query_filter, ("street_lighting",), rules=hs.Rules(50, 30, 2, 48))
        wide = hq.hotspots_for(engine, query_filter, ("roads_traffic",), rules=hs.Rules(100, 30, 2, 48))
    finally:
        engine.dispose()
    assert three["id"].tolist() == ["roads_traffic:hue-s:R1"]
    assert lights["id"].tolist() == ["street_lighting:hue-s:L1"]
    # at 100 m the report 80 m west joins the road hotspot (it is within 100 m of its seed, R1)
    assert wide["source_ids"].tolist() == [["R1", "R4", "R2", "R3"]]


def test_cli_json_shape_and_order(any_db_url, capsys):
    load(any_db_url, HOTSPOT_ROWS).dispose()
    code = main(["--database-url", any_db_url, "hotspots", "--from", "2026-10-01", "--to", "2026-11-30", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    assert [list(row) for row in rows] == [
        ["id", "category", "reports", "source_ids", "lat", "lon", "area_code", "first", "last", "reopened"]
    ] * 2
    assert rows[0] == {
        "id": "roads_traffic:hue-s:R1",
        "category": "roads_traffic",
        "reports": 3,
        "source_ids": ["R1", "R2", "R3"],
        # DuckDB keeps lat/lon as 32-bit floats (schema Float): the centre to within 2 m
        "lat": pytest.approx((B[0] * 2 + moved(B, north=30)[0]) / 3, abs=2e-5),
        "lon": pytest.approx((B[1] * 2 + moved(B, east=30)[1]) / 3, abs=2e-5),
        "area_code": WARD,
        "first": "2026-11-01T08:00:00",
        "last": "2026-11-12T09:00:00",
        "reopened": 2,
    }
    assert rows[1]["id"] == "street_lighting:hue-s:L1"
    assert (
        main(
            [
                "--database-url",
                any_db_url,
                "hotspots",
                "--from",
                "2026-10-01",
                "--to",
                "2026-11-30",
                "--category",
                "street_lighting",
                "--json",
            ]
        )
        == 0
    )
    assert [row["id"] for row in json.loads(capsys.readouterr().out)] == ["street_lighting:hue-s:L1"]


def test_cli_bad_input_is_one_line(any_db_url, capsys):
    load(any_db_url, HOTSPOT_ROWS).dispose()
    code = main(
        [
            "--database-url",
            any_db_url,
            "hotspots",
            "--from",
            "2026-10-01",
            "--to",
            "2026-11-30",
            "--category",
            "potholes",
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: unknown category potholes; the categories are: waste_environment,")
    assert "Traceback" not in error


T0 = datetime(2026, 11, 20, 8)
E, F, G, H = (moved(B, north=1000 * k) for k in (2, 3, 4, 5))
DUPLICATE_ROWS = [
    report("E0", "roads_traffic", E, T0),  # open
    report("E1", "roads_traffic", moved(E, north=30), T0 + timedelta(hours=47)),  # 47 h later: flagged
    report("F0", "roads_traffic", F, T0),
    report("F1", "roads_traffic", moved(F, north=30), T0 + timedelta(hours=49)),  # 49 h later: not
    report("G0", "roads_traffic", G, T0, resolved=T0 + timedelta(hours=2)),  # resolved before G1 came
    report("G1", "roads_traffic", moved(G, north=30), T0 + timedelta(hours=10)),  # not
    report("H0", "roads_traffic", H, T0),
    report("H1", "roads_traffic", moved(H, north=80), T0 + timedelta(hours=5)),  # 80 m away: not
    report("H2", "noise", moved(H, north=10), T0 + timedelta(hours=5)),  # another category: not
]


def test_duplicate_flag_follows_the_48_hour_rule(any_db_url):
    engine = load(any_db_url, DUPLICATE_ROWS)
    engine.dispose()
    rules = hs.Rules(50, 30, 2, 48)
    start, end_before = datetime(2026, 11, 1), datetime(2026, 12, 1)
    first = flag_duplicates(any_db_url, start, end_before, rules)
    assert first == {"from": "2026-11-01 00:00", "flagged": 1, "written": True}
    engine = make_engine(any_db_url)
    try:
        with engine.connect() as connection:
            stored = dict(
                connection.execute(
                    schema.feedback.select()
                    .with_only_columns(schema.feedback.c.source_id, schema.feedback.c.duplicate_of)
                    .order_by(schema.feedback.c.id)
                ).all()
            )
        assert stored == {
            "E0": None,
            "E1": 1,
            "F0": None,
            "F1": None,
            "G0": None,
            "G1": None,
            "H0": None,
            "H1": None,
            "H2": None,
        }
        counts = hq.duplicate_counts(engine, QueryFilter.build(Period(date(2026, 11, 1), date(2026, 11, 30)), [], {}))
        assert counts == {"received": 9, "duplicates": 1}
        shown = hq.reports_by_ids(engine, [1, 2])
        assert shown["duplicate_of"].tolist()[1] == 1
        # the records dialog shows the original's source_id beside the report ("Có thể trùng với")
        from dashboard.db import records_queries as rq

        november = QueryFilter.build(Period(date(2026, 11, 1), date(2026, 11, 30)), [], {})
        records = rq.page(engine, "feedback.received", "numerator", november, 50, 0).set_index("source_id")
        flagged = records["duplicate_of"].dropna().to_dict()
        assert (len(records), flagged) == (9, {"E1": "E0"})
    finally:
        engine.dispose()
    # a second run with nothing new writes nothing
    assert flag_duplicates(any_db_url, start, end_before, rules) == {
        "from": "2026-11-01 00:00",
        "flagged": 1,
        "unchanged": True,
    }
    # a stricter rule forgets the old flag
    assert flag_duplicates(any_db_url, start, end_before, hs.Rules(20, 30, 2, 48))["flagged"] == 0
    engine = make_engine(any_db_url)
    try:
        assert hq.stored_flags(engine, start, end_before) == {}
    finally:
        engine.dispose()
