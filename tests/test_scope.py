"""Row-level scope (issue 19): one rule in the query layer, the same figures as a database holding only the
officer's cases, `--as NAME` on the CLI, and links that can narrow a scope but never widen it.

The strongest check is `test_every_case_query_equals_a_database_of_only_the_scope`: every public query function of
the page query modules is run with an officer's scope, then the cases outside the scope are deleted (rollups
rebuilt) and the same functions run for the whole city — every figure must be identical. A query module function
that takes neither a QueryFilter nor a `scope` keyword fails the test unless it is listed in CITY_FIGURES with the
reason it is not about cases: a new query cannot forget the scope silently. DuckDB and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import secrets
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.cli import main
from dashboard.db import (
    accounts,
    dossier_queries,
    feedback_queries,
    hotspot_queries,
    map_queries,
    quality_queries,
    queries,
    records_queries,
    rollups,
    schema,
    scorecard_queries,
    traffic_queries,
)
from dashboard.db.engine import create_schema, duckdb_file, make_engine, writing
from dashboard.db.ops import ops_engine
from dashboard.db.predicates import QueryFilter
from dashboard.metrics import kpis, scorecard_table
from dashboard.periods import Period
from dashboard.wall import data as wall_data
from dashboard.wall import rules as wall_rules

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
PERIOD = Period(date(2026, 10, 22), date(2026, 11, 20))
PG_DAYS = 60  # the PostgreSQL demo: 60 days up to DEMO_NOW (as tests/test_records.py)

MODULES = (
    queries,
    feedback_queries,
    dossier_queries,
    map_queries,
    hotspot_queries,
    scorecard_queries,
    records_queries,
    quality_queries,
    traffic_queries,
    kpis,
    scorecard_table,
    wall_data,
)
# Functions of those modules that read the database without a scope, and why that is right.
CITY_FIGURES = {
    "queries.area_list": "reference data (ward names and shapes)",
    "queries.dataset_info": "what the dataset is",
    "queries.table_coverage": "freshness of the feeds",
    "queries.traffic_daily": "traffic: a city figure",
    "queries.traffic_hourly": "traffic: a city figure",
    "hotspot_queries.has_duplicate_column": "the schema",
    "hotspot_queries.reports_for_duplicates": "the duplicates job, city-wide",
    "hotspot_queries.stored_flags": "the duplicates job, city-wide",
    "scorecard_queries.area_names": "reference data",
    "scorecard_queries.check_columns": "the schema",
    "quality_queries.city_bbox": "reference data (ward shapes)",
    "quality_queries.import_history": "the import log: about the feeds",
    "quality_queries.last_imports": "the import log: about the feeds",
    "quality_queries.reject_reasons": "the import log: about the feeds",
    "traffic_queries.sensor_list": "traffic: a city figure",
    "data.newest_records": "freshness of the feeds",
    "data.traffic_now": "traffic: a city figure",
    "data.forecast_outlook": "forecasts: city figures",
}
NOT_COMPARED = {"records_queries.condition", "records_queries.records_select"}  # SQL statements, run by count/page
RECORD_METRICS = (
    ("feedback.open_backlog", "numerator"),
    ("feedback.resolved_on_time_pct", "denominator"),
    ("dossiers.completed", "numerator"),
    ("dossiers.completed_on_time_pct", "numerator"),
)
STATISTICS = ("feedback.median_resolution_hours", "feedback.satisfaction_avg", "dossiers.median_lead_time_days")


# ---------------------------------------------------------------- databases
def _pg_demo(url: str) -> str:
    from dashboard.demo.generator import build_demo

    engine = make_engine(url)
    try:
        create_schema(engine, drop_first=True)
        start = DEMO_NOW.date() - timedelta(days=PG_DAYS)
        build_demo(engine, seed=7, scale=0.03, start=start, end=DEMO_NOW.date(), now=DEMO_NOW)
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path_factory) -> str:
    """A demo database this module may change (a copy of the session's DuckDB demo, or PostgreSQL's own)."""
    if request.param == "postgres":
        return _pg_demo(request.getfixturevalue("pg_url"))
    copy = tmp_path_factory.mktemp("scope") / "scope.duckdb"
    shutil.copy(duckdb_file(request.getfixturevalue("demo_db_url")), copy)
    return f"duckdb:///{copy}"


def _busiest(engine, column, period: Period = PERIOD, rank: int = 0) -> str:
    table = column.table
    statement = (
        select(column, func.count().label("n"))
        .where(column.is_not(None), table.c.received_at >= period.start_at, table.c.received_at < period.end_before)
        .group_by(column)
        .order_by(func.count().desc(), column)
    )
    with engine.connect() as connection:
        return str(connection.execute(statement).all()[rank][0])


@pytest.fixture(scope="module")
def units(db_url) -> dict[str, str]:
    """An agency (the second busiest: not the whole city's figure), a ward and another agency and ward."""
    engine = make_engine(db_url, read_only=True)
    try:
        f = schema.feedback.c
        return {
            "agency": _busiest(engine, f.agency, rank=1),
            "other_agency": _busiest(engine, f.agency, rank=2),
            "area": _busiest(engine, f.area_code, rank=3),
            "other_area": _busiest(engine, f.area_code, rank=4),
        }
    finally:
        engine.dispose()


def _officer(url: str, **scope) -> str:
    """An agency officer of `scope` in the database's accounts; returns the name."""
    from dashboard.access.roles import Role
    from dashboard.testing.accounts import login_token, test_user_name

    login_token(url, "agency_officer", **scope)
    return accounts.normalise_name(
        test_user_name(Role.AGENCY_OFFICER, scope.get("agencies", ()), scope.get("areas", ()))
    )


# ---------------------------------------------------------------- KPIs, records, brief through --as
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _kpi_args(url: str) -> list[str]:
    return ["--database-url", url, "kpi", "--from", PERIOD.start.isoformat(), "--to", PERIOD.end.isoformat(), "--json"]


def test_kpi_as_an_officer_equals_the_kpis_of_only_their_rows(capsys, db_url, units):
    agency, area = units["agency"], units["area"]
    engine = make_engine(db_url, read_only=True)
    try:
        by_agency = kpis.compute_kpis(engine, PERIOD, None, {"agency": [agency]}, ("feedback", "dossiers"))
        by_area = kpis.compute_kpis(engine, PERIOD, [area], None, ("feedback", "dossiers"))
        city = kpis.compute_kpis(engine, PERIOD)
    finally:
        engine.dispose()
    code, out, err = run(capsys, *_kpi_args(db_url), "--as", _officer(db_url, agencies=(agency,)))
    assert code == 0, err
    shown = json.loads(out)
    for section in ("feedback", "dossiers"):
        assert shown[section] == json.loads(json.dumps(by_agency[section], default=str)), section
    assert shown["traffic"] == json.loads(json.dumps(city["traffic"], default=str))  # traffic: a city figure
    assert shown["feedback"]["received"] < city["feedback"]["received"]

    code, out, err = run(capsys, *_kpi_args(db_url), "--as", _officer(db_url, areas=(area,)))
    assert code == 0, err
    for section in ("feedback", "dossiers"):
        assert json.loads(out)[section] == json.loads(json.dumps(by_area[section], default=str)), section

    # --agency may narrow an officer's scope, never widen it: another agency is left out with a note
    name = _officer(db_url, agencies=(agency,))
    code, out, err = run(capsys, *_kpi_args(db_url), "--as", name, "--agency", units["other_agency"])
    assert code == 0 and f"--agency {units['other_agency']} is outside the scope of {name}" in err
    assert json.loads(out)["feedback"] == shown["feedback"]


def test_records_as_an_officer_lists_only_their_cases(capsys, db_url, units, tmp_path):
    agency = units["agency"]
    name = _officer(db_url, agencies=(agency,))
    args = ["--database-url", db_url, "records", "--metric", "feedback.received"]
    args += ["--from", PERIOD.start.isoformat(), "--to", PERIOD.end.isoformat()]
    code, out, _ = run(capsys, *args, "--agency", agency, "--count")
    expected = int(out)
    assert code == 0 and expected > 0
    target = tmp_path / "officer.csv"
    code, _, err = run(capsys, *args, "--as", name, "--csv", str(target))
    assert code == 0, err
    frame = pd.read_csv(target, encoding="utf-8-sig", dtype=str)
    assert len(frame) == expected
    assert set(frame["agency"]) == {agency}
    phones = frame["citizen_phone"].dropna()
    assert len(phones) > 0 and phones.str.startswith("•").all()  # masked for an officer (IOC_PII_ROLES: admin)

    code, _, err = run(capsys, *args, "--as", "nobody-" + secrets.token_hex(3), "--count")
    assert code == 2 and "no active user of that name" in err
    from dashboard.testing.accounts import login_token

    login_token(db_url, "viewer")
    code, _, err = run(capsys, *args, "--as", "test-viewer", "--count")
    assert code == 2 and "the role viewer may not see records" in err


# ---------------------------------------------------------------- links: narrow, never widen
def _page(monkeypatch, url: str, page: str, params: dict[str, str], **scope):
    import page_support

    app = page_support.new_app(monkeypatch, url, role="agency_officer", **scope)
    for key, value in {"from": PERIOD.start.isoformat(), "to": PERIOD.end.isoformat(), **params}.items():
        app.query_params[key] = value
    app.run()
    notices = [w.body for w in app.sidebar.warning]  # a link's notice shows on the page it opens
    app.switch_page(str(Path(__file__).resolve().parent.parent / page))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app, notices + [w.body for w in app.sidebar.warning]


def _received(app) -> int:
    import page_support

    from dashboard.i18n import t

    return int(page_support.metric_value(app, t("kpi.feedback.received")).replace(".", ""))


def test_a_link_to_another_agency_or_ward_shows_the_officers_own_figures(monkeypatch, db_url, units):
    from dashboard.db import audit

    agency, area = units["agency"], units["area"]
    engine = make_engine(db_url, read_only=True)
    try:
        own = kpis.compute_kpis(engine, PERIOD, None, {"agency": [agency]}, ("feedback",))["feedback"]["received"]
        ward = kpis.compute_kpis(engine, PERIOD, [area], None, ("feedback",))["feedback"]["received"]
        city = kpis.compute_kpis(engine, PERIOD, sections=("feedback",))["feedback"]["received"]
    finally:
        engine.dispose()
    assert own < city and ward < city

    tampered, notices = _page(
        monkeypatch, db_url, "pages/feedback.py", {"agency": units["other_agency"]}, agencies=(agency,)
    )
    assert _received(tampered) == own
    assert tampered.session_state["dim_agency"] == []
    assert any("bộ lọc đã được thu hẹp" in text and units["other_agency"] in text for text in notices), notices
    assert [agency] == [o for o in tampered.sidebar.multiselect if o.key == "dim_agency"][0].options

    tampered, notices = _page(monkeypatch, db_url, "pages/overview.py", {"area": units["other_area"]}, areas=(area,))
    assert _received(tampered) == ward
    assert tampered.session_state["areas"] == []
    assert any("bộ lọc đã được thu hẹp" in text for text in notices), notices
    assert len([o for o in tampered.sidebar.multiselect if o.key == "areas"][0].options) == 1
    captions = [c.value for c in tampered.caption]
    # an officer's figures are their own cases, never "the whole city"
    assert not any(c.startswith("Toàn thành phố") for c in captions), captions
    assert any(c.startswith("Phường/xã: ") and " · Từ " in c for c in captions), captions  # the ward, by name

    briefing, _ = _page(monkeypatch, db_url, "pages/briefing.py", {}, agencies=(agency,))
    assert "Báo cáo đã lưu" not in " ".join(e.label for e in briefing.expander)  # the city-wide archive is not offered

    logged = audit.read_log(ops_engine(db_url), actions=["scope_narrowed"])
    targets = sorted(set(logged["target"]))
    assert targets == ["agency", "area"], targets
    assert units["other_agency"] in " ".join(logged["details"])


# ---------------------------------------------------------------- the scorecard and the briefing
def test_an_officers_scorecard_and_briefing_hold_only_their_cases(capsys, db_url, units, tmp_path):
    from dashboard.briefing.content import build_briefing

    agency = units["agency"]
    scope = Scope.of(agencies=[agency])
    engine = make_engine(db_url, read_only=True)
    try:
        card = scorecard_table.compute_scorecard(engine, PERIOD, "agency", now=DEMO_NOW, scope=scope, min_cases=1)
        assert [row["unit"] for row in card.rows] == [agency]
        city = scorecard_table.compute_scorecard(engine, PERIOD, "agency", now=DEMO_NOW, min_cases=1)
        mine = [row for row in city.rows if row["unit"] == agency][0]
        assert (mine["cases"], mine["points"]) == (card.rows[0]["cases"], card.rows[0]["points"])
        briefing = build_briefing(engine, "2026-W46", lang="vi", now=DEMO_NOW, scope=scope, viewer="officer-a")
    finally:
        engine.dispose()
    assert briefing.scope == f"Đơn vị: {agency} (phạm vi của officer-a)"
    assert briefing.current["feedback"]["received"] < briefing.current["traffic"]["vehicles"]  # traffic: the city's
    code, _, err = run(capsys, "--database-url", db_url, "brief", "--week", "2026-W46", "--as", "nobody-x")
    assert code == 2 and "no active user of that name" in err


def test_brief_as_an_officer_names_the_scope_on_the_cover(capsys, demo_db_url, tmp_path):
    """One PDF (DuckDB; the briefing's figures are checked on both engines above): the cover says whose scope."""
    import subprocess

    engine = make_engine(demo_db_url, read_only=True)
    try:
        agency = _busiest(engine, schema.feedback.c.agency, rank=1)
    finally:
        engine.dispose()
    name = _officer(demo_db_url, agencies=(agency,))
    out = tmp_path / "officer.pdf"
    code, _, err = run(
        capsys, "--database-url", demo_db_url, "brief", "--week", "2026-W46", "--as", name, "--out", str(out)
    )
    assert code == 0, err
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert f"Đơn vị: {agency} (phạm vi của {name})" in " ".join(text.replace("\u00a0", " ").split())


# ---------------------------------------------------------------- every query equals a database of only the scope
def _arguments(name: str, parameters, scope: Scope, url: str, ids: list[int], units: dict) -> list[dict]:
    """Every call to make of one function: its keyword arguments (several calls for a few functions)."""
    values = {
        "period": PERIOD,
        "query_filter": QueryFilter.build(PERIOD, scope=scope),
        "as_of": DEMO_NOW,
        "now": DEMO_NOW,
        "window": wall_rules.TimeWindow(DEMO_NOW - timedelta(hours=24), DEMO_NOW),
        "day": DEMO_NOW.date(),
        "days": 3,
        "url": url,
        "ids": ids,
        "bbox": None,
        "section": "feedback",
        "column_name": "agency",
    }
    calls = [{}]
    required = [p for p in parameters.values() if p.default is inspect.Parameter.empty and p.name != "engine"]
    for parameter in required:
        if parameter.name in ("metric", "part", "by", "unit", "kind"):
            continue
        assert parameter.name in values, f"{name}: add a value for its argument {parameter.name!r} to _arguments"
        calls[0][parameter.name] = values[parameter.name]
    names = set(parameters)
    if {"metric", "part"} <= names:
        calls = [{**calls[0], "metric": m, "part": p} for m, p in RECORD_METRICS]
    elif "metric" in names:
        calls = [{**calls[0], "metric": m} for m in STATISTICS]
    if "kind" in names:
        calls = [{**calls[0], "by": "agency", "unit": units["agency"], "kind": k} for k in records_queries.POINTS_LOST]
    elif "by" in names:
        calls = [{**call, "by": by} for call in calls for by in ("agency", "area")]
    if name == "kpis.section_kpis":
        calls = [{**calls[0], "section": s} for s in ("feedback", "dossiers")]
    if "scope" in names:
        calls = [{**call, "scope": scope} for call in calls]
    return calls


def _plain(value):
    """A comparable, JSON-like form of a query result (row order ignored; floats to 9 significant digits)."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=isinstance(value.index, pd.RangeIndex))
        rows = [_plain(row) for row in frame.to_dict("records")]
        return sorted(rows, key=lambda row: json.dumps(row, sort_keys=True, default=str))
    if isinstance(value, pd.Series):
        return _plain(value.to_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NaT or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, (int, str, bool)):
        return value
    return str(value)


def _run_all(url: str, scope: Scope, ids: list[int], units: dict) -> dict[str, object]:
    engine = make_engine(url, read_only=True)
    results = {}
    try:
        for module in MODULES:
            short = module.__name__.rsplit(".", 1)[-1]
            for name, function in inspect.getmembers(module, inspect.isfunction):
                key = f"{short}.{name}"
                parameters = inspect.signature(function).parameters
                if function.__module__ != module.__name__ or name.startswith("_") or "engine" not in parameters:
                    continue
                if "query_filter" not in parameters and "scope" not in parameters:
                    assert key in CITY_FIGURES, f"{key} reads the database but takes no scope: add one"
                    continue
                if key in NOT_COMPARED:
                    continue
                for n, call in enumerate(_arguments(key, parameters, scope, url, ids, units)):
                    results[f"{key}#{n}"] = _plain(function(engine, **call))
    finally:
        engine.dispose()
    return results


def _keep_only(url: str, scope: Scope) -> dict[str, int]:
    """Delete the cases outside `scope` (decided in Python by Scope.allows, not by the SQL under test) and rebuild
    the rollups; returns the rows kept per table."""
    kept = {}
    with writing(url) as engine:  # a DuckDB file the app's engine holds open: the writers' copy-and-rename
        for table in (schema.feedback, schema.dossiers):
            with engine.connect() as connection:
                rows = connection.execute(select(table.c.id, table.c.agency, table.c.area_code)).all()
            drop = [row.id for row in rows if not scope.allows(row.agency, row.area_code)]
            with engine.begin() as connection:
                for first in range(0, len(drop), 5000):
                    connection.execute(delete(table).where(table.c.id.in_(drop[first : first + 5000])))
            kept[table.name] = len(rows) - len(drop)
        rollups.refresh_rollups(engine)
    return kept


def test_every_case_query_equals_a_database_of_only_the_scope(db_url, units):
    """Runs last in this module: it deletes the cases outside the scope."""
    scope = Scope.of(agencies=[units["agency"]], areas=[units["area"]])  # both columns: the union rule
    engine = make_engine(db_url, read_only=True)
    with engine.connect() as connection:
        ids = [
            row.id for row in connection.execute(select(schema.feedback.c.id).order_by(schema.feedback.c.id).limit(400))
        ]
    engine.dispose()
    scoped = _run_all(db_url, scope, ids, units)
    kept = _keep_only(db_url, scope)
    assert 0 < kept["feedback"] and 0 < kept["dossiers"]
    alone = _run_all(db_url, WHOLE_CITY, ids, units)
    assert set(scoped) == set(alone)
    assert len(scoped) > 60  # every page query, some several times
    different = [key for key in scoped if scoped[key] != alone[key]]
    assert not different, {key: (scoped[key], alone[key]) for key in different[:3]}
    assert scoped["kpis.compute_kpis#0"]["feedback"]["received"] > 0
