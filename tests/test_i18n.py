"""The catalogue is complete in both languages and every key the code uses exists."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from dashboard import domain
from dashboard.i18n import (
    CATALOGUE,
    EN,
    LANGUAGES,
    VI,
    format_date,
    format_datetime,
    format_number,
    format_signed,
    t,
)
from dashboard.i18n.catalogue import po_path
from dashboard.metrics import definitions
from dashboard.navigation import PAGES
from dashboard.periods import COMPARISONS, PRESETS
from dashboard.web.overview import MAP_METRICS

ROOT = Path(__file__).resolve().parent.parent


def _entries(code: str) -> list[tuple[str, str]]:
    """(topic, msgid) of every entry of a language's .po file as written, duplicates included."""
    text = po_path(code).read_text(encoding="utf-8")
    return re.findall(r'^#\. topic: (\w+)\n(?:#.*\n)*msgid "(.+)"$', text, re.MULTILINE)


def test_both_languages_have_every_key():
    assert LANGUAGES[:2] == ("vi", "en")
    assert set(VI) == set(EN)
    for code in LANGUAGES:
        assert set(CATALOGUE[code]) == set(VI), code
    topics = {code: {key: topic for topic, key in _entries(code)} for code in LANGUAGES}
    for code in LANGUAGES:
        assert topics[code] == topics["vi"], code  # every key under the same topic in every language
    assert set(topics["vi"]) == set(VI)  # every entry has its topic comment


def test_no_key_is_defined_twice_in_a_catalogue():
    for code in LANGUAGES:
        assert [key for key, count in Counter(key for _, key in _entries(code)).items() if count > 1] == [], code
        assert len(re.findall(r'^msgid "', po_path(code).read_text(encoding="utf-8"), re.MULTILINE)) == len(VI) + 1


def test_placeholders_match_between_languages():
    for code in LANGUAGES:
        for key in VI:
            assert set(re.findall(r"{(\w+)}", VI[key])) == set(re.findall(r"{(\w+)}", CATALOGUE[code][key])), key


def test_every_translated_code_has_a_label():
    keys = [f"kpi.{d.key}" for d in definitions.KPI_DEFINITIONS] + [
        f"help.{d.key}" for d in definitions.KPI_DEFINITIONS
    ]
    keys += [f"category.{c}" for c in domain.FEEDBACK_CATEGORIES] + [f"channel.{c}" for c in domain.DOSSIER_CHANNELS]
    keys += [f"preset.{p}" for p in PRESETS] + [f"compare.{c}" for c in COMPARISONS]
    keys += [f"page.{p.key}" for p in PAGES] + [f"map.metric.{m}" for m in MAP_METRICS]
    missing = [k for k in keys if k not in VI]
    assert not missing


def test_every_literal_key_used_in_code_exists():
    used = set()
    for path in [*ROOT.glob("dashboard/**/*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("models/**/*.py")]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z_.0-9]+)["']""", path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys"
    assert sorted(used - set(VI)) == []


def test_vietnamese_is_the_default_and_differs_from_english():
    assert t("page.overview") == "Tổng quan"
    assert t("page.overview", "en") == "Overview"


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (1234.5, "vi", 1, "1.234,5"),
        (1234.5, "en", 1, "1,234.5"),
        (1234567, "vi", 0, "1.234.567"),
        (0.05, "vi", 1, "0,1"),
        (None, "vi", 1, "–"),
        (float("nan"), "en", 0, "–"),
    ],
)
def test_number_format(value, lang, decimals, expected):
    assert format_number(value, lang, decimals) == expected


def test_signed_and_dates():
    assert format_signed(-3, "vi", 1) == "-3,0"
    assert format_signed(2.26, "en", 1) == "+2.3"
    assert format_signed(0, "vi", 1) == "±0,0"
    assert format_date(date(2026, 1, 5)) == "05/01/2026"
    assert format_datetime(datetime(2026, 1, 5, 7, 3)) == "07:03 05/01/2026"


@pytest.mark.parametrize(
    ("value", "lang", "decimals", "expected"),
    [
        (2.25, "en", 1, "2.2"),  # the float 2.25 is exact: half to even, as Python's own formatting
        (0.15, "vi", 1, "0,1"),  # the float 0.15 is a little below 0.15
        (2.675, "en", 2, "2.67"),
        (-1234.56, "vi", 1, "-1.234,6"),
        (-0.04, "en", 1, "-0.0"),
        (999.96, "vi", 1, "1.000,0"),
        (1e21, "en", 0, "1,000,000,000,000,000,000,000"),
        ("12.5", "vi", 0, "12"),
    ],
)
def test_number_rounding_is_unchanged(value, lang, decimals, expected):
    assert format_number(value, lang, decimals) == expected


def test_percent_dates_and_language_names():
    from dashboard.i18n import format_percent, language_name

    assert format_percent(12.5, "vi") == "12,5 %" and format_percent(1234.25, "en", 1) == "1,234.2 %"
    assert format_percent(87.46, "vi", 0, "\u00a0") == "87\u00a0%" and format_percent(None, "en") == "–"
    assert format_date(datetime(2026, 12, 31, 23, 59), "en") == "31/12/2026"
    assert format_datetime(datetime(2026, 1, 5, 17, 3), "en") == "17:03 05/01/2026"
    assert format_date(None) == format_datetime(None, "en") == "–"
    assert [language_name(code) for code in LANGUAGES] == ["Tiếng Việt", "English"]


def _third_language(directory: Path) -> Path:
    """A locale folder with the two catalogues and a French one made from the English file."""
    for code in ("vi", "en"):
        target = po_path(code, directory)
        target.parent.mkdir(parents=True)
        target.write_bytes(po_path(code).read_bytes())
    french = po_path("fr", directory)
    french.parent.mkdir(parents=True)
    text = po_path("en").read_text(encoding="utf-8").replace('"Language: en\\n"', '"Language: fr\\n"')
    french.write_text(text.replace('msgstr "Overview"', 'msgstr "Vue d\'ensemble"'), encoding="utf-8")
    return french


def test_a_language_is_a_folder(tmp_path):
    from babel.core import Locale

    from dashboard.i18n.catalogue import language_codes, load

    french = _third_language(tmp_path)
    assert language_codes(tmp_path) == ("vi", "en", "fr")
    loaded = load(tmp_path)
    assert list(loaded) == ["vi", "en", "fr"] and loaded["fr"].locale == "fr"
    assert loaded["fr"].texts["page.overview"] == "Vue d'ensemble"
    assert set(loaded["fr"].texts) == set(VI) and loaded["vi"].texts == VI and loaded["en"].texts == EN
    assert french.with_suffix(".mo").stat().st_mtime_ns == french.stat().st_mtime_ns  # compiled beside the .po
    from dashboard.i18n import formats

    assert formats.number(1234.5, Locale.parse(loaded["fr"].locale), 1) == "1\u202f234,5"


def test_the_compiled_catalogue_follows_the_po_file(tmp_path, monkeypatch):
    from dashboard.i18n import catalogue

    french = _third_language(tmp_path)
    assert catalogue.read("fr", french).texts["page.overview"] == "Vue d'ensemble"
    french.write_text(french.read_text(encoding="utf-8").replace("Vue d'ensemble", "Aperçu"), encoding="utf-8")
    assert catalogue.read("fr", french).texts["page.overview"] == "Aperçu"  # the .po changed: compiled again
    assert catalogue.read("fr", french).texts["page.overview"] == "Aperçu"  # read from the .mo
    french.with_suffix(".mo").unlink()

    def read_only(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(catalogue.tempfile, "mkstemp", read_only)
    assert catalogue.read("fr", french).texts["page.overview"] == "Aperçu"  # parsed in memory
    assert not french.with_suffix(".mo").exists()


def test_an_untranslated_entry_falls_back_to_vietnamese(monkeypatch):
    monkeypatch.setitem(CATALOGUE, "fr", {"page.overview": "Vue d'ensemble"})
    assert t("page.overview", "fr") == "Vue d'ensemble"
    assert t("app.language", "fr") == VI["app.language"] == t("app.language", "xx")
    with pytest.raises(KeyError):
        t("no.such.key", "en")
