"""Downloads never carry a live formula: the one writer (dashboard.exports) on payload tables,
the download buttons of the real pages on a database whose names are payloads, and the weekly PDF's HTML."""

from __future__ import annotations

import io
import shutil
from datetime import datetime, timedelta

import markupsafe
import openpyxl
import page_support
import pandas as pd
import pytest
from sqlalchemy import update
from streamlit.runtime.media_file_manager import MediaFileManager

from dashboard import exports
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.rollups import refresh_rollups
from dashboard.navigation import PAGES
from dashboard.web import widgets

HYPERLINK = '=HYPERLINK("http://127.0.0.1/x","click")'
PAYLOADS = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
HTML = '<img src="http://127.0.0.1/p.png"><a href="http://127.0.0.1/x">link</a>'
PLAIN = ["Sở Tài nguyên và Môi trường", "UBND phường Phú Hội", "Công an – Đội 3", "a=b", "5-3"]


def payload_frame() -> pd.DataFrame:
    names = PAYLOADS + PLAIN
    return pd.DataFrame(
        {
            "Đơn vị": names,
            "Số phản ánh": [-3, 0, 7, -12, 1, 2, 3, 4, 5, 6, -1],  # integers, negatives included
            "Tỷ lệ (%)": [-1.5, 0.0, 12.25, 99.9, -0.1, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],  # floats
            "Nhận lúc": pd.to_datetime(["2026-03-01 08:30"] * len(names)),
        }
    )


def _workbook(data: bytes) -> list[list[openpyxl.cell.Cell]]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [list(row) for row in sheet.iter_rows()]


def _formula_cells(data: bytes) -> list[str]:
    return [cell.coordinate for row in _workbook(data) for cell in row if cell.data_type == "f"]


def test_safe_cell_prefixes_only_text_that_starts_a_formula():
    assert [exports.safe_cell(v) for v in PAYLOADS] == [
        "'" + HYPERLINK,
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
    ]
    assert [exports.safe_cell(v) for v in PLAIN] == PLAIN
    assert [exports.safe_cell(v) for v in (-3, -1.5, None, "")] == [-3, -1.5, None, ""]


def test_csv_is_exact_text_with_payloads_apostrophe_prefixed():
    text = exports.table_bytes(payload_frame(), "csv").decode("utf-8-sig")
    assert text == (
        "Đơn vị,Số phản ánh,Tỷ lệ (%),Nhận lúc\r\n"
        '"\'=HYPERLINK(""http://127.0.0.1/x"",""click"")",-3,-1.5,2026-03-01 08:30:00\r\n'
        "'+1+1,0,0.0,2026-03-01 08:30:00\r\n"
        "'-2+3,7,12.25,2026-03-01 08:30:00\r\n"
        "'@SUM(A1),-12,99.9,2026-03-01 08:30:00\r\n"
        "'\t=1,1,-0.1,2026-03-01 08:30:00\r\n"
        '"\'\r=1",2,1.0,2026-03-01 08:30:00\r\n'
        "Sở Tài nguyên và Môi trường,3,2.0,2026-03-01 08:30:00\r\n"
        "UBND phường Phú Hội,4,3.0,2026-03-01 08:30:00\r\n"
        "Công an – Đội 3,5,4.0,2026-03-01 08:30:00\r\n"
        "a=b,6,5.0,2026-03-01 08:30:00\r\n"
        "5-3,-1,6.0,2026-03-01 08:30:00\r\n"
    )
    assert widgets.table_bytes(payload_frame(), "csv") == exports.table_bytes(payload_frame(), "csv")


def test_xlsx_has_no_formula_and_keeps_every_value():
    data = exports.table_bytes(payload_frame(), "xlsx")
    rows = _workbook(data)
    assert _formula_cells(data) == []
    assert [cell.value for cell in rows[0]] == ["Đơn vị", "Số phản ánh", "Tỷ lệ (%)", "Nhận lúc"]
    names = [row[0] for row in rows[1:]]
    # The visible text is unchanged, except that XML reads a carriage return as a line feed (as Excel does)
    assert [cell.value for cell in names] == PAYLOADS[:5] + ["\n=1"] + PLAIN
    assert [(cell.data_type, cell.quotePrefix) for cell in names] == [("s", True)] * 6 + [("s", False)] * 5
    assert [row[1].value for row in rows[1:]] == [-3, 0, 7, -12, 1, 2, 3, 4, 5, 6, -1]
    assert {row[1].data_type for row in rows[1:]} == {"n"}  # negative numbers stay numbers
    assert [row[2].value for row in rows[1:]] == [-1.5, 0, 12.25, 99.9, -0.1, 1, 2, 3, 4, 5, 6]
    assert {row[3].value for row in rows[1:]} == {datetime(2026, 3, 1, 8, 30)}
    assert (
        widgets.table_bytes(payload_frame(), "xlsx") is not None
        and _formula_cells(widgets.table_bytes(payload_frame(), "xlsx")) == []
    )


def test_xlsx_headers_text_columns_and_control_characters():
    frame = pd.DataFrame(
        {
            "=1+1": pd.Series(["=A1", None, "ok\x01\x1f"], dtype="str"),
            "code": pd.Categorical(["-x", "@y", "z"]),
            "mixed": ["=2", -4, 1.5],
        }
    )
    data = exports.table_bytes(frame, "xlsx")
    rows = _workbook(data)
    assert _formula_cells(data) == []
    assert [[cell.value for cell in row] for row in rows] == [
        ["=1+1", "code", "mixed"],
        ["=A1", "-x", "=2"],
        [None, "@y", -4],
        ["ok", "z", 1.5],
    ]
    assert rows[0][0].quotePrefix and rows[1][0].quotePrefix and rows[1][1].quotePrefix and not rows[3][0].quotePrefix
    assert exports.table_bytes(frame, "csv").decode("utf-8-sig") == (
        "'=1+1,code,mixed\r\n'=A1,'-x,'=2\r\n,'@y,-4\r\nok\x01\x1f,z,1.5\r\n"
    )
    with pytest.raises(ValueError, match="pdf"):
        exports.table_bytes(frame, "pdf")


# ---------------------------------------------------------------- the downloads of the real pages
@pytest.fixture(scope="module")
def hostile_db_url(demo_db_url, tmp_path_factory) -> str:
    """The demo database with its agencies, procedures and sensor names replaced by formula payloads."""
    path = tmp_path_factory.mktemp("hostile") / "hostile.duckdb"
    shutil.copy(demo_db_url.removeprefix("duckdb:///"), path)
    url = f"duckdb:///{path}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for table in (schema.feedback, schema.dossiers):
                agencies = sorted(
                    connection.execute(table.select().with_only_columns(table.c.agency).distinct()).scalars().all(),
                    key=str,
                )
                names = [*PAYLOADS, HTML]
                for k, agency in enumerate(agencies):
                    connection.execute(
                        update(table).where(table.c.agency == agency).values(agency=names[k % len(names)] + f" {k}")
                    )
            connection.execute(update(schema.dossiers).values(procedure_name="=1+" + schema.dossiers.c.procedure_code))
            sensors = schema.traffic_sensors
            connection.execute(update(sensors).values(name="@" + sensors.c.id, road="-" + sensors.c.road))
        refresh_rollups(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def downloads(monkeypatch):
    """Every deferred download a page registers (file name → callable), recorded as Streamlit stores it."""
    seen: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def recording(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return seen


PAGE_KEYS = ("feedback", "procedures", "traffic")


@pytest.mark.parametrize("key", PAGE_KEYS)
def test_page_downloads_hold_payloads_as_text(monkeypatch, hostile_db_url, downloads, demo_now, key):
    page = next(p for p in PAGES if p.key == key)
    params = {"from": (demo_now.date() - timedelta(days=89)).isoformat(), "to": demo_now.date().isoformat()}
    page_support.run_page(monkeypatch, hostile_db_url, params, str(page.path))
    tables = {name: make() for name, make in downloads.items() if name.endswith((".csv", ".xlsx"))}
    assert len(tables) >= 4 and len(tables) % 2 == 0, sorted(downloads)  # a CSV and an Excel file per table
    live, payload_cells = {}, 0
    for name, data in sorted(tables.items()):
        if name.endswith(".xlsx"):
            cells = [cell for row in _workbook(data) for cell in row]
            live[name] = [
                c.coordinate for c in cells if c.data_type == "f" or exports.is_risky(c.value) and not c.quotePrefix
            ]
            payload_cells += sum(exports.is_risky(cell.value) for cell in cells)
        else:
            frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
            numeric = {c for c in frame.columns if pd.to_numeric(frame[c], errors="coerce").notna().all()}
            text = [v for c in frame.columns if c not in numeric for v in frame[c]] + list(frame.columns)
            live[name] = [v for v in text if exports.is_risky(v)]
            payload_cells += sum(v.startswith("'") and exports.is_risky(v[1:]) for v in text)
    assert {name: cells for name, cells in live.items() if cells} == {}
    assert payload_cells > 0, "the page's downloads held none of the payload names"


# ---------------------------------------------------------------- the weekly PDF
def test_briefing_html_prints_names_as_escaped_text(hostile_db_url, demo_now):
    """The PDF's agency tables carry the payload names as text: HTML-escaped, no element made from data."""
    from dashboard.briefing.content import build_briefing
    from dashboard.briefing.render import render_html

    engine = make_engine(hostile_db_url, read_only=True)
    try:
        briefing = build_briefing(engine, "2026-W46", now=demo_now)
    finally:
        engine.dispose()
    html = render_html(briefing, {})
    agencies = [
        row[0] for table in briefing.tables.values() for row in table.rows if str(row[0]).startswith((*PAYLOADS, HTML))
    ]
    assert agencies, "the briefing's tables held none of the payload names"
    for name in agencies:
        assert str(markupsafe.escape(name)) in html
    assert "http://127.0.0.1" not in html.replace("&#34;http://127.0.0.1", "")  # only inside escaped text
    assert '<img src="http' not in html and '<a href="http' not in html


def test_import_reject_report_holds_rejected_payloads_as_text(areas_engine, tmp_path):
    """The importer's --reject-report is a CSV an operator opens in a spreadsheet: a rejected value from the file
    that starts a formula is apostrophe-prefixed like every download."""
    from dashboard.ingest.importer import ImportOptions, run_import

    source = tmp_path / "phan_anh.csv"
    source.write_text(
        "Mã phản ánh,Ngày tiếp nhận,Lĩnh vực\n"
        "PA-1,20/11/2026 08:00,Rác thải\n"
        'PA-2,"=HYPERLINK(""http://127.0.0.1/x"",""click"")",Rác thải\n',
        encoding="utf-8",
    )
    report = tmp_path / "rejects.csv"
    result = run_import(
        areas_engine,
        ImportOptions(
            "feedback",
            source,
            now=datetime(2026, 11, 20, 14, 0),
            date_format="%d/%m/%Y %H:%M",
            max_reject_rate=1.0,
            reject_report=report,
        ),
    )
    assert result.rejected == 1
    lines = report.read_bytes().decode("utf-8-sig").split("\r\n")
    assert len(lines) == 3 and lines[2] == ""
    rejected = pd.read_csv(report, encoding="utf-8-sig", dtype=str, keep_default_na=False).iloc[0].to_dict()
    assert rejected["value"] == '\'=HYPERLINK("http://127.0.0.1/x","click")'
