"""The pages' one cache API: `cache.query(fn, *args, ttl=)` and `cache.writable_engine()`."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import streamlit as st
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dashboard.db.engine import create_schema, fetch_frame, make_engine
from dashboard.web import cache

ROOT = Path(__file__).resolve().parent.parent
CALLS: list[tuple] = []


def counted(engine: Engine, value: int, *, times: int = 1) -> int:
    """A stand-in query: remembers each call that reached it."""
    CALLS.append((engine.url.database, value, times))
    return value * times


def test_a_result_is_reused_within_its_ttl_and_ttl_0_always_reaches_the_database(monkeypatch, tmp_path):
    monkeypatch.setenv("IOC_DATABASE_URL", f"duckdb:///{tmp_path / 'cache.duckdb'}")
    st.cache_data.clear()
    CALLS.clear()
    assert cache.query(counted, 6, times=7) == 42
    assert cache.query(counted, 6, times=7) == 42
    assert len(CALLS) == 1  # the second call came from the cache
    assert cache.query(counted, 6, times=7, ttl=3600) == 42  # another TTL is another cache
    assert len(CALLS) == 2
    assert cache.query(counted, 5) == 5 and len(CALLS) == 3  # other arguments, another entry
    assert [cache.query(counted, 1, ttl=0) for _ in range(3)] == [1, 1, 1]
    assert len(CALLS) == 6  # ttl=0: every call reached the function
    assert cache._cached(300) is cache._cached(300) and cache._cached(300) is not cache._cached(3600)
    monkeypatch.setenv("IOC_QUERY_TTL_SECONDS", "0")  # the default TTL follows the setting
    cache.query(counted, 6, times=7)
    assert len(CALLS) == 7
    st.cache_data.clear()


def test_writable_engine_writes_and_the_pages_read_the_change_at_once(monkeypatch, tmp_path):
    url = f"duckdb:///{tmp_path / 'served.duckdb'}"
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    setup = make_engine(url)
    create_schema(setup)
    setup.dispose()

    def dataset_kind(engine: Engine) -> pd.DataFrame:
        return fetch_frame(engine, text("SELECT value FROM dataset_info WHERE key = 'kind'"))

    st.cache_data.clear()
    assert cache.query(dataset_kind).empty
    with cache.writable_engine() as engine:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO dataset_info (key, value) VALUES ('kind', 'real')"))
    assert cache.query(dataset_kind)["value"].tolist() == ["real"]  # the cache was dropped with the write
    st.cache_data.clear()


def test_pages_reach_the_database_only_through_cache_query():
    """No page or web module takes an engine or caches a query of its own."""
    offenders = []
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("dashboard/web/*.py"), ROOT / "dashboard" / "app.py"]:
        if path.name == "cache.py":
            continue
        source = path.read_text(encoding="utf-8")
        for pattern in (r"cache\.engine", r"engine_for\(", r"make_engine\(", r"shared_engine\(", r"st\.cache_data\("):
            if re.search(pattern, source):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []
