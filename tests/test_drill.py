"""Drill-down from every figure (`dashboard/web/drill.py`, `records_view`): a click's selection mapped to the records'
narrowing, the page tiles' records (overdue feedback, late dossiers) counted as the tiles count them, and each
page's dialog in AppTest — a tile's button, a chart's bar / a ward / a table row (as the narrowing their callbacks
store; AppTest cannot click Plotly) — whose count equals `records_queries.count` for the page's filters."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from dashboard.db import dossier_queries as dq
from dashboard.db import feedback_queries as fq
from dashboard.db import records_queries as rq
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.periods import Period
from dashboard.wall.rules import TimeWindow
from dashboard.web import drill, records_view
from dashboard.web.url_state import Filters

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
END = DEMO_NOW.date()
PERIOD = Period(END - timedelta(days=29), END)
LINK = {"from": str(PERIOD.start), "to": str(PERIOD.end)}
PAGES = Path(__file__).resolve().parent.parent / "pages"


# ---------------------------------------------------------------- selection → narrowing (pure)
def _state(*points: dict) -> dict:
    return {"selection": {"points": list(points), "point_indices": [], "box": [], "lasso": []}}


def test_point_values_take_the_field_unescaped_and_once():
    state = _state(
        {"y": "Sở Xây dựng", "customdata": ["Sở Xây dựng", 12, 3.5]},
        {"y": "A &amp; B", "customdata": ["A &amp; B", 4, 0.0]},
        {"y": "Sở Xây dựng", "customdata": ["Sở Xây dựng", 12, 3.5]},
    )
    assert drill.point_values(state, "y") == ["Sở Xây dựng", "A & B"]
    assert drill.point_values(state, "customdata") == ["Sở Xây dựng", "A & B"]
    assert drill.point_values(state, "customdata[1]") == ["12", "4"]
    assert drill.point_values(_state({"x": 1}), "customdata[5]") == []
    assert drill.point_values(None, "y") == []
    assert drill.point_values({"selection": {}}, "y") == []


def test_bucket_days_of_a_day_a_week_and_a_month():
    assert drill.bucket_days("2026-11-03", "day") == (date(2026, 11, 3), date(2026, 11, 3))
    assert drill.bucket_days("2026-11-02 00:00", "week") == (date(2026, 11, 2), date(2026, 11, 8))
    assert drill.bucket_days(date(2024, 2, 1), "month") == (date(2024, 2, 1), date(2024, 2, 29))
    assert drill.bucket_days("not a date") is None
    with pytest.raises(ValueError, match="grain"):
        drill.bucket_days("2026-11-03", "hour")


def test_narrowing_of_a_bar_a_ward_a_day_and_empty_space():
    bar = _state({"x": 71.5, "y": "Sở Giao thông", "customdata": ["Sở Giao thông", 10, 2.0]})
    assert drill.narrowing(bar, "agency", "y") == {"dims": {"agency": ["Sở Giao thông"]}}
    ward = _state({"location": "19753", "z": 3.1})
    assert drill.narrowing(ward, "area", "location") == {"dims": {"area": ["19753"]}}
    stacked = _state({"x": "2026-11-02", "y": 14, "customdata": "roads"})
    assert drill.narrowing(stacked, "category", day_field="x", grain="week") == {
        "dims": {"category": ["roads"]},
        "days": (date(2026, 11, 2), date(2026, 11, 8)),
    }
    line = _state({"x": "2026-11-05", "y": 20.3})  # the 7-day line of a stacked trend: no stack, the day only
    assert drill.narrowing(line, "category", day_field="x") == {"days": (date(2026, 11, 5), date(2026, 11, 5))}
    assert drill.narrowing(_state(), "agency", "y") is None
    assert drill.narrowing(_state({"y": "x"}), "agency", "customdata") is None  # a point without the field
    assert drill.narrowing(_state({"customdata": "roads"}), "category", day_field="x") is None  # no day


def test_table_rows_map_to_their_units():
    units = ["19753", "19789", "19801"]
    assert drill.row_units({"selection": {"rows": [1], "columns": []}}, units) == ["19789"]
    assert drill.row_units({"selection": {"rows": [], "columns": []}}, units) == []
    assert drill.row_units({"selection": {"rows": [7]}}, units) == []  # a row the table no longer has
    assert drill.row_units(None, units) == []


def test_map_layers_drill_to_the_counts_behind_them():
    assert drill.map_kpi("feedback.received_per_10k") == "feedback.received"
    assert drill.map_kpi("feedback.received_per_km2") == "feedback.received"
    assert drill.map_kpi("dossiers.received_per_10k") == "dossiers.received"
    for column in ("feedback.resolved_on_time_pct", "dossiers.received", "traffic.congestion_index_peak"):
        assert drill.map_kpi(column) == column
    from dashboard.charts.map_layers import WARD_LAYERS
    from dashboard.web.overview import MAP_METRICS

    for column in [layer.column for layer in WARD_LAYERS] + list(MAP_METRICS):
        assert rq.known(drill.map_kpi(column)), column


def test_a_click_narrows_the_page_filters_never_widens_them():
    page = Filters("vi", PERIOD, "previous_period", ("19753", "19789"), {"agency": ("A", "B")})
    # Inside the page's filters: narrowed to the click.
    inside = records_view.narrowed(
        page, {"dims": {"area": ["19789"], "agency": ["B"]}, "days": (date(2026, 11, 3), date(2026, 11, 3))}
    )
    assert (inside.areas, inside.dimensions, inside.period) == (
        ("19789",),
        {"agency": ("B",)},
        Period(date(2026, 11, 3), date(2026, 11, 3)),
    )
    # A dimension the page does not filter is added (a narrower set of records).
    assert records_view.narrowed(page, {"dims": {"category": ["roads"]}}).dimensions == {
        "agency": ("A", "B"),
        "category": ("roads",),
    }
    # Outside the page's filters: ignored, the page's filters stand.
    outside = records_view.narrowed(
        page, {"dims": {"area": ["99999"], "agency": ["C"]}, "days": (date(2026, 1, 1), date(2026, 1, 31))}
    )
    assert (outside.areas, outside.dimensions, outside.period) == (page.areas, page.dimensions, page.period)
    # Days partly outside are cut to the period.
    cut = records_view.narrowed(page, {"days": (PERIOD.end - timedelta(days=2), PERIOD.end + timedelta(days=5))})
    assert cut.period == Period(PERIOD.end - timedelta(days=2), PERIOD.end)
    assert records_view.narrowed(page, None) is page


# ---------------------------------------------------------------- the page tiles' records
@pytest.fixture(scope="module")
def pg_demo_url(pg_url):
    from dashboard.db.engine import create_schema
    from dashboard.demo.generator import build_demo

    engine = make_engine(pg_url)
    try:
        create_schema(engine, drop_first=True)
        build_demo(engine, seed=7, scale=0.03, start=END - timedelta(days=60), end=END, now=DEMO_NOW)
    finally:
        engine.dispose()
    return pg_url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    url = request.getfixturevalue("demo_db_url" if request.param == "duckdb" else "pg_demo_url")
    engine = make_engine(url, read_only=True)
    yield engine
    engine.dispose()


def test_page_tiles_have_their_records(engine):
    """The feedback page's overdue tile and the procedures page's late tile: their records are the tile's figure,
    for the city, one agency and a window ending at 14:37 (base rows, not the rollups)."""
    window = Period(END - timedelta(days=13), END)
    agency = fq.distinct_values(engine, "agency")[0]
    checked = 0
    for query_filter in (
        QueryFilter.build(PERIOD),
        QueryFilter.build(window, (), {"agency": (agency,)}),
        QueryFilter.build(TimeWindow(datetime(2026, 11, 3, 6, 30), DEMO_NOW)),
    ):
        overdue = fq.overdue_count(engine, query_filter)
        assert rq.count(engine, "feedback.overdue", "numerator", query_filter) == overdue
        extra = dq.extra_counts(engine, query_filter, query_filter.period.end_before)  # a period ended: as of its end
        late = extra["late"]
        assert rq.count(engine, "dossiers.late", "numerator", query_filter) == late
        assert rq.count(engine, "dossiers.past_due_open", "numerator", query_filter) == extra["past_due_open"]
        checked += extra["past_due_open"] > 0
        checked += overdue > 0 and late > 0
    assert checked >= 4  # not a comparison of zeros
    assert rq.parts_of("feedback.overdue") == ("numerator",)
    page = rq.page(engine, "dossiers.late", "numerator", QueryFilter.build(PERIOD), 5, 0)
    assert (page["late_days"] > 0).all() and list(page["late_days"]) == sorted(page["late_days"], reverse=True)
    assert tuple(rq.BEHIND) == tuple(rq.metric_keys())  # the CLI's and kpi --json's metrics are unchanged


# ---------------------------------------------------------------- the dialog on each page (AppTest)
def _count_in(app) -> int:
    captions = " ".join(c.value for c in app.caption)
    found = re.search(r"([\d.]+) bản ghi", captions)
    assert found, captions
    return int(found.group(1).replace(".", ""))


def _open(monkeypatch, url: str, page: str, **params: str):
    from page_support import run_page

    return run_page(monkeypatch, url, {**LINK, **params}, str(PAGES / page))


def _count(url: str, metric: str, query_filter: QueryFilter, part: str = "numerator") -> int:
    engine = make_engine(url, read_only=True)
    try:
        return rq.count(engine, metric, part, query_filter)
    finally:
        engine.dispose()


def _narrow(app, metric: str, narrow: dict):
    """What a chart's, map's or table's callback stores (records_view.choose), then the rerun that opens it."""
    app.session_state[records_view.RECORDS_METRIC_KEY] = metric
    app.session_state[records_view.PART_KEY] = "numerator"
    app.session_state[records_view.PAGE_KEY] = 1
    app.session_state[records_view.NARROW_KEY] = narrow
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def _agencies(url: str) -> list[str]:
    engine = make_engine(url, read_only=True)
    try:
        return fq.distinct_values(engine, "agency")
    finally:
        engine.dispose()


def test_feedback_page_tiles_bars_and_rows_open_their_records(monkeypatch, demo_db_url):
    agency = _agencies(demo_db_url)[0]
    app = _open(monkeypatch, demo_db_url, "feedback.py", agency=agency)
    page_filter = QueryFilter.build(PERIOD, (), {"agency": (agency,)})
    app.button(key="records_open_feedback.resolved_on_time_pct").click().run()
    assert app.query_params["metric"] == "feedback.resolved_on_time_pct"
    assert _count_in(app) == _count(demo_db_url, "feedback.resolved_on_time_pct", page_filter)
    app.segmented_control(key="records_part").set_value("denominator").run()
    assert _count_in(app) == _count(demo_db_url, "feedback.resolved_on_time_pct", page_filter, "denominator")
    # The overdue tile (not a KPI of kpi --json): its records are the tile's figure.
    app.button(key="records_open_feedback.overdue").click().run()
    assert not app.exception
    engine = make_engine(demo_db_url, read_only=True)
    try:
        overdue = fq.overdue_count(engine, page_filter)
    finally:
        engine.dispose()
    assert _count_in(app) == overdue
    # A bar of the volume chart: one category on one day (inside the agency the page filters).
    day = PERIOD.end - timedelta(days=3)
    _narrow(app, "feedback.received", {"dims": {"category": ["roads"]}, "days": (day, day)})
    expected = _count(
        demo_db_url,
        "feedback.received",
        QueryFilter.build(Period(day, day), (), {"agency": (agency,), "category": ("roads",)}),
    )
    assert _count_in(app) == expected
    assert app.query_params["metric"] == "feedback.received"


def test_procedures_page_tiles_and_bars(monkeypatch, demo_db_url):
    from page_support import metric_value

    from dashboard.i18n import t

    app = _open(monkeypatch, demo_db_url, "procedures.py")
    app.button(key="records_open_dossiers.late").click().run()
    assert not app.exception, [e.message for e in app.exception]
    engine = make_engine(demo_db_url, read_only=True)
    try:
        late = dq.extra_counts(engine, QueryFilter.build(PERIOD), PERIOD.end_before)["late"]
        agencies = dq.agency_ranking(engine, QueryFilter.build(PERIOD))
    finally:
        engine.dispose()
    assert late > 0 and _count_in(app) == late
    app.button(key="records_open_dossiers.past_due_open").click().run()
    assert _count_in(app) == int(metric_value(app, t("kpi.dossiers.past_due_open")).replace(".", ""))
    agency = str(agencies.dropna(subset=["on_time_pct"])["agency"].iloc[0])
    _narrow(app, "dossiers.completed_on_time_pct", {"dims": {"agency": [agency]}})
    by_agency = QueryFilter.build(PERIOD, (), {"agency": (agency,)})
    assert _count_in(app) == _count(demo_db_url, "dossiers.completed_on_time_pct", by_agency)


def test_traffic_page_tiles_and_sensors(monkeypatch, demo_db_url):
    from dashboard.db import traffic_queries as tq

    engine = make_engine(demo_db_url, read_only=True)
    try:
        sensors = tq.sensor_list(engine)
    finally:
        engine.dispose()
    road = str(sensors["road"].iloc[0])
    app = _open(monkeypatch, demo_db_url, "traffic.py", road=road)
    app.button(key="records_open_traffic.vehicles").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert _count_in(app) == _count(demo_db_url, "traffic.vehicles", QueryFilter.build(PERIOD, (), {"road": (road,)}))
    sensor = str(sensors[sensors["road"] == road]["id"].iloc[0])
    _narrow(app, "traffic.congestion_index_peak", {"dims": {"sensor": [sensor]}})
    expected = _count(
        demo_db_url,
        "traffic.congestion_index_peak",
        QueryFilter.build(PERIOD, (), {"road": (road,), "sensor": (sensor,)}),
    )
    assert _count_in(app) == expected


def test_map_page_ward_opens_the_layer_records(monkeypatch, demo_db_url):
    app = _open(monkeypatch, demo_db_url, "map.py")
    engine = make_engine(demo_db_url, read_only=True)
    try:
        from dashboard.db import queries

        code = str(queries.area_list(engine)["code"].iloc[0])
    finally:
        engine.dispose()
    _narrow(app, "feedback.received", {"dims": {"area": [code]}})
    assert _count_in(app) == _count(demo_db_url, "feedback.received", QueryFilter.build(PERIOD, (code,)))
    assert len(app.dataframe) >= 1


def test_overview_trend_day_and_an_unknown_metric(monkeypatch, demo_db_url):
    from page_support import run_app

    app = run_app(monkeypatch, demo_db_url, LINK)
    day = PERIOD.end - timedelta(days=1)
    _narrow(app, "dossiers.received", {"dims": {"channel": ["online"]}, "days": (day, day)})
    expected = _count(
        demo_db_url, "dossiers.received", QueryFilter.build(Period(day, day), (), {"channel": ("online",)})
    )
    assert _count_in(app) == expected
    bad = run_app(monkeypatch, demo_db_url, {**LINK, "metric": "feedback.secret"})
    assert not bad.exception
    assert "metric" not in bad.query_params
    assert any("metric: không tìm thấy feedback\\.secret" in w.value for w in bad.warning), [
        w.value for w in bad.warning
    ]


# ---------------------------------------------------------------- "Điểm bị trừ": the cases behind the scorecard's counts
def test_points_lost_are_the_cases_the_scorecard_subtracts(engine):
    """For every agency and every ward, the cases listed as costing points are exactly the scorecard's counts: late
    dossiers = on-time set − on time, complaints, feedback due and not resolved by then = due − due on time, and
    dissatisfied/reopened/overdue reports; for a period ended and one still running at 14:37."""
    from dashboard.db import scorecard_queries as sq

    checked = 0
    for period, as_of in ((PERIOD, PERIOD.end_before), (Period(END - timedelta(days=9), END), DEMO_NOW)):
        for by in ("agency", "area"):
            dossiers = sq.dossier_counts(engine, period, as_of, by).set_index("unit")
            feedback = sq.feedback_counts(engine, period, as_of, by).set_index("unit")
            for unit in sorted(set(dossiers.index) | set(feedback.index)):
                d = dossiers.loc[unit] if unit in dossiers.index else None
                f = feedback.loc[unit] if unit in feedback.index else None
                expected = {
                    "dossiers_late": 0 if d is None else int(d["in_set"] - d["on_time"]),
                    "dossiers_complaint": 0 if d is None else int(d["complaints"]),
                    "feedback_late": 0 if f is None else int(f["due"] - f["due_on_time"]),
                    "feedback_bad": 0 if f is None else int(f["bad"]),
                }
                got = {
                    kind: rq.points_lost_count(engine, period, as_of, by, str(unit), kind) for kind in rq.POINTS_LOST
                }
                assert got == expected, (by, unit, period, got, expected)
                checked += sum(1 for value in expected.values() if value)
    assert checked > 50  # mostly non-zero comparisons
    agency = str(sq.dossier_counts(engine, PERIOD, PERIOD.end_before, "agency")["unit"].iloc[0])
    page = rq.points_lost(engine, PERIOD, PERIOD.end_before, "agency", agency, "dossiers_late", 500, 0)
    assert len(page) == rq.points_lost_count(engine, PERIOD, PERIOD.end_before, "agency", agency, "dossiers_late")
    assert set(page["agency"]) <= {agency}
    with pytest.raises(rq.RecordsError, match="unknown kind"):
        rq.points_lost_count(engine, PERIOD, PERIOD.end_before, "agency", agency, "online")


def test_ranking_page_lists_the_points_lost_of_a_unit(monkeypatch, demo_db_url):
    """The page Xếp hạng: choose an agency, see each kind with its count and the cases of one kind, most urgent
    first, as `records_queries.points_lost` lists them."""
    from dashboard.i18n import t
    from dashboard.metrics.scorecard_table import compute_scorecard
    from dashboard.navigation import PAGES as SPECS

    period = Period(date(2026, 9, 1), date(2026, 10, 31))
    page = str(next(spec for spec in SPECS if spec.key == "ranking").path)
    from page_support import run_page

    app = run_page(monkeypatch, demo_db_url, {"from": "2026-09-01", "to": "2026-10-31", "by": "agency"}, page)
    engine = make_engine(demo_db_url, read_only=True)
    try:
        card = compute_scorecard(engine, period, "agency")
        unit = card.ranked[1]["unit"]
        counts = {
            kind: rq.points_lost_count(engine, period, card.as_of, "agency", unit, kind) for kind in rq.POINTS_LOST
        }
        expected = rq.points_lost(engine, period, card.as_of, "agency", unit, "feedback_bad", rq.PAGE_SIZE, 0)
    finally:
        engine.dispose()
    assert any(s.value == t("points_lost.heading") for s in app.subheader)
    app.selectbox(key=drill.LOST_UNIT_KEY).set_value(unit).run()
    assert not app.exception, [e.message for e in app.exception]
    control = app.segmented_control(key=drill.LOST_KIND_KEY)
    assert list(control.options) == [
        t(f"points_lost.kind.{kind}", count=f"{counts[kind]:,}".replace(",", ".")) for kind in rq.POINTS_LOST
    ]
    assert counts["feedback_bad"] > 0
    control.set_value("feedback_bad").run()
    shown = app.dataframe[-1].value
    assert list(shown[t("records.column.source_id")]) == list(expected["source_id"])
    assert any(t("points_lost.what.feedback_bad") in c.value for c in app.caption)


# ---------------------------------------------------------------- the narrowing in the address
def test_a_narrowing_goes_into_the_link_and_back():
    from dashboard.web import url_state

    narrow = {
        "dims": {"category": ["roads", "trees"], "area": ["19753"]},
        "days": (date(2026, 11, 2), date(2026, 11, 8)),
    }
    params = url_state.narrowing_params(narrow)
    assert params == {"metric_category": "roads,trees", "metric_area": "19753", "metric_days": "2026-11-02..2026-11-08"}
    assert records_view.linked_narrowing(params, "feedback.received") == (narrow, [])
    one_day = url_state.narrowing_params({"days": (date(2026, 11, 3), date(2026, 11, 3))})
    assert one_day == {"metric_days": "2026-11-03"}
    assert records_view.linked_narrowing({**one_day, "from": "2026-11-01"}, "dossiers.received") == (
        {"days": (date(2026, 11, 3), date(2026, 11, 3))},
        [],
    )
    # A dimension the records do not have (traffic has no category) and a bad date: named, not used.
    assert records_view.linked_narrowing(
        {"metric_category": "roads", "metric_days": "03/11/2026", "metric_road": "Lê Lợi"}, "traffic.vehicles"
    ) == ({"dims": {"road": ["Lê Lợi"]}}, [("metric_category", "roads"), ("metric_days", "03/11/2026")])
    assert url_state.narrowing_params(None) == {}


def test_a_link_opens_the_narrowed_records(monkeypatch, demo_db_url):
    from page_support import run_app

    day = PERIOD.end - timedelta(days=2)
    link = {**LINK, "metric": "feedback.received", "metric_category": "roads", "metric_days": str(day)}
    app = run_app(monkeypatch, demo_db_url, link)
    assert not app.exception, [e.message for e in app.exception]
    expected = _count(
        demo_db_url, "feedback.received", QueryFilter.build(Period(day, day), (), {"category": ("roads",)})
    )
    assert _count_in(app) == expected
    assert app.query_params["metric_category"] == "roads" and app.query_params["metric_days"] == str(day)
    bad = run_app(monkeypatch, demo_db_url, {**LINK, "metric": "feedback.received", "metric_sensor": "S1"})
    assert _count_in(bad) == _count(demo_db_url, "feedback.received", QueryFilter.build(PERIOD))
    assert any("metric\\_sensor: không tìm thấy S1" in w.value for w in bad.warning), [w.value for w in bad.warning]
