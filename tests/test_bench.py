"""The bench command at a tiny scale (0.002: 20k reports, 10k dossiers, 8 sensors × 3 years), and the
demo generator's chunked path that large scales take. The real benchmark is not part of the tests."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from dashboard.bench import bench
from dashboard.bench import pages as bench_pages
from dashboard.cli import main
from dashboard.db.engine import make_engine
from dashboard.demo import generator as demo

SCALE = 0.002
# The pages the bench test times (all of them add half a minute): the first, the administrators' and the kiosk one.
TIMED_PAGES = ("overview", "feedback", "data_import", "wall")


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """Run the command twice on one file: the first run builds it, the second reuses it and times the pages (one
    warm run each: the test checks that every page is run and reported, not how fast)."""
    url = f"duckdb:///{tmp_path_factory.mktemp('bench') / 'bench.duckdb'}"
    argv = [
        "bench",
        "--scale",
        str(SCALE),
        "--db",
        url,
        "--runs",
        "5",
        "--naive-runs",
        "1",
        "--skip-pdf",
        "--skip-forecast",
        "--json",
    ]
    outputs = []
    for pages in (["--no-pages"], ["--pages", "--page-runs", "1", *(f"--page={name}" for name in TIMED_PAGES)]):
        stdout = io.StringIO()
        with contextlib.redirect_stdout(stdout):
            assert main(argv + pages) == 0
        outputs.append(json.loads(stdout.getvalue()))  # stdout holds the JSON object and nothing else
    return outputs


def test_json_shape_and_sizes(bench_run):
    first, second = bench_run
    assert first["build"]["built"] is True and second["build"]["built"] is False
    assert first["scale"] == SCALE and first["engine"] == "duckdb"
    rows = first["rows"]
    assert rows == second["rows"]
    assert abs(rows["feedback"] - 20_000) < 1_000
    assert abs(rows["dossiers"] - 10_000) < 500
    # 8 sensors × 96 quarter hours × 1096 days, less a few outages and the part of today still to come
    assert 0.97 * 8 * 96 * 1096 < rows["traffic_observations"] <= 8 * 96 * 1096
    assert rows["traffic_sensors"] == 8
    assert {"scale", "rows", "queries", "pdf_s", "forecast_s", "peak_rss_mb"} <= first.keys()
    assert first["pdf_s"] is None and first["forecast_s"] is None  # skipped
    assert 50 < first["peak_rss_mb"] < 2048


def test_every_page_query_timed_and_equal_to_naive(bench_run):
    queries = bench_run[0]["queries"]
    pages = {q["name"].split(".")[0] for q in queries}
    assert pages == {"overview", "feedback", "procedures", "traffic", "map", "records"}
    for q in queries:
        assert {"name", "p50_ms", "p95_ms", "naive_p50_ms", "cold_ms", "speedup"} <= q.keys()
        assert 0 < q["p50_ms"] <= q["p95_ms"] < 10_000
        assert q["cold_ms"] > 0 and q["naive_p50_ms"] > 0
        assert q["naive_matches"] is True, q["name"]


def test_pages_timed_on_the_server(bench_run):
    """`pages`: the pages asked for in the registry's order (the wall last, by its address), cold and warm, none
    showing an error (the administrators' import page too: bench signs in as a test admin); the run without pages
    has no such key."""
    first, second = bench_run
    assert "pages" not in first
    pages = second["pages"]
    assert [(p["name"], p["path"]) for p in pages] == [
        ("overview", "/"),
        ("feedback", "/phan-anh"),
        ("data_import", "/nhap-du-lieu"),
        ("wall", "/wall"),
    ]
    for page in pages:
        assert page["errors"] == [], page
        assert page["runs"] == 1
        assert 0 < page["p50_ms"] <= page["p95_ms"] < 60_000 and page["cold_ms"] > 0


def test_sizes_at_scale_one():
    sizes = bench.demo_sizes(1.0)
    assert sizes["feedback_scale"] * demo.FEEDBACK_PER_3_YEARS == 10_000_000
    assert round(sizes["dossier_scale"] * demo.DOSSIERS_PER_3_YEARS) == 5_000_000
    assert abs(sizes["sensors"] * 96 * 1096 - 50_000_000) < 96 * 1096
    assert bench.demo_sizes(SCALE)["sensors"] == 8


def test_same_compares_within_rounding():
    assert bench.same({"a": 1, "b": 2.34, "c": None}, {"a": 1, "b": 2.3400000001, "c": None})
    assert not bench.same({"a": 1}, {"a": 2})
    assert not bench.same({"a": 1}, {"a": 1, "b": 1})


def test_runs_below_five_refused(capsys):
    assert main(["bench", "--scale", "0.001", "--db", "duckdb:///:memory:", "--runs", "3"]) == 2
    assert "at least 5" in capsys.readouterr().err


def test_unknown_page_refused(capsys):
    assert main(["bench", "--scale", "0.001", "--db", "duckdb:///:memory:", "--page", "nowhere"]) == 2
    assert capsys.readouterr().err.startswith("error: --page: no page named nowhere; pages: overview, feedback,")


def test_every_registered_page_is_timed_by_default():
    names = [name for name, _path in bench_pages.timed_pages()]
    assert names[0] == "overview" and names[-1] == "wall" and "data_import" in names
    assert len(names) == len(set(names)) == len(bench_pages.PAGES)


def test_chunked_build_matches_one_pass_in_shape(monkeypatch):
    """Tables past the single-pass sizes are generated in day chunks: same columns, ids 1..n, about the
    same counts, every sensor reporting, exactly one silent sensor at the end."""
    now = datetime(2025, 11, 20, 14, 37)
    kwargs = {"scale": 0.03, "start": now.date() - timedelta(days=200), "now": now, "seed": 3}
    one_pass = demo.build_demo(make_engine("duckdb:///:memory:"), **kwargs).rows
    monkeypatch.setattr(demo, "SINGLE_PASS_CASES", 500)
    monkeypatch.setattr(demo, "SINGLE_PASS_OBSERVATIONS", 50_000)
    monkeypatch.setattr(demo, "GENERATE_CHUNK_ROWS", 400)
    engine = make_engine("duckdb:///:memory:")
    chunked = demo.build_demo(engine, **kwargs, sensors=65).rows
    assert abs(chunked["feedback"] - one_pass["feedback"]) <= 10
    assert abs(chunked["dossiers"] - one_pass["dossiers"]) <= 10
    with engine.connect() as connection:
        for table in ("feedback", "dossiers"):
            low, high, distinct = connection.execute(
                text(f"SELECT min(id), max(id), count(DISTINCT id) FROM {table}")
            ).one()
            assert (low, high, distinct) == (1, chunked[table], chunked[table])
        names = connection.execute(text("SELECT count(DISTINCT name), count(*) FROM traffic_sensors")).one()
        assert names == (65, 65)
        last = connection.execute(text("SELECT sensor_id, max(observed_at) FROM traffic_observations GROUP BY 1")).all()
    newest = max(at for _, at in last)
    assert len(last) == 65
    assert len([s for s, at in last if at < newest - timedelta(hours=1)]) == 1


def test_exit_code_one_when_a_query_differs_from_naive(bench_run, tmp_path, capsys):
    """A report written into the base table behind the rollup's back (no refresh) is counted by the naive path and
    not by the rollup-read KPI: the run still prints its result, names the queries and exits 1. The database also
    predates feedback.source_category, which the reused database gains first (the records views select it)."""
    import shutil

    from sqlalchemy import insert, select

    from dashboard.db import schema

    source = bench_run[1]["database"].removeprefix("duckdb:///")
    copy = tmp_path / "stale.duckdb"
    shutil.copy(source, copy)
    url = f"duckdb:///{copy}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            end = connection.execute(select(schema.dataset_info.c.value).where(schema.dataset_info.c.key == "end"))
            day = datetime.fromisoformat(end.scalar_one())
            largest = connection.execute(select(schema.feedback.c.id).order_by(schema.feedback.c.id.desc())).first()[0]
            connection.execute(
                insert(schema.feedback).values(
                    id=largest + 1,
                    source="stale",
                    source_id="1",
                    received_at=day - timedelta(days=10, hours=-8),
                    category="other",
                    status="new",
                    reopened=False,
                )
            )
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE feedback DROP COLUMN source_category"))
    finally:
        engine.dispose()
    capsys.readouterr()
    argv = ["bench", "--scale", str(SCALE), "--db", url, "--runs", "5", "--naive-runs", "1", "--skip-pdf"]
    assert main([*argv, "--skip-forecast", "--no-pages", "--json"]) == bench.EXIT_DIFFERENT_FIGURES == 1
    out, err = capsys.readouterr()
    result = json.loads(out)
    different = [q["name"] for q in result["queries"] if q["naive_matches"] is False]
    assert different == ["overview.kpis_city", "overview.feedback_daily"]  # the report has no ward: not kpis_area
    assert "adding the columns feedback.source_category ..." in err
    assert err.endswith(
        "error: 2 page queries gave figures different from the naive computation: "
        "overview.kpis_city, overview.feedback_daily\n"
    )
