"""Ward merger (issue 16): rows given with Huế's older units are placed on the 40 units of 1 July 2025 through
data/boundaries/hue_crosswalk.csv, counted as such in the import log, and city totals reconcile before and after.

The fixture below is written by hand; each expected unit was read off the crosswalk's rows (old unit -> new unit).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select, text

from dashboard import boundaries
from dashboard.boundaries import CrosswalkError, area_frame, crosswalk_frame, merger_date
from dashboard.db import quality_queries as qq
from dashboard.db import schema
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.db.load import load_areas
from dashboard.i18n import t
from dashboard.ingest.command import print_summary
from dashboard.ingest.importer import ImportOptions, run_import
from dashboard.ingest.places import AreaMatcher
from dashboard.metrics.kpis import compute_area_kpis, compute_kpis
from dashboard.periods import Period

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "boundaries"
NOW = datetime(2026, 11, 20, 14, 37)
HEADER = ["Mã phản ánh", "Ngày tiếp nhận", "Lĩnh vực", "Trạng thái", "Phường/Xã"]

# (id, received, place as written, expected 2025 unit or None, placed through the crosswalk)
ROWS = [
    # before the merger (01/07/2025)
    ("F01", "2024-02-10 08:00", "19750", "19753", True),  # pre-2025 GSO code of Phường Tây Lộc -> Phú Xuân
    ("F02", "2024-05-03 09:30", "20002", "20014", True),  # Phường Hương Phong (pre-2025 code) -> Hóa Châu
    ("F03", "2024-08-20 10:00", "Phường Thuận Hòa", "19753", True),  # old ward; not the current Thuận Hóa (19789)
    ("F04", "2024-11-11 11:11", "Xã Phú Xuân", "19918", True),  # old commune of Phú Vang -> Phú Hồ, not Phường Phú Xuân
    ("F05", "2025-01-15 07:45", "Hương Hồ", "19774", True),  # 2016 commune -> Kim Long
    ("F06", "2025-03-01 16:20", "Xã Điền Hương", "19828", True),  # 2016 commune -> Phong Phú (matched by hand)
    ("F07", "2025-04-30 12:00", "4110101", "19753", True),  # vietnam63 id of the 2016 Phường Phú Thuận -> Phú Xuân
    ("F08", "2025-06-30 23:59", "Xã Hương Phong", None, False),  # two old communes of that name: not guessed
    ("F09", "2024-07-01 00:00", "19789", "19789", False),  # a current code
    ("F10", "2025-02-02 09:00", "Phú Thuận", None, False),  # a ward (-> Phú Xuân) and a commune (-> Thuận An)
    ("F11", "2024-12-24 18:00", "Thị trấn Phong Điền", "19819", True),  # 2016 town -> Phường Phong Điền
    ("F12", "2025-05-05 05:05", "Xã Phú Vinh", "19945", False),  # also an old commune of A Lưới: the current wins
    # after the merger
    ("F13", "2025-07-01 00:00", "Phường Phú Xuân", "19753", False),
    ("F14", "2025-08-15 14:00", "Xã Phú Gia", "19942", True),  # old names stay in use after the merger
    ("F15", "2025-09-09 09:09", "Vỹ Dạ", "19777", False),
    ("F16", "2025-10-10 10:10", "19954", "19942", True),  # pre-2025 code of Xã Phú Gia -> Phú Vang
    ("F17", "2025-12-31 23:00", "An Cựu", "19815", False),
]
BEFORE = Period(date(2024, 1, 1), date(2025, 6, 30))
AFTER = Period(date(2025, 7, 1), date(2025, 12, 31))


def _write_feedback(path: Path, rows, extra: tuple[str, ...] = ()) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER + list(extra))
        for row in rows:
            writer.writerow(row)
    return path


def _fixture_file(tmp_path: Path) -> Path:
    return _write_feedback(
        tmp_path / "phan_anh_truoc_sau_sap_nhap.csv",
        [(fid, when, "Rác thải sinh hoạt", "Mới", place) for fid, when, place, _, _ in ROWS],
    )


def _areas_by_id(engine) -> dict[str, str | None]:
    frame = fetch_frame(engine, select(schema.feedback.c.source_id, schema.feedback.c.area_code))
    return {row.source_id: None if pd.isna(row.area_code) else row.area_code for row in frame.itertuples(index=False)}


# ---------------------------------------------------------------- import on DuckDB and PostgreSQL
def test_old_units_land_on_the_current_units_and_city_totals_reconcile(areas_engine, tmp_path):
    result = run_import(areas_engine, ImportOptions("feedback", _fixture_file(tmp_path), source="hue_s", now=NOW))
    assert (result.status, result.rows_read, result.inserted, result.rejected) == ("done", 17, 17, 0)
    assert _areas_by_id(areas_engine) == {fid: code for fid, _, _, code, _ in ROWS}
    assert (result.crosswalk, result.crosswalk_share, result.unknown_area) == (10, 0, 2)
    assert sum(via for *_, via in ROWS) == 10

    log = qq.import_history(areas_engine)
    assert log[["rows_read", "rows_crosswalk", "rows_crosswalk_share", "rows_unknown_area"]].values.tolist() == [
        [17, 10, 0, 2]
    ]
    out = io.StringIO()
    print_summary(result, out)
    assert "; 10 rows given with an older unit (before 01/07/2025) placed on the current units;" in out.getvalue()

    # city totals: the city figure is every row of the period; the 40 units hold all but the two unknown places
    for period, rows_in_file, unknown in ((BEFORE, 12, 2), (AFTER, 5, 0)):
        city = compute_kpis(areas_engine, period, sections=("feedback",))["feedback"]["received"]
        by_unit = compute_area_kpis(areas_engine, period, sections=("feedback",))
        assert len(by_unit) == 40
        assert city == rows_in_file
        assert int(by_unit["feedback.received"].fillna(0).sum()) == rows_in_file - unknown
    expected_before = pd.Series([r[3] for r in ROWS[:12] if r[3]]).value_counts().to_dict()
    by_unit = compute_area_kpis(areas_engine, BEFORE, sections=("feedback",))
    received = zip(by_unit["code"], by_unit["feedback.received"].fillna(0), strict=True)
    assert {code: int(n) for code, n in received if n} == expected_before
    assert expected_before == {
        "19753": 3,
        "20014": 1,
        "19918": 1,
        "19774": 1,
        "19828": 1,
        "19789": 1,
        "19819": 1,
        "19945": 1,
    }


# ---------------------------------------------------------------- an old unit split between new units
def _inside(code: str):
    """A point inside the unit's polygon (lat, lon)."""
    from shapely.geometry import shape

    areas = area_frame("hue").set_index("code")
    point = shape(json.loads(areas.loc[code, "geometry_geojson"])).representative_point()
    return round(point.y, 6), round(point.x, 6)


SPLIT_CROSSWALK = (
    "old_level,old_code,old_name,new_code,new_name,share,new_from,source\n"
    "pre2025,99001,Xã Thử Nghiệm,19753,Phường Phú Xuân,0.6,2025-07-01,test\n"
    "pre2025,99001,Xã Thử Nghiệm,19789,Phường Thuận Hóa,0.4,2025-07-01,test\n"
)


def _split_rows():
    in_small, in_large, elsewhere = _inside("19789"), _inside("19753"), _inside("20056")
    return [  # (id, place, lat, lon, expected unit, placed by the largest share)
        ("S1", "Xã Thử Nghiệm", *in_small, "19789", False),  # its point lies in the smaller part
        ("S2", "99001", None, None, "19753", True),  # no point: the largest share
        ("S3", "Thử Nghiệm", *in_large, "19753", False),
        ("S4", "Xã Thử Nghiệm", *elsewhere, "19753", True),  # a point in neither part: the largest share
        ("S5", "19789", *in_large, "19789", False),  # a current code wins over the point
    ]


def test_split_unit_is_placed_by_point_else_by_largest_share():
    rows = _split_rows()
    matcher = AreaMatcher(area_frame("hue"), crosswalk=pd.read_csv(io.StringIO(SPLIT_CROSSWALK), dtype=str))
    places = pd.Series([r[1] for r in rows])
    lat = pd.Series([r[2] for r in rows], dtype=float)
    lon = pd.Series([r[3] for r in rows], dtype=float)
    assert list(matcher.match(places, lat, lon, places.index)) == [r[4] for r in rows]
    assert list(matcher.last_how) == ["old_point", "old_share", "old_point", "old_share", "code"]
    assert matcher.crosswalk_counts(places.index) == (4, 2)
    assert matcher.crosswalk_counts(places.index[:1]) == (1, 0)


def test_split_unit_counts_in_the_import_log(areas_engine, tmp_path, monkeypatch):
    folder = tmp_path / "boundaries"
    folder.mkdir()
    (folder / "hue_crosswalk.csv").write_text(SPLIT_CROSSWALK, encoding="utf-8")
    shutil.copy(ROOT / "data/boundaries/hue_wards_2025.geojson", folder)
    monkeypatch.setattr(boundaries, "BOUNDARIES_DIR", folder)  # the city's crosswalk is read from here
    rows = _split_rows()
    path = _write_feedback(
        tmp_path / "split.csv",
        [(r[0], "2024-06-01 08:00", "Khác", "Mới", r[1], r[2], r[3]) for r in rows],
        extra=("lat", "lon"),
    )
    result = run_import(areas_engine, ImportOptions("feedback", path, source="split", now=NOW))
    assert _areas_by_id(areas_engine) == {r[0]: r[4] for r in rows}
    assert (result.crosswalk, result.crosswalk_share) == (4, 2)
    out = io.StringIO()
    print_summary(result, out)
    assert "4 rows given with an older unit (before 01/07/2025) placed on the current units, 2 of them by the " in (
        out.getvalue()
    )
    log = qq.import_history(areas_engine)
    assert log[["rows_crosswalk", "rows_crosswalk_share"]].values.tolist() == [[4, 2]]


# ---------------------------------------------------------------- the crosswalk file
def test_crosswalk_file_is_complete_and_consistent():
    frame = crosswalk_frame("hue")
    wards = pd.read_csv(ROOT / "data/boundaries/hue_wards_2025.csv", dtype=str)
    assert list(frame.columns) == boundaries.CROSSWALK_COLUMNS
    assert frame.groupby("old_level")["old_code"].nunique().to_dict() == {"commune_2016": 152, "pre2025": 133}
    assert set(frame["new_code"]) == set(wards["code"]) and len(wards) == 40
    assert (frame["share"] == 1.0).all()  # no old unit of Huế was split
    assert merger_date("hue") == date(2025, 7, 1)
    # the pre-2025 names agree with the boundary file's old_units_pre2025
    listed = {
        (code, old)
        for code, olds in zip(wards["code"], wards["old_units_pre2025"], strict=True)
        for old in olds.split(";")
    }
    pre = frame[frame["old_level"] == "pre2025"]
    assert set(zip(pre["new_code"], pre["old_name"], strict=True)) == listed


def test_a_city_without_crosswalk_has_none_and_a_bad_file_names_its_line(tmp_path):
    assert crosswalk_frame("can_tho") is None and merger_date("can_tho") is None
    bad = tmp_path / "bad.csv"
    bad.write_text(SPLIT_CROSSWALK.replace("0.4", "0.5"), encoding="utf-8")
    with pytest.raises(CrosswalkError, match=r"shares of old unit pre2025 99001 add up to 1.1, not 1"):
        crosswalk_frame("hue", path=bad)
    bad.write_text(SPLIT_CROSSWALK.replace("0.4,2025-07-01", "0.4,1/7/2025"), encoding="utf-8")
    with pytest.raises(CrosswalkError, match=r"bad.csv, line 3: new_from '1/7/2025' is not YYYY-MM-DD"):
        crosswalk_frame("hue", path=bad)
    bad.write_text("old_code,new_code\n1,2\n", encoding="utf-8")
    with pytest.raises(CrosswalkError, match=r"lacks the column\(s\) old_level, old_name, new_name, share"):
        crosswalk_frame("hue", path=bad)


@pytest.mark.skipif(not SHARED.exists(), reason="../shared/data/boundaries is not checked out next to the project")
def test_crosswalk_rebuilds_from_the_shared_files_byte_for_byte(tmp_path):
    out = tmp_path / "hue_crosswalk.csv"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_crosswalk.py"), "--shared", str(SHARED), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "285 rows (133 pre2025, 152 commune_2016)" in done.stdout
    assert out.read_bytes() == (ROOT / "data/boundaries/hue_crosswalk.csv").read_bytes()
    communes = json.loads((SHARED / "hue_communes_2016.geojson").read_text(encoding="utf-8"))["features"]
    assert len(communes) == 152
    assert {str(f["properties"]["unit_2025_code"]) for f in communes} == set(area_frame("hue")["code"])
    units = pd.read_csv(SHARED / "hue_units_2025.csv", dtype=str)
    assert sum(len(codes.split(";")) for codes in units["old_codes_pre2025"]) == 133


# ---------------------------------------------------------------- older databases and the period caption
def test_an_import_log_older_than_the_counts_is_read_and_upgraded(any_db_url, tmp_path):
    engine = make_engine(any_db_url)
    try:
        load_areas(engine, "hue")
        with engine.begin() as connection:  # import_log as made before the crosswalk counts
            connection.execute(text("DROP INDEX ix_import_log_kind_started"))
            for column in ("rows_crosswalk_share", "rows_crosswalk"):
                connection.execute(text(f"ALTER TABLE import_log DROP COLUMN {column}"))
            connection.execute(text("CREATE INDEX ix_import_log_kind_started ON import_log (kind, started_at)"))
            assert schema.missing_columns(connection) == {}  # the ranking page does not ask for init-db
        assert qq.import_history(engine).empty  # the page still reads the log
        result = run_import(engine, ImportOptions("feedback", _fixture_file(tmp_path), source="hue_s", now=NOW))
        assert result.crosswalk == 10
        assert qq.import_history(engine)[["rows_crosswalk", "rows_unknown_area"]].values.tolist() == [[10, 2]]
    finally:
        engine.dispose()


def test_period_caption_says_earlier_figures_are_converted():
    from dashboard.web.url_state import Filters
    from dashboard.web.widgets import merger_clause, period_caption

    before = Filters("vi", Period(date(2025, 6, 1), date(2025, 7, 31)), "previous_period", ())
    after = Filters("en", Period(date(2025, 8, 1), date(2025, 8, 31)), "previous_period", ())
    compared_before = Filters("en", Period(date(2025, 8, 1), date(2025, 8, 31)), "same_period_last_year", ())
    note_vi = " · số liệu trước 01/07/2025 hiển thị theo phường/xã hiện nay, quy đổi từ đơn vị cũ"
    assert merger_clause(before) == note_vi and period_caption(before).endswith(note_vi)
    assert merger_clause(after) == "" and not period_caption(after).endswith("units")
    assert merger_clause(compared_before) == " · " + t("period.merger_note", "en", date="01/07/2025")


def test_an_unusable_crosswalk_stops_the_import_with_its_line(areas_engine, tmp_path, monkeypatch):
    from dashboard.ingest.readers import InputError

    folder = tmp_path / "boundaries"
    folder.mkdir()
    (folder / "hue_crosswalk.csv").write_text(SPLIT_CROSSWALK.replace("0.6", "1.6"), encoding="utf-8")
    monkeypatch.setattr(boundaries, "BOUNDARIES_DIR", folder)
    with pytest.raises(InputError) as raised:
        run_import(areas_engine, ImportOptions("feedback", _fixture_file(tmp_path), source="hue_s", now=NOW))
    assert str(raised.value) == t(
        "ingest.msg.crosswalk_unusable",
        "en",
        detail="crosswalk file hue_crosswalk.csv, line 2: share '1.6' is not in (0, 1]",
    )
    assert qq.import_history(areas_engine)["status"].tolist() == ["failed"]


def test_dossiers_with_old_units_are_placed_and_counted(areas_engine, tmp_path):
    path = tmp_path / "ho_so_truoc_sap_nhap.csv"
    path.write_text(
        "Số hồ sơ;Tên thủ tục;Ngày tiếp nhận;Hạn xử lý;Phường/Xã\n"
        "HS-1;Đăng ký khai sinh;02/11/2024 08:00:00;05/11/2024 17:00:00;Phường Tây Lộc\n"  # pre-2025 name -> Phú Xuân
        "HS-2;Đăng ký kết hôn;03/11/2024 09:00:00;06/11/2024 17:00:00;20080\n"  # pre-2025 code -> A Lưới 4
        "HS-3;Chứng thực bản sao;13/08/2025 10:00:00;13/08/2025 17:00:00;Phường An Cựu\n",  # current
        encoding="utf-8",
    )
    result = run_import(areas_engine, ImportOptions("dossiers", path, source="motcua", now=NOW))
    frame = fetch_frame(areas_engine, select(schema.dossiers.c.source_id, schema.dossiers.c.area_code))
    assert dict(zip(frame["source_id"], frame["area_code"], strict=True)) == {
        "HS-1": "19753",
        "HS-2": "20101",
        "HS-3": "19815",
    }
    assert (result.inserted, result.crosswalk, result.crosswalk_share) == (3, 2, 0)
