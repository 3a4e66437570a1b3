"""The "Nhập dữ liệu" upload page: its pure steps (dashboard/ingest/upload.py) on DuckDB and PostgreSQL, and the
page in AppTest with an uploaded file prepared in the session (AppTest has no file_uploader driver)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

import messy_files as messy
import pytest
from page_support import APP
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.db import schema
from dashboard.db.engine import duckdb_file, fetch_frame, fetch_one, make_engine
from dashboard.i18n import EN, VI, t
from dashboard.ingest import dates, importer, readers, upload
from dashboard.ingest.importer import ImportAborted
from dashboard.navigation import PAGES
from dashboard.web import admin

NOW = datetime(2026, 11, 20, 14, 37)
PAGE = next(spec for spec in PAGES if spec.key == "data_import")
FEEDBACK_PAGE = next(spec for spec in PAGES if spec.key == "feedback")
HEADERS = messy.FEEDBACK_VI_HEADER.split(",")
DETECTED = {
    "source_id": "Mã phản ánh",
    "received_at": "Ngày tiếp nhận",
    "category": "Lĩnh vực",
    "status": "Trạng thái",
    "resolved_at": "Ngày hoàn thành",
    "agency": "Đơn vị xử lý",
    "area": "Phường/Xã",
}
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


def _feedback_count(engine, source: str = "phan_anh") -> int:
    return fetch_one(
        engine,
        select(func.count().label("rows")).select_from(schema.feedback).where(schema.feedback.c.source == source),
    )["rows"]


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


# ---------------------------------------------------------------- the page (AppTest)
@pytest.fixture
def app_db(demo_db_url, tmp_path) -> str:
    """A writable copy of the demo database (the demo file itself is shared and read-only)."""
    copy = tmp_path / "app.duckdb"
    shutil.copy(duckdb_file(demo_db_url), copy)
    return f"duckdb:///{copy}"


def _open(monkeypatch, url: str, *, upload_path: Path | None = None, logged_in: bool = True) -> AppTest:
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    monkeypatch.setattr(importer, "local_now", lambda: NOW)
    app = AppTest.from_file(APP, default_timeout=90)
    if logged_in:
        app.session_state[admin.SESSION_FLAG] = True
    if upload_path is not None:
        saved = upload.save_upload(upload_path.read_bytes(), upload_path.name, folder=upload_path.parent)
        app.session_state["ingest_upload"] = {
            "path": str(saved),
            "name": upload_path.name,
            "sha256": readers.file_hash(saved),
        }
    app.run()
    app.switch_page(str(PAGE.path))
    return app.run()


def _button(app: AppTest, key: str):
    return next(b for b in app.button if b.key == key)


def _metrics(app: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in app.metric}


def test_page_is_absent_without_login(monkeypatch, demo_db_url):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        _open(monkeypatch, demo_db_url, logged_in=False)


def test_page_without_a_file_asks_for_one(monkeypatch, demo_db_url):
    app = _open(monkeypatch, demo_db_url)
    assert not app.exception and not app.error
    assert app.title[0].value == t("ingest.heading")
    assert [i.body for i in app.info] == [t("ingest.no_file")]


def test_dry_run_then_confirm_imports_and_other_pages_keep_working(monkeypatch, app_db, tmp_path):
    app = _open(monkeypatch, app_db, upload_path=messy.feedback_cp1258(tmp_path))
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    assert app.text_input(key="ingest_source").value == "phan_anh"
    token = app.session_state["ingest_upload"]["sha256"][:12]
    assert {name: app.selectbox(key=f"ingest_map.{token}.feedback.{name}").value for name in DETECTED} == DETECTED
    assert app.selectbox(key=f"ingest_map.{token}.feedback.lat").value is None
    assert app.dataframe[0].value.shape == (9, 7)
    assert _button(app, "ingest_confirm").disabled

    app.number_input(key="ingest_max_reject").set_value(50.0)
    _button(app, "ingest_dry_run").click()
    app.run()
    assert not app.exception and not app.error, [e.body for e in app.error]
    assert _metrics(app) == {
        t("ingest.count.rows_read"): "9",
        t("ingest.count.inserted.dry"): "4",
        t("ingest.count.updated.dry"): "0",
        t("ingest.count.unchanged"): "0",
        t("ingest.count.rejected"): "4",
        t("ingest.count.duplicates"): "1",
        t("ingest.count.unknown_area"): "1",
    }
    sample = app.dataframe[-1].value
    assert sample[t("ingest.col.reason")].tolist() == [
        upload.reason_label(c) for c in ("missing_id", "unreadable_date", "resolved_before_received", "future_date")
    ]
    assert not _button(app, "ingest_confirm").disabled

    app.text_input(key="ingest_source").set_value("phan_anh_web")  # a change asks for a new dry run
    app.run()
    assert _button(app, "ingest_confirm").disabled
    assert [i.body for i in app.info] == [t("ingest.stale_dry_run")]
    _button(app, "ingest_dry_run").click()
    app.run()
    _button(app, "ingest_confirm").click()
    app.run()
    assert not app.exception and not app.error, [e.body for e in app.error]
    assert [s.body for s in app.success] == [
        t("ingest.done", file="phan_anh_2026-11-20.csv", source="phan_anh_web", inserted="4", updated="0")
    ]
    assert _metrics(app)[t("ingest.count.inserted.done")] == "4"

    app.switch_page(str(FEEDBACK_PAGE.path))
    app.run()
    assert not app.exception and not app.error, [e.body for e in app.error]
    reader = make_engine(app_db, read_only=True)  # the same configuration as the app's engine
    try:
        assert _feedback_count(reader, "phan_anh_web") == 4
        log = fetch_frame(
            reader,
            select(schema.import_log.c.status, schema.import_log.c.rows_inserted)
            .where(schema.import_log.c.source == "phan_anh_web")
            .order_by(schema.import_log.c.started_at),
        )
    finally:
        reader.dispose()
    assert log["status"].tolist() == ["dry_run", "done"] and log["rows_inserted"].tolist()[-1] == 4


def test_too_many_rejects_show_an_error_with_the_counts(monkeypatch, app_db, tmp_path):
    app = _open(monkeypatch, app_db, upload_path=messy.feedback_cp1258(tmp_path))
    _button(app, "ingest_dry_run").click()
    app.run()
    assert not app.exception
    assert len(app.error) == 1 and app.error[0].body.startswith(t("ingest.error.aborted", message="")[:20])
    assert "4 trên 9 dòng bị loại (44,4 %), vượt ngưỡng cho phép 5,0 %" in app.error[0].body
    assert VI["reject_reason.missing_id"] in app.error[0].body
    assert _metrics(app) == {
        t("ingest.count.rows_read"): "9",
        t("ingest.count.rejected"): "4",
        t("ingest.count.duplicates"): "1",
        t("ingest.count.unknown_area"): "1",
    }
    reasons = app.dataframe[-1].value
    assert reasons[t("ingest.col.reason")].tolist()[0] == upload.reason_label("missing_id")
    assert _button(app, "ingest_confirm").disabled


def test_unreadable_file_and_ambiguous_dates_are_shown_as_errors(monkeypatch, app_db, tmp_path):
    binary = tmp_path / "garbage.csv"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    app = _open(monkeypatch, app_db, upload_path=binary)
    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].body == t("ingest.error.input", message=t("ingest.msg.binary_file", file="garbage.csv"))

    ambiguous = tmp_path / "mo_ho.csv"
    ambiguous.write_text("id,created_date\nA,01/02/2026 08:00\nB,03/04/2026 09:00\n", encoding="utf-8")
    app = _open(monkeypatch, app_db, upload_path=ambiguous)
    _button(app, "ingest_dry_run").click()
    app.run()
    assert not app.exception and len(app.error) == 1
    assert "created_date" in app.error[0].body and app.error[0].body.startswith(
        t("ingest.error.input", message="")[:20]
    )
    assert app.error[0].body == t(
        "ingest.error.input",
        message=t(
            "ingest.msg.dates_ambiguous", column="'created_date'", samples="'01/02/2026 08:00', '03/04/2026 09:00'"
        ),
    )
    assert "ngày/tháng lẫn tháng/ngày" in app.error[0].body
    app.checkbox(key="ingest_dayfirst").check()
    _button(app, "ingest_dry_run").click()
    app.run()
    assert not app.exception and not app.error
    assert _metrics(app)[t("ingest.count.inserted.dry")] == "2"


def test_empty_file_is_explained_in_vietnamese(monkeypatch, app_db, tmp_path):
    empty = tmp_path / "trong.csv"
    empty.write_bytes(b"")
    app = _open(monkeypatch, app_db, upload_path=empty)
    assert not app.exception
    assert [e.body for e in app.error] == ["Không nhập được tệp này: trong.csv: tệp rỗng, không có dữ liệu"]


def test_missing_required_column_disables_the_buttons(monkeypatch, app_db, tmp_path):
    app = _open(monkeypatch, app_db, upload_path=messy.feedback_cp1258(tmp_path))
    token = app.session_state["ingest_upload"]["sha256"][:12]
    app.selectbox(key=f"ingest_map.{token}.feedback.received_at").select_index(0)
    app.run()
    assert [w.body for w in app.warning] == [t("ingest.problem.missing", field=t("ingest.field.received_at"))]
    assert _button(app, "ingest_dry_run").disabled and _button(app, "ingest_confirm").disabled


# ---------------------------------------------------------------- the real upload in Chromium
def test_upload_dry_run_and_import_in_chromium(web, chromium, app_db, tmp_path):
    """Log in, upload through the real file input, dry run, import, then open the feedback page in the same session."""
    from dashboard.periods import local_now

    day = (local_now() - timedelta(days=2)).strftime("%Y-%m-%d")
    csv = tmp_path / "trinh_duyet.csv"
    csv.write_text(
        "service_request_id,requested_datetime,service_name,status\n"
        f"W-1,{day} 08:00,Pothole,open\nW-2,{day} 09:00,Noise,closed\n,{day} 10:00,Noise,open\n"
        f"W-3,{day} 11:00,Graffiti,open\n",
        encoding="utf-8",
    )
    env = {"IOC_ADMIN_PASSWORD_HASH": admin.hash_password("trình duyệt", iterations=1_000)}
    with web.running_app(app_db, extra_env=env) as base:
        page = web.new_page(chromium)
        try:
            page.goto(base)
            web.wait_for_app(page)
            page.get_by_test_id("stSidebar").get_by_text(t("admin.entry")).click()
            page.get_by_label(t("admin.password")).fill("trình duyệt")
            page.get_by_role("button", name=t("admin.login")).click()
            web.wait_for_app(page)
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.data_import")).click()
            web.wait_for_app(page)
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
            page.wait_for_selector('[data-testid="stDataFrame"]', timeout=60_000)
            rate = page.get_by_label(t("ingest.max_reject"), exact=True)
            rate.fill("50")
            rate.press("Enter")
            web.wait_for_app(page)
            page.get_by_role("button", name=t("ingest.dry_run")).click()
            page.get_by_text(t("ingest.result.dry_run")).wait_for(timeout=60_000)
            web.wait_for_app(page)
            assert _browser_tiles(page) == {
                t("ingest.count.rows_read"): "4",
                t("ingest.count.inserted.dry"): "3",
                t("ingest.count.updated.dry"): "0",
                t("ingest.count.unchanged"): "0",
                t("ingest.count.rejected"): "1",
                t("ingest.count.duplicates"): "0",
                t("ingest.count.unknown_area"): "3",
            }
            page.get_by_role("button", name=t("ingest.confirm")).click()
            page.get_by_text(t("ingest.result.done"), exact=True).wait_for(timeout=60_000)
            web.wait_for_app(page)
            assert _browser_tiles(page)[t("ingest.count.inserted.done")] == "3"
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
            page.get_by_test_id("stSidebarNav").get_by_text(t("page.feedback")).click()
            web.wait_for_app(page, charts=True)
            assert page.locator(web.EXCEPTION).count() == 0
            assert page.locator('[data-testid="stAlertContentError"]').count() == 0
        finally:
            page.context.close()
    reader = make_engine(app_db, read_only=True)
    try:
        assert _feedback_count(reader, "trinh_duyet") == 3
    finally:
        reader.dispose()


def _browser_tiles(page) -> dict[str, str]:
    return {
        m.locator('[data-testid="stMetricLabel"]').inner_text().strip(): m.locator('[data-testid="stMetricValue"]')
        .inner_text()
        .strip()
        for m in page.locator('[data-testid="stMetric"]').all()
    }
