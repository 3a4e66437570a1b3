"""Every setting of the dashboard, listed once with its default and help.

Values come from environment variables first, then from `.streamlit/secrets.toml`
(top-level keys with the same names), then the default. The README's configuration
table is checked against this registry by a test.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
BOUNDARIES_DIR = DATA_DIR / "boundaries"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "IOC_DATABASE_URL",
        "duckdb:///data/ioc.duckdb",
        "SQLAlchemy URL of the database. Relative DuckDB paths are resolved from the project root. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    ),
    Setting("IOC_CITY", "hue", "City whose boundaries and names the app uses (see data/boundaries/)."),
    Setting(
        "IOC_TIMEZONE",
        "Asia/Ho_Chi_Minh",
        "Time zone of the city. Every timestamp in the database is naive local time of this zone.",
    ),
    Setting("IOC_LANGUAGE", "vi", "Default user-interface language: vi or en."),
    Setting("IOC_QUERY_TTL_SECONDS", "300", "How long page query results are cached."),
    Setting(
        "IOC_STATEMENT_TIMEOUT_SECONDS",
        "30",
        "Longest a single query may run: PostgreSQL's statement_timeout, and on both engines the client's own "
        "deadline (a frozen server or a hung DuckDB query is interrupted a few seconds after it).",
    ),
    Setting(
        "IOC_CONNECT_TIMEOUT_SECONDS",
        "5",
        "Longest the app waits to open a database connection (PostgreSQL connect_timeout).",
    ),
    Setting(
        "IOC_WRITE_LOCK_TIMEOUT_SECONDS",
        "3600",
        "How long a DuckDB write (import, demo, init-db, forecast) waits for another write to finish.",
    ),
    Setting(
        "IOC_WALL_PANELS",
        "overview,map,traffic,procedures,forecast",
        "Panels the wall screen (/wall) rotates through, in order; the URL's ?panels= overrides it.",
    ),
    Setting(
        "IOC_WALL_DWELL_SECONDS",
        "20",
        "Seconds each wall panel stays on screen: one value, or one per panel (?dwell= overrides it).",
    ),
    Setting("IOC_WALL_REFRESH_SECONDS", "60", "How often the wall screen reloads its figures."),
    Setting("IOC_WALL_OVERDUE_DAYS", "3", "The wall's ticker lists open feedback overdue by more than this many days."),
    Setting(
        "IOC_FRESHNESS_FEEDBACK_MINUTES",
        "60",
        "Feedback is 'live' while its newest report is at most this many minutes old.",
    ),
    Setting(
        "IOC_FRESHNESS_DOSSIERS_MINUTES",
        "1440",
        "Dossiers are 'live' while the newest dossier is at most this many minutes old.",
    ),
    Setting(
        "IOC_FRESHNESS_TRAFFIC_MINUTES",
        "30",
        "Traffic is 'live' while the newest sensor observation is at most this many minutes old.",
    ),
    Setting(
        "IOC_ADMIN_PASSWORD_HASH",
        "",
        "PBKDF2 hash of the administrator password (python -m dashboard hash-password); empty: no admin pages.",
    ),
    # Import limits: a file beyond one is refused with a one-line message naming the limit and where it was hit.
    Setting("IOC_IMPORT_MAX_COLUMNS", "500", "Most columns an imported file may have."),
    Setting("IOC_IMPORT_MAX_FIELD_CHARS", "1000000", "Most characters in one cell of an imported file."),
    Setting("IOC_IMPORT_MAX_LINE_BYTES", "4194304", "Longest line (bytes) of an imported CSV/TSV or JSONL file."),
    Setting("IOC_IMPORT_MAX_ROWS", "20000000", "Most data rows in an imported file."),
    Setting("IOC_IMPORT_MAX_CELLS", "200000000", "Most cells (rows x columns) in an imported file."),
    Setting(
        "IOC_IMPORT_MAX_XLSX_RATIO",
        "200",
        "Most an .xlsx part (above 1 MiB) may expand over its compressed size; beyond it, a zip bomb.",
    ),
    Setting("IOC_IMPORT_MAX_XLSX_PART_MB", "1024", "Largest uncompressed part (zip member) of an imported .xlsx."),
    Setting(
        "IOC_IMPORT_MEMORY_MB",
        "4096",
        "Address space (RLIMIT_AS) of the process an upload's import runs in; 0: no limit.",
    ),
    Setting("IOC_IMPORT_TIMEOUT_SECONDS", "3600", "An upload's import still running after this long is stopped."),
)

_SETTING_NAMES = {s.name for s in SETTINGS}


def _secrets() -> dict:
    path = PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def get(name: str) -> str:
    """Current value of one registered setting."""
    if name not in _SETTING_NAMES:
        raise KeyError(f"unknown setting {name!r}")
    if name in os.environ and os.environ[name] != "":
        return os.environ[name]
    secrets = _secrets()
    if name in secrets:
        return str(secrets[name])
    return next(s.default for s in SETTINGS if s.name == name)


def database_url() -> str:
    """The database URL with a relative DuckDB path made absolute against the project root."""
    url = get("IOC_DATABASE_URL")
    prefix = "duckdb:///"
    if url.startswith(prefix):
        path = url[len(prefix) :]
        if path and path != ":memory:" and not path.startswith("/"):
            return prefix + str(PROJECT_ROOT / path)
    return url


def timezone() -> str:
    return get("IOC_TIMEZONE")


def city() -> str:
    return get("IOC_CITY")


def default_language() -> str:
    value = get("IOC_LANGUAGE")
    return value if value in ("vi", "en") else "vi"


def query_ttl_seconds() -> int:
    return int(get("IOC_QUERY_TTL_SECONDS"))


def statement_timeout_seconds() -> int:
    return int(get("IOC_STATEMENT_TIMEOUT_SECONDS"))


def connect_timeout_seconds() -> int:
    return max(1, int(get("IOC_CONNECT_TIMEOUT_SECONDS")))


def write_lock_timeout_seconds() -> float:
    return float(get("IOC_WRITE_LOCK_TIMEOUT_SECONDS"))


def import_setting(name: str) -> int:
    """One of the IOC_IMPORT_* limits as a whole number (a value that is not one: the default)."""
    try:
        return int(float(get(name)))
    except ValueError:
        return int(next(s.default for s in SETTINGS if s.name == name))
