"""Events on every time chart (issue 18): public holidays loaded once from the `holidays` package, operators' events
through the CLI and the page "Sự kiện", their markers in a chart's figure JSON and in the weekly PDF — on DuckDB and
PostgreSQL (the events live in the operational store)."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from page_support import sign_in
from sqlalchemy import delete

from dashboard.charts import daily_trend
from dashboard.charts.events import add_event_markers, event_marker_names
from dashboard.cli import main
from dashboard.db import event_queries, ops
from dashboard.db.engine import make_engine

DEMO_NOW = datetime(2026, 11, 20, 14, 37)
APP = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
PAGE = APP.parent.parent / "pages" / "events.py"


def clean_ops(url: str) -> None:
    """The ops tables persist on PostgreSQL between tests: start without events or directives."""
    with ops.ops_engine(url).begin() as connection:
        for table in (ops.events, ops.directives, ops.directive_history, ops.alerts):
            connection.execute(delete(table))
    event_queries._LOADED.clear()


@pytest.fixture
def url(any_db_url):
    clean_ops(any_db_url)
    return any_db_url


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- holidays
def test_holidays_are_loaded_once_with_tet_as_one_band(url):
    assert event_queries.load_holidays(url, "VN", 2025, 2027, DEMO_NOW) == 18
    assert event_queries.load_holidays(url, "VN", 2025, 2027, DEMO_NOW) == 0  # idempotent
    frame = event_queries.list_events(url, start=date(2026, 1, 1), end=date(2026, 12, 31))
    assert list(zip(frame["start_date"], frame["end_date"], frame["title"], strict=True)) == [
        (date(2026, 1, 1), date(2026, 1, 1), "Tết Dương lịch"),
        (date(2026, 2, 16), date(2026, 2, 20), "Tết Nguyên Đán"),
        (date(2026, 4, 26), date(2026, 4, 27), "Ngày Giỗ Tổ Hùng Vương"),
        (date(2026, 4, 30), date(2026, 5, 1), "Ngày Chiến thắng"),
        (date(2026, 8, 31), date(2026, 9, 2), "Ngày nghỉ (thay cho ngày 22/08/2026)"),
        (date(2026, 11, 24), date(2026, 11, 24), "Ngày Văn hóa Việt Nam"),
    ]
    assert set(frame["kind"]) == {"holiday"} and set(frame["source"]) == {"holidays"}
    # An empty database: the current year ± 1, nothing new after the first load.
    engine = make_engine(url, read_only=True)
    try:
        assert event_queries.ensure_holidays(engine, url, "VN", DEMO_NOW) == 0
    finally:
        engine.dispose()
    assert event_queries.count_by_source(url) == {"holidays": 18}


def test_the_us_calendar_has_no_tet():
    titles = [title for _, _, title in event_queries._holiday_spans(event_queries.holiday_rows("US", 2026, 2026))]
    assert "Thanksgiving Day" in titles and not any("Lunar" in title for title in titles)


# ---------------------------------------------------------------- markers
def _events(rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"id": i, "start_date": a, "end_date": b, "kind": k, "title": title}
            for i, (a, b, k, title) in enumerate(rows, start=1)
        ]
    )


def test_markers_are_bands_lines_and_at_most_four_labels_in_the_figure_json():
    days = pd.date_range("2026-02-01", "2026-03-02", freq="D")
    daily = pd.DataFrame({"day": days, "received": range(len(days))})
    figure = daily_trend(daily, title="Phản ánh", lang="vi")
    events = _events(
        [
            (date(2026, 2, 16), date(2026, 2, 20), "holiday", "Tết Nguyên Đán"),
            (date(2026, 2, 3), date(2026, 2, 3), "weather", "Bão <b>số 1</b>"),
            (date(2026, 2, 5), date(2026, 2, 6), "festival", "Festival Huế 2026 — Tuần lễ Áo dài"),
            (date(2026, 2, 9), date(2026, 2, 9), "incident", "Cấm đường Lê Lợi"),
            (date(2026, 2, 11), date(2026, 2, 11), "policy", "Thu phí vỉa hè"),
            (date(2026, 2, 24), date(2026, 2, 24), "weather", "Mưa lớn"),
            (date(2026, 4, 30), date(2026, 5, 1), "holiday", "Ngày Chiến thắng"),  # outside the chart
        ]
    )
    add_event_markers(figure, events, date(2026, 2, 1), date(2026, 3, 2))
    spec = json.loads(figure.to_json())
    shapes = {s["name"]: s for s in spec["layout"]["shapes"]}
    assert sorted(shapes) == [f"event:{i}" for i in range(1, 7)]
    assert [shapes[f"event:{i}"]["type"] for i in range(1, 7)] == ["rect", "line", "rect", "line", "line", "line"]
    assert shapes["event:1"]["x0"].startswith("2026-02-15T12:00") and shapes["event:1"]["x1"].startswith(
        "2026-02-20T12"
    )
    notes = {a["name"]: a for a in spec["layout"]["annotations"] if a.get("name", "").startswith("event:")}
    labelled = {name: a["text"] for name, a in notes.items() if a["text"] != "◆"}
    # the four longest (then earliest) get a short label; the others a hover-only mark
    assert labelled == {
        "event:1": "Tết Nguyên Đán",
        "event:3": "Festival Huế 20…",
        "event:2": "Bão &lt;b&gt;số 1&lt;/b&gt;",
        "event:4": "Cấm đường Lê Lợi",
    }
    # in time order the labels alternate between two rows under the top edge; the hover marks sit on the top edge
    assert [notes[f"event:{i}"]["y"] for i in (2, 3, 4, 1)] == [1.0, 0.93, 1.0, 0.93]
    assert notes["event:5"]["y"] == notes["event:6"]["y"] == 1.0
    assert notes["event:6"]["hovertext"] == "Mưa lớn · 24/02/2026"
    assert notes["event:1"]["hovertext"] == "Tết Nguyên Đán · 16/02–20/02/2026"
    assert len(event_marker_names(figure)) == 12
    assert add_event_markers(figure, events.iloc[0:0]) is figure  # no events: unchanged


# ---------------------------------------------------------------- the command line
def test_cli_adds_and_lists_events(capsys, url):
    code, out, _ = run(
        capsys,
        "--database-url",
        url,
        "events",
        "add",
        "--kind",
        "weather",
        "--title",
        "Bão số 13",
        "--from",
        "2026-11-06",
        "--to",
        "2026-11-08",
        "--ward",
        "19753",
        "--ward",
        "19789",
        "--description",
        "Gió cấp 12",
    )
    assert code == 0 and out.startswith("event ") and out.endswith(" added\n")
    code, out, _ = run(
        capsys, "--database-url", url, "events", "list", "--from", "2026-11-01", "--to", "2026-11-30", "--json"
    )
    assert code == 0
    listed = json.loads(out)
    storm = next(e for e in listed if e["source"] == "operator")
    assert {k: v for k, v in storm.items() if k != "id"} == {
        "start_date": "2026-11-06",
        "end_date": "2026-11-08",
        "kind": "weather",
        "title": "Bão số 13",
        "description": "Gió cấp 12",
        "wards": ["19753", "19789"],
        "source": "operator",
        "created_by": "cli",
    }
    # the holidays of the current year ± 1 were loaded by `list` (empty database): 24/11 is in November
    assert [e["title"] for e in listed if e["source"] == "holidays"] == ["Ngày Văn hóa Việt Nam"]
    code, _, err = run(
        capsys, "--database-url", url, "events", "add", "--kind", "weather", "--title", "x", "--from", "2026-11-08",
        "--to", "2026-11-06",
    )  # fmt: skip
    assert code == 2 and err == "error: end date 2026-11-06 is before the start date 2026-11-08\n"
    code, _, err = run(
        capsys, "--database-url", url, "events", "add", "--kind", "weather", "--title", " ", "--from", "2026-11-08"
    )
    assert code == 2 and err == "error: title is empty\n"


# ---------------------------------------------------------------- the weekly PDF
def test_the_briefing_marks_the_events_on_its_chart_and_lists_them(demo_copy_url, demo_now):
    from dashboard.briefing import charts as briefing_charts
    from dashboard.briefing.content import build_briefing
    from dashboard.briefing.render import render_briefing
    from dashboard.db.engine import make_engine

    clean_ops(demo_copy_url)
    event_queries.add_event(demo_copy_url, "weather", "Bão số 13", date(2026, 11, 6), date(2026, 11, 8))
    event_queries.add_event(demo_copy_url, "festival", "Đêm Hoàng cung", date(2026, 11, 12))
    engine = make_engine(demo_copy_url, read_only=True)
    try:
        briefing = build_briefing(engine, "2026-W46", lang="vi", now=demo_now)
        assert list(briefing.tables["events"].rows) == [
            ("06/11/2026–08/11/2026", "Thời tiết", "Bão số 13"),
            ("12/11/2026", "Lễ hội", "Đêm Hoàng cung"),
        ]  # 24/11, Vietnam Cultural Day, is after next week (16–22/11): not on the chart
        # the trend chart (four weeks, then next week's forecast) carries the markers
        briefing.forecast_history = pd.DataFrame(
            {"ds": pd.date_range("2026-10-19", "2026-11-15"), "y": [float(i) for i in range(28)]}
        )
        ahead = pd.date_range("2026-11-16", "2026-11-22")
        briefing.forecast_next = pd.DataFrame({"ds": ahead, "yhat": 1.0, "yhat_lower": 0.0, "yhat_upper": 2.0})
        briefing_charts.theme.register_template()  # as briefing_charts.figures does
        figure = briefing_charts.forecast(briefing)
        assert sorted({n for n in event_marker_names(figure)}) == ["event:1", "event:2"]
        pdf = render_briefing(engine, "2026-W46", lang="vi", now=demo_now)
    finally:
        engine.dispose()
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    words = " ".join(text.decode().replace("\u00a0", " ").split())
    assert "7. Ý kiến chỉ đạo" in words and "8. Phụ lục" in words
    assert "06/11/2026–08/11/2026 Thời tiết Bão số 13" in words
    assert "12/11/2026 Lễ hội Đêm Hoàng cung" in words


# ---------------------------------------------------------------- the page
def test_the_administrator_adds_an_event_on_the_page(monkeypatch, demo_copy_url):
    from streamlit.testing.v1 import AppTest

    from dashboard.i18n import t
    from dashboard.web import admin

    clean_ops(demo_copy_url)
    monkeypatch.setenv("IOC_DATABASE_URL", demo_copy_url)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("x", iterations=1000))
    app = AppTest.from_file(str(APP), default_timeout=90)
    app.query_params["from"] = "2026-11-01"
    app.query_params["to"] = "2026-11-20"
    sign_in(app, demo_copy_url)
    app.run()
    app.switch_page(str(PAGE))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    app.selectbox(key="events_kind").select("weather")
    app.text_input(key="events_title").input("Lũ lụt hạ lưu sông Hương")
    app.date_input(key="events_from").set_value(date(2026, 11, 2))
    app.date_input(key="events_to").set_value(date(2026, 11, 4))
    app.text_input(key="events_wards").input("19753")
    next(b for b in app.button if b.label == t("events.add.submit")).click()
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    stored = event_queries.list_events(demo_copy_url, kinds=("weather",))
    assert [s.value for s in app.success] == [t("events.add.done", id=int(stored["id"].iloc[0]))]
    assert list(zip(stored["start_date"], stored["end_date"], stored["title"], stored["wards"], strict=True)) == [
        (date(2026, 11, 2), date(2026, 11, 4), "Lũ lụt hạ lưu sông Hương", "19753")
    ]
    app.run()  # the next run lists it (the list is drawn above the form)
    table = app.dataframe[0].value
    assert "Lũ lụt hạ lưu sông Hương" in list(table[t("events.column.title")])
