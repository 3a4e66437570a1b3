"""The duplicates job: flag likely duplicate reports (`feedback.duplicate_of`, dashboard/metrics/hotspots.py).

Every run looks at the reports received in the last IOC_HOTSPOT_DAYS days before `now` (and the IOC_DUPLICATE_HOURS
before them, where their originals may be), computes the flags from a read-only look and writes only when they
differ from the stored ones: on DuckDB a write copies the whole file, so an unchanged database is never rewritten.
A flag is a candidate for a person to check; nothing is merged. Older reports keep the flags they were given.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pandas as pd

from dashboard.db import hotspot_queries as hq
from dashboard.db.engine import create_schema, make_engine, translating_errors, writing
from dashboard.jobs.registry import JobContext, JobOutcome, job
from dashboard.metrics import hotspots as hs

NAME = "duplicates"
CRON = "*/10 * * * *"


def flags_for(engine, start: datetime, end_before: datetime, rules: hs.Rules) -> pd.DataFrame:
    """The flagged reports received in [start, end_before): id, duplicate_of, metres, hours."""
    reports = hq.reports_for_duplicates(engine, start, end_before, rules.duplicate_hours)
    flagged = hs.duplicates(reports, rules)
    received = reports.set_index("id")["received_at"]
    keep = pd.to_datetime(flagged["id"].map(received)) >= pd.Timestamp(start)
    return flagged[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def flag_duplicates(url: str, start: datetime, end_before: datetime, rules: hs.Rules | None = None) -> dict:
    """Compute and store the flags of the reports received in [start, end_before); returns what it did."""
    rules = rules or hs.Rules.from_settings()
    engine = make_engine(url, read_only=True)
    try:
        flagged = flags_for(engine, start, end_before, rules)
        stored = hq.stored_flags(engine, start, end_before) if hq.has_duplicate_column(engine) else None
    finally:
        engine.dispose()
    wanted = dict(zip(flagged["id"].astype(int), flagged["duplicate_of"].astype(int), strict=True))
    details = {"from": f"{start:%Y-%m-%d %H:%M}", "flagged": len(wanted)}
    if stored is not None and stored == wanted:
        details["unchanged"] = True
        return details
    with writing(url) as write_engine:
        create_schema(write_engine)  # an older database gains feedback.duplicate_of
        with translating_errors(write_engine), write_engine.begin() as connection:
            hq.store_duplicates(connection, flagged, start, end_before)
    details["written"] = True
    return details


@job(NAME, CRON, "Flag likely duplicate reports (same category, close, soon after an open one)")
def duplicates(ctx: JobContext) -> JobOutcome:
    began = time.perf_counter()
    rules = hs.Rules.from_settings()
    now = ctx.now.replace(microsecond=0)
    details = flag_duplicates(ctx.url, now - timedelta(days=rules.days), now + timedelta(seconds=1), rules)
    details["seconds"] = round(time.perf_counter() - began, 2)
    return JobOutcome(int(details["flagged"]), details)
