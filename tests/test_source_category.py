"""The source's own category text kept beside our category (`feedback.source_category`): stored as given by the
importer, shown in the records, usable as a page filter; the demo's labels. DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard.config import PROJECT_ROOT
from dashboard.db import feedback_queries as fq
from dashboard.db import records_queries as rq
from dashboard.db import schema
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.demo.generator import build_demo
from dashboard.demo.source_labels import SOURCE_LABELS
from dashboard.domain import FEEDBACK_CATEGORIES
from dashboard.ingest import fields
from dashboard.ingest.importer import ImportOptions, run_import
from dashboard.metrics import kpis
from dashboard.periods import Period

NOW = datetime(2026, 11, 20, 14, 37)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 19))
LONG = "Ổ gà " * 40  # 200 characters: kept to 128
FILE = (
    "Mã phản ánh,Ngày tiếp nhận,Loại phản ánh\n"
    "P1,2026-11-02 08:00,Rác thải sinh hoạt\n"
    "P2,2026-11-02 09:00,  Rác thải sinh hoạt  \n"
    'P3,2026-11-03 10:00,"Ổ gà, hư hỏng mặt đường"\n'
    "P4,2026-11-03 11:00,Karaoke hát khuya\n"
    "P5,2026-11-04 12:00,\n"
    f"P6,2026-11-04 13:00,{LONG}\n"
)


@pytest.fixture
def engine(areas_engine):
    result = run_import(areas_engine, ImportOptions("feedback", _write(FILE), source="hue_s", now=NOW))
    assert (result.inserted, result.mapping["category"]) == (6, "Loại phản ánh")
    return areas_engine


def _write(content: str):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "phan_anh.csv"
    path.write_text(content, encoding="utf-8")
    return path


def test_the_source_text_is_kept_beside_our_category(engine):
    rows = fetch_frame(
        engine,
        select(schema.feedback.c.source_id, schema.feedback.c.category, schema.feedback.c.source_category).order_by(
            schema.feedback.c.source_id
        ),
    )
    assert rows["category"].tolist() == [
        "waste_environment",
        "waste_environment",
        "roads_traffic",
        "noise",
        "other",
        "roads_traffic",
    ]
    kept = rows["source_category"].astype(object).where(rows["source_category"].notna(), None)
    assert kept.tolist()[:5] == [
        "Rác thải sinh hoạt",
        "Rác thải sinh hoạt",  # spaces around it removed
        "Ổ gà, hư hỏng mặt đường",
        "Karaoke hát khuya",
        None,  # none given
    ]
    assert rows["source_category"].iloc[5] == LONG.strip()[:128]


def test_a_filter_on_the_source_category_counts_its_rows(engine):
    assert fq.distinct_values(engine, "source_category") == sorted(
        ["Karaoke hát khuya", "Rác thải sinh hoạt", "Ổ gà, hư hỏng mặt đường", LONG.strip()[:128]]
    )
    waste = {"source_category": ["Rác thải sinh hoạt"]}
    assert kpis.section_kpis(engine, "feedback", NOVEMBER, None, waste)["received"] == 2
    both = {"source_category": ["Rác thải sinh hoạt", "Karaoke hát khuya"]}
    assert kpis.section_kpis(engine, "feedback", NOVEMBER, None, both)["received"] == 3
    assert kpis.section_kpis(engine, "feedback", NOVEMBER)["received"] == 6
    query_filter = QueryFilter.build(NOVEMBER, (), waste)
    assert rq.count(engine, "feedback.received", "numerator", query_filter) == 2
    records = rq.all_records(engine, "feedback.received", "numerator", query_filter)
    assert records["source_category"].tolist() == ["Rác thải sinh hoạt", "Rác thải sinh hoạt"]
    assert "source_category" in rq.column_names("feedback.received")
    assert fq.records(engine, query_filter)["source_category"].tolist() == ["Rác thải sinh hoạt"] * 2


SAMPLES = PROJECT_ROOT.parent / "shared" / "data" / "samples"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="../shared/data/samples is not present")
def test_nyc_complaint_types_are_kept(areas_engine):
    path = SAMPLES / "feedback_nyc_311_sample_2018-10-21.csv"
    result = run_import(areas_engine, ImportOptions("feedback", path, source="nyc311", now=NOW))
    assert result.mapping["category"] == "Complaint Type"
    assert len(fq.distinct_values(areas_engine, "source_category")) == 116  # the README's 116 complaint types


# A 205-report demo (seed 7, scale 0.01, from 1 September 2026) hashed over every column but source_category
# before source_category existed: adding it changed no seeded value.
DEMO_FINGERPRINT = "ea11cb26459259b76c77dffa805776ab955c1798765e49e162299ea9f4ff55d0"


def test_demo_labels_leave_the_seeded_values_and_map_back_to_their_category():
    engine = make_engine("duckdb:///:memory:")
    build_demo(engine, seed=7, scale=0.01, start=date(2026, 9, 1), now=NOW)
    with engine.connect() as connection:
        frame = pd.read_sql(
            "SELECT id, source_id, received_at, category, channel, area_code, lat, lon, status, agency, due_at, "
            "resolved_at, satisfaction, reopened, source_category FROM feedback ORDER BY id",
            connection,
        )
    seeded = frame.drop(columns="source_category")
    digest = hashlib.sha256(pd.util.hash_pandas_object(seeded, index=False).values.tobytes()).hexdigest()
    assert (len(frame), digest) == (205, DEMO_FINGERPRINT)
    assert frame["source_category"].notna().all()
    for category, label in zip(frame["category"], frame["source_category"], strict=True):
        assert label in SOURCE_LABELS[category]
    for category, labels in SOURCE_LABELS.items():  # the importer's keywords put each label back in its category
        for label in labels:
            found = fields.classify(label, fields.FEEDBACK_CATEGORY_WORDS, FEEDBACK_CATEGORIES) or "other"
            assert found == category, label


def test_feedback_page_filters_by_the_source_category_and_lists_it(monkeypatch, demo_db_url, demo_now):
    """On the demo: ?source_category= narrows the page to that label (its comma escaped in the link); the record
    list shows the column."""
    from page_support import metric_value, run_page

    from dashboard.i18n import format_number, t

    label = SOURCE_LABELS["roads_traffic"][0]
    params = {"from": (demo_now.date().replace(day=1)).isoformat(), "to": demo_now.date().isoformat()}
    page = str(PROJECT_ROOT / "pages" / "feedback.py")
    assert "," in label
    link = label.replace(",", "\\,")
    app = run_page(monkeypatch, demo_db_url, {**params, "source_category": link}, page)
    assert app.session_state["dim_source_category"] == [label]
    assert app.query_params["source_category"] == link
    engine = make_engine(demo_db_url, read_only=True)
    try:
        period = Period(date.fromisoformat(params["from"]), date.fromisoformat(params["to"]))
        expected = kpis.section_kpis(engine, "feedback", period, None, {"source_category": [label]})["received"]
        everything = kpis.section_kpis(engine, "feedback", period)["received"]
    finally:
        engine.dispose()
    assert 0 < expected < everything
    assert metric_value(app, t("kpi.feedback.received")) == format_number(expected)
    tables = [d.value for d in app.dataframe if t("column.source_category") in d.value.columns]
    assert tables and set(tables[0][t("column.source_category")]) == {label}


def test_link_values_with_commas_round_trip():
    from dashboard.web.url_state import join_values, split_values

    values = ["Ổ gà, hư hỏng mặt đường", "a\\b", "Noise - Residential"]
    assert join_values(values) == "Ổ gà\\, hư hỏng mặt đường,a\\\\b,Noise - Residential"
    assert split_values(join_values(values)) == values
    assert split_values("water_drainage, trees_parks,,water_drainage") == ["water_drainage", "trees_parks"]
