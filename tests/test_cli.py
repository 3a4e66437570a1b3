"""The command line: `kpi --json` equals the KPI module, `info` describes the tables, bad input is explained."""

from __future__ import annotations

import json
from datetime import timedelta

import demo_sql
import pytest

from dashboard.cli import main
from dashboard.db.engine import make_engine
from dashboard.metrics import kpis
from dashboard.periods import Period


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_kpi_json_is_the_kpi_module_result(capsys, demo_db_url, demo_now):
    start = demo_now.date() - timedelta(days=6)
    code, out, _ = run(
        capsys,
        "--database-url",
        demo_db_url,
        "kpi",
        "--from",
        start.isoformat(),
        "--to",
        demo_now.date().isoformat(),
        "--json",
    )
    assert code == 0
    printed = json.loads(out)
    assert set(printed) == {"period", "feedback", "dossiers", "traffic"}
    assert set(printed["feedback"]) == {
        "received",
        "resolved",
        "resolved_on_time_pct",
        "median_resolution_hours",
        "open_backlog",
        "satisfaction_avg",
        "reopened_pct",
    }
    assert set(printed["dossiers"]) == {
        "received",
        "completed",
        "completed_on_time_pct",
        "online_pct",
        "median_lead_time_days",
    }
    assert set(printed["traffic"]) == {"vehicles", "congestion_index_peak"}
    expected = kpis.compute_kpis(make_engine(demo_db_url, read_only=True), Period(start, demo_now.date()))
    assert printed == json.loads(json.dumps(expected))
    # Counted on the base tables of the seeded demo over its last 7 days.
    period = Period(start, demo_now.date())
    assert demo_sql.feedback_figures(demo_db_url, period)["received"] == printed["feedback"]["received"] == 47
    assert demo_sql.traffic_vehicles(demo_db_url, period) == printed["traffic"]["vehicles"] == 1_114_140


def test_kpi_for_one_area(capsys, demo_db_url, demo_now):
    period = Period(demo_now.date() - timedelta(days=29), demo_now.date())
    args = ["--database-url", demo_db_url, "kpi", "--from", period.start.isoformat(), "--to", period.end.isoformat()]
    _, city, _ = run(capsys, *args, "--json")
    _, ward, _ = run(capsys, *args, "--json", "--area", "19753")
    city, ward = json.loads(city), json.loads(ward)
    assert ward["feedback"]["received"] == demo_sql.feedback_figures(demo_db_url, period, ["19753"])["received"] == 39
    assert city["feedback"]["received"] == demo_sql.feedback_figures(demo_db_url, period)["received"] == 316
    assert ward["dossiers"]["received"] == demo_sql.dossier_figures(demo_db_url, period, ["19753"])["received"] == 16
    assert ward["traffic"]["vehicles"] == demo_sql.traffic_vehicles(demo_db_url, period, ["19753"]) == 1_209_853


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["kpi", "--from", "2026-03-10", "--to", "2026-03-01"], "before it starts"),
        (["kpi", "--from", "2026-03-01", "--to", "2026-03-07", "--area", "nowhere"], "unknown area code(s) nowhere"),
    ],
)
def test_bad_kpi_input_is_explained(capsys, demo_db_url, argv, message):
    code, out, err = run(capsys, "--database-url", demo_db_url, *argv)
    assert code == 2 and out == "" and message in err


def test_unparsable_date_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["kpi", "--from", "01/03/2026", "--to", "2026-03-07"])
    assert exit_info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_missing_database_says_what_to_run(capsys, tmp_path):
    code, _, err = run(capsys, "--database-url", f"duckdb:///{tmp_path / 'none.duckdb'}", "info")
    assert code == 2 and "make demo" in err
    assert not (tmp_path / "none.duckdb").exists()


def test_info_lists_every_table_with_freshness(capsys, demo_db_url, demo_now):
    code, out, _ = run(capsys, "--database-url", demo_db_url, "info", "--json")
    assert code == 0
    info = json.loads(out)
    tables = {entry["table"]: entry for entry in info["tables"]}
    assert set(tables) >= {"feedback", "dossiers", "traffic_observations", "areas", "traffic_sensors"}
    assert tables["areas"]["rows"] == 40
    assert info["dataset"]["kind"] == "demo"
    assert tables["feedback"]["last_at"] <= demo_now.isoformat()


def test_init_db_is_idempotent_and_loads_areas(capsys, tmp_path):
    url = f"duckdb:///{tmp_path / 'fresh.duckdb'}"
    assert run(capsys, "--database-url", url, "init-db")[0] == 0
    modified = (tmp_path / "fresh.duckdb").stat().st_mtime_ns
    code, out, _ = run(capsys, "--database-url", url, "init-db")
    assert code == 0 and "Loaded" not in out and "nothing to change" in out
    assert (tmp_path / "fresh.duckdb").stat().st_mtime_ns == modified  # a complete database is not rewritten
    code, out, _ = run(capsys, "--database-url", url, "info", "--json")
    assert {e["table"]: e["rows"] for e in json.loads(out)["tables"]}["areas"] == 40


def test_demo_command_rejects_reversed_dates(capsys, tmp_path):
    code, _, err = run(
        capsys,
        "--database-url",
        f"duckdb:///{tmp_path / 'd.duckdb'}",
        "demo",
        "--start",
        "2026-03-10",
        "--end",
        "2026-03-01",
    )
    assert code == 2 and "before --start" in err
