"""The map layer's grid cells counted by the page query and by the benchmark's naive path agree.

DuckDB stores lat/lon as 4-byte FLOAT. 16.49 is stored as 16.489999771…; divided in double precision (what SQL
does) it falls in cell 1648, divided in float32 (what pandas did with the column as read) in cell 1649. The two
reports below share one cell (1648, 10760) on both engines, so the page draws one cell and the naive path must too.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import insert

from dashboard.bench import naive
from dashboard.db import map_queries, schema
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.periods import Period

PERIOD = Period(date(2026, 3, 1), date(2026, 3, 7))


def _report(id_: int, lat: float, lon: float) -> dict:
    return dict(
        id=id_,
        source="t",
        source_id=str(id_),
        received_at=datetime(2026, 3, 2, 8, id_),
        category="waste_environment",
        channel="hue_s_app",
        area_code=None,
        lat=lat,
        lon=lon,
        status="new",
        agency=None,
        reopened=False,
    )


def test_grid_cells_of_page_and_naive_agree_at_a_float32_edge(any_db_url):
    engine = make_engine(any_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(insert(schema.feedback), [_report(1, 16.49, 107.605), _report(2, 16.485, 107.605)])
        layer = map_queries.feedback_layer(engine, QueryFilter.build(PERIOD), threshold=1)
        assert (layer.kind, layer.total) == ("density", 2)
        assert layer.frame["reports"].tolist() == [2]  # one cell holding both reports
        assert naive.located_feedback(engine, PERIOD, map_queries.GRID_DEGREES, 1) == {"located": 2, "shown": 1}
    finally:
        engine.dispose()
