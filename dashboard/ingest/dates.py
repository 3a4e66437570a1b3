"""Date-time columns of imported files: find the format once per column, then parse every chunk with it.

Handled: ISO and year-first dates (`2022-01-21 13:47:00`, `2024/10/03 00:00:00+00`), day/month/year and
month/day/year with an optional time (`21/10/2026 8:05`, `10/21/18 0:00`, `10/21/2018 08:05:00 PM`), month
names (`01-Jan-2012`), Unix epoch seconds or milliseconds, and any strptime format given by the user.
When every sample value fits both day-first and month-first, the column is ambiguous: that is an error naming
the column and sample values unless `dayfirst` or a format is given.
Times with a UTC offset (and epochs) are converted to the city's local time; the result is naive local time,
as stored in the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.ingest.messages import Localized, Quoted

_TIME = r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*([AaPp]\.?[Mm]\.?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?|UTC|GMT)?\s*$"
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME)
_YEAR_FIRST = re.compile(r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME)
_EPOCH = re.compile(r"^\s*\d{9,13}(?:\.\d+)?\s*$")
_MONTH_NAME = re.compile(r"[A-Za-z]{3,}")
_MONTH_NAME_FORMATS = (
    "%d-%b-%Y",
    "%d %b %Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d-%b-%Y %H:%M",
    "%d-%b-%Y %H:%M:%S",
    "%d %b %Y %H:%M",
)


class DateFormatError(Localized, ValueError):
    """A column's dates cannot be read without help from the user (an i18n key with parameters)."""

    def __init__(self, key: str, **params: object) -> None:
        ValueError.__init__(self, self._localize(key, params))


@dataclass(frozen=True)
class DateRule:
    family: str  # year_first, day_first, month_first, epoch, format, mixed
    fmt: str | None = None  # strptime format for family "format"

    def describe(self) -> str:
        return {
            "year_first": "yyyy-mm-dd [HH:MM[:SS]]",
            "day_first": "dd/mm/yyyy [HH:MM[:SS]]",
            "month_first": "mm/dd/yyyy [hh:mm[:ss] AM/PM]",
            "epoch": "Unix epoch",
            "mixed": "free text dates",
        }.get(self.family, self.fmt or self.family)


def _samples(values: pd.Series, limit: int = 5) -> Quoted:
    return Quoted(list(dict.fromkeys(values.head(200)))[:limit])


def detect_rule(
    column: str, values: pd.Series, *, date_format: str | None = None, dayfirst: bool | None = None
) -> DateRule:
    """The rule for one column from a sample of its (string) values."""
    if date_format:
        return DateRule("format", date_format)
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(20_000)
    if sample.empty:
        return DateRule("year_first")
    if sample.str.match(_EPOCH).mean() > 0.5:
        return DateRule("epoch")
    if sample.str.match(_YEAR_FIRST).mean() > 0.5:
        return DateRule("year_first")
    parts = sample.str.extract(_DAY_MONTH)
    if parts[0].notna().mean() > 0.5:
        first, second = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
        day_first_seen, month_first_seen = bool((first > 12).any()), bool((second > 12).any())
        if day_first_seen and month_first_seen:
            raise DateFormatError("ingest.msg.dates_mixed", column=repr(column), samples=_samples(sample))
        if day_first_seen or month_first_seen:
            return DateRule("day_first" if day_first_seen else "month_first")
        if dayfirst is None:
            raise DateFormatError("ingest.msg.dates_ambiguous", column=repr(column), samples=_samples(sample))
        return DateRule("day_first" if dayfirst else "month_first")
    if sample.str.contains(_MONTH_NAME).mean() > 0.5:
        probe = sample.head(500)
        for fmt in _MONTH_NAME_FORMATS:
            if pd.to_datetime(probe, format=fmt, errors="coerce").notna().mean() > 0.95:
                return DateRule("format", fmt)
        return DateRule("mixed")
    raise DateFormatError("ingest.msg.dates_unknown", column=repr(column), samples=_samples(sample))


def _offset_minutes(zone: pd.Series) -> pd.Series:
    """Minutes east of UTC from "+07", "+0700", "-05:00", "Z"; NaN where no offset was written."""
    text = zone.fillna("").str.replace(":", "", regex=False)
    text = text.where(~text.isin(["Z", "UTC", "GMT"]), "+00")
    sign = np.where(text.str.startswith("-"), -1, 1)
    hours = pd.to_numeric(text.str[1:3], errors="coerce")
    minutes = pd.to_numeric(text.str[3:5], errors="coerce").fillna(0)
    return (hours * 60 + minutes) * sign


def _to_local(utc_naive: pd.Series, timezone: str) -> pd.Series:
    return utc_naive.dt.tz_localize("UTC").dt.tz_convert(timezone).dt.tz_localize(None)


def _number(part: pd.Series) -> pd.Series:
    return pd.to_numeric(part, errors="coerce").astype("float64")


def _assemble(parts: pd.DataFrame, order: tuple[int, int, int], timezone: str) -> pd.Series:
    year = _number(parts[order[0]])
    year = year.where(year >= 100, np.where(year < 70, year + 2000, year + 1900))
    raw_hour = _number(parts[3])
    hour = raw_hour.fillna(0)
    meridiem = parts[6].astype(object).fillna("").str.replace(".", "", regex=False).str.upper()
    hour = hour.where(meridiem == "", np.where(meridiem == "PM", hour % 12 + 12, hour % 12))
    hour = hour.where((meridiem == "") | (raw_hour <= 12), np.nan)
    stamp = pd.to_datetime(
        pd.DataFrame(
            {
                "year": year,
                "month": _number(parts[order[1]]),
                "day": _number(parts[order[2]]),
                "hour": hour,
                "minute": _number(parts[4]).fillna(0),
                "second": _number(parts[5]).fillna(0),
            }
        ),
        errors="coerce",
    )
    offset = _offset_minutes(parts[7].astype(object))
    if offset.notna().any():
        zoned = offset.notna() & stamp.notna()
        utc = stamp[zoned] - pd.to_timedelta(offset[zoned], unit="min")
        stamp = stamp.astype("datetime64[us]")
        stamp[zoned] = _to_local(utc, timezone).astype("datetime64[us]")
    return stamp


def parse(values: pd.Series, rule: DateRule, timezone: str) -> pd.Series:
    """Naive local datetimes (NaT where a value is empty or does not fit the rule)."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.where(text != "")
    if rule.family in ("year_first", "day_first", "month_first"):
        pattern = _YEAR_FIRST if rule.family == "year_first" else _DAY_MONTH
        parts = text.str.extract(pattern)
        order = {"year_first": (0, 1, 2), "day_first": (2, 1, 0), "month_first": (2, 0, 1)}[rule.family]
        result = _assemble(parts, order, timezone)
    elif rule.family == "epoch":
        number = pd.to_numeric(text, errors="coerce")
        number = number.where(number < 1e11, number / 1000)  # 13 digits: milliseconds
        result = _to_local(pd.to_datetime(number, unit="s", errors="coerce"), timezone)
    else:
        result = pd.to_datetime(
            text, format=rule.fmt if rule.family == "format" else "mixed", errors="coerce", dayfirst=True
        )
        if getattr(result.dt, "tz", None) is not None:
            result = result.dt.tz_convert(timezone).dt.tz_localize(None)
    return pd.Series(result, index=values.index).astype("datetime64[us]")
