"""Streamlit caching around the KPI and query functions.

The engine is one read-only engine per database URL per process (`engine.shared_engine`), kept outside
Streamlit's caches so that clearing them costs a re-query, never the connections; query results are
`st.cache_data` with the configured TTL. Arguments are plain values (URL, ISO dates, tuples of
area codes) so they hash cheaply and the same view hits the same cache entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.db import queries
from dashboard.db.engine import check_ready, shared_engine
from dashboard.metrics import kpis
from dashboard.periods import Period

TTL = config.query_ttl_seconds()
MAX_ENTRIES = 256


def engine_for(url: str) -> Engine:
    return shared_engine(url, read_only=True)


def current_url() -> str:
    return config.database_url()


def engine() -> Engine:
    return engine_for(current_url())


def ensure_ready() -> None:
    """Raise a DatabaseError (with a hint for people) unless the database can serve the app."""
    check_ready(engine())


def _period(start: date, end: date) -> Period:
    return Period(start, end)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def city_kpis(url: str, start: date, end: date, areas: tuple[str, ...]) -> dict:
    return kpis.compute_kpis(engine_for(url), _period(start, end), list(areas) or None)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def area_kpis(url: str, start: date, end: date) -> pd.DataFrame:
    return kpis.compute_area_kpis(engine_for(url), _period(start, end))


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def feedback_daily(url: str, start: date, end: date, areas: tuple[str, ...]) -> pd.DataFrame:
    return queries.feedback_daily(engine_for(url), _period(start, end), list(areas) or None)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def dossier_daily(url: str, start: date, end: date, areas: tuple[str, ...]) -> pd.DataFrame:
    return queries.dossier_daily(engine_for(url), _period(start, end), list(areas) or None)


@st.cache_data(ttl=TTL, max_entries=MAX_ENTRIES, show_spinner=False)
def traffic_daily(url: str, start: date, end: date, areas: tuple[str, ...]) -> pd.DataFrame:
    return queries.traffic_daily(engine_for(url), _period(start, end), list(areas) or None)


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def areas(url: str, with_geometry: bool = False) -> pd.DataFrame:
    return queries.area_list(engine_for(url), with_geometry=with_geometry)


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def coverage(url: str) -> pd.DataFrame:
    return queries.table_coverage(engine_for(url))


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def dataset_info(url: str) -> dict[str, str]:
    return queries.dataset_info(engine_for(url))


_QUERIES: dict[str, Callable[..., Any]] = {}


def query(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `function(engine, *args, **kwargs)` through the shared TTL cache.

    `function` is a query or KPI function of `dashboard.db`/`dashboard.metrics` taking the engine first;
    its other arguments are plain hashable values (a QueryFilter, strings, numbers).
    """
    name = f"{function.__module__}.{function.__qualname__}"
    _QUERIES[name] = function
    return _cached_query(current_url(), name, args, tuple(sorted(kwargs.items())))


@st.cache_data(ttl=TTL, max_entries=4 * MAX_ENTRIES, show_spinner=False)
def _cached_query(url: str, name: str, args: tuple, kwargs: tuple) -> Any:
    return _QUERIES[name](engine_for(url), *args, **dict(kwargs))
