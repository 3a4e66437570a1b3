"""Every page over a database that holds only imported data (no demo): the shapes real exports produce.

Imported rows differ from the demo's: channels and agencies may be empty, wards unknown, sensors few, and there
are no forecasts. Each page must still render without an exception or an error box.
"""

from __future__ import annotations

from datetime import datetime

import messy_files as messy
import pytest
from page_support import run_app
from test_app_pages import _as_admin

from dashboard.db.engine import create_schema, make_engine
from dashboard.db.load import load_areas
from dashboard.ingest.importer import ImportOptions, run_import
from dashboard.navigation import PAGES

NOW = datetime(2026, 11, 20, 14, 37)
PERIOD = {"from": "2026-11-01", "to": "2026-11-20"}


@pytest.fixture(scope="module")
def imported_url(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("imported")
    url = f"duckdb:///{folder / 'imported.duckdb'}"
    engine = make_engine(url)
    try:
        create_schema(engine)
        load_areas(engine, "hue")
        sensors = folder / "sensors.csv"
        sensors.write_text("id,name,lat,lon\nS1,Cầu Trường Tiền,16.4671,107.5912\n", encoding="utf-8")
        counts = folder / "counts.csv"
        counts.write_text(
            "sensor_id,timestamp,count\n"
            + "".join(
                f"S1,2026-11-{day:02d} {hour:02d}:00,{50 + hour}\n" for day in range(1, 20) for hour in range(24)
            ),
            encoding="utf-8",
        )
        for kind, path, extra in (
            ("feedback", messy.feedback_cp1258(folder), {}),
            ("feedback", messy.open311_json(folder), {"source": "open311"}),
            ("dossiers", messy.dossiers_bom_semicolon(folder), {}),
            ("traffic", counts, {"sensors": sensors}),
        ):
            run_import(engine, ImportOptions(kind, path, now=NOW, max_reject_rate=0.6, **extra))
    finally:
        engine.dispose()
    return url


@pytest.mark.parametrize("spec", PAGES, ids=[p.key for p in PAGES])
def test_every_page_renders_on_imported_data(monkeypatch, imported_url, spec):
    if spec.admin:
        app = _as_admin(monkeypatch, imported_url, str(spec.path))
    else:
        app = run_app(monkeypatch, imported_url, PERIOD, page=str(spec.path))
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
