"""The importer's parts without a database: date formats, header detection, value codes, place names, readers."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from messy_files import to_cp1258

from dashboard.ingest import dates, fields, readers
from dashboard.ingest.places import AreaMatcher, name_key, old_unit_names

TZ = "Asia/Ho_Chi_Minh"


@pytest.mark.parametrize(
    ("values", "family", "first"),
    [
        (["21/10/2026 08:05", "03/11/2026"], "day_first", datetime(2026, 10, 21, 8, 5)),
        (["10/21/18 0:00", "10/22/18 2:41"], "month_first", datetime(2018, 10, 21, 0, 0)),
        (["10/21/2018 08:05:00 PM", "10/21/2018 12:05:00 AM"], "month_first", datetime(2018, 10, 21, 20, 5)),
        (["2022-01-21 13:47:00", "2022-01-22"], "year_first", datetime(2022, 1, 21, 13, 47)),
        (["2024/10/03 00:00:00+00"], "year_first", datetime(2024, 10, 3, 7, 0)),  # UTC -> Huế time
        (["01-Jan-2012", "15-Feb-2012"], "format", datetime(2012, 1, 1)),
        (["1700000000", "1700000000000"], "epoch", datetime(2023, 11, 15, 5, 13, 20)),
    ],
)
def test_date_formats_are_detected_and_parsed(values, family, first):
    rule = dates.detect_rule("c", pd.Series(values))
    parsed = dates.parse(pd.Series(values), rule, TZ)
    assert rule.family == family
    assert parsed.iloc[0] == pd.Timestamp(first)
    assert parsed.notna().all()


def test_pm_hours_and_two_digit_years():
    parsed = dates.parse(
        pd.Series(["10/21/2018 12:30:00 PM", "1/2/99 7:00", "13/40/2018", "x"]), dates.DateRule("month_first"), TZ
    )
    assert list(parsed[:2]) == [pd.Timestamp(2018, 10, 21, 12, 30), pd.Timestamp(1999, 1, 2, 7)]
    assert parsed[2:].isna().all()


def test_ambiguous_day_month_is_an_error_naming_column_and_samples():
    with pytest.raises(dates.DateFormatError) as error:
        dates.detect_rule("Ngày tiếp nhận", pd.Series(["01/02/2026", "03/04/2026"]))
    assert "'Ngày tiếp nhận'" in str(error.value) and "'01/02/2026'" in str(error.value)
    assert "--dayfirst" in str(error.value)
    rule = dates.detect_rule("Ngày tiếp nhận", pd.Series(["01/02/2026"]), dayfirst=True)
    assert dates.parse(pd.Series(["01/02/2026"]), rule, TZ).iloc[0] == pd.Timestamp(2026, 2, 1)
    rule = dates.detect_rule("x", pd.Series(["01/02/2026"]), date_format="%m/%d/%Y")
    assert dates.parse(pd.Series(["01/02/2026"]), rule, TZ).iloc[0] == pd.Timestamp(2026, 1, 2)


def test_mixed_day_first_and_month_first_is_an_error():
    with pytest.raises(dates.DateFormatError, match="day-first and others month-first"):
        dates.detect_rule("d", pd.Series(["21/10/2026", "10/21/2026"]))


def test_headers_are_detected_in_every_vocabulary():
    open311 = fields.detect_mapping(
        "feedback",
        [
            "service_request_id",
            "requested_datetime",
            "updated_datetime",
            "expected_datetime",
            "status",
            "service_name",
            "lat",
            "long",
        ],
    )
    assert open311 == {
        "source_id": "service_request_id",
        "received_at": "requested_datetime",
        "updated_at": "updated_datetime",
        "due_at": "expected_datetime",
        "status": "status",
        "category": "service_name",
        "lat": "lat",
        "lon": "long",
    }
    vietnamese = fields.detect_mapping(
        "dossiers",
        ["Mã hồ sơ", "Ngày tiếp nhận", "Hạn xử lý", "Ngày hoàn thành", "Lĩnh vực", "Đơn vị xử lý", "Phường/Xã"],
    )
    assert vietnamese == {
        "source_id": "Mã hồ sơ",
        "received_at": "Ngày tiếp nhận",
        "due_at": "Hạn xử lý",
        "completed_at": "Ngày hoàn thành",
        "sector": "Lĩnh vực",
        "agency": "Đơn vị xử lý",
        "area": "Phường/Xã",
    }


@pytest.mark.parametrize(
    ("value", "words", "code"),
    [
        ("Closed", fields.FEEDBACK_STATUS_WORDS, "resolved"),
        ("Đã xử lý", fields.FEEDBACK_STATUS_WORDS, "resolved"),
        ("Assigned", fields.FEEDBACK_STATUS_WORDS, "in_progress"),
        ("Open", fields.FEEDBACK_STATUS_WORDS, "new"),
        ("Street Light Condition", fields.FEEDBACK_CATEGORY_WORDS, "street_lighting"),
        ("Rác thải sinh hoạt", fields.FEEDBACK_CATEGORY_WORDS, "waste_environment"),
        ("Ổ gà mặt đường", fields.FEEDBACK_CATEGORY_WORDS, "roads_traffic"),
        ("Separate collection", fields.FEEDBACK_CATEGORY_WORDS, None),  # "rat" is not a word of it
        ("SO Other Single Detached Dwelling", fields.DOSSIER_SECTOR_WORDS, "construction"),
        ("Trực tuyến", fields.DOSSIER_CHANNEL_WORDS, "online"),
        ("Final", fields.DOSSIER_STATUS_WORDS, "completed"),
    ],
)
def test_source_values_become_our_codes(value, words, code):
    assert fields.classify(value, words) == code


def test_place_names_ignore_prefix_case_and_diacritics():
    assert name_key("P. Phú Hội") == name_key("Phường Phú Hội") == name_key("phu hoi") == "phu_hoi"
    assert name_key("Xã Phong Sơn, TP Huế") == "phong_son"


def test_areas_match_by_code_name_old_name_and_point():
    areas = pd.DataFrame(
        {
            "code": ["19777", "19789"],
            "name": ["Phường Vỹ Dạ", "Phường Thuận Hóa"],
            "geometry_geojson": [
                '{"type":"Polygon","coordinates":[[[107,16],[108,16],[108,17],[107,17],[107,16]]]}',
                None,
            ],
        }
    )
    old = old_unit_names("hue")
    assert old[name_key("Phường Phú Hội")] == "19789"
    matcher = AreaMatcher(areas, old)
    places = pd.Series(["19777", "vy da", "P. Phú Hội", "Xuân Phú", "Nowhere", None])
    lat = pd.Series([None, None, None, None, None, 16.5])
    lon = pd.Series([None, None, None, None, None, 107.5])
    codes = matcher.match(places, lat, lon, places.index)
    assert list(codes) == ["19777", "19777", "19789", "19777", None, "19777"]


def _write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_readers_detect_encoding_and_delimiter(tmp_path):
    text = "Mã;Ngày tiếp nhận;Phường\nA1;01/02/2026;Phú Hội\n"
    for encoding, expected in (("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1258", "cp1258")):
        data = to_cp1258(text) if encoding == "cp1258" else text.encode(encoding)
        path = _write(tmp_path, f"f-{encoding}.csv", data)
        source = readers.open_source(path)
        assert (source.encoding, source.delimiter) == (expected, ";")
        assert source.headers == ["Mã", "Ngày tiếp nhận", "Phường"]
        chunk = next(readers.iter_chunks(source))
        assert chunk.loc[1, "Phường"] == "Phú Hội"  # composed form even from Windows-1258


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("binary.csv", bytes(range(256)) * 10, "binary file"),
        ("truncated.csv", b"id,received,category\n1,2026-01-01,noise\n2,2026-01", "truncated"),
        ("bad.xlsx", b"PK\x03\x04not really a workbook", "not a readable"),
    ],
)
def test_garbage_files_give_one_line_errors(tmp_path, name, data, message):
    path = _write(tmp_path, name, data)
    with pytest.raises(readers.InputError) as error:
        readers.open_source(path)
    assert message in str(error.value) and name in str(error.value)
    assert "\n" not in str(error.value)
