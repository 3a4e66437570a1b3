"""Text from the address or the data is shown as text: never Markdown, never HTML.

`?area=![x](http://host/p.png)` made every visitor's browser fetch that image; `[text](http://…)` gave a
link in the link warning; an agency named with Markdown image syntax rendered as an image in the filter
chips; `<a href>` in agency, procedure and sensor names became real links in the Plotly charts.
(a) the escaping helpers, exactly; (b) AppTest on a database whose agencies, procedures, sensors, roads
and wards carry the payloads; (c) the same pages in Chromium with a local listener counting requests.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import pytest
import sqlalchemy as sa
from page_support import APP, sign_in
from streamlit.testing.v1 import AppTest

from dashboard.charts import dossiers, feedback, forecast, quality, traffic
from dashboard.config import PROJECT_ROOT
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.i18n import t
from dashboard.navigation import PAGES_DIR
from dashboard.safe_text import chart_text, chart_value, markdown_text
from dashboard.web.url_state import problem_text


def figure_texts(spec: str) -> list[str]:
    """Every string of a Plotly figure's JSON (labels, hovers, custom data, titles, annotations) but the GeoJSON
    of map shapes, whose properties Plotly never draws (no hover template here refers to them)."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("geojson", "source"):
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(spec))
    return found


# ---------------------------------------------------------------- (a) the helpers, exactly
def test_markdown_text_escapes_every_markdown_character():
    assert markdown_text("![x](http://h/p.png)") == "\\!\\[x\\]\\(http\u2060\\:\\/\\/h\\/p\\.png\\)"
    assert markdown_text("[t](https://h/)") == "\\[t\\]\\(https\u2060\\:\\/\\/h\\/\\)"
    assert markdown_text("**b** _i_ `c` ~s~ # h | t") == r"\*\*b\*\* \_i\_ \`c\` \~s\~ \# h \| t"
    assert markdown_text("<img src=x> $x$ :red[r] a\\b") == r"\<img src\=x\> \$x\$ \:red\[r\] a\\b"
    # GitHub-flavoured Markdown links bare addresses even when escaped: a WORD JOINER (invisible) breaks them
    assert markdown_text("www.x.vn a@b.vn HTTP://x") == "www\u2060\\.x\\.vn a\u2060\\@b\\.vn HTTP\u2060\\:\\/\\/x"


def test_markdown_text_keeps_letters_and_flattens_lines():
    assert markdown_text("Phường Đông Ba 19753") == "Phường Đông Ba 19753"
    assert markdown_text("a\n\n# b\r\nc\x00d\te") == r"a \# b cd e"


def test_chart_text_escapes_the_html_plotly_reads_and_chart_value_undoes_it():
    payload = '<a href="http://h/">x</a> & <b>B</b><br>&amp;'
    assert chart_text(payload) == '&lt;a href="http://h/"&gt;x&lt;/a&gt; &amp; &lt;b&gt;B&lt;/b&gt;&lt;br&gt;&amp;amp;'
    assert chart_value(chart_text(payload)) == payload
    assert chart_text("Sở Xây dựng") == "Sở Xây dựng"


def test_link_problem_names_five_values_escaped_then_how_many_more():
    values = ["![x](http://h/p.png)", "a" * 60, "3", "4", "5", "6", "7"]
    assert problem_text("filter.problem.unknown", {"param": "area", "values": values}, "vi") == (
        "area: không tìm thấy \\!\\[x\\]\\(http\u2060\\:\\/\\/h\\/p\\.png\\), "
        + "a" * 39
        + "…, 3, 4, 5 … và 2 giá trị khác"
    )
    assert problem_text("filter.problem.unknown", {"param": "area", "values": values}, "en").endswith("5 … and 2 more")


HOSTILE = '<a href="http://127.0.0.1:9/x">X</a> ![i](http://127.0.0.1:9/i.png)'


@pytest.mark.parametrize(
    "name",
    [
        "feedback_agencies",
        "dossier_agencies",
        "procedures",
        "sectors",
        "lead_times",
        "traffic_ranking",
        "sensor_map",
        "forecast_agencies",
        "completeness",
    ],
)
def test_chart_builders_draw_data_text_as_text(name):
    frames = {
        "feedback_agencies": lambda: feedback.agency_ranking(
            pd.DataFrame(
                {"agency": [HOSTILE], "resolved": [10], "resolved_on_time_pct": [80.0], "reopened_pct": [1.0]}
            ),
            90,
            "vi",
        ),
        "dossier_agencies": lambda: dossiers.agency_ranking(
            pd.DataFrame(
                {"agency": [HOSTILE], "on_time_pct": [80.0], "completed_with_due": [5], "late": [1], "received": [9]}
            ),
            "vi",
            selected=[HOSTILE],
        ),
        "procedures": lambda: dossiers.top_procedures(
            pd.DataFrame(
                {
                    "procedure_code": [HOSTILE],
                    "procedure_name": [HOSTILE],
                    "received": [9],
                    "completed": [5],
                    "late": [1],
                    "late_pct": [20.0],
                }
            ),
            "late",
            "vi",
        ),
        "sectors": lambda: dossiers.sector_volume(
            pd.DataFrame({"sector": [HOSTILE], "received": [9], "completed": [5], "on_time_pct": [80.0]}), "vi"
        ),
        "lead_times": lambda: dossiers.lead_time_ranges(
            pd.DataFrame(
                {
                    "procedure_code": ["P1"],
                    "procedure_name": [HOSTILE],
                    "completed": [5],
                    "p10": [1.0],
                    "p25": [2.0],
                    "p50": [3.0],
                    "p75": [4.0],
                    "p90": [5.0],
                }
            ),
            "vi",
        ),
        "traffic_ranking": lambda: traffic.congestion_ranking_chart(
            pd.DataFrame(
                {
                    "key": [HOSTILE],
                    "name": [HOSTILE],
                    "congestion_index_peak": [60.0],
                    "vehicles": [100],
                    "peak_hour": [pd.Timestamp("2026-11-20 08:00")],
                }
            ),
            "sensor",
            "congestion_index_peak",
            "vi",
        ),
        "sensor_map": lambda: traffic.sensor_map(
            pd.DataFrame(
                {
                    "key": [HOSTILE],
                    "name": [HOSTILE],
                    "lat": [16.46],
                    "lon": [107.59],
                    "vehicles": [100],
                    "congestion_index_peak": [60.0],
                    "congestion_index_mean": [30.0],
                    "peak_hour": [pd.Timestamp("2026-11-20 08:00")],
                }
            ),
            pd.DataFrame({"code": [], "name": [], "geometry_geojson": []}),
            "vi",
        ),
        "forecast_agencies": lambda: forecast.agency_chart(
            pd.DataFrame(
                {"agency": [HOSTILE], "load_pct": [120.0], "forecast_per_week": [12.0], "resolved_per_week": [10.0]}
            ),
            "vi",
        ),
        "completeness": lambda: quality.completeness_bars(
            pd.DataFrame(
                {
                    "table": ["feedback"],
                    "source": [HOSTILE],
                    "column": ["agency"],
                    "filled": [1],
                    "expected": [2],
                    "filled_pct": [50.0],
                }
            ),
            "vi",
        ),
    }
    texts = figure_texts(frames[name]().to_json())
    assert not [text for text in texts if "<a" in text or "<img" in text]
    assert any(chart_text(HOSTILE) in text for text in texts)


# ---------------------------------------------------------------- a database whose names carry the payloads
DEMO_NOW = pd.Timestamp("2026-11-20 14:37").to_pydatetime()


def payload(port: int, what: str) -> str:
    """Markdown image + HTML link around a name, both pointing at the test's listener (no comma: links split on it)."""
    return f'![{what}](http://127.0.0.1:{port}/{what}.png) <a href="http://127.0.0.1:{port}/{what}"><b>{what}</b></a> '


def hostile_database(path: Path, port: int) -> str:
    """The small demo database with every agency, procedure, sensor, road, ward and source name prefixed by a payload."""
    from dashboard.demo.generator import build_demo

    url = f"duckdb:///{path}"
    engine = make_engine(url)
    try:
        build_demo(
            engine, seed=7, scale=0.03, start=DEMO_NOW.date() - timedelta(days=400), end=DEMO_NOW.date(), now=DEMO_NOW
        )
        with engine.begin() as connection:
            for table in schema.metadata.tables.values():
                for column in ("agency", "procedure_name", "road", "source"):
                    if column in table.c:
                        connection.execute(
                            table.update()
                            .values({column: sa.literal(payload(port, column)) + table.c[column]})
                            .where(table.c[column].is_not(None))
                        )
            for table in (schema.traffic_sensors, schema.areas):
                connection.execute(table.update().values(name=sa.literal(payload(port, table.name)) + table.c.name))
    finally:
        engine.dispose()
    return url


@pytest.fixture(scope="module")
def listener() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server on 127.0.0.1 that records every request path (nothing on the page may ever reach it)."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the http.server name)
            requests.append(self.path)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory, listener) -> str:
    return hostile_database(tmp_path_factory.mktemp("hostile") / "hostile.duckdb", listener[0])


def _first_name(url: str, sql: str) -> str:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(sql)).scalar_one()
    finally:
        engine.dispose()


def _open(monkeypatch, url: str, params: dict[str, str], page: str) -> tuple[AppTest, list[str]]:
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = sign_in(AppTest.from_file(APP, default_timeout=90), url)
    for key, value in params.items():
        app.query_params[key] = value
    app.run()
    first_warnings = [w.body for w in app.warning]
    app.switch_page(str(PAGES_DIR / page))
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    return app, first_warnings


def _chart_specs(app: AppTest) -> list[str]:
    return [chart.proto.spec for chart in app.get("plotly_chart")]


# ---------------------------------------------------------------- (b) AppTest
def test_url_payload_is_shown_as_text_in_the_link_warning(monkeypatch, hostile_db, listener):
    port = listener[0]
    area = f"![x](http://127.0.0.1:{port}/p.png)"
    _, warnings = _open(monkeypatch, hostile_db, {"area": area + f",[t](http://127.0.0.1:{port}/)"}, "overview.py")
    details = t(
        "filter.problem.unknown",
        param="area",
        values=markdown_text(area) + ", " + markdown_text(f"[t](http://127.0.0.1:{port}/)"),
    )
    assert warnings == [t("filter.bad_url", details=details)]
    assert f"\\!\\[x\\]\\(http\u2060\\:\\/\\/127\\.0\\.0\\.1\\:{port}\\/p\\.png\\)" in warnings[0]


def test_agency_with_markdown_is_a_plain_chip_and_plain_chart_text(monkeypatch, hostile_db):
    agency = _first_name(hostile_db, "SELECT min(agency) FROM feedback")
    assert agency.startswith("![agency](")
    app, _ = _open(monkeypatch, hostile_db, {"agency": agency, "from": "2026-08-01", "to": "2026-11-20"}, "feedback.py")
    chips = [b.label for b in app.button if b.key == f"chip_agency_{agency}"]
    assert chips == [markdown_text(agency)]
    texts = [text for spec in _chart_specs(app) for text in figure_texts(spec)]
    assert texts and not [text for text in texts if "<a" in text or "<b>agency" in text]
    assert chart_text(agency) in texts  # the agency ranking's bar


@pytest.mark.parametrize("page", ["procedures.py", "traffic.py", "map.py", "overview.py", "briefing.py"])
def test_names_with_html_never_become_links_in_charts(monkeypatch, hostile_db, page):
    app, _ = _open(monkeypatch, hostile_db, {"from": "2026-10-01", "to": "2026-11-20"}, page)
    texts = [text for spec in _chart_specs(app) for text in figure_texts(spec)]
    assert texts, "the page drew no chart"
    assert not [text for text in texts if "<a" in text or "<img" in text]
    assert any("&lt;a href=" in text for text in texts)  # the names are there, as text


def test_source_names_are_plain_text_in_the_quality_tiles(monkeypatch, hostile_db, listener):
    app, _ = _open(monkeypatch, hostile_db, {}, "quality.py")
    labels = [metric.label for metric in app.metric if "source" in metric.label]
    assert len(labels) == 2  # feedback and dossiers carry a source (traffic observations have none)
    assert all(" · " + markdown_text(payload(listener[0], "source")) in label for label in labels)


def _click(chart_key: str, name: str, field: str) -> None:
    """A chart click as Streamlit hands it to the `on_select` callback (the AppTest script of the next test)."""
    import streamlit as st

    from dashboard.web import url_state

    st.session_state[chart_key] = {"selection": {"points": [{field: st.session_state["clicked"]}]}}
    url_state.click_to_filter(name, chart_key, field)()


def test_a_clicked_escaped_label_filters_by_the_stored_name(hostile_db):
    # The charts draw the escaped name (y of the bar); the click must filter by the name as stored.
    agency = _first_name(hostile_db, "SELECT min(agency) FROM dossiers")
    app = AppTest.from_function(_click, args=("procedures_agencies", "agency", "y"))
    app.session_state["clicked"] = chart_text(agency)
    app.run()
    assert not app.exception
    assert app.session_state["dim_agency"] == [agency]


# ---------------------------------------------------------------- (c) a real browser
ARTIFACTS = PROJECT_ROOT / "artifacts" / "browser"


def _links_to(port: int, html: str) -> list[str]:
    """Elements (HTML or SVG: a, img, image, iframe …) whose href/src points at the listener; escaped text does not count."""
    return re.findall(rf"<[a-zA-Z]+\b[^<>]*\b(?:href|src)=\"[^\"]*127\.0\.0\.1:{port}[^\"]*\"", html)


@pytest.mark.browser
def test_payloads_fetch_nothing_and_link_nowhere_in_a_browser(web, chromium, hostile_db, listener):
    port, requests = listener
    agency = _first_name(hostile_db, "SELECT min(agency) FROM feedback")
    period = {"from": "2026-10-01", "to": "2026-11-20"}
    links = [
        ("", {"area": f"![x](http://127.0.0.1:{port}/p.png),[t](http://127.0.0.1:{port}/t)", **period}),
        ("phan-anh", {"agency": agency, **period}),
        ("thu-tuc", period),
        ("giao-thong", period),
    ]
    with web.running_app(hostile_db, log_path=ARTIFACTS / "streamlit-hostile.log") as base:
        for path, params in links:
            page = web.new_page(chromium)
            try:
                page.goto(f"{base}/{path}?{urlencode(params)}")
                web.wait_for_app(page, charts=True)
                page.wait_for_timeout(500)  # images a Markdown payload would load
                web.full_page_screenshot(page, ARTIFACTS / f"hostile-{path or 'overview'}.png")
                assert page.locator('[data-testid="stException"]').count() == 0
                html = page.content()
                assert _links_to(port, html) == [], path
                text = page.locator("body").inner_text().replace("\u2060", "")  # the invisible joiner of markdown_text
                if path == "":
                    assert f"![x](http://127.0.0.1:{port}/p.png)" in text  # the notice shows what was typed
                if path == "phan-anh":
                    assert f"![agency](http://127.0.0.1:{port}/agency.png)" in text  # the chip, as typed
            finally:
                page.context.close()
    assert requests == []
