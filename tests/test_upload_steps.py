"""The upload page's pure steps (dashboard/ingest/upload.py): the saved file, detection of encoding, format and
columns, and the dry run and import on DuckDB and PostgreSQL."""

from __future__ import annotations

import messy_files as messy
import pytest
from sqlalchemy import select
from upload_support import DETECTED, NOW
from upload_support import feedback_count as _feedback_count

from dashboard.db import schema
from dashboard.db.engine import fetch_frame
from dashboard.i18n import EN, VI
from dashboard.ingest import dates, importer, readers, upload
from dashboard.ingest.importer import ImportAborted

HEADERS = messy.FEEDBACK_VI_HEADER.split(",")
REASON_CODES = (
    "missing_id",
    "id_too_long",
    "missing_received_at",
    "missing_observed_at",
    "unreadable_date",
    "resolved_before_received",
    "completed_before_received",
    "future_date",
    "unreadable_hour",
    "unreadable_count",
    "unknown_sensor",
    "missing_location",
)


def _settings(mapping=None, **options) -> upload.RunSettings:
    return upload.RunSettings.build("feedback", "phan_anh", DETECTED if mapping is None else mapping, **options)


# ---------------------------------------------------------------- the uploaded file
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("phan_anh_2026-11-20.csv", "phan_anh_2026-11-20.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\a\\Báo cáo tháng 11.xlsx", "Báo cáo tháng 11.xlsx"),
        ("a;b|c.json", "a_b_c.json"),
        (".csv", "upload.csv"),
        ("README", "README"),
        ("", "upload"),
    ],
)
def test_safe_file_name_keeps_name_and_extension(name, expected):
    assert upload.safe_file_name(name) == expected


def test_save_upload_keeps_bytes_name_and_extension_and_discard_removes_it(tmp_path):
    path = upload.save_upload(b"a,b\n1,2\n", "dir/ho so.tsv", folder=tmp_path)
    assert path.name == "ho so.tsv" and path.suffix == ".tsv" and path.read_bytes() == b"a,b\n1,2\n"
    assert path.parent.parent == tmp_path and path.parent.name.startswith("ioc-upload-")
    upload.discard_upload(path)
    assert not path.parent.exists()
    upload.discard_upload(None)  # nothing to do


# ---------------------------------------------------------------- detection
def test_detect_windows_1258_feedback(tmp_path):
    detection = upload.detect(messy.feedback_cp1258(tmp_path), "feedback")
    assert detection.headers == HEADERS
    assert (detection.file_format, detection.encoding, detection.delimiter) == ("csv", "cp1258", ",")
    assert detection.mapping == DETECTED
    assert detection.required == ("source_id", "received_at")
    assert detection.source == "phan_anh"
    assert len(detection.preview) == 9 and list(detection.preview.columns) == HEADERS
    assert detection.preview.iloc[0].tolist()[:3] == ["PA-001", "03/11/2026 08:15", "Rác thải sinh hoạt"]
    assert list(detection.choices) == list(importer.fields.field_names("feedback"))
    assert all(choices == [None, *HEADERS] for choices in detection.choices.values())


def test_detect_previews_twenty_rows_of_a_long_file(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("id,created_date\n" + "".join(f"{i},2026-11-01 08:00\n" for i in range(100)), encoding="utf-8")
    detection = upload.detect(path, "dossiers")
    assert len(detection.preview) == 20 and detection.preview["id"].tolist()[-1] == "19"
    assert detection.mapping == {"source_id": "id", "received_at": "created_date"}


def test_detect_open311_json_and_excel(tmp_path):
    json_detection = upload.detect(messy.open311_json(tmp_path), "feedback")
    assert json_detection.file_format == "json"
    assert json_detection.mapping["source_id"] == "service_request_id"
    assert json_detection.mapping["lon"] == "long"
    excel = upload.detect(messy.dossiers_excel(tmp_path), "dossiers")
    assert excel.file_format == "excel" and len(excel.preview) == 4
    assert excel.mapping["source_id"] == "Số hồ sơ" and excel.mapping["completed_at"] == "Ngày hoàn thành"


@pytest.mark.parametrize(("content", "words"), [(b"", "empty"), (b"\x00\x01\x02\x03" * 100, "binary")])
def test_detect_refuses_garbage(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(readers.InputError, match=words):
        upload.detect(path, "feedback")


def test_mapping_problems_name_missing_required_fields_and_columns_used_twice():
    assert upload.mapping_problems("feedback", DETECTED) == []
    assert upload.in_field_order("feedback", dict(reversed(DETECTED.items()))) == list(DETECTED)
    mapping = upload.chosen_mapping(
        {"source_id": "Mã phản ánh", "received_at": None, "category": "Lĩnh vực", "status": "Lĩnh vực", "area": ""}
    )
    assert mapping == {"source_id": "Mã phản ánh", "category": "Lĩnh vực", "status": "Lĩnh vực"}
    assert upload.mapping_problems("feedback", mapping) == [
        upload.MappingProblem("missing", "received_at"),
        upload.MappingProblem("twice", "Lĩnh vực", ("category", "status")),
    ]


def test_reason_labels_for_every_importer_code():
    for code in REASON_CODES:
        assert f"reject_reason.{code}" in VI and f"reject_reason.{code}" in EN
        assert upload.reason_label(code, "vi") == VI[f"reject_reason.{code}"] != code
    assert upload.reason_label("future_date") == "Ngày trong tương lai"
    assert upload.reason_label("future_date", "en") == "Date in the future"
    assert upload.reason_label("something_new") == "something_new"


# ---------------------------------------------------------------- running on DuckDB and PostgreSQL
@pytest.fixture
def engine(areas_engine):
    return areas_engine


def test_dry_run_counts_then_import_writes_the_rows(engine, tmp_path):
    path = messy.feedback_cp1258(tmp_path)
    settings = _settings(max_reject_rate=0.5)
    seen = []
    dry = upload.run(engine, path, settings, dry_run=True, now=NOW, progress=lambda r, share: seen.append(share))
    assert dry.status == "dry_run" and seen and seen[-1] == 1.0
    assert upload.counts(dry) == {
        "rows_read": 9,
        "inserted": 4,
        "updated": 0,
        "unchanged": 0,
        "rejected": 4,
        "duplicates": 1,
        "unknown_area": 1,
        "crosswalk": 1,  # "P. Phú Hội" is a former ward (before 1/7/2025), now in a merged unit
    }
    assert _feedback_count(engine) == 0
    sample = upload.reject_sample(dry)
    assert sample[["row_number", "reason"]].values.tolist() == [
        [5, "Thiếu mã bản ghi"],
        [6, "Ngày giờ không đọc được"],
        [7, "Xử lý xong trước khi tiếp nhận"],
        [8, "Ngày trong tương lai"],
    ]
    assert sample.loc[1, ["column_name", "value"]].tolist() == ["Ngày tiếp nhận", "31/02/2026 07:00"]
    assert sample.loc[0, ["column_name", "value"]].tolist() == ["Mã phản ánh", "–"]
    assert upload.reason_counts(dry, "en")["rows"].tolist() == [1, 1, 1, 1]

    done = upload.run(engine, path, settings, dry_run=False, now=NOW)
    assert (done.status, done.inserted, done.updated, done.rejected) == ("done", 4, 0, 4)
    rows = (
        fetch_frame(
            engine,
            select(schema.feedback.c.source_id, schema.feedback.c.status).where(schema.feedback.c.source == "phan_anh"),
        )
        .set_index("source_id")["status"]
        .to_dict()
    )
    assert rows == {"PA-001": "resolved", "PA-002": "resolved", "PA-003": "new", "PA-004": "new"}
    again = upload.run(engine, path, settings, dry_run=True, now=NOW)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_unset_field_is_not_read_and_source_name_is_used(engine, tmp_path):
    mapping = {k: v for k, v in DETECTED.items() if k != "category"}
    settings = upload.RunSettings.build("feedback", " so_xay_dung ", mapping, max_reject_rate=0.5)
    result = upload.run(engine, messy.feedback_cp1258(tmp_path), settings, dry_run=False, now=NOW)
    assert "category" not in result.mapping and result.source == "so_xay_dung"
    categories = fetch_frame(
        engine, select(schema.feedback.c.category).where(schema.feedback.c.source == "so_xay_dung")
    )
    assert len(categories) == 4 and categories["category"].map(lambda c: c in (None, "other")).all()


def test_too_many_rejects_abort_with_counts_and_write_nothing(engine, tmp_path):
    with pytest.raises(ImportAborted) as aborted:
        upload.run(engine, messy.feedback_cp1258(tmp_path), _settings(), dry_run=False, now=NOW)
    assert (aborted.value.result.rows_read, aborted.value.result.rejected) == (9, 4)
    assert _feedback_count(engine) == 0


def test_ambiguous_dates_need_dayfirst(engine, tmp_path):
    path = tmp_path / "ambiguous.csv"
    path.write_text("id,created_date\nA,01/02/2026 08:00\nB,03/04/2026 09:00\n", encoding="utf-8")
    settings = upload.RunSettings.build("feedback", "x", {"source_id": "id", "received_at": "created_date"})
    with pytest.raises(dates.DateFormatError):
        upload.run(engine, path, settings, dry_run=True, now=NOW)
    dayfirst = upload.RunSettings.build(
        "feedback", "x", {"source_id": "id", "received_at": "created_date"}, dayfirst=True
    )
    assert upload.run(engine, path, dayfirst, dry_run=True, now=NOW).inserted == 2
    assert dayfirst != settings  # a changed option asks for a new dry run
