"""The pages' one way to the database: `query(fn, *args, ttl=)` for reads, `writable_engine()` for writes.

`query(fn, *args)` runs `fn(engine, *args)` through Streamlit's data cache: `fn` is a query or KPI function of
`dashboard.db`, `dashboard.metrics.kpis` or `dashboard.wall.data` taking the engine first, and its other
arguments are plain hashable values (QueryFilter, Period, dates, tuples, strings), so the same view hits the same
entry. `ttl` is how long a result is reused: the query TTL (IOC_QUERY_TTL_SECONDS) unless the call says
otherwise, e.g. an hour for the wall's typical day, which only reads past weeks; `ttl=0` goes to the database
every time, for a call whose success must prove that the database answers now (the wall's data clock) or that
must show a change at once (a new forecast run).

The engine is one read-only engine per database URL per process (`engine.shared_engine`), kept outside
Streamlit's caches so that clearing them costs a re-query, never the connections. Pages never take an engine
themselves; one that changes the database does it inside `writable_engine()`.

Reads and writes go to different URLs when a read replica is set (IOC_DATABASE_READ_URL, `dashboard.db.replica`):
`query` and `ensure_ready` read `read_url()` — the replica, or the primary while the replica is set aside after it
failed to answer (the query is then run again on the primary) — while `current_url()` stays the primary's, the URL
every write and every read of the operational store (alerts, events, directives, job runs) is given.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import streamlit as st
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.db import replica
from dashboard.db.engine import DatabaseError, check_ready, shared_engine, writing

MAX_ENTRIES = 1024  # per TTL: results of about a hundred views of every page
REPLICA_LAG_TTL_SECONDS = 10  # a lag measurement (at most about a second) is reused this long
AREAS_TTL_SECONDS = 3600  # the areas (names, boundaries) change only with an import of boundary files
STATUS_TTL_SECONDS = 60  # what the data covers and which dataset it is: shown beside every page's figures

_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def engine_for(url: str) -> Engine:
    """The process's read-only engine for `url` (it survives Streamlit's "Clear cache")."""
    return shared_engine(url, read_only=True)


def current_url() -> str:
    """The primary database's URL: the one to write to (and to read the operational store from)."""
    return config.database_url()


def replica_url() -> str:
    """The read replica's URL (IOC_DATABASE_READ_URL); "" when none is set and the pages read the primary."""
    read = config.database_read_url()
    return "" if read == config.database_url() else read


def read_url() -> str:
    """The URL page queries read now: the read replica (IOC_DATABASE_READ_URL) unless it is unset or set aside."""
    return replica.pages_url(current_url(), replica_url())


def _reading(work: Callable[[str], Any]) -> Any:
    """`work(url)` on the read URL; run again on the primary when the replica does not answer (which sets it aside)."""
    url, primary = read_url(), current_url()
    if url == primary:
        return work(url)
    try:
        result = work(url)
    except DatabaseError as error:
        if not replica.should_fall_back(error):
            raise
        replica.set_aside(url, error)
        return work(primary)
    replica.answered(url)
    return result


def replica_lag() -> replica.Lag | None:
    """The read replica's measured lag behind the primary (`dashboard.db.replica.measure`), reused for
    REPLICA_LAG_TTL_SECONDS; None when no replica is set. DatabaseError when either server does not answer."""
    read = replica_url()
    return _replica_lag(current_url(), read) if read else None


@st.cache_data(ttl=REPLICA_LAG_TTL_SECONDS, show_spinner=False)
def _replica_lag(primary: str, read: str) -> replica.Lag:
    return replica.measure(engine_for(primary), engine_for(read))


def ensure_ready() -> None:
    """Raise a DatabaseError (with a hint for people) unless the database can serve the app."""
    _reading(lambda url: check_ready(engine_for(url)))


def query(function: Callable[..., Any], *args: Any, ttl: int | None = None, **kwargs: Any) -> Any:
    """`function(engine, *args, **kwargs)`, reused for `ttl` seconds (default: IOC_QUERY_TTL_SECONDS; 0: never).

    Results are shared by every session of the process; each call gets its own copy (Streamlit pickles them)."""
    seconds = config.query_ttl_seconds() if ttl is None else int(ttl)
    kwargs = _with_scope(function, kwargs)
    if seconds <= 0:
        return _reading(lambda url: function(engine_for(url), *args, **kwargs))
    name = f"{function.__module__}.{function.__qualname__}"
    _FUNCTIONS[name] = function
    return _reading(lambda url: _cached(seconds)(url, name, args, tuple(sorted(kwargs.items()))))


@cache
def _parameters(function: Callable[..., Any]) -> frozenset[str]:
    return frozenset(inspect.signature(function).parameters)


def _with_scope(function: Callable[..., Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A function taking a `scope` keyword (the rows a user may see, issue 19) gets the signed-in user's, unless the
    call names one: so every page query is scoped, and the scope is part of the cache key (two users with different
    scopes never share a result). Functions taking a QueryFilter carry the scope inside it (url_state)."""
    if "scope" in kwargs or "scope" not in _parameters(function):
        return kwargs
    from dashboard.web import auth  # auth reads the account store through this module

    return {**kwargs, "scope": auth.current_user().scope}


@cache
def _cached(seconds: int) -> Callable[..., Any]:
    """One Streamlit data cache per TTL (a cache has one TTL; its key is the function's name, so each TTL gets a
    function of its own name)."""

    def run(url: str, name: str, args: tuple, kwargs: tuple) -> Any:
        return _FUNCTIONS[name](engine_for(url), *args, **dict(kwargs))

    run.__name__ = run.__qualname__ = f"cached_query_{seconds}s"
    return st.cache_data(ttl=seconds, max_entries=MAX_ENTRIES, show_spinner=False)(run)


@contextlib.contextmanager
def writable_engine() -> Iterator[Engine]:
    """The one way a page changes the database: a read-write engine from `dashboard.db.engine.writing` (on a served
    DuckDB file, a private copy that replaces the file when the block ends without an error; readers never wait).
    Every cached query result is dropped afterwards, so each page reads the change on its next run.

    No page writes in-process today: an upload is imported by a worker process (`ingest.upload.run_isolated`),
    which writes through `writing` itself."""
    with writing(current_url()) as engine:
        yield engine
    st.cache_data.clear()
