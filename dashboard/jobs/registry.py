"""Every worker job, named once: its default schedule (a cron expression, overridden by the setting
`IOC_JOB_<NAME>_CRON`) and the function that does the work.

A job function takes a `JobContext` (the database URL and the moment it runs for: `--now` in tests) and returns a
`JobOutcome` (rows touched and a JSON-able summary). It raises on failure; the runner records, retries and goes on.
Job modules register themselves with `@job(...)`; `load_all()` imports them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class JobContext:
    url: str  # the data database (the operational store is db.ops.ops_engine(url))
    now: datetime  # naive local time the run is for


@dataclass
class JobOutcome:
    rows: int = 0
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    default_cron: str  # five-field cron, city time
    run: Callable[[JobContext], JobOutcome]
    description: str = ""
    run_on_start: bool = False  # also run once when the worker starts (e.g. forecasts on a fresh database)


JOBS: dict[str, Job] = {}

# The modules that define jobs, in the order `jobs list` shows them.
JOB_MODULES = (
    "dashboard.jobs.forecasts",
    "dashboard.jobs.alerts",
    "dashboard.jobs.briefing",
    "dashboard.jobs.open311",
    "dashboard.jobs.inbox",
    "dashboard.jobs.demo_feed",
    "dashboard.jobs.hotspots",
    "dashboard.jobs.audit_retention",
)


def job(name: str, default_cron: str, description: str = "", *, run_on_start: bool = False):
    """Register the decorated function as the job `name`."""

    def register(function: Callable[[JobContext], JobOutcome]) -> Callable[[JobContext], JobOutcome]:
        JOBS[name] = Job(name, default_cron, function, description, run_on_start)
        return function

    return register


def load_all() -> dict[str, Job]:
    """Import every job module and return the registry."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    return JOBS
