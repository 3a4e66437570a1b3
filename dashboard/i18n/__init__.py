"""The user-interface catalogue (Vietnamese first, English second) and local formats.

Every word a user reads comes from here. The catalogue is split by topic into modules of
this package, each with a `VI` and an `EN` dict; they are merged below, and a test checks both
languages have the same keys and no key is defined twice.
Vietnamese numbers use "." for thousands and "," for decimals (1.234,5); dates are dd/mm/yyyy.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from importlib import import_module
from typing import Any

LANGUAGES = ("vi", "en")
TOPIC_MODULES = (
    "core",
    "feedback",
    "dossiers",
    "traffic",
    "map",
    "forecast",
    "briefing",
    "wall",
    "admin",
    "quality",
    "ingest",
)


def _merge() -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    vi: dict[str, str] = {}
    en: dict[str, str] = {}
    owners: dict[str, list[str]] = {}
    for name in TOPIC_MODULES:
        module = import_module(f"dashboard.i18n.{name}")
        for key in {*module.VI, *module.EN}:
            owners.setdefault(key, []).append(name)
        vi.update(module.VI)
        en.update(module.EN)
    return vi, en, owners


VI, EN, KEY_MODULES = _merge()
CATALOGUE = {"vi": VI, "en": EN}


def t(key: str, lang: str = "vi", **values: Any) -> str:
    """The text for `key` in `lang`, with {placeholders} filled. Unknown keys raise KeyError."""
    text = CATALOGUE.get(lang, VI)[key]
    return text.format(**values) if values else text


def format_number(value: Any, lang: str = "vi", decimals: int = 0) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; an en dash for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{float(value):,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def format_signed(value: Any, lang: str = "vi", decimals: int = 1) -> str:
    """A change with its sign: +12,5 / -3,0 (ASCII minus, which Streamlit reads as a fall)."""
    if value is None:
        return "–"
    sign = "+" if value > 0 else ("-" if value < 0 else "±")
    return sign + format_number(abs(value), lang, decimals)


def format_date(value: date | datetime | None, lang: str = "vi") -> str:
    return "–" if value is None else value.strftime("%d/%m/%Y")


def format_datetime(value: datetime | None, lang: str = "vi") -> str:
    return "–" if value is None else value.strftime("%H:%M %d/%m/%Y")
