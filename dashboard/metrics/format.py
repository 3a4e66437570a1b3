"""The one formatter of KPI values: a `KpiDefinition` and a value become the text a person reads.

The page tiles, the map page's tables, the wall and the PDF briefing all write KPI values through
`format_value`; numbers go through `dashboard.i18n.format_number` (Vietnamese 1.234,5, English 1,234.5) and the
unit words through the catalogue, so a value reads the same everywhere. Styles:

tile   the dashboard's KPI tiles: "94,2 %", "41,5 giờ", "4,12/5", "3.812"
table  tables on the pages and their downloads (the map page's ward-vs-city table): as the tile
pdf    the briefing: as the tile, with a no-break space between number and unit so a line never splits them
wall   the wall screen, read from across the room: counts shortened ("1,13 tr", "245 N"), otherwise as the tile

A missing value (None, NaN) is an en dash in every style.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dashboard.i18n import format_number, t
from dashboard.metrics import definitions

STYLES = ("tile", "table", "pdf", "wall")
MISSING = "–"
NBSP = "\u00a0"  # keeps a number and its unit on one line
PERCENT_UNITS = ("pct", "index_pct")
COUNT_UNITS = ("count", "vehicles")  # their label names what is counted; the value has no unit word
ATTACHED_UNITS = ("rating",)  # written without a space: 4,12/5
# Short words for a million and a thousand on the wall (tr = triệu, N = nghìn).
COMPACT_SUFFIXES = {"vi": ("tr", "N"), "en": ("M", "k")}


def as_number(value: Any) -> float | None:
    """A plain float from a driver or pandas value (Decimal, numpy, NaN and None become None)."""
    return definitions._number(value)


def unit_word(definition: definitions.KpiDefinition, lang: str) -> str:
    """ "%", "giờ"/"h", "ngày"/"days", "/5"; empty for counts and vehicles."""
    if definition.unit in PERCENT_UNITS:
        return "%"
    if definition.unit in ("hours", "days", "rating"):
        return t(f"unit.{definition.unit}", lang)
    return ""


def with_unit(definition: definitions.KpiDefinition, number: str, lang: str, style: str = "tile") -> str:
    """An already written number (a value, a target, a change) followed by the definition's unit."""
    unit = unit_word(definition, lang)
    return _joined(definition, number, unit, style)


def _joined(definition: definitions.KpiDefinition, number: str, unit: str, style: str) -> str:
    if not unit or number == MISSING:
        return number
    if definition.unit in ATTACHED_UNITS:
        return number + unit
    return number + (NBSP if style == "pdf" else " ") + unit


def compact(value: Any, lang: str) -> str:
    """A count short enough for a wall tile: 1.132.349 → "1,13 tr" / "1.13 M"; 245.210 → "245 N" / "245 k";
    below 100.000 written in full."""
    number = as_number(value)
    if number is None:
        return MISSING
    million, thousand = COMPACT_SUFFIXES.get(lang, COMPACT_SUFFIXES["en"])
    if abs(number) >= 1_000_000:
        return f"{format_number(number / 1_000_000, lang, 2)} {million}"
    if abs(number) >= 100_000:
        return f"{format_number(number / 1_000, lang, 0)} {thousand}"
    return format_number(number, lang, 0)


def value_parts(definition: definitions.KpiDefinition, value: Any, lang: str, style: str = "tile") -> tuple[str, str]:
    """(number, unit) of a KPI value, for layouts that set the unit apart (the wall's tiles); ("–", "") when
    missing."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; expected one of {', '.join(STYLES)}")
    number = as_number(value)
    if number is None:
        return MISSING, ""
    if style == "wall" and definition.unit in COUNT_UNITS:
        return compact(number, lang), ""
    return format_number(number, lang, definition.decimals), unit_word(definition, lang)


def format_value(definition: definitions.KpiDefinition, value: Any, lang: str, style: str = "tile") -> str:
    """A KPI value with its unit in `lang`'s number format and the given style ("–" when missing)."""
    number, unit = value_parts(definition, value, lang, style)
    return _joined(definition, number, unit, style)


def target_number(definition: definitions.KpiDefinition, lang: str) -> str:
    """The target as the KPI help texts cite it: "90", "4,0" (one decimal below 10); empty without a target."""
    target = definition.target
    return format_number(target, lang, 0 if target >= 10 else 1) if target else ""


@cache
def separators(lang: str) -> str:
    """Plotly's `separators` layout attribute (decimal mark, then thousands mark), taken from `format_number` so
    charts write numbers as the text around them does: ",." in Vietnamese, ".," in English."""
    sample = format_number(1234.5, lang, 1)  # "1.234,5" / "1,234.5"
    return sample[-2] + sample[1]
