"""The hotspot block of the feedback and map pages (AppTest): the layer, the top table and `hotspot=1`."""

from __future__ import annotations

import json
from pathlib import Path

import page_support
from test_hotspots import HOTSPOT_ROWS, load

PAGES = Path(__file__).resolve().parent.parent / "pages"
PARAMS = {"lang": "en", "from": "2026-11-01", "to": "2026-11-30"}


def _figure(app, key_part: str) -> dict:
    charts = [c for c in app.get("plotly_chart") if key_part in (c.proto.id or "")]
    assert charts, [c.proto.id for c in app.get("plotly_chart")]
    return json.loads(charts[0].proto.spec)


def _frames(app):
    return [frame.value for frame in app.dataframe]


def test_feedback_page_shows_the_layer_and_the_table(monkeypatch, tmp_path):
    url = f"duckdb:///{tmp_path / 'hotspots.duckdb'}"
    from dashboard.db.engine import create_schema, make_engine

    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    load(url, HOTSPOT_ROWS).dispose()
    app = page_support.run_page(monkeypatch, url, PARAMS, str(PAGES / "feedback.py"))
    assert "Repeat locations" in [header.value for header in app.subheader]
    figure = _figure(app, "feedback_hotspots_map")
    dots = [trace for trace in figure["data"] if trace["type"] == "scattermap"]
    assert [(trace["name"], len(trace["text"])) for trace in dots] == [("Roads, traffic", 1), ("Street lighting", 1)]
    assert figure["layout"]["map"]["style"] == "white-bg"
    top = next(frame for frame in _frames(app) if "Re-reported" in frame.columns)
    assert top[["Reports", "Re-reported"]].to_numpy().tolist() == [[3, 2], [2, 0]]
    assert app.query_params.get("hotspot") is None

    only = page_support.run_page(monkeypatch, url, {**PARAMS, "hotspot": "1"}, str(PAGES / "feedback.py"))
    assert only.session_state["feedback_hotspot"] == "1"
    reports = next(frame for frame in _frames(only) if "Possible duplicate of" in frame.columns)
    assert sorted(reports["Source ID"] if "Source ID" in reports else reports.iloc[:, 0]) == [
        "L1",
        "L2",
        "R1",
        "R2",
        "R3",
    ]


def test_map_page_draws_the_layer_with_hotspot_1(monkeypatch, tmp_path):
    url = f"duckdb:///{tmp_path / 'hotspots.duckdb'}"
    from dashboard.db.engine import create_schema, make_engine

    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    load(url, HOTSPOT_ROWS).dispose()
    plain = page_support.run_page(monkeypatch, url, PARAMS, str(PAGES / "map.py"))
    assert "Repeat locations" not in [header.value for header in plain.subheader]
    app = page_support.run_page(monkeypatch, url, {**PARAMS, "hotspot": "1"}, str(PAGES / "map.py"))
    assert "Repeat locations" in [header.value for header in app.subheader]
    figure = _figure(app, "ward_map")
    names = [trace.get("name") for trace in figure["data"] if trace["type"] == "scattermap"]
    assert names == ["Roads, traffic", "Street lighting"]


def test_quality_page_counts_the_flagged_duplicates(monkeypatch, tmp_path):
    from datetime import datetime

    from test_hotspots import DUPLICATE_ROWS

    from dashboard.db.engine import create_schema, make_engine
    from dashboard.jobs.hotspots import flag_duplicates
    from dashboard.metrics import hotspots as hs

    url = f"duckdb:///{tmp_path / 'duplicates.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    engine.dispose()
    load(url, DUPLICATE_ROWS).dispose()
    flag_duplicates(url, datetime(2026, 11, 1), datetime(2026, 12, 1), hs.Rules(50, 30, 2, 48))
    app = page_support.run_page(monkeypatch, url, {"lang": "en"}, str(PAGES / "quality.py"))
    captions = [caption.value for caption in app.caption]
    assert any(
        text.startswith("1 of the 9 reports in the database (11.1 %) are flagged as a likely duplicate")
        for text in captions
    ), captions
