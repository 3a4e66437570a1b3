"""Numbers, percentages and dates in a Babel locale (vi_VN: 1.234,5; en: 1,234.5).

A number is first rounded from its exact binary value to `decimals` places, half to even, as Python's own
f"{value:.1f}" does (0.05 → 0.1, since the float 0.05 is a little above 0.05); Babel then only writes the locale's
separators and signs. Patterns are parsed once per number of decimals.
"""

from __future__ import annotations

import decimal
import math
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.core import Locale

MISSING = "–"
# Enough digits to round any float exactly (the largest has 309 integer digits).
_EXACT = decimal.Context(prec=400, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@lru_cache(maxsize=64)
def _pattern(decimals: int, suffix: str = "") -> babel_numbers.NumberPattern:
    return babel_numbers.parse_pattern("#,##0" + ("." + "0" * decimals if decimals > 0 else "") + suffix)


def _rounded(number: float, decimals: int) -> decimal.Decimal:
    return decimal.Decimal(number).quantize(decimal.Decimal(1).scaleb(-decimals), decimal.ROUND_HALF_EVEN, _EXACT)


def number(value: Any, locale: Locale, decimals: int = 0) -> str:
    """`value` with `decimals` places and the locale's grouping; an en dash for None or NaN."""
    if is_missing(value):
        return MISSING
    as_float = float(value)
    if math.isinf(as_float):
        return f"{as_float:.{decimals}f}"
    with decimal.localcontext(_EXACT):
        return _pattern(decimals).apply(_rounded(as_float, decimals), locale, decimal_quantization=False)


def percent(value: Any, locale: Locale, decimals: int = 1, space: str = " ") -> str:
    """A value in percentage points (12.5) as "12,5 %": `space` between the number and the locale's percent sign."""
    if is_missing(value) or math.isinf(float(value)):
        return MISSING
    with decimal.localcontext(_EXACT):
        fraction = _rounded(float(value), decimals).scaleb(-2)  # the pattern's % multiplies by 100 again
        return _pattern(decimals, space + "%").apply(fraction, locale, decimal_quantization=False)


def day(value: date | datetime | None, locale: Locale, pattern: str) -> str:
    return MISSING if value is None else babel_dates.format_date(value, pattern, locale=locale)


def moment(value: datetime | None, locale: Locale, pattern: str) -> str:
    """The time as written on `value` (an aware datetime keeps its own zone; a naive one is taken as it is)."""
    return MISSING if value is None else babel_dates.format_datetime(value, pattern, locale=locale)
