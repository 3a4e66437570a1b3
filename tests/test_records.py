"""The records behind every KPI (`dashboard.db.records_queries`, `python -m dashboard records`).

For every KPI of `kpi --json`, numerator and denominator, the records listed add up to exactly the figure the KPI
module counts, on DuckDB and PostgreSQL, for whole-day periods (answered by the rollups) and a window ending at
14:37 (answered by the base rows), for the city, one ward, one agency and one road; medians, the mean and the
congestion peak recomputed over the listed records equal the KPI.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select, update

from dashboard.cli import main
from dashboard.db import records_queries as rq
from dashboard.db import rollups, schema
from dashboard.db.engine import create_schema, make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.metrics.definitions import KPI_BY_KEY, percent
from dashboard.metrics.kpis import compute_kpis, kpi_parts, section_kpis
from dashboard.periods import Period
from dashboard.wall.rules import TimeWindow

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
STATISTICS = (
    "feedback.median_resolution_hours",
    "feedback.satisfaction_avg",
    "dossiers.median_lead_time_days",
    "traffic.congestion_index_peak",
)


@pytest.fixture(scope="module")
def pg_demo_url(pg_url):
    """A small seeded demo (60 days up to DEMO_NOW) in the PostgreSQL test database."""
    from dashboard.demo.generator import build_demo

    engine = make_engine(pg_url)
    try:
        create_schema(engine, drop_first=True)
        build_demo(
            engine, seed=7, scale=0.03, start=DEMO_NOW.date() - timedelta(days=60), end=DEMO_NOW.date(), now=DEMO_NOW
        )
    finally:
        engine.dispose()
    return pg_url


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request):
    url = request.getfixturevalue("demo_db_url" if request.param == "duckdb" else "pg_demo_url")
    engine = make_engine(url, read_only=True)
    yield engine
    engine.dispose()


def _top(engine, column) -> str:
    table = column.table
    row = engine.connect().execute(
        select(column, func.count().label("n"))
        .select_from(table)
        .where(column.is_not(None))
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(1)
    )
    return row.first()[0]


def _filters(engine) -> list[tuple[str, tuple[str, ...], dict[str, list[str]]]]:
    """(label, areas, dimensions): the city, the ward with most reports, the agency with most reports and most
    dossiers, the road with most observations."""
    ward = _top(engine, schema.feedback.c.area_code)
    agencies = [_top(engine, schema.feedback.c.agency), _top(engine, schema.dossiers.c.agency)]
    sensor = _top(engine, schema.traffic_observations.c.sensor_id)
    road = engine.connect().execute(select(schema.traffic_sensors.c.road).where(schema.traffic_sensors.c.id == sensor))
    return [
        ("city", (), {}),
        ("ward", (ward,), {}),
        ("agency", (), {"agency": agencies}),
        ("road", (), {"road": [road.scalar_one()]}),
    ]


def _applies(metric: str, dimensions: dict) -> bool:
    return set(dimensions) <= set(rq.fact_dimensions(metric))


def _periods():
    end = DEMO_NOW.date()
    return [
        Period(end - timedelta(days=29), end),  # whole days: the rollups answer the KPIs
        TimeWindow(datetime(2026, 11, 3, 6, 30), DEMO_NOW),  # not whole days: the base rows answer
    ]


def test_every_kpi_has_its_records_declared():
    assert tuple(rq.BEHIND) == tuple(KPI_BY_KEY)
    assert {k: rq.parts_of(k) for k in rq.BEHIND if len(rq.parts_of(k)) == 2} == {
        "feedback.resolved_on_time_pct": ("numerator", "denominator"),
        "feedback.reopened_pct": ("numerator", "denominator"),
        "dossiers.completed_on_time_pct": ("numerator", "denominator"),
        "dossiers.online_pct": ("numerator", "denominator"),
    }


@pytest.mark.parametrize("which", [0, 1], ids=["whole_days", "window_to_14_37"])
def test_records_add_up_to_every_kpi(engine, which):
    period = _periods()[which]
    if which == 0:
        assert rollups.usable_at(engine, period.start_at, period.end_before, unit="day")  # the rollup path is tested
    checked = 0
    for label, areas, dimensions in _filters(engine):
        parts = kpi_parts(engine, period, areas or None, dimensions or None)
        query_filter = QueryFilter.build(period, areas, dimensions)
        values = {
            f"{section}.{name}": value
            for section in ("feedback", "dossiers", "traffic")
            for name, value in section_kpis(engine, section, period, areas or None, dimensions or None).items()
        }
        for metric in rq.metric_keys():
            if not _applies(metric, dimensions):
                continue
            for part in rq.parts_of(metric):
                total = rq.part_total(engine, metric, part, query_filter)
                assert total == parts[metric][part], (label, metric, part)
                rows = rq.count(engine, metric, part, query_filter)
                if rq.section_of(metric) != "traffic":
                    assert rows == total, (label, metric, part)
                checked += 1
            if len(rq.parts_of(metric)) == 2:
                assert percent(parts[metric]["numerator"], parts[metric]["denominator"]) == values[metric]
            if metric in STATISTICS:
                recomputed = rq.statistic(engine, metric, query_filter)
                decimals = KPI_BY_KEY[metric].decimals
                expected = values[metric]
                assert (None if recomputed is None else round(recomputed, decimals)) == expected, (label, metric)
    assert checked >= 40
    # The figures are not all empty: the city's month has reports, dossiers and traffic behind it.
    city = kpi_parts(engine, period)
    assert min(city[k]["numerator"] for k in ("feedback.received", "dossiers.received", "traffic.vehicles")) > 0


def test_demo_figures_seen_from_the_records(demo_db_url):
    """Exact counts on the seeded session demo (seed 7, scale 0.03) for the last 30 days, city-wide."""
    engine = make_engine(demo_db_url, read_only=True)
    try:
        period = _periods()[0]
        query_filter = QueryFilter.build(period)
        got = {
            (metric, part): rq.part_total(engine, metric, part, query_filter)
            for metric in rq.metric_keys()
            for part in rq.parts_of(metric)
        }
        kpis = compute_kpis(engine, period)
    finally:
        engine.dispose()
    assert got[("feedback.received", "numerator")] == kpis["feedback"]["received"]
    assert got[("feedback.open_backlog", "numerator")] == kpis["feedback"]["open_backlog"]
    assert got[("dossiers.completed", "numerator")] == kpis["dossiers"]["completed"]
    assert got[("traffic.vehicles", "numerator")] == kpis["traffic"]["vehicles"]
    assert (
        percent(
            got[("feedback.resolved_on_time_pct", "numerator")], got[("feedback.resolved_on_time_pct", "denominator")]
        )
        == (kpis["feedback"]["resolved_on_time_pct"])
    )


def test_pages_are_stable_and_most_urgent_first(demo_db_url):
    engine = make_engine(demo_db_url, read_only=True)
    try:
        query_filter = QueryFilter.build(_periods()[0])
        everything = rq.all_records(engine, "feedback.open_backlog", "numerator", query_filter)
        pages = [rq.page(engine, "feedback.open_backlog", "numerator", query_filter, 7, offset) for offset in (0, 7)]
        again = rq.page(engine, "feedback.open_backlog", "numerator", query_filter, 7, 7)
        beyond = rq.page(engine, "feedback.open_backlog", "numerator", query_filter, 7, len(everything))
        traffic = rq.page(engine, "traffic.vehicles", "numerator", query_filter, 5)
        with pytest.raises(rq.RecordsError, match="limit ≥ 1"):
            rq.page(engine, "feedback.open_backlog", "numerator", query_filter, 0)
    finally:
        engine.dispose()
    assert len(everything) == rq.count(
        make_engine(demo_db_url, read_only=True), "feedback.open_backlog", "numerator", query_filter
    )
    assert len(everything) > 14
    pd.testing.assert_frame_equal(pd.concat(pages, ignore_index=True), everything.head(14))
    pd.testing.assert_frame_equal(again, pages[1])
    assert beyond.empty
    assert everything["id"].is_unique
    # Most overdue first, then due soonest, then the ones without a due time, newest first.
    late = everything["late_hours"]
    dated = late.dropna()
    assert list(dated) == sorted(dated, reverse=True)
    assert late.isna().sum() == 0 or late.isna().iloc[-late.isna().sum() :].all()
    assert dated.iloc[0] > 0  # the backlog holds overdue reports
    assert list(traffic["travel_time_ratio"]) == sorted(traffic["travel_time_ratio"], reverse=True)


def test_unknown_metric_and_missing_part_are_explained():
    with pytest.raises(rq.RecordsError, match="unknown metric 'feedback.nope'; the metrics are feedback.received"):
        rq.parts_of("feedback.nope")
    assert rq.parts_of("feedback.received") == ("numerator",)


# ---------------------------------------------------------------- the command line
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _args(url: str, metric: str, *more: str) -> list[str]:
    end = DEMO_NOW.date()
    return [
        "--database-url",
        url,
        "records",
        "--metric",
        metric,
        "--from",
        str(end - timedelta(days=29)),
        "--to",
        str(end),
        *more,
    ]


def test_count_prints_the_bare_integer(capsys, demo_db_url):
    engine = make_engine(demo_db_url, read_only=True)
    try:
        expected = kpi_parts(engine, _periods()[0])["feedback.resolved_on_time_pct"]["denominator"]
    finally:
        engine.dispose()
    code, out, err = run(
        capsys, *_args(demo_db_url, "feedback.resolved_on_time_pct", "--part", "denominator", "--count")
    )
    assert (code, out, err) == (0, f"{expected}\n", "")
    assert expected > 0


def test_table_shows_the_first_rows_and_the_total(capsys, demo_db_url):
    code, out, _ = run(capsys, *_args(demo_db_url, "dossiers.completed", "--limit", "3"))
    assert code == 0
    lines = out.splitlines()
    total = int(lines[0].rsplit(": ", 1)[1].split()[0].replace(",", ""))
    assert lines[0].startswith(f"dossiers.completed · numerator · {DEMO_NOW.date() - timedelta(days=29)}..")
    assert len(lines) == 1 + 1 + 3 + 1  # title, header, three rows, footer
    assert lines[-1] == f"rows 1–3 of {total:,}, most urgent first (--offset/--limit to page)"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--metric", "feedback.nope"], "unknown metric 'feedback.nope'; the metrics are: feedback.received, "),
        (["--metric", "feedback.received", "--part", "denominator"], "feedback.received has no denominator"),
        (["--metric", "traffic.vehicles", "--agency", "Sở Xây dựng"], "traffic.vehicles cannot be filtered by agency"),
        (["--metric", "feedback.received", "--filter", "category"], "--filter 'category' is not NAME=VALUE"),
        (["--metric", "feedback.received", "--area", "99999"], "unknown area code(s) 99999"),
    ],
)
def test_bad_input_is_explained(capsys, demo_db_url, argv, message):
    end = DEMO_NOW.date()
    code, out, err = run(capsys, "--database-url", demo_db_url, "records", "--from", str(end), "--to", str(end), *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_csv_is_formula_safe_and_reads_back(capsys, demo_copy_url, tmp_path):
    risky = '=HYPERLINK("http://example.com","click")'
    engine = make_engine(demo_copy_url)
    try:
        with engine.begin() as connection:
            first = (
                connection.execute(
                    select(schema.feedback.c.id)
                    .where(schema.feedback.c.received_at >= DEMO_NOW - timedelta(days=10))
                    .order_by(schema.feedback.c.id)
                    .limit(3)
                )
                .scalars()
                .all()
            )
            connection.execute(update(schema.feedback).where(schema.feedback.c.id.in_(first)).values(agency=risky))
    finally:
        engine.dispose()
    path = tmp_path / "out" / "records.csv"
    code, out, _ = run(
        capsys, *_args(demo_copy_url, "feedback.received", "--agency", risky, "--csv", str(path), "--header", "vi")
    )
    assert (code, out) == (0, "")
    text = path.read_bytes().decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:4] == ["Số thứ tự (id)", "Nguồn", "Mã hồ sơ/phản ánh", "Tiếp nhận lúc"]
    assert "Đơn vị xử lý" in table[0]
    agency = table[0].index("Đơn vị xử lý")
    assert sorted(int(row[0]) for row in table[1:]) == sorted(first)
    assert {row[agency] for row in table[1:]} == {"'" + risky}
    code, out, _ = run(capsys, *_args(demo_copy_url, "feedback.received", "--agency", risky, "--count"))
    assert out == "3\n"
    # Machine header: the column names of the records.
    code, _, _ = run(capsys, *_args(demo_copy_url, "dossiers.online_pct", "--part", "denominator", "--csv", str(path)))
    frame = pd.read_csv(path, encoding="utf-8-sig")
    assert list(frame.columns) == rq.column_names("dossiers.online_pct")
    code, out, _ = run(capsys, *_args(demo_copy_url, "dossiers.online_pct", "--part", "denominator", "--count"))
    assert len(frame) == int(out)


def test_kpi_takes_an_agency(capsys, demo_db_url):
    engine = make_engine(demo_db_url, read_only=True)
    try:
        agency = _top(engine, schema.feedback.c.agency)
        expected = compute_kpis(
            engine, _periods()[0], dimensions={"agency": [agency]}, sections=("feedback", "dossiers")
        )
    finally:
        engine.dispose()
    end = DEMO_NOW.date()
    code, out, err = run(
        capsys,
        "--database-url",
        demo_db_url,
        "kpi",
        "--from",
        str(end - timedelta(days=29)),
        "--to",
        str(end),
        "--agency",
        agency,
        "--json",
    )
    assert code == 0
    printed = json.loads(out)
    assert set(printed) == {"period", "feedback", "dossiers"}
    assert printed == json.loads(json.dumps(expected))
    assert 0 < printed["feedback"]["received"]
    assert "traffic has no agency" in err
    code, out, _ = run(capsys, *_args(demo_db_url, "feedback.received", "--agency", agency, "--count"))
    assert int(out) == printed["feedback"]["received"]


def test_reports_born_after_the_end_are_not_behind_the_period(demo_copy_url):
    """Two imported reports whose resolution comes before their reception (bad source data): one received after the
    period, resolved inside it; the KPIs (rollup and base rows alike) leave it out of the period's resolutions,
    and so do the records, whatever the rows' order of events."""
    period = _periods()[0]
    engine = make_engine(demo_copy_url)
    try:
        with engine.begin() as connection:
            ids = (
                connection.execute(
                    select(schema.feedback.c.id)
                    .where(schema.feedback.c.resolved_at.is_not(None))
                    .order_by(schema.feedback.c.id)
                    .limit(2)
                )
                .scalars()
                .all()
            )
            inside = datetime(2026, 11, 10, 9, 0)
            connection.execute(
                update(schema.feedback)
                .where(schema.feedback.c.id == ids[0])
                .values(received_at=period.end_before + timedelta(hours=5), resolved_at=inside, due_at=inside)
            )
            connection.execute(
                update(schema.feedback)
                .where(schema.feedback.c.id == ids[1])
                .values(received_at=inside + timedelta(days=2), resolved_at=inside, reopened=True, satisfaction=1)
            )
        rollups.refresh_rollups(engine)
    finally:
        engine.dispose()
    engine = make_engine(demo_copy_url, read_only=True)
    try:
        for window in (period, TimeWindow(datetime(2026, 11, 3, 6, 30), DEMO_NOW)):
            parts = kpi_parts(engine, window)
            query_filter = QueryFilter.build(window)
            for metric in [k for k in rq.metric_keys() if k.startswith("feedback.")]:
                for part in rq.parts_of(metric):
                    assert rq.part_total(engine, metric, part, query_filter) == parts[metric][part], (metric, part)
            resolved = rq.all_records(engine, "feedback.resolved", "numerator", query_filter)
            assert ids[0] not in set(resolved["id"]) and ids[1] in set(resolved["id"])
        assert rollups.usable_at(engine, period.start_at, period.end_before, unit="day")
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the dialog on the overview page
def test_every_part_says_what_it_counts():
    from dashboard.i18n import EN, VI

    for metric in rq.metric_keys():
        for part in rq.parts_of(metric):
            assert f"records.what.{metric}.{part}" in VI and f"records.what.{metric}.{part}" in EN
    for name in {n for m in rq.metric_keys() for n in rq.column_names(m)}:
        assert f"records.column.{name}" in VI, name


def _open_overview(monkeypatch, url: str, **params: str):
    from page_support import run_app

    end = DEMO_NOW.date()
    link = {"from": str(end - timedelta(days=29)), "to": str(end), **params}
    return run_app(monkeypatch, url, link)


def test_a_tile_opens_its_records(monkeypatch, demo_db_url):
    from dashboard.i18n import t

    app = _open_overview(monkeypatch, demo_db_url)
    assert not app.exception, [e.message for e in app.exception]
    app.button(key="records_open_feedback.resolved_on_time_pct").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert app.query_params["metric"] == "feedback.resolved_on_time_pct"
    engine = make_engine(demo_db_url, read_only=True)
    try:
        parts = kpi_parts(engine, _periods()[0])["feedback.resolved_on_time_pct"]
    finally:
        engine.dispose()
    captions = " ".join(c.value for c in app.caption)
    assert f"{parts['numerator']:,}".replace(",", ".") + " bản ghi" in captions
    assert any("Tử số: phản ánh xử lý xong trong kỳ, đúng hạn" in m.value for m in app.markdown)
    assert len(app.dataframe) >= 1
    table = app.dataframe[-1].value
    assert list(table.columns[:4]) == [
        t(f"records.column.{c}", "vi") for c in ("source_id", "received_at", "category", "area_name")
    ]
    assert set(table[t("records.column.status", "vi")]) <= {t(f"status.{s}", "vi") for s in ("resolved", "rejected")}
    assert len(table) == min(rq.PAGE_SIZE, parts["numerator"])
    # The denominator, then the second page.
    app.segmented_control(key="records_part").set_value("denominator").run()
    captions = " ".join(c.value for c in app.caption)
    assert f"{parts['denominator']:,}".replace(",", ".") + " bản ghi" in captions
    app.number_input(key="records_page").set_value(2).run()
    second = app.dataframe[-1].value
    expected = rq.page(
        make_engine(demo_db_url, read_only=True),
        "feedback.resolved_on_time_pct",
        "denominator",
        QueryFilter.build(_periods()[0]),
        rq.PAGE_SIZE,
        rq.PAGE_SIZE,
    )
    assert list(second[t("records.column.source_id", "vi")]) == list(expected["source_id"])


def test_a_link_with_metric_opens_the_dialog(monkeypatch, demo_db_url):
    app = _open_overview(monkeypatch, demo_db_url, metric="feedback.open_backlog", lang="en")
    assert not app.exception, [e.message for e in app.exception]
    assert any("Reports open at the end of the period" in m.value for m in app.markdown)
    assert app.query_params["metric"] == "feedback.open_backlog"


@pytest.mark.browser
def test_the_dialog_in_a_real_browser(web, chromium, demo_db_url):
    """Open the overview, click a tile's records button, see the dialog with its rows; the link keeps `metric=`.
    Screenshot: artifacts/browser/records-dialog.png."""
    from dashboard.config import PROJECT_ROOT

    artifacts = PROJECT_ROOT / "artifacts" / "browser"
    end = DEMO_NOW.date()
    link = f"?from={end - timedelta(days=29)}&to={end}"
    with web.running_app(demo_db_url, log_path=artifacts / "streamlit-records.log") as base:
        page = web.new_page(chromium)
        try:
            page.goto(base + "/" + link)
            web.wait_for_app(page)
            tile = page.locator('[data-testid="stColumn"]').filter(has_text="Mở lại sau khi đóng").first
            tile.get_by_role("button", name="Hồ sơ").click()
            dialog = page.locator('[data-testid="stDialog"]')
            dialog.wait_for(timeout=30_000)
            web.wait_for_app(page)
            text = dialog.inner_text()
            assert "Bản ghi phía sau" in text and "Tử số: phản ánh xử lý xong trong kỳ bị mở lại" in text
            assert "Traceback" not in page.locator("body").inner_text()
            assert "metric=feedback.reopened_pct" in page.url
            page.screenshot(path=str(artifacts / "records-dialog.png"))
        finally:
            page.context.close()
