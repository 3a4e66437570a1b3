"""The user-interface texts (Vietnamese first, English second, any other language a file) and local formats.

Every word a user reads comes from the gettext catalogues in locale/<code>/LC_MESSAGES/messages.po (see
`catalogue`); a test checks every language has the same keys and placeholders. Numbers, percentages and dates
are written by Babel in the catalogue's locale: Vietnamese 1.234,5, English 1,234.5; the date patterns are
entries of the catalogue (dd/MM/yyyy in both languages today).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from babel.core import Locale

from dashboard.i18n import formats
from dashboard.i18n.catalogue import SOURCE_LANGUAGE, load

_LOADED = load()
LANGUAGES = tuple(_LOADED)
CATALOGUE = {code: language.texts for code, language in _LOADED.items()}
VI = CATALOGUE[SOURCE_LANGUAGE]
EN = CATALOGUE["en"]
_LOCALES = {code: Locale.parse(language.locale) for code, language in _LOADED.items()}


def t(key: str, lang: str = "vi", **values: Any) -> str:
    """The text for `key` in `lang`, with {placeholders} filled. Unknown keys raise KeyError; an unknown language,
    or a key a newer language does not translate yet, gives the Vietnamese text."""
    text = CATALOGUE.get(lang, VI).get(key) or VI[key]
    return text.format(**values) if values else text


def language_name(code: str) -> str:
    """The language's own name for the language toggle: "Tiếng Việt", "English"."""
    name = Locale.parse(code).get_display_name() or code
    return name[:1].upper() + name[1:]


def _locale(lang: str) -> Locale:
    return _LOCALES.get(lang) or _LOCALES[SOURCE_LANGUAGE]


def format_number(value: Any, lang: str = "vi", decimals: int = 0) -> str:
    """1.234,5 in Vietnamese, 1,234.5 in English; an en dash for missing values."""
    return formats.number(value, _locale(lang), decimals)


def format_percent(value: Any, lang: str = "vi", decimals: int = 1, space: str = " ") -> str:
    """A value in percentage points: 12,5 % in Vietnamese, 12.5 % in English; an en dash for missing values."""
    return formats.percent(value, _locale(lang), decimals, space)


def format_signed(value: Any, lang: str = "vi", decimals: int = 1) -> str:
    """A change with its sign: +12,5 / -3,0 (ASCII minus, which Streamlit reads as a fall)."""
    if value is None:
        return formats.MISSING
    sign = "+" if value > 0 else ("-" if value < 0 else "±")
    return sign + format_number(abs(value), lang, decimals)


def format_date(value: date | datetime | None, lang: str = "vi") -> str:
    return formats.day(value, _locale(lang), t("format.date", lang))


def format_datetime(value: datetime | None, lang: str = "vi") -> str:
    return formats.moment(value, _locale(lang), t("format.datetime", lang))
