"""Events marked on the time charts (ops table `events`): public holidays loaded from the `holidays` package and the
events operators add (a storm, a flood, the Huế Festival, a road closure).

Events live in the operational store (dashboard.db.ops: SQLite beside the DuckDB file, the project database on
PostgreSQL), never in the served data file. Every function takes the *data* URL or an ops engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

import holidays
import pandas as pd
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine

from dashboard.db import ops
from dashboard.db.engine import fetch_frame, translating_errors

E = ops.events.c
KINDS = ("holiday", "weather", "festival", "incident", "policy")
SOURCES = ("holidays", "operator")
COLUMNS = [
    "id",
    "start_date",
    "end_date",
    "kind",
    "title",
    "description",
    "wards",
    "source",
    "created_by",
    "created_at",
]
TITLE_MAX = 255


class EventError(ValueError):
    """An event that cannot be stored; the message says which field and why."""


def _ops(engine_or_url: Engine | str | None) -> Engine:
    if isinstance(engine_or_url, Engine):
        return engine_or_url
    return ops.ops_engine(engine_or_url)


def join_wards(wards: Iterable[str] | None) -> str | None:
    codes = sorted({str(w).strip() for w in (wards or ()) if str(w).strip()})
    return ",".join(codes) or None


def split_wards(value: str | None) -> list[str]:
    return [w for w in (value or "").split(",") if w]


def check_event(kind: str, title: str, start: date, end: date | None) -> tuple[str, date, date]:
    """The cleaned (title, start, end) of an event; EventError naming the field otherwise."""
    if kind not in KINDS:
        raise EventError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    title = (title or "").strip()
    if not title:
        raise EventError("title is empty")
    if len(title) > TITLE_MAX:
        raise EventError(f"title has {len(title)} characters (at most {TITLE_MAX})")
    end = end or start
    if end < start:
        raise EventError(f"end date {end:%Y-%m-%d} is before the start date {start:%Y-%m-%d}")
    return title, start, end


def _checked(
    kind: str, title: str, start: date, end: date | None, description: str | None, wards: Iterable[str] | None
) -> dict:
    """The columns an operator writes, checked (check_event) and normalised, for a new or a changed event."""
    title, start, end = check_event(kind, title, start, end)
    return {
        "kind": kind,
        "title": title,
        "start_date": start,
        "end_date": end,
        "description": (description or "").strip() or None,
        "wards": join_wards(wards),
    }


def add_event(
    engine_or_url: Engine | str | None,
    kind: str,
    title: str,
    start: date,
    end: date | None = None,
    *,
    description: str | None = None,
    wards: Iterable[str] | None = None,
    source: str = "operator",
    created_by: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store one event; its id."""
    engine = _ops(engine_or_url)
    row = {
        **_checked(kind, title, start, end, description, wards),
        "source": source,
        "created_by": created_by,
        "created_at": now or datetime.now().replace(microsecond=0),
    }
    with translating_errors(engine), engine.begin() as connection:
        return int(connection.execute(ops.events.insert().returning(E.id), row).scalar_one())


def update_event(
    engine_or_url: Engine | str | None,
    event_id: int,
    kind: str,
    title: str,
    start: date,
    end: date | None = None,
    *,
    description: str | None = None,
    wards: Iterable[str] | None = None,
) -> bool:
    """Change an event; False when there is no such event."""
    engine = _ops(engine_or_url)
    values = _checked(kind, title, start, end, description, wards)
    with translating_errors(engine), engine.begin() as connection:
        return connection.execute(update(ops.events).where(E.id == event_id).values(**values)).rowcount == 1


def delete_event(engine_or_url: Engine | str | None, event_id: int) -> bool:
    engine = _ops(engine_or_url)
    with translating_errors(engine), engine.begin() as connection:
        return connection.execute(delete(ops.events).where(E.id == event_id)).rowcount == 1


def _frame(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in ("description", "wards", "created_by"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame["id"] = frame["id"].astype(int)
    return frame[COLUMNS].reset_index(drop=True)


def list_events(
    engine_or_url: Engine | str | None,
    *,
    start: date | None = None,
    end: date | None = None,
    kinds: Sequence[str] = (),
    areas: Sequence[str] = (),
    limit: int = 10000,
) -> pd.DataFrame:
    """Events (oldest first) overlapping [start, end] (either may be None), of `kinds` (all when empty); with `areas`
    the city-wide events and those naming one of these wards."""
    conditions = []
    if start is not None:
        conditions.append(E.end_date >= start)
    if end is not None:
        conditions.append(E.start_date <= end)
    if kinds:
        conditions.append(E.kind.in_(list(kinds)))
    statement = select(ops.events).where(*conditions).order_by(E.start_date, E.id).limit(limit)
    frame = _frame(fetch_frame(_ops(engine_or_url), statement))
    if areas and not frame.empty:
        wanted = set(areas)
        keep = frame["wards"].map(lambda w: not split_wards(w) or bool(wanted & set(split_wards(w))))
        frame = frame[keep].reset_index(drop=True)
    return frame


def events_between(
    engine_or_url: Engine | str | None, start: date, end: date, areas: Sequence[str] = ()
) -> pd.DataFrame:
    """The events a chart from `start` to `end` marks (for the page's wards `areas`; all wards when empty):
    columns as COLUMNS, oldest first. What dashboard.charts.events.add_event_markers takes."""
    return list_events(engine_or_url, start=start, end=end, areas=areas)


# ---------------------------------------------------------------- public holidays
def holiday_rows(country: str, first_year: int, last_year: int) -> list[tuple[date, str]]:
    """(day, Vietnamese name for VN, else the local name) of every public holiday of the years, day by day."""
    language = "vi" if country.upper() in ("VN", "VNM") else None
    years = range(first_year, last_year + 1)
    try:
        calendar = holidays.country_holidays(country, years=years, language=language)
    except NotImplementedError as error:
        raise EventError(f"unknown country code {country!r} for the holidays package") from error
    return sorted((day, name.split(";")[0]) for day, name in calendar.items())


def _holiday_spans(rows: list[tuple[date, str]]) -> list[tuple[date, date, str]]:
    """Consecutive days off merged into one event (Tết: 16–20/02/2026 is one band), titled by its main day's name."""
    spans: list[list] = []
    for day, name in rows:
        if spans and (day - spans[-1][1]).days == 1:
            spans[-1][1] = day
            spans[-1][2].append(name)
        else:
            spans.append([day, day, [name]])
    out = []
    for first, last, names in spans:
        main = next((n for n in names if n in ("Tết Nguyên Đán", "Lunar New Year")), names[0])
        out.append((first, last, main))
    return out


def load_holidays(
    engine_or_url: Engine | str | None, country: str, first_year: int, last_year: int, now: datetime | None = None
) -> int:
    """Store the public holidays of `country` for the years (consecutive days off as one event); holidays already
    stored (same source, start and title) are kept, so a second load adds nothing. The number added."""
    engine = _ops(engine_or_url)
    spans = _holiday_spans(holiday_rows(country, first_year, last_year))
    created_at = now or datetime.now().replace(microsecond=0)
    added = 0
    with translating_errors(engine), engine.begin() as connection:
        have = {
            (pd.Timestamp(r.start_date).date(), r.title)
            for r in connection.execute(select(E.start_date, E.title).where(E.source == "holidays"))
        }
        for first, last, title in spans:
            if (first, title) in have:
                continue
            connection.execute(
                ops.events.insert(),
                {
                    "start_date": first,
                    "end_date": last,
                    "kind": "holiday",
                    "title": title[:TITLE_MAX],
                    "wards": None,
                    "source": "holidays",
                    "created_by": f"holidays:{country.upper()}",
                    "created_at": created_at,
                },
            )
            added += 1
    return added


def data_years(engine: Engine) -> tuple[int, int] | None:
    """First and last year of the data (feedback, dossiers, traffic), or None for an empty database."""
    from dashboard.db.forecast_queries import SOURCES, data_span

    firsts, lasts = [], []
    for metric in SOURCES:
        first, last = data_span(engine, metric)
        if first is not None:
            firsts.append(pd.Timestamp(first).year)
            lasts.append(pd.Timestamp(last).year)
    return (min(firsts), max(lasts)) if firsts else None


def ensure_holidays(data_engine: Engine, url: str | None, country: str, now: datetime | None = None) -> int:
    """Load the holidays for the years of the data ± 1 (the current year when there is no data); the number added."""
    years = data_years(data_engine)
    today = (now or datetime.now()).year
    first, last = years if years else (today, today)
    return load_holidays(url, country, first - 1, last + 1, now)


def holiday_regressors(engine_or_url: Engine | str | None, start: date, end: date) -> pd.DataFrame:
    """Prophet's holiday table read from the events table: columns holiday, ds, lower_window, upper_window — one row
    per day of each stored holiday and operator event of kind holiday/festival between start and end (the event's
    title as the holiday name). For the lead to wire into models/ (see README "Events")."""
    frame = list_events(engine_or_url, start=start, end=end, kinds=("holiday", "festival"))
    rows = []
    for row in frame.itertuples(index=False):
        for day in pd.date_range(row.start_date, row.end_date, freq="D"):
            rows.append((f"{row.kind}:{row.title}", day, 0, 0))
    out = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window"])
    return out.sort_values("ds", ignore_index=True)


def count_by_source(engine_or_url: Engine | str | None) -> dict[str, int]:
    engine = _ops(engine_or_url)
    frame = fetch_frame(engine, select(E.source, func.count().label("n")).group_by(E.source))
    return {str(r.source): int(r.n) for r in frame.itertuples(index=False)}


__all__ = [
    "KINDS",
    "EventError",
    "add_event",
    "delete_event",
    "ensure_holidays",
    "events_between",
    "holiday_regressors",
    "list_events",
    "load_holidays",
    "update_event",
]


_LOADED: set[str] = set()


def country(data_engine: Engine | None = None) -> str:
    """The country of the holidays loaded: the data's own (dataset_info `country`, written by `import --country`)
    when `data_engine` has one, else IOC_COUNTRY (default VN) — the forecasts' rule (models.calendar.country_of)."""
    from dashboard import config

    declared = ""
    if data_engine is not None:
        from dashboard.db.queries import dataset_info

        declared = dataset_info(data_engine).get("country", "")
    return (declared or config.value("IOC_COUNTRY") or "VN").strip().upper()


def chart_events(
    data_engine: Engine, url: str | None, start: date, end: date, areas: Sequence[str] = ()
) -> pd.DataFrame:
    """`events_between` for a chart, loading the public holidays of the data's years ± 1 the first time a process
    asks for a database (idempotent, so the pages, the CLI and the briefing may all ask)."""
    key = str(url)
    if key not in _LOADED:
        ensure_holidays(data_engine, url, country(data_engine))
        _LOADED.add(key)
    return events_between(url, start, end, areas)
