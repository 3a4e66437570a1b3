"""The "Nhập dữ liệu" upload page in AppTest with an uploaded file prepared in the session (AppTest has no
file_uploader driver), on a writable copy of the demo database (`demo_copy_url`)."""

from __future__ import annotations

from pathlib import Path

import messy_files as messy
import pytest
from page_support import APP, sign_in
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from upload_support import DETECTED, NOW
from upload_support import feedback_count as _feedback_count

from dashboard.db import schema
from dashboard.db.engine import fetch_frame, make_engine
from dashboard.i18n import VI, t
from dashboard.ingest import importer, readers, upload
from dashboard.navigation import PAGES
from dashboard.web import admin

PAGE = next(spec for spec in PAGES if spec.key == "data_import")
FEEDBACK_PAGE = next(spec for spec in PAGES if spec.key == "feedback")


# ---------------------------------------------------------------- the page (AppTest)
def _open(monkeypatch, url: str, *, upload_path: Path | None = None, logged_in: bool = True) -> AppTest:
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("test", iterations=1_000))
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    monkeypatch.setattr(importer, "local_now", lambda: NOW)
    app = AppTest.from_file(APP, default_timeout=90)
    sign_in(app, url, "admin" if logged_in else "operator")
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


def test_dry_run_then_confirm_imports_and_other_pages_keep_working(monkeypatch, demo_copy_url, tmp_path):
    app = _open(monkeypatch, demo_copy_url, upload_path=messy.feedback_cp1258(tmp_path))
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
        t("ingest.count.crosswalk", date="01/07/2025"): "1",  # "P. Phú Hội", a former ward
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
    reader = make_engine(demo_copy_url, read_only=True)  # the same configuration as the app's engine
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


def test_too_many_rejects_show_an_error_with_the_counts(monkeypatch, demo_copy_url, tmp_path):
    app = _open(monkeypatch, demo_copy_url, upload_path=messy.feedback_cp1258(tmp_path))
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
        t("ingest.count.crosswalk", date="01/07/2025"): "1",  # "P. Phú Hội", a former ward
    }
    reasons = app.dataframe[-1].value
    assert reasons[t("ingest.col.reason")].tolist()[0] == upload.reason_label("missing_id")
    assert _button(app, "ingest_confirm").disabled


def test_unreadable_file_and_ambiguous_dates_are_shown_as_errors(monkeypatch, demo_copy_url, tmp_path):
    binary = tmp_path / "garbage.csv"
    binary.write_bytes(b"\x00\x01\x02\x03" * 100)
    app = _open(monkeypatch, demo_copy_url, upload_path=binary)
    assert not app.exception
    assert len(app.error) == 1
    assert app.error[0].body == t("ingest.error.input", message=t("ingest.msg.binary_file", file="garbage.csv"))

    ambiguous = tmp_path / "mo_ho.csv"
    ambiguous.write_text("id,created_date\nA,01/02/2026 08:00\nB,03/04/2026 09:00\n", encoding="utf-8")
    app = _open(monkeypatch, demo_copy_url, upload_path=ambiguous)
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


def test_empty_file_is_explained_in_vietnamese(monkeypatch, demo_copy_url, tmp_path):
    empty = tmp_path / "trong.csv"
    empty.write_bytes(b"")
    app = _open(monkeypatch, demo_copy_url, upload_path=empty)
    assert not app.exception
    assert [e.body for e in app.error] == ["Không nhập được tệp này: trong.csv: tệp rỗng, không có dữ liệu"]


def test_missing_required_column_disables_the_buttons(monkeypatch, demo_copy_url, tmp_path):
    app = _open(monkeypatch, demo_copy_url, upload_path=messy.feedback_cp1258(tmp_path))
    token = app.session_state["ingest_upload"]["sha256"][:12]
    app.selectbox(key=f"ingest_map.{token}.feedback.received_at").select_index(0)
    app.run()
    assert [w.body for w in app.warning] == [t("ingest.problem.missing", field=t("ingest.field.received_at"))]
    assert _button(app, "ingest_dry_run").disabled and _button(app, "ingest_confirm").disabled
