"""The catalogue is complete in both languages and every key the code uses exists."""

from __future__ import annotations

import re
from datetime import date, datetime
from importlib import import_module
from pathlib import Path

import pytest

from dashboard import domain
from dashboard.i18n import (
    EN,
    KEY_MODULES,
    TOPIC_MODULES,
    VI,
    format_date,
    format_datetime,
    format_number,
    format_signed,
    t,
)
from dashboard.metrics import definitions
from dashboard.navigation import PAGES
from dashboard.periods import COMPARISONS, PRESETS
from dashboard.web.overview import MAP_METRICS

ROOT = Path(__file__).resolve().parent.parent


def test_both_languages_have_every_key():
    assert set(VI) == set(EN)
    for name in TOPIC_MODULES:
        module = import_module(f"dashboard.i18n.{name}")
        assert set(module.VI) == set(module.EN), name


def test_no_key_is_defined_in_two_topic_modules():
    assert {key: owners for key, owners in KEY_MODULES.items() if len(owners) > 1} == {}


def test_placeholders_match_between_languages():
    for key in VI:
        assert set(re.findall(r"{(\w+)}", VI[key])) == set(re.findall(r"{(\w+)}", EN[key])), key


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
