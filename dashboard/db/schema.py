"""The database schema, identical on DuckDB and PostgreSQL (SQLAlchemy Core).

All timestamps are *naive local time* of the city (setting IOC_TIMEZONE, default
Asia/Ho_Chi_Minh): what a clock on the wall in the city showed at that moment.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    Float,
    Index,
    Integer,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from dashboard.access.pii import PII_COLUMNS

metadata = MetaData()

# New feedback and dossier rows take their ids from these sequences (the column default, and the importer's
# merge), so two imports running at once never pick the same id. See `advance_id_sequences` for rows loaded with
# explicit ids (the demo) and for databases made before the sequences existed.
feedback_id_seq = Sequence("feedback_id_seq", metadata=metadata)
dossiers_id_seq = Sequence("dossiers_id_seq", metadata=metadata)

areas = Table(
    "areas",
    metadata,
    Column("code", String(16), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("name_ascii", String(128), nullable=False),
    Column("kind", String(32), nullable=False),  # ward (phường) / commune (xã)
    Column("parent_code", String(16)),
    Column("geometry_geojson", Text),
    Column("centroid_lat", Float),
    Column("centroid_lon", Float),
    Column("area_km2", Float),
    Column("population", Integer),
    Column("population_is_estimate", Boolean, nullable=False, default=True),
)

feedback = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, server_default=feedback_id_seq.next_value()),
    Column("source", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("category", String(32), nullable=False),
    Column("channel", String(32)),
    Column("area_code", String(16)),
    Column("lat", Float),
    Column("lon", Float),
    Column("status", String(16), nullable=False),
    Column("agency", String(64)),
    Column("due_at", DateTime),
    Column("first_response_at", DateTime),
    Column("resolved_at", DateTime),
    Column("satisfaction", Integer),
    Column("reopened", Boolean, nullable=False, default=False),
    # The source's own category or type text ("Rác thải sinh hoạt", "Noise - Residential"), beside our `category`
    # (one of the nine, from keywords); NULL = the source gave none, or the row predates the column (added column).
    Column("source_category", String(128)),
    # Likely duplicate of this earlier, still-open report (same category, within IOC_HOTSPOT_RADIUS_M and
    # IOC_DUPLICATE_HOURS; the worker's `duplicates` job): a candidate for a person to check, never merged. Added column.
    Column("duplicate_of", Integer),
    # Citizen's personal details when the source gives them (issue 19): shown unmasked only to the roles of
    # IOC_PII_ROLES (dashboard/access/pii.py masks them where records leave the query layer). Added columns.
    Column("citizen_name", String(255)),
    Column("citizen_phone", String(64)),
    Column("citizen_email", String(255)),
    Column("citizen_address", String(512)),
    UniqueConstraint("source", "source_id", name="uq_feedback_source"),
    CheckConstraint("status IN ('new', 'in_progress', 'resolved', 'rejected')", name="ck_feedback_status"),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="ck_feedback_satisfaction"),
)

dossiers = Table(
    "dossiers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False, server_default=dossiers_id_seq.next_value()),
    Column("source", String(32), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("procedure_code", String(32), nullable=False),
    Column("procedure_name", String(256), nullable=False),
    Column("sector", String(64), nullable=False),
    Column("agency", String(64)),
    Column("area_code", String(16)),
    Column("channel", String(16), nullable=False),
    Column("received_at", DateTime, nullable=False),
    Column("due_at", DateTime),
    Column("completed_at", DateTime),
    Column("status", String(16), nullable=False),
    # Optional (NULL = unknown; columns added to older databases by `_add_missing_columns`):
    Column("supplement_requests", Integer),  # times the citizen was asked for more papers
    Column("supplement_days", Float),  # days spent waiting for the citizen's papers (not counted against the deadline)
    Column("complaint", Boolean),  # the dossier drew a complaint or petition
    # Citizen's personal details when the source gives them (issue 19): shown unmasked only to the roles of
    # IOC_PII_ROLES (dashboard/access/pii.py masks them where records leave the query layer). Added columns.
    Column("citizen_name", String(255)),
    Column("citizen_phone", String(64)),
    Column("citizen_email", String(255)),
    Column("citizen_address", String(512)),
    UniqueConstraint("source", "source_id", name="uq_dossiers_source"),
    CheckConstraint("channel IN ('online', 'counter', 'postal')", name="ck_dossiers_channel"),
)

traffic_sensors = Table(
    "traffic_sensors",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("road", String(128), nullable=False),
    Column("area_code", String(16)),
    # NULL: no location yet (a sensor registered from the header or sensor column of a counts file; see RELAXED_NULLS)
    Column("lat", Float),
    Column("lon", Float),
    Column("free_flow_speed_kmh", Float, nullable=False),
    Column("capacity_per_hour", Float, nullable=False),
)

traffic_observations = Table(
    "traffic_observations",
    metadata,
    Column("sensor_id", String(32), nullable=False),
    Column("observed_at", DateTime, nullable=False),
    Column("period_minutes", Integer, nullable=False),
    Column("vehicle_count", Integer, nullable=False),
    Column("mean_speed_kmh", Float),
)

# Key/value facts about the dataset itself: whether it is demo data, when it was generated.
dataset_info = Table(
    "dataset_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# B-tree indexes for PostgreSQL only. DuckDB prunes scans with its own per-block min/max (zone maps) and keeps
# ART indexes in memory: on a 5-million-row import they made the commit need more than 1 GB (measured), for no
# gain on these range queries.
for _index in (
    Index("ix_feedback_received_at", feedback.c.received_at),
    # Covering: the resolution and lead-time medians (percentile_cont over the rows finished in the period; no
    # rollup can hold a median) read only the index (an index-only scan) instead of one heap page per row.
    Index("ix_feedback_resolved_cover", feedback.c.resolved_at, postgresql_include=["received_at", "area_code"]),
    Index("ix_feedback_area_received", feedback.c.area_code, feedback.c.received_at),
    Index("ix_dossiers_received_at", dossiers.c.received_at),
    Index(
        "ix_dossiers_completed_cover",
        dossiers.c.completed_at,
        postgresql_include=["received_at", "area_code", "due_at", "status"],  # + past due at an instant
    ),
    Index("ix_dossiers_area_received", dossiers.c.area_code, dossiers.c.received_at),
    Index("ix_traffic_observations_time", traffic_observations.c.observed_at),
    Index("ix_traffic_observations_sensor_time", traffic_observations.c.sensor_id, traffic_observations.c.observed_at),
):
    _index.ddl_if(dialect="postgresql")

DATA_TABLES = (areas, feedback, dossiers, traffic_sensors, traffic_observations, dataset_info)


# ---------------------------------------------------------------- forecasts (written by `python -m dashboard forecast`)
# Not in DATA_TABLES: the app runs before any forecast exists. Each run of a metric writes its rows
# under a new run_id; readers see only the run whose status is 'current', and the switch from the
# previous run happens in one transaction (see models.run).
forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("created_at", DateTime, nullable=False),
    Column("metric", String(16), nullable=False),
    Column("horizon_days", Integer, nullable=False),
    Column("holdout_days", Integer, nullable=False, default=0),
    Column("status", String(16), nullable=False),
    CheckConstraint("status IN ('running', 'current', 'replaced', 'failed')", name="ck_forecast_runs_status"),
)

forecasts = Table(
    "forecasts",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("series_id", String(128), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("ds", Date, nullable=False),
    Column("yhat", Float, nullable=False),
    Column("yhat_lower", Float, nullable=False),  # 80 % prediction interval
    Column("yhat_upper", Float, nullable=False),
    Column("model", String(32), nullable=False),
)

forecast_scores = Table(
    "forecast_scores",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("series_id", String(128), nullable=False),
    Column("metric", String(16), nullable=False),
    Column("model", String(32), nullable=False),
    Column("mase", Float),  # mean absolute error ÷ in-sample MAE of "same day last week"
    Column("smape", Float),  # symmetric mean absolute percentage error, 0..2
    Column("coverage_80", Float),  # share of actual days inside the calibrated 80 % interval (models.calibration)
    Column("coverage_80_raw", Float),  # the same for the model's own, uncalibrated interval (added column)
    Column("is_holdout", Boolean, nullable=False),
    Column("chosen", Boolean, nullable=False),
)

anomalies = Table(
    "anomalies",
    metadata,
    Column("run_id", String(64), nullable=False),
    Column("series_id", String(128), nullable=False),
    Column("area_code", String(16)),
    Column("category", String(32)),
    Column("ds", Date, nullable=False),
    Column("actual", Float, nullable=False),
    Column("expected", Float, nullable=False),
    Column("lower", Float, nullable=False),  # 95 % interval
    Column("upper", Float, nullable=False),
    Column("size", Float, nullable=False),  # robust z-score: + above, - below the expected value
)

Index("ix_forecasts_run_series_ds", forecasts.c.run_id, forecasts.c.series_id, forecasts.c.ds)
Index("ix_forecast_scores_run_series", forecast_scores.c.run_id, forecast_scores.c.series_id)
Index("ix_anomalies_run_ds", anomalies.c.run_id, anomalies.c.ds)

FORECAST_TABLES = (forecast_runs, forecasts, forecast_scores, anomalies)


# ---------------------------------------------------------------- imports (written by `python -m dashboard import`)
# Not in DATA_TABLES: a demo database has never seen an import. One row per import attempt, whatever its outcome;
# the data-quality page reads the last import per source and the reject reasons from here.
import_log = Table(
    "import_log",
    metadata,
    Column("import_id", String(64), primary_key=True),
    Column("kind", String(16), nullable=False),  # feedback / dossiers / traffic / areas
    Column("source", String(32), nullable=False),
    Column("file_name", String(256), nullable=False),
    Column("file_sha256", String(64), nullable=False),
    Column("started_at", DateTime, nullable=False),  # naive local time of the city
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_inserted", Integer, nullable=False, default=0),
    Column("rows_updated", Integer, nullable=False, default=0),
    Column("rows_unchanged", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("rows_duplicate", Integer, nullable=False, default=0),  # repeated ids inside the file (last kept)
    Column("rows_unknown_area", Integer, nullable=False, default=0),
    Column("message", Text),
    # Rows given with an older unit (before the ward merger) placed on a current one through the crosswalk, and of
    # them the rows of a split old unit put in its largest share for want of a point (NULL: logged before these;
    # an older import_log gains them from the importer itself, ingest.importer._add_log_columns).
    Column("rows_crosswalk", Integer),
    Column("rows_crosswalk_share", Integer),
    # Traffic: sensors new to the database, from the --sensors list and registered from the counts file (NULL: logged
    # before this column; added column).
    Column("sensors_added", Integer),
    CheckConstraint("status IN ('running', 'done', 'aborted', 'failed', 'dry_run')", name="ck_import_log_status"),
)

# The rejected rows of each finished import (one row per rejected source row and reason).
import_rejects = Table(
    "import_rejects",
    metadata,
    Column("import_id", String(64), nullable=False),
    Column("row_number", Integer, nullable=False),  # 1 = the first data row after the header
    Column("column_name", String(128)),
    Column("value", Text),
    Column("reason", String(64), nullable=False),  # a code such as missing_id, future_date
)

Index("ix_import_log_kind_started", import_log.c.kind, import_log.c.started_at)
Index("ix_import_rejects_import", import_rejects.c.import_id)

IMPORT_TABLES = (import_log, import_rejects)


# ---------------------------------------------------------------- rollups (rebuilt by dashboard.db.rollups.refresh_rollups)
# Not in DATA_TABLES: a database without them (or with them empty) is served from the base tables.
# Every measure is a count or a sum keyed on the local day (hour for traffic) of one event, so a
# period of whole days (hours) sums to exactly what the base-table query counts. State at an instant
# ("open at the end of the period") is kept as two running counts: rows that entered the state on a
# day and rows that left it; open at E = Σ in − Σ out over the days before E.
_ROLLUP_COUNT = BigInteger


def _measures(*names: str) -> list[Column]:
    return [Column(name, _ROLLUP_COUNT, nullable=False, default=0) for name in names]


rollup_feedback_daily = Table(
    "rollup_feedback_daily",
    metadata,
    Column("day", Date, nullable=False),  # the day of the event each measure counts (see below)
    Column("area_code", String(16)),
    Column("category", String(32)),
    Column("channel", String(32)),
    Column("agency", String(64)),
    Column("received_late_day", Date),  # resolved rows received on a later day than resolved (bad data)
    *_measures(
        "received",
        "located",  # by received day; located = with lat and lon
        "resolved",
        "resolved_with_due",
        "resolved_on_time",
        "reopened",  # by resolved day
        "rating_1",
        "rating_2",
        "rating_3",
        "rating_4",
        "rating_5",  # by resolved day
        "backlog_in",  # not rejected, by received day
        "backlog_out",  # not rejected and resolved, by day of max(received, resolved)
        "overdue_in",  # not rejected with a due time, by day of max(received, due)
        "overdue_out",  # … and resolved, by day of max(received, due, resolved)
    ),
)

rollup_dossiers_daily = Table(
    "rollup_dossiers_daily",
    metadata,
    Column("day", Date, nullable=False),
    Column("area_code", String(16)),
    Column("sector", String(64)),
    Column("agency", String(64)),
    Column("procedure_code", String(32)),
    Column("procedure_name", String(256)),
    Column("channel", String(16)),
    *_measures(
        "received",  # by received day
        "completed",
        "completed_with_due",
        "completed_on_time",  # by completed day
        "past_due_in",  # not returned/withdrawn, with due, by day of max(received, due)
        "past_due_out",  # … and completed, by day of max(received, due, completed)
    ),
)

rollup_traffic_hourly = Table(
    "rollup_traffic_hourly",
    metadata,
    Column("hour", DateTime, nullable=False),  # start of the clock hour of observed_at
    Column("sensor_id", String(32), nullable=False),
    Column("area_code", String(16)),  # the sensor's, at refresh time
    Column("road", String(128)),
    Column("vehicles", _ROLLUP_COUNT, nullable=False),
    Column("weighted_vehicles", _ROLLUP_COUNT),  # vehicles of observations with a speed (NULL when none)
    Column("travel_time_ratio_sum", Double),  # Σ vehicles × free-flow speed ÷ speed over those
    Column("last_observed_at", DateTime, nullable=False),
)

# Rollup tables are small and read by day; PostgreSQL gets btree indexes, DuckDB its zone maps
# (rows are inserted in time order). The big tables get BRIN indexes on their time columns on
# PostgreSQL only (rows are loaded in time order, so a block range covers a short time span).
for _name, _columns in (
    ("ix_rollup_feedback_daily_day", (rollup_feedback_daily.c.day,)),
    ("ix_rollup_dossiers_daily_day", (rollup_dossiers_daily.c.day,)),
    ("ix_rollup_traffic_hourly_hour", (rollup_traffic_hourly.c.hour,)),
):
    Index(_name, *_columns).ddl_if(dialect="postgresql")
for _name, _column in (
    ("brin_feedback_received_at", feedback.c.received_at),
    ("brin_dossiers_received_at", dossiers.c.received_at),
    ("brin_traffic_observations_observed_at", traffic_observations.c.observed_at),
):
    Index(_name, _column, postgresql_using="brin").ddl_if(dialect="postgresql")

ROLLUP_TABLES = (rollup_feedback_daily, rollup_dossiers_daily, rollup_traffic_hourly)


# ---------------------------------------------------------------- id sequences
ID_SEQUENCES = {"feedback": feedback_id_seq, "dossiers": dossiers_id_seq}


def _next_id(connection: Connection, sequence: Sequence) -> int:
    """What `nextval` would return now, without taking it."""
    if connection.dialect.name == "duckdb":  # last_value is NULL until the first nextval
        last = connection.execute(
            text("SELECT last_value, start_value FROM duckdb_sequences() WHERE sequence_name = :name"),
            {"name": sequence.name},
        ).one()
        return int(last[1]) if last[0] is None else int(last[0]) + 1
    last, called = connection.execute(text(f'SELECT last_value, is_called FROM "{sequence.name}"')).one()
    return int(last) + 1 if called else int(last)


def advance_id_sequence(connection: Connection, table: Table) -> None:
    """Move the id sequence of `table` past its largest id (rows loaded with explicit ids, an older database).

    Only ever forward, by taking values with nextval (atomic on both engines), never setval: an import that is
    taking ids at the same moment can at most make this skip a few, never hand out an id twice. Cost measured:
    5 M values in 3 s on PostgreSQL, 0.5 s on DuckDB, once, after the rows were loaded by hand.
    """
    sequence = ID_SEQUENCES[table.name]
    largest = connection.execute(select(func.max(table.c.id))).scalar()
    if largest is None:
        return
    missing = int(largest) - _next_id(connection, sequence) + 1
    if missing > 0:
        series = "range(:n)" if connection.dialect.name == "duckdb" else "generate_series(1, :n)"
        connection.execute(text(f"SELECT max(nextval('{sequence.name}')) FROM {series} AS taken(k)"), {"n": missing})


def ensure_id_sequence(connection: Connection, table: Table) -> Sequence:
    """The id sequence of `table`, created when the database predates it, advanced past the largest id.

    The importer calls this before taking ids, so an upload into an older database works before any `init-db`.
    """
    sequence = ID_SEQUENCES[table.name]
    sequence.create(connection, checkfirst=True)
    advance_id_sequence(connection, table)
    return sequence


def _add_id_defaults(connection: Connection) -> None:
    """Tables created before the sequences existed get the sequence as their id default."""
    present = set(inspect(connection).get_table_names())
    for name, sequence in ID_SEQUENCES.items():
        if name not in present:
            continue
        default = connection.execute(
            text(  # information_schema: both engines (DuckDB lacks pg_collation)
                "SELECT column_default FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = :table AND column_name = 'id'"
            ),
            {"table": name},
        ).scalar()
        if not default:
            connection.execute(text(f"ALTER TABLE \"{name}\" ALTER COLUMN id SET DEFAULT nextval('{sequence.name}')"))
        advance_id_sequence(connection, metadata.tables[name])


# Nullable columns added to a table after databases were made with it: `create_all` never changes an existing
# table, so these are added with ALTER TABLE … ADD COLUMN (NULL = unknown) when missing.
ADDED_COLUMNS = {
    "dossiers": ("supplement_requests", "supplement_days", "complaint", *PII_COLUMNS),
    "forecast_scores": ("coverage_80_raw",),
    "feedback": ("source_category", "duplicate_of", *PII_COLUMNS),
    "import_log": ("sensors_added",),
}

# NOT NULL columns that became nullable: an older table drops the constraint (ALTER TABLE … ALTER COLUMN … DROP NOT
# NULL, on both engines) in `create_schema`; the importer does it too before it registers a sensor without a place.
RELAXED_NULLS = {"traffic_sensors": ("lat", "lon")}


def relax_not_null(connection: Connection) -> None:
    """Drop NOT NULL from the RELAXED_NULLS columns of existing tables that still have it (idempotent)."""
    for name, columns in RELAXED_NULLS.items():
        strict = set(
            connection.execute(
                text(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                    "AND table_name = :table AND is_nullable = 'NO'"
                ),
                {"table": name},
            ).scalars()
        )
        for column_name in columns:
            if column_name in strict:  # names from the schema, not input
                connection.execute(text(f'ALTER TABLE "{name}" ALTER COLUMN "{column_name}" DROP NOT NULL'))


def missing_columns(connection: Connection) -> dict[str, list[str]]:
    """{table: [column, …]} of the ADDED_COLUMNS an existing table lacks (tables not yet created are left out)."""
    present_tables = set(inspect(connection).get_table_names())
    missing: dict[str, list[str]] = {}
    for name, columns in ADDED_COLUMNS.items():
        if name not in present_tables:
            continue
        present = set(  # information_schema: both engines (DuckDB lacks pg_collation, which get_columns reads)
            connection.execute(
                text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = :table"
                ),
                {"table": name},
            ).scalars()
        )
        absent = [column for column in columns if column not in present]
        if absent:
            missing[name] = absent
    return missing


def _add_missing_columns(connection: Connection) -> None:
    """ALTER TABLE … ADD COLUMN for each added column an older table lacks (idempotent; names from the schema)."""
    for name, columns in missing_columns(connection).items():
        for column_name in columns:
            column = metadata.tables[name].c[column_name]
            column_type = column.type.compile(dialect=connection.dialect)
            connection.execute(text(f'ALTER TABLE "{name}" ADD COLUMN "{column_name}" {column_type}'))


# PostgreSQL indexes replaced by a later one (the new one holds the old one's key first): dropped by `upgrade_indexes`.
REPLACED_INDEXES = ("ix_feedback_resolved_at", "ix_dossiers_completed_at")


def upgrade_indexes(connection: Connection) -> None:
    """PostgreSQL: create the schema's indexes an existing table lacks (`create_all` makes indexes only with a
    new table) and drop the REPLACED_INDEXES; idempotent. DuckDB has none of these indexes."""
    if connection.dialect.name != "postgresql":
        return
    present = set(inspect(connection).get_table_names())
    for table in DATA_TABLES + ROLLUP_TABLES:
        if table.name in present:
            for index in table.indexes:
                index.create(connection, checkfirst=True)
    for name in REPLACED_INDEXES:  # names from the schema, not input
        connection.execute(text(f'DROP INDEX IF EXISTS "{name}"'))


def upgrade_columns(connection: Connection) -> None:
    """Bring existing tables up to the schema's columns: ADDED_COLUMNS added, RELAXED_NULLS relaxed (what
    `create_schema` does after the tables exist; the importer calls it for databases no `init-db` has seen since)."""
    _add_missing_columns(connection)
    relax_not_null(connection)


@event.listens_for(metadata, "after_create")
def _upgrade_ids(target, connection: Connection, **kw) -> None:
    """Run by every `metadata.create_all` (`create_schema`: `init-db`, `import`, the demo), after the tables exist."""
    upgrade_columns(connection)
    upgrade_indexes(connection)
    _add_id_defaults(connection)
