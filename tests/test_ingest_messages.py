"""Importer errors carry i18n keys: English for str() (the command line), the user's language for the page."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from dashboard.i18n import EN, VI, t
from dashboard.ingest import dates, messages, readers
from dashboard.ingest.importer import ImportAborted, ImportResult

INGEST = Path(__file__).resolve().parent.parent / "dashboard" / "ingest"


def _raised_keys() -> set[str]:
    keys = set()
    for path in INGEST.glob("*.py"):
        keys |= set(re.findall(r'"(ingest\.msg\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    return keys


def test_every_message_key_exists_in_both_languages_with_the_same_placeholders():
    keys = _raised_keys()
    assert len(keys) >= 25
    catalogue = {key for key in VI if key.startswith("ingest.msg.")}
    assert keys == catalogue  # no message without a raise, no raise without a message
    for key in keys:
        assert set(re.findall(r"{(\w+)}", VI[key])) == set(re.findall(r"{(\w+)}", EN[key])), key


def test_no_raise_in_the_importer_carries_an_english_sentence():
    for path in INGEST.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(InputError|DateFormatError|ImportAborted)\(\s*f?\"[^i]", text), path.name


def test_str_is_english_and_message_follows_the_language(tmp_path):
    empty = tmp_path / "rỗng.csv"
    empty.write_bytes(b"")
    with pytest.raises(readers.InputError) as error:
        readers.open_source(empty)
    assert str(error.value) == "rỗng.csv: the file is empty" == error.value.message("en")
    assert error.value.message("vi") == "rỗng.csv: tệp rỗng, không có dữ liệu"
    assert (error.value.key, error.value.params) == ("ingest.msg.empty_file", {"file": "rỗng.csv"})
    assert messages.message(error.value, "vi") == error.value.message("vi")
    assert messages.message(ValueError("plain"), "vi") == "plain"


def test_ambiguous_dates_in_vietnamese_name_the_column_and_the_samples():
    with pytest.raises(dates.DateFormatError) as error:
        dates.detect_rule("Ngày tiếp nhận", pd.Series(["01/02/2026", "03/04/2026", "01/02/2026"]))
    assert error.value.message("vi").startswith("cột 'Ngày tiếp nhận': các ngày như '01/02/2026', '03/04/2026' đọc")
    assert "“Ngày trước tháng”" in error.value.message("vi") and "--dayfirst" in str(error.value)


def test_truncated_file_counts_in_the_local_format(tmp_path, monkeypatch):
    monkeypatch.setenv("IOC_IMPORT_MAX_COLUMNS", "2000")  # 1,200 columns: above the default limit of 500
    header = ",".join(f"c{i}" for i in range(1200))
    path = tmp_path / "cut.csv"
    path.write_text(header + "\n" + ",".join("1" * 1200) + "\n" + "1,2", encoding="utf-8")
    with pytest.raises(readers.InputError) as error:
        readers.open_source(path)
    assert "has 2 of 1,200 columns" in str(error.value)
    assert "chỉ có 2 trên 1.200 cột" in error.value.message("vi")


def test_aborted_import_in_both_languages():
    result = ImportResult(
        "x",
        "feedback",
        "s",
        "f.csv",
        rows_read=12_345,
        rejected=1_234,
        reasons=Counter({"missing_id": 1_000, "future_date": 234}),
    )
    aborted = ImportAborted(
        "ingest.msg.too_many_rejects",
        result,
        file="f.csv",
        rejected=result.rejected,
        rows=result.rows_read,
        rate=messages.Share(result.reject_rate),
        allowed=messages.Share(0.05),
        reasons=messages.Reasons(result.reasons.most_common(3)),
    )
    assert str(aborted) == (
        f"f.csv: 1,234 of 12,345 rows rejected (10.0%) is more than the allowed 5.0%; nothing was "
        f"imported ({EN['reject_reason.missing_id']}: 1,000, {EN['reject_reason.future_date']}: 234)"
    )
    assert aborted.message("vi") == (
        f"f.csv: 1.234 trên 12.345 dòng bị loại (10,0 %), vượt ngưỡng cho phép 5,0 % "
        f"({VI['reject_reason.missing_id']}: 1.000, {VI['reject_reason.future_date']}: 234)"
    )
    assert aborted.result is result


def test_render_values():
    assert messages.render(messages.Quoted(["a", "b c"]), "vi") == "'a', 'b c'"
    assert messages.render(messages.Reasons([]), "en") == ""
    assert messages.render(messages.Reasons([("something_new", 3)]), "en") == " (something_new: 3)"
    assert messages.render(1234567, "vi") == "1.234.567" and messages.render("1234", "vi") == "1234"
    assert (
        t("ingest.msg.no_such_column", "en", file="f", column="'x'", field="area", columns="'a'")
        == "f: no column 'x' for area; the columns are 'a'"
    )
