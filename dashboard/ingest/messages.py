"""Importer errors as i18n keys with parameters: `str(error)` is the English text, `error.message(lang)` the user's.

Parameters stay raw until a language is chosen: ints are written in the local number format, `Share` as a
percentage, `Quoted` as a list of quoted values, `Reasons` as reject reasons in words with their counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dashboard.i18n import CATALOGUE, format_number, t


class Share(float):
    """A share 0..1 shown as a percentage with one decimal (5.0% / 5,0 %)."""


class Quoted(tuple):
    """Values shown quoted and comma-separated: 'a', 'b'."""

    def __new__(cls, values: Iterable[object]) -> Quoted:
        return super().__new__(cls, values)


class Reasons(tuple):
    """(reason code, rows) pairs, shown as " (Reason: 12, ...)"; nothing when empty."""

    def __new__(cls, pairs: Iterable[tuple[str, int]]) -> Reasons:
        return super().__new__(cls, pairs)


def _reason(code: str, lang: str) -> str:
    key = f"reject_reason.{code}"
    return t(key, lang) if key in CATALOGUE.get(lang, CATALOGUE["vi"]) else str(code)


def render(value: Any, lang: str) -> str:
    """One parameter in `lang`."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, Share):
        return format_number(float(value) * 100, lang, 1) + ("%" if lang == "en" else " %")
    if isinstance(value, int):
        return format_number(value, lang)
    if isinstance(value, Quoted):
        return ", ".join(repr(v) for v in value)
    if isinstance(value, Reasons):
        if not value:
            return ""
        return " (" + ", ".join(f"{_reason(code, lang)}: {format_number(count, lang)}" for code, count in value) + ")"
    return str(value)


class Localized:
    """Mixin for exceptions that carry an i18n key and its parameters."""

    key: str = ""
    params: dict[str, Any]

    def _localize(self, key: str, params: dict[str, Any]) -> str:
        self.key, self.params = key, params
        return self.message("en")

    def message(self, lang: str = "vi") -> str:
        return t(self.key, lang, **{name: render(value, lang) for name, value in self.params.items()})


def message(error: BaseException, lang: str = "vi") -> str:
    """The error in `lang` when it carries a key, else its own text."""
    return error.message(lang) if isinstance(error, Localized) else str(error)
