"""The data-quality page's figures, grouped as the IOC guidance asks: "đúng, đủ, sạch, sống" (correct, complete,
clean, live). Pure functions over the frames of `dashboard.db.quality_queries`; freshness follows the wall's rule
(`wall.freshness` and `wall.freshness_status`) so the two screens never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pandas as pd

from dashboard.wall import rules as wall

# Tables with a record time: the wall's freshness source (the cadence setting) and the importer's kind.
TIMED_TABLES = {"feedback": "feedback", "dossiers": "dossiers", "traffic_observations": "traffic"}
REJECT_WINDOW_DAYS = 30  # "recent" imports for the reject reasons
STATUS_ORDER = ("stale", "none", "late", "live")  # the worst first

FRESHNESS_COLUMNS = [
    "table",
    "source",
    "rows",
    "last_at",
    "minutes_late",
    "cadence_minutes",
    "status",
    "last_import_at",
    "last_import_status",
    "last_import_file",
    "last_import_rejected",
]


def reject_window_start(now: datetime) -> datetime:
    """Midnight REJECT_WINDOW_DAYS days before `now` (a whole day, so the cached query is reused all day)."""
    return datetime.combine(now.date() - timedelta(days=REJECT_WINDOW_DAYS), datetime.min.time())


def _source_key(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def freshness_rows(
    summary: pd.DataFrame, imports: pd.DataFrame, now: datetime, thresholds: Mapping[str, int]
) -> pd.DataFrame:
    """One row per timed table and source: newest record, minutes behind `now`, cadence, status
    (live / late / stale / none) and the newest import of that kind and source.

    Traffic has no source column, so its newest import of any source is shown. A source known only from the import
    log (every import of it failed or was a dry run) gets a row with no records ("none").
    """
    imports = imports.sort_values("started_at", ascending=False) if not imports.empty else imports
    rows = []
    seen: set[tuple[str, str | None]] = set()
    timed = summary[summary["table"].isin(list(TIMED_TABLES))]
    extra = (
        []
        if imports.empty
        else [
            {"table": table, "source": item["source"], "rows": 0, "last_at": None}
            for table, kind in TIMED_TABLES.items()
            if table != "traffic_observations"
            for item in imports[imports["kind"] == kind].to_dict("records")
            if not ((timed["table"] == table) & (timed["source"] == item["source"])).any()
        ]
    )
    for record in [*timed.to_dict("records"), *extra]:
        table, source = record["table"], _source_key(record["source"])
        if (table, source) in seen:
            continue
        seen.add((table, source))
        kind = TIMED_TABLES[table]
        threshold = thresholds[kind]
        last_at = record["last_at"] if record["last_at"] is not None and not pd.isna(record["last_at"]) else None
        item = wall.freshness(kind, last_at, now, threshold)
        newest = None
        if not imports.empty:
            mask = imports["kind"] == kind
            if source is not None:
                mask &= imports["source"] == source
            newest = imports[mask].iloc[0] if mask.any() else None
        rows.append(
            {
                "table": table,
                "source": source,
                "rows": int(record["rows"] or 0),
                "last_at": item.newest,
                "minutes_late": item.minutes_late,
                "cadence_minutes": threshold,
                "status": wall.freshness_status(item, threshold),
                "last_import_at": None if newest is None else newest["started_at"],
                "last_import_status": None if newest is None else newest["status"],
                "last_import_file": None if newest is None else newest["file_name"],
                "last_import_rejected": None if newest is None else int(newest["rows_rejected"]),
            }
        )
    frame = pd.DataFrame(rows, columns=FRESHNESS_COLUMNS)
    frame["last_at"] = pd.to_datetime(frame["last_at"])
    frame["last_import_at"] = pd.to_datetime(frame["last_import_at"])
    for column in ("minutes_late", "last_import_rejected"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    return frame


def location_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Per table and source: rows, rows without an area (and their %), points outside the city ("đúng")."""
    frame = summary[summary["table"] != "areas"][["table", "source", "rows", "unknown_area", "outside_city"]].copy()
    rows = frame["rows"].astype("Float64")
    frame["unknown_area_pct"] = (100 * frame["unknown_area"].astype("Float64") / rows.where(rows > 0)).round(2)
    return frame[["table", "source", "rows", "unknown_area", "unknown_area_pct", "outside_city"]].reset_index(drop=True)


def completeness_gaps(completeness: pd.DataFrame) -> pd.DataFrame:
    """The completeness table with the missing count, least complete first ("đủ")."""
    frame = completeness.copy()
    frame["missing"] = frame["expected"] - frame["filled"]
    frame["filled_pct"] = frame["filled_pct"].astype(float).round(2)
    return frame.sort_values(["filled_pct", "table", "column"], na_position="last").reset_index(drop=True)


def headline(
    freshness: pd.DataFrame, summary: pd.DataFrame, duplicates: pd.DataFrame, rejects: pd.DataFrame
) -> dict[str, int]:
    """The page's tiles: sources live out of all, reports and dossiers without an area, points outside the city
    (reports and sensors), likely duplicate rows beyond the first of each group, rows rejected by recent imports."""
    statuses = freshness["status"].value_counts()
    records = summary[summary["table"].isin(["feedback", "dossiers"])]
    return {
        "sources": int(len(freshness)),
        "live": int(statuses.get("live", 0)),
        "late": int(statuses.get("late", 0)),
        "stale": int(statuses.get("stale", 0) + statuses.get("none", 0)),
        "unknown_area": int(records["unknown_area"].fillna(0).sum()),
        "outside_city": int(summary["outside_city"].fillna(0).sum()),
        "duplicate_rows": int(duplicates["extra_rows"].sum()) if not duplicates.empty else 0,
        "rejected_rows": int(rejects["rows"].sum()) if not rejects.empty else 0,
    }


def worst_status(freshness: pd.DataFrame) -> str | None:
    """The worst freshness status on the page (stale, none, late, live), None without timed tables."""
    present = set(freshness["status"])
    return next((status for status in STATUS_ORDER if status in present), None)


def flagged_share(counts: dict[str, int]) -> float | None:
    """Percent of reports flagged as a likely duplicate (None without reports or without the flag column)."""
    if not counts or not counts.get("reports"):
        return None
    return 100.0 * counts["flagged"] / counts["reports"]
