"""Citizens' personal details (issue 19): masked for every role but IOC_PII_ROLES (default admin) in the records, their
CSV downloads and the CLI `records`; report coordinates rounded for `viewer`; the importer maps a 311 file's
first/last name, phone, e-mail and address. DuckDB and PostgreSQL where a database is involved."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import numpy as np
import page_support
import pandas as pd
import pytest
from sqlalchemy import text

from dashboard import cli
from dashboard.access.pii import mask_records
from dashboard.db import audit
from dashboard.db import map_queries as mq
from dashboard.db import records_queries as rq
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.db.ops import ops_engine
from dashboard.db.predicates import QueryFilter
from dashboard.ingest.importer import ImportOptions, run_import
from dashboard.periods import Period

NOW = datetime(2026, 11, 10, 12, 0)
CSV_311 = (
    "service_request_id,requested_datetime,service_name,status,lat,long,first_name,last_name,phone,email,address\n"
    "R1,2026-11-02 08:00,Pothole,open,16.4637123,107.5909876,Văn An,Nguyễn,0900 555 123,an.nguyen@example.com,"
    "12 Lê Lợi\n"
    "R2,2026-11-03 09:30,Graffiti,closed,16.47,107.60,,,,,\n"
)
PERIOD = Period(datetime(2026, 11, 1).date(), datetime(2026, 11, 5).date())
PII = ["citizen_name", "citizen_phone", "citizen_email", "citizen_address"]


def test_mask_records_hides_each_detail_its_own_way():
    frame = pd.DataFrame(
        {
            "citizen_name": ["Nguyễn Văn An", None, "lê thị  bích"],
            "citizen_phone": ["0900 555 123", "12", None],
            "citizen_email": ["an.nguyen@example.com", "not-an-address", None],
            "citizen_address": ["12 Lê Lợi", None, " "],
            "lat": [16.463712, 16.4, None],
            "lon": [107.590988, 107.6, None],
        }
    )
    masked = mask_records(frame, sees_pii=False, exact_locations=False)
    assert masked["citizen_name"].tolist() == ["N. V. A.", None, "L. T. B."]
    assert masked["citizen_phone"].tolist() == ["•••••••123", "•••", None]
    assert masked["citizen_email"].tolist() == ["a•••@example.com", "•••", None]
    assert masked["citizen_address"].tolist() == ["•••", None, None]
    assert masked["lat"].tolist()[:2] == [16.46, 16.4] and masked["lon"].tolist()[:2] == [107.59, 107.6]
    assert frame["citizen_name"][0] == "Nguyễn Văn An"  # the input is never changed
    assert mask_records(frame, sees_pii=True, exact_locations=True) is frame
    kept = mask_records(frame, sees_pii=True, exact_locations=False)
    assert kept["citizen_phone"][0] == "0900 555 123" and kept["lat"][0] == 16.46


@pytest.fixture
def pii_url(areas_engine, any_db_url, tmp_path):
    """`any_db_url` with Huế's wards and the two reports of CSV_311 imported (source t311)."""
    path = tmp_path / "requests_311.csv"
    path.write_text(CSV_311, encoding="utf-8")
    result = run_import(areas_engine, ImportOptions("feedback", path, source="t311", now=NOW))
    assert (result.inserted, result.rejected) == (2, 0)
    assert result.mapping["citizen_first_name"] == "first_name" and result.mapping["citizen_address"] == "address"
    areas_engine.dispose()  # DuckDB: the file is free for the command below (the engine reconnects when used)
    return any_db_url


def test_importer_maps_the_311_details_and_records_mask_them(pii_url, areas_engine):
    stored = fetch_frame(
        areas_engine,
        text("SELECT source_id, citizen_name, citizen_phone, citizen_email, citizen_address FROM feedback ORDER BY 1"),
    )
    assert stored.iloc[0].tolist() == ["R1", "Văn An Nguyễn", "0900 555 123", "an.nguyen@example.com", "12 Lê Lợi"]
    assert stored.iloc[1][PII].isna().all()  # a row without details keeps NULLs
    query_filter = QueryFilter.build(PERIOD)
    masked = rq.all_records(areas_engine, "feedback.received", "numerator", query_filter).set_index("source_id")
    assert masked.loc["R1", PII].tolist() == ["V. A. N.", "•••••••123", "a•••@example.com", "•••"]
    assert masked.loc["R2", PII].isna().all()
    shown = rq.page(areas_engine, "feedback.received", "numerator", query_filter, sees_pii=True).set_index("source_id")
    assert shown.loc["R1", PII].tolist() == ["Văn An Nguyễn", "0900 555 123", "an.nguyen@example.com", "12 Lê Lợi"]


def test_cli_records_csv_is_masked_and_logged(pii_url, tmp_path, capsys):
    out = tmp_path / "records.csv"
    argv = ["--database-url", pii_url, "records", "--metric", "feedback.received"]
    argv += ["--from", str(PERIOD.start), "--to", str(PERIOD.end), "--csv", str(out)]
    code = cli.main(argv)
    assert code == 0, capsys.readouterr().err
    written = pd.read_csv(out, encoding="utf-8-sig", dtype=str).set_index("source_id")
    assert written.loc["R1", PII].tolist() == ["V. A. N.", "•••••••123", "a•••@example.com", "•••"]
    rows = audit.read_log(ops_engine(pii_url), actions=["export"], text_=str(out))
    assert len(rows) == 1 and rows["actor"][0].startswith("cli:") and rows["target"][0] == "feedback.received"
    details = json.loads(rows["details"][0])
    from dashboard.testing.accounts import login_token

    login_token(pii_url, "admin")  # the user test-admin; `--as` an admin: the details as stored
    shown = tmp_path / "as_admin.csv"
    assert cli.main(["--database-url", pii_url, "records", "--as", "test-admin", *argv[3:-1], str(shown)]) == 0
    written = pd.read_csv(shown, encoding="utf-8-sig", dtype=str).set_index("source_id")
    assert written.loc["R1", PII].tolist() == ["Văn An Nguyễn", "0900 555 123", "an.nguyen@example.com", "12 Lê Lợi"]
    assert audit.read_log(ops_engine(pii_url), actions=["export"], text_=str(shown))["actor"][0].endswith(
        " as test-admin"
    )
    assert {k: details[k] for k in ("from", "to", "part", "rows")} == {
        "from": "2026-11-01",
        "to": "2026-11-05",
        "part": "numerator",
        "rows": 2,
    }


# ---------------------------------------------------------------- the pages (AppTest on the seeded demo database)
def _records_table(app) -> pd.DataFrame:
    from dashboard.i18n import t

    name = t("records.column.citizen_name")
    tables = [df.value for df in app.dataframe if name in df.value.columns]
    assert tables, [list(df.value.columns) for df in app.dataframe]
    return tables[0]


def _open_records(monkeypatch, url: str, now: datetime, role: str):
    start = (now - timedelta(days=29)).date()
    app = page_support.new_app(monkeypatch, url, role=role)
    for key, value in {"from": str(start), "to": str(now.date()), "metric": "feedback.received"}.items():
        app.query_params[key] = value
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return _records_table(app)


def test_pii_roles_setting_reveals_details_to_analysts(monkeypatch, demo_db_url, demo_now):
    from dashboard.i18n import t

    name = t("records.column.citizen_name")
    masked = _open_records(monkeypatch, demo_db_url, demo_now, "analyst")[name].dropna()
    assert len(masked) > 0 and all(re.fullmatch(r"(\w\. )*\w\.", value) for value in masked), masked.tolist()
    monkeypatch.setenv("IOC_PII_ROLES", "analyst,admin")
    shown = _open_records(monkeypatch, demo_db_url, demo_now, "analyst")[name].dropna()
    assert len(shown) == len(masked) and all(len(value.split()) == 3 and "." not in value for value in shown)


def _values(array) -> list[float]:
    """A Plotly JSON array: a list, or a typed array ({"dtype": "f8", "bdata": base64})."""
    if isinstance(array, dict):
        import base64

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array or [])


def test_viewer_sees_report_points_rounded(monkeypatch, demo_db_url, demo_now):
    start = (demo_now - timedelta(days=29)).date()
    params = {"from": str(start), "to": str(demo_now.date())}
    app = page_support.new_app(monkeypatch, demo_db_url, role="viewer")
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(str(page_support.Path(page_support.APP).parent.parent / "pages" / "map.py"))
    app.run()
    app.toggle(key="map_points").set_value(True).run()
    assert not app.exception, [e.message for e in app.exception]
    figure = json.loads(app.get("plotly_chart")[0].proto.spec)
    points = [v for trace in figure["data"] if trace.get("type") == "scattermap" for v in _values(trace.get("lat"))]
    assert len(points) > 50
    assert all(round(v, 2) == v for v in points)  # ~1 km: no exact location for a viewer
    engine = make_engine(demo_db_url, read_only=True)
    try:  # while the stored points are exact (what an analyst's map shows)
        stored = mq.feedback_points(engine, QueryFilter.build(Period(start, demo_now.date())))["lat"].tolist()
    finally:
        engine.dispose()
    assert len(stored) == len(points) and sum(round(v, 2) != v for v in stored) > len(stored) // 2
