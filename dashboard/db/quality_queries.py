"""Queries behind the data-quality page ("Chất lượng dữ liệu"): per table and source the newest record, unknown
areas, points outside the city, completeness per column, likely duplicates, and the import history.

"Outside the city" is a cheap check: a point with coordinates counts as outside when it has no area (the importer
found no ward polygon containing it) or lies outside the bounding box of all ward polygons (`city_bbox`). The box is
computed once from the areas' GeoJSON in Python and passed to SQL as four bound numbers.

The import tables (`import_log`, `import_rejects`) are missing on a database created before the importer existed;
the import queries then return empty frames.

Scope (issue 19): the counts over feedback and dossiers (per source, completeness, likely duplicates) are of the
cases the user's `scope` allows; traffic, sensors, areas and the import log are about the feeds, the same for all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import pandas as pd
from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import schema
from dashboard.db.engine import DatabaseError, DatabaseNotInitialised, fetch_frame
from dashboard.db.predicates import in_scope

feedback = schema.feedback.c
dossiers = schema.dossiers.c
observations = schema.traffic_observations.c
sensors = schema.traffic_sensors.c
areas = schema.areas.c
log = schema.import_log.c
rejects = schema.import_rejects.c

BBox = tuple[float, float, float, float]  # south, west, north, east (degrees)

SUMMARY_COLUMNS = ["table", "source", "rows", "first_at", "last_at", "unknown_area", "outside_city"]

# The columns analysts rely on, per table; a column with a condition is only expected where the condition holds
# (a resolution time only on resolved reports).
COMPLETENESS_COLUMNS: dict[str, list[tuple[str, object]]] = {
    "feedback": [
        ("area_code", None),
        ("lat", None),
        ("lon", None),
        ("channel", None),
        ("agency", None),
        ("due_at", None),
        ("first_response_at", None),
        ("resolved_at", feedback.status == "resolved"),
        ("satisfaction", feedback.status == "resolved"),
    ],
    "dossiers": [
        ("area_code", None),
        ("agency", None),
        ("due_at", None),
        ("completed_at", dossiers.status == "completed"),
    ],
    "traffic_observations": [("mean_speed_kmh", None)],
    "traffic_sensors": [("area_code", None)],
    "areas": [("geometry_geojson", None), ("population", None), ("area_km2", None), ("centroid_lat", None)],
}

LAST_IMPORT_COLUMNS = [
    "kind",
    "source",
    "import_id",
    "file_name",
    "started_at",
    "finished_at",
    "status",
    "rows_read",
    "rows_inserted",
    "rows_updated",
    "rows_unchanged",
    "rows_rejected",
    "rows_duplicate",
    "rows_unknown_area",
    "rows_crosswalk",
    "rows_crosswalk_share",
    "message",
]
# Columns import_log gained later (added by the next import): a database not imported into since shows them missing.
LATER_IMPORT_COLUMNS = ("rows_crosswalk", "rows_crosswalk_share")
REJECT_COLUMNS = ["kind", "source", "reason", "rows", "imports"]


# ---------------------------------------------------------------- the city's bounding box
def _coordinates(geometry: object) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) pair of a GeoJSON geometry's nested coordinate lists."""
    if isinstance(geometry, (list, tuple)):
        if len(geometry) >= 2 and all(isinstance(v, (int, float)) for v in geometry[:2]):
            yield float(geometry[0]), float(geometry[1])
        else:
            for part in geometry:
                yield from _coordinates(part)


def geojson_bbox(texts: list[str | None]) -> BBox | None:
    """(south, west, north, east) of GeoJSON geometries (Polygon, MultiPolygon, Feature...); None when there are none."""
    lons, lats = [], []
    for text in texts:
        if not text:
            continue
        try:
            geometry = json.loads(text)
        except ValueError:
            continue
        geometry = geometry.get("geometry", geometry) if isinstance(geometry, dict) else {}
        for lon, lat in _coordinates((geometry or {}).get("coordinates", [])):
            lons.append(lon)
            lats.append(lat)
    if not lons:
        return None
    return min(lats), min(lons), max(lats), max(lons)


def city_bbox(engine: Engine) -> BBox | None:
    """The bounding box of every area's polygon (None when the areas have no geometry)."""
    frame = fetch_frame(engine, select(areas.geometry_geojson).where(areas.geometry_geojson.is_not(None)))
    return geojson_bbox(list(frame["geometry_geojson"]))


def _outside(lat, lon, area_code, bbox: BBox | None):
    """Located (both coordinates) and either without an area or outside the box."""
    located = and_(lat.is_not(None), lon.is_not(None))
    if bbox is None:
        return and_(located, area_code.is_(None))
    south, west, north, east = bbox
    return and_(located, or_(area_code.is_(None), lat < south, lat > north, lon < west, lon > east))


def _count_where(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


# ---------------------------------------------------------------- per table and source
def _allowed(scope: Scope, table: str):
    """The rows of a case table (feedback, dossiers) that `scope` allows; None for the other tables."""
    columns = {"feedback": feedback, "dossiers": dossiers}.get(table)
    return None if columns is None else in_scope(scope, columns.agency, columns.area_code)


def source_summary(engine: Engine, bbox: BBox | None, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """One row per (table, source): rows, first/last record time, rows without an area, points outside the city.

    Feedback and dossiers by their `source`; traffic observations (no source column) count as unknown area when their
    sensor is unknown or has no area; sensors and areas have no record time.
    """
    frames = [
        fetch_frame(
            engine,
            select(
                literal("feedback").label("table"),
                feedback.source,
                func.count().label("rows"),
                func.min(feedback.received_at).label("first_at"),
                func.max(feedback.received_at).label("last_at"),
                _count_where(feedback.area_code.is_(None)).label("unknown_area"),
                _count_where(_outside(feedback.lat, feedback.lon, feedback.area_code, bbox)).label("outside_city"),
            )
            .where(_allowed(scope, "feedback"))
            .group_by(feedback.source),
        ),
        fetch_frame(
            engine,
            select(
                literal("dossiers").label("table"),
                dossiers.source,
                func.count().label("rows"),
                func.min(dossiers.received_at).label("first_at"),
                func.max(dossiers.received_at).label("last_at"),
                _count_where(dossiers.area_code.is_(None)).label("unknown_area"),
            )
            .where(_allowed(scope, "dossiers"))
            .group_by(dossiers.source),
        ),
        fetch_frame(
            engine,
            select(
                literal("traffic_observations").label("table"),
                func.count().label("rows"),
                func.min(observations.observed_at).label("first_at"),
                func.max(observations.observed_at).label("last_at"),
                _count_where(sensors.area_code.is_(None)).label("unknown_area"),
            ).select_from(
                schema.traffic_observations.outerjoin(schema.traffic_sensors, observations.sensor_id == sensors.id)
            ),
        ),
        fetch_frame(
            engine,
            select(
                literal("traffic_sensors").label("table"),
                func.count().label("rows"),
                _count_where(sensors.area_code.is_(None)).label("unknown_area"),
                _count_where(_outside(sensors.lat, sensors.lon, sensors.area_code, bbox)).label("outside_city"),
            ),
        ),
        fetch_frame(
            engine, select(literal("areas").label("table"), func.count().label("rows")).select_from(schema.areas)
        ),
    ]
    frame = pd.concat([f.reindex(columns=SUMMARY_COLUMNS) for f in frames if not f.empty], ignore_index=True)
    # A table without rows still gets its line (the grouped queries return none for an empty table).
    missing = [name for name in ("feedback", "dossiers") if name not in set(frame["table"])]
    if missing:
        frame = pd.concat([frame, pd.DataFrame({"table": missing, "rows": 0, "unknown_area": 0})], ignore_index=True)
    for column in ("rows", "unknown_area", "outside_city"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    for column in ("first_at", "last_at"):
        frame[column] = pd.to_datetime(frame[column])
    frame.loc[frame["table"] == "dossiers", "outside_city"] = pd.NA  # dossiers carry no coordinates
    return frame


def completeness(engine: Engine, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """Share of filled values per column: table, source, column, filled, expected, filled_pct (long form).

    `expected` is the number of rows where the column should hold a value (all rows, or those meeting its condition).
    """
    sources = {"feedback": feedback.source, "dossiers": dossiers.source}
    tables = {
        "feedback": schema.feedback,
        "dossiers": schema.dossiers,
        "traffic_observations": schema.traffic_observations,
        "traffic_sensors": schema.traffic_sensors,
        "areas": schema.areas,
    }
    rows = []
    for name, columns in COMPLETENESS_COLUMNS.items():
        table = tables[name]
        selected = []
        for column_name, condition in columns:
            column = table.c[column_name]
            if condition is None:
                selected += [
                    func.count(column).label(f"filled_{column_name}"),
                    func.count().label(f"expected_{column_name}"),
                ]
            else:
                selected += [
                    func.count(case((condition, column))).label(f"filled_{column_name}"),
                    _count_where(condition).label(f"expected_{column_name}"),
                ]
        source = sources.get(name)
        statement = (
            select(source.label("source"), *selected).group_by(source) if source is not None else select(*selected)
        )
        if (allowed := _allowed(scope, name)) is not None:
            statement = statement.where(allowed)
        for record in fetch_frame(engine, statement).to_dict("records"):
            for column_name, _ in columns:
                rows.append(
                    {
                        "table": name,
                        "source": record.get("source"),
                        "column": column_name,
                        "filled": int(record[f"filled_{column_name}"]),
                        "expected": int(record[f"expected_{column_name}"]),
                    }
                )
    frame = pd.DataFrame(rows, columns=["table", "source", "column", "filled", "expected"])
    frame["filled_pct"] = [
        100.0 * f / e if e else None for f, e in zip(frame["filled"], frame["expected"], strict=True)
    ]
    return frame


def _duplicate_groups(table, keys: list, condition=None):
    groups = select(func.count().label("copies")).select_from(table).group_by(*keys).having(func.count() > 1)
    if condition is not None:
        groups = groups.where(condition)
    groups = groups.subquery()
    return select(
        literal(table.name).label("table"),
        func.count().label("groups"),
        func.coalesce(func.sum(groups.c.copies), 0).label("rows"),
    )


def likely_duplicates(engine: Engine, *, scope: Scope = WHOLE_CITY) -> pd.DataFrame:
    """Groups of rows that are probably one record entered twice: table, groups, rows (in those groups), extra_rows.

    Feedback: same received time, category and coordinates (located reports only: without coordinates two reports
    of one second and category may well be different). Dossiers: same received time, procedure and area.
    Traffic: the same sensor and observation time.
    """
    statements = [
        _duplicate_groups(
            schema.feedback,
            [feedback.received_at, feedback.category, feedback.lat, feedback.lon],
            and_(feedback.lat.is_not(None), feedback.lon.is_not(None), _allowed(scope, "feedback")),
        ),
        _duplicate_groups(
            schema.dossiers,
            [dossiers.received_at, dossiers.procedure_code, dossiers.area_code],
            _allowed(scope, "dossiers"),
        ),
        _duplicate_groups(schema.traffic_observations, [observations.sensor_id, observations.observed_at]),
    ]
    frame = pd.concat([fetch_frame(engine, statement) for statement in statements], ignore_index=True)
    for column in ("groups", "rows"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    frame["extra_rows"] = frame["rows"] - frame["groups"]
    return frame


def flagged_duplicates(engine: Engine, *, scope: Scope = WHOLE_CITY) -> dict[str, int]:
    """Reports, and those flagged as a likely duplicate of an open one (feedback.duplicate_of, the worker's
    `duplicates` job; issue 18): {"reports", "flagged"}; {} when the database has no such column yet."""
    from dashboard.db.engine import run

    if "duplicate_of" in run(engine, schema.missing_columns).get("feedback", []):
        return {}
    statement = select(func.count().label("reports"), func.count(feedback.duplicate_of).label("flagged")).where(
        _allowed(scope, "feedback")
    )
    row = fetch_frame(engine, statement).iloc[0]
    return {"reports": int(row["reports"]), "flagged": int(row["flagged"])}


# ---------------------------------------------------------------- imports
def _fetch_imports(engine: Engine, statement, columns: list[str]) -> pd.DataFrame:
    """Rows of an import-table query; an empty frame when the database predates the import tables."""
    try:
        frame = fetch_frame(engine, statement)
    except DatabaseNotInitialised:
        return pd.DataFrame(columns=columns)
    return frame.reindex(columns=columns)


def _log_columns(engine: Engine) -> list[str]:
    """LAST_IMPORT_COLUMNS that the database's import_log has (an older one lacks LATER_IMPORT_COLUMNS)."""
    statement = select(literal(1).label("present")).select_from(schema.import_log).where(log.rows_crosswalk.is_(None))
    try:
        fetch_frame(engine, statement.limit(0))
    except DatabaseNotInitialised:
        return LAST_IMPORT_COLUMNS
    except DatabaseError:  # the column is missing: the rest can still be shown
        return [c for c in LAST_IMPORT_COLUMNS if c not in LATER_IMPORT_COLUMNS]
    return LAST_IMPORT_COLUMNS


def last_imports(engine: Engine) -> pd.DataFrame:
    """The newest import (any outcome) of each kind and source, newest first."""
    columns = _log_columns(engine)
    ranked = select(
        *[log[c] for c in columns],
        func.row_number()
        .over(partition_by=[log.kind, log.source], order_by=[log.started_at.desc(), log.import_id.desc()])
        .label("rank"),
    ).subquery()
    statement = (
        select(*[ranked.c[c] for c in columns])
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.started_at.desc(), ranked.c.kind, ranked.c.source)
    )
    return _fetch_imports(engine, statement, LAST_IMPORT_COLUMNS)


def import_history(engine: Engine, limit: int = 50) -> pd.DataFrame:
    """The newest `limit` imports of any kind, newest first."""
    columns = _log_columns(engine)
    statement = select(*[log[c] for c in columns]).order_by(log.started_at.desc(), log.import_id).limit(limit)
    return _fetch_imports(engine, statement, LAST_IMPORT_COLUMNS)


def reject_reasons(engine: Engine, since: datetime) -> pd.DataFrame:
    """Rejected rows by kind, source and reason over the imports started at or after `since` (most first)."""
    statement = (
        select(
            log.kind,
            log.source,
            rejects.reason,
            func.count().label("rows"),
            func.count(func.distinct(rejects.import_id)).label("imports"),
        )
        .select_from(schema.import_rejects.join(schema.import_log, rejects.import_id == log.import_id))
        .where(log.started_at >= since)
        .group_by(log.kind, log.source, rejects.reason)
        .order_by(func.count().desc(), log.kind, log.source, rejects.reason)
    )
    frame = _fetch_imports(engine, statement, REJECT_COLUMNS)
    for column in ("rows", "imports"):
        frame[column] = pd.to_numeric(frame[column]).astype("int64")
    return frame
