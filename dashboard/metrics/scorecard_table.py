"""The scorecard table for a period: the counts of `db.scorecard_queries`, scored by `metrics.scorecard` under the
rules file (IOC_SCORECARD_FILE) and the minimum volume (IOC_SCORECARD_MIN_CASES). The command line and the page
"Xếp hạng" both call `compute_scorecard`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import scorecard_queries as q
from dashboard.metrics.scorecard import Rules, indicator_counts, league_table, parse_rules
from dashboard.periods import Period, local_now

UNITS = ("agency", "area")


@dataclass
class Scorecard:
    period: Period
    previous: Period
    by: str
    as_of: datetime
    min_cases: int
    rules: Rules
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ranked(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["rank"] is not None]

    @property
    def apart(self) -> list[dict[str, Any]]:
        """Units below the minimum volume (or without a measured indicator): listed apart, not ranked."""
        return [r for r in self.rows if r["rank"] is None]


def rules_path() -> Path:
    path = Path(config.value("IOC_SCORECARD_FILE"))
    return path if path.is_absolute() else config.PROJECT_ROOT / path


def load_rules(path: Path | None = None) -> Rules:
    """The rules of the file (the setting's by default); ScorecardRulesError naming the line when unusable. A missing
    file is an error too: the scorecard's points must come from a file someone can read."""
    from dashboard.metrics.scorecard import ScorecardRulesError

    path = path or rules_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ScorecardRulesError(f"{path}: cannot be read ({error.strerror or error})") from None
    return parse_rules(text, str(path))


def _records(frame: pd.DataFrame, names: tuple[str, ...]) -> dict[str, dict[str, int]]:
    return {str(row["unit"]): {n: int(row[n]) for n in names} for row in frame.to_dict("records")}


def _units(engine: Engine, period: Period, as_of: datetime, by: str, scope: Scope = WHOLE_CITY) -> list[dict[str, Any]]:
    dossiers = _records(q.dossier_counts(engine, period, as_of, by, scope=scope), q.DOSSIER_COUNTS)
    feedback = _records(q.feedback_counts(engine, period, as_of, by, scope=scope), q.FEEDBACK_COUNTS)
    names = q.area_names(engine) if by == "area" else {}
    units = []
    for unit in sorted(set(dossiers) | set(feedback)):
        d, f = dossiers.get(unit, {}), feedback.get(unit, {})
        units.append(
            {
                "unit": unit,
                "unit_name": names.get(unit, unit),
                "cases": d.get("in_set", 0) + f.get("total", 0),
                "counts": indicator_counts(d, f),
            }
        )
    return units


def compute_scorecard(
    engine: Engine,
    period: Period,
    by: str,
    *,
    now: datetime | None = None,
    rules: Rules | None = None,
    min_cases: int | None = None,
    scope: Scope = WHOLE_CITY,
) -> Scorecard:
    """The league table of `by` (agency or area) for `period`, with each unit's change of points against the period
    of equal length just before. `now` (naive local time; default: the city's clock) ends a period not over yet.
    A restricted `scope` counts only its cases (an officer's own units, ranked among themselves)."""
    if by not in UNITS:
        raise ValueError(f"unknown unit {by!r}; expected agency or area")
    q.check_columns(engine)
    now = now or local_now()
    rules = rules or load_rules()
    min_cases = config.value("IOC_SCORECARD_MIN_CASES") if min_cases is None else min_cases
    as_of = min(period.end_before, now)
    previous = period.previous()
    before = league_table(_units(engine, previous, min(previous.end_before, now), by, scope), rules, min_cases)
    rows = league_table(
        _units(engine, period, as_of, by, scope), rules, min_cases, previous={r["unit"]: r["points"] for r in before}
    )
    return Scorecard(period, previous, by, as_of, min_cases, rules, rows)
