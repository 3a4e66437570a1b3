"""Chunked generate-and-load for the demo generator (`dashboard.demo.generator`), so big builds keep memory flat.

A table expected to hold more rows than its single-pass size is generated day range by day range,
each range with its own random stream spawned from the table's, and loaded before the next one is
made. Up to the single-pass size the table is made in one pass with the table's own stream, which is
exactly the demo as it was before chunking (same seed, same rows).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, time

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine

from dashboard.db import schema
from dashboard.db.load import bulk_load
from dashboard.demo.traffic import observation_frame, traffic_day_factors

LOAD_CHUNK_ROWS = 1_000_000  # rows per bulk_load call


def load_frame(engine: Engine, table, frame: pd.DataFrame) -> int:
    for first in range(0, len(frame), LOAD_CHUNK_ROWS):
        bulk_load(engine, table, frame.iloc[first : first + LOAD_CHUNK_ROWS])
    return len(frame)


def day_chunks(n_days: int, expected_rows: float, single_pass_rows: int, chunk_rows: int) -> list[slice]:
    """Day ranges to generate a table in: one range up to `single_pass_rows`, else ranges of about `chunk_rows`."""
    if expected_rows <= single_pass_rows:
        return [slice(0, n_days)]
    parts = np.array_split(np.arange(n_days), int(np.ceil(expected_rows / chunk_rows)))
    return [slice(int(p[0]), int(p[-1]) + 1) for p in parts if len(p)]


def calendar_part(cal, days: slice):
    """The days `days` of a demo calendar (`dashboard.demo.generator._Calendar`); the holiday list stays whole."""
    return dataclasses.replace(
        cal,
        days=cal.days[days],
        dow=cal.dow[days],
        month=cal.month[days],
        tet_offset=cal.tet_offset[days],
        holiday=cal.holiday[days],
        storm=cal.storm[days],
        years_ago=cal.years_ago[days],
    )


def load_cases(
    engine: Engine,
    table,
    make_frame,
    rng: np.random.Generator,
    chunks: list[slice],
    ward_range: tuple[float, float],
    n_areas: int,
) -> int:
    """Generate and load feedback or dossiers range by range; `make_frame(rng, days, first_id, ward_on_time)`.

    In chunks, the wards' on-time rates are drawn once so every range shares them.
    """
    if len(chunks) == 1:
        return load_frame(engine, table, make_frame(rng, chunks[0], 1, None))
    ward_on_time = rng.uniform(*ward_range, n_areas)
    loaded = 0
    for days, chunk_rng in zip(chunks, rng.spawn(len(chunks)), strict=True):
        loaded += load_frame(engine, table, make_frame(chunk_rng, days, loaded + 1, ward_on_time))
    return loaded


def load_observations(
    engine: Engine, sensors: pd.DataFrame, rng: np.random.Generator, cal, horizon: datetime, chunks: list[slice]
) -> int:
    """Generate and load traffic observations range by range; only the last range has the silent sensor."""
    day_kind, day_factor = traffic_day_factors(cal)
    rngs = [rng] if len(chunks) == 1 else rng.spawn(len(chunks))
    loaded = 0
    for k, (days, chunk_rng) in enumerate(zip(chunks, rngs, strict=True)):
        last = k == len(chunks) - 1
        until = horizon if last else datetime.combine(pd.Timestamp(cal.days[days.stop]).date(), time())
        frame = observation_frame(
            sensors,
            chunk_rng,
            first_day=cal.days[days.start],
            horizon=until,
            day_kind=day_kind[days],
            day_factor=day_factor[days],
            storm=cal.storm[days],
            silent_tail=last,
        )
        loaded += load_frame(engine, schema.traffic_observations, frame)
    return loaded
