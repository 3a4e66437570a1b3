"""Every setting of the dashboard, listed once with its default, help and what values it allows.

Values come from environment variables first, then from `.streamlit/secrets.toml`
(top-level keys with the same names), then the default. The README's configuration
table is checked against this registry by a test.

Each setting has a `parse` (`text`, `whole_number`, `number`, `choice(...)`, `time_zone`) and, for numbers,
bounds. `check()` reads them all and raises SettingError naming each setting whose value cannot be used, its
value and what is allowed: the CLI (exit code 2) and the app (an error page instead of the pages) call it
before anything else, so a bad value stops start-up instead of silently becoming a default. `value(name)`
is the typed accessor.
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.i18n import t

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
BOUNDARIES_DIR = DATA_DIR / "boundaries"


# ---------------------------------------------------------------- parsers: text -> value, ValueError when unusable
def text(raw: str) -> str:
    return raw


def whole_number(raw: str) -> int:
    return int(raw.strip())


def number(raw: str) -> float:
    value = float(raw.strip())
    if not math.isfinite(value):
        raise ValueError(raw)
    return value


def time_zone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(raw) from None
    return raw.strip()


class Choice:
    """One of a few fixed words (`choice("vi", "en")`)."""

    def __init__(self, *options: str) -> None:
        self.options = options

    def __call__(self, raw: str) -> str:
        if raw.strip() not in self.options:
            raise ValueError(raw)
        return raw.strip()


def choice(*options: str) -> Choice:
    return Choice(*options)


def open311_endpoints(raw: str) -> tuple[tuple[str, str], ...]:
    """`source=URL` pairs (or bare URLs, named after their host) separated by commas: ((source, url), ...)."""
    import re
    from urllib.parse import urlsplit

    endpoints: dict[str, str] = {}
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        name, sep, url = entry.partition("=") if re.match(r"^[A-Za-z0-9_.-]+=", entry) else ("", "", entry)
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(entry)
        source = (name.strip() if sep else re.sub(r"[^a-z0-9]+", "_", parts.hostname.lower()).strip("_"))[:32]
        if not source or source in endpoints:
            raise ValueError(entry)
        endpoints[source] = url
    return tuple(endpoints.items())


open311_endpoints.allowed_key = "settings.allowed.open311_endpoints"


def country(raw: str) -> str:
    """An ISO 3166 country code the `holidays` package knows (VN, US, AU …), upper case."""
    import holidays

    value = raw.strip().upper()
    if value not in holidays.list_supported_countries():
        raise ValueError(raw)
    return value


country.allowed_key = "settings.allowed.country"


def postgresql_url(raw: str) -> str:
    """Empty, or the URL of a PostgreSQL database (postgresql+psycopg://user:pass@host:5432/db): a host and a
    database name. (Read without SQLAlchemy: this module is imported by code that must not load it.)"""
    from urllib.parse import urlsplit

    value = raw.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (ValueError on a port that is not a number)
    except ValueError:
        raise ValueError(raw) from None
    scheme, _, driver = parts.scheme.partition("+")
    if scheme != "postgresql" or not parts.hostname or not parts.path.strip("/"):
        raise ValueError(raw)
    if driver and driver not in ("psycopg", "psycopg2", "pg8000", "asyncpg", "psycopg2cffi"):
        raise ValueError(raw)
    return value


postgresql_url.allowed_key = "settings.allowed.postgresql_url"


def _hide_password(url: str) -> str:
    """A URL's password as *** (a setting's value is shown on the error page and in the CLI's message)."""
    import re

    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def role_names(raw: str) -> tuple[str, ...]:
    """A comma-separated list of account roles (viewer, agency_officer, analyst, operator, admin); may be empty."""
    from dashboard.access.roles import parse_role

    names = [part.strip() for part in raw.split(",") if part.strip()]
    return tuple(sorted({str(parse_role(name)) for name in names}))  # ValueError on an unknown role


role_names.allowed_key = "settings.allowed.role_names"


def cron(raw: str) -> str:
    """A five-field cron expression (minute hour day month weekday), as the worker's scheduler reads it."""
    from dashboard.jobs.schedule import cron_trigger

    expression = " ".join(raw.split())
    if len(expression.split(" ")) != 5:
        raise ValueError(raw)
    cron_trigger(expression, "UTC")  # ValueError on a field it cannot read
    return expression


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str], Any] = text
    minimum: float | None = None
    maximum: float | None = None

    def allowed(self, lang: str = "en") -> str:
        """What values the setting takes, in words: "a whole number from 1 to 525600"."""
        if isinstance(self.parse, Choice):
            return t("settings.allowed.choice", lang, options=", ".join(self.parse.options))
        if self.parse is time_zone:
            return t("settings.allowed.time_zone", lang)
        if self.parse is cron:
            return t("settings.allowed.cron", lang)
        if key := getattr(self.parse, "allowed_key", None):
            return t(key, lang)
        kind = {whole_number: "whole_number", number: "number"}.get(self.parse)
        if kind is None:
            return t("settings.allowed.text", lang)
        low, high = _plain(self.minimum), _plain(self.maximum)
        if low is not None and high is not None:
            return t(f"settings.allowed.{kind}_between", lang, low=low, high=high)
        if low is not None:
            return t(f"settings.allowed.{kind}_at_least", lang, low=low)
        if high is not None:
            return t(f"settings.allowed.{kind}_at_most", lang, high=high)
        return t(f"settings.allowed.{kind}", lang)

    def read(self, raw: str) -> Any:
        """The typed value of `raw`; ValueError when the setting cannot take it."""
        value = self.parse(raw)
        if self.minimum is not None and value < self.minimum or self.maximum is not None and value > self.maximum:
            raise ValueError(raw)
        return value


def _plain(bound: float | None) -> str | None:
    return None if bound is None else (str(int(bound)) if float(bound).is_integer() else str(bound))


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "IOC_DATABASE_URL",
        "duckdb:///data/ioc.duckdb",
        "SQLAlchemy URL of the database. Relative DuckDB paths are resolved from the project root. "
        "PostgreSQL: postgresql+psycopg://user:pass@host/db",
    ),
    Setting(
        "IOC_DATABASE_READ_URL",
        "",
        "PostgreSQL URL of a streaming replica of IOC_DATABASE_URL that the pages read from; imports, the worker and "
        "every other write go to IOC_DATABASE_URL. Empty: pages read IOC_DATABASE_URL too. A replica that does not "
        "answer is left aside (pages read the primary) and asked again 30 s later.",
        parse=postgresql_url,
    ),
    Setting("IOC_CITY", "hue", "City whose boundaries and names the app uses (see data/boundaries/)."),
    Setting(
        "IOC_COUNTRY",
        "VN",
        "Country whose public holidays the forecasts learn (ISO code; Tết windows only for VN). Data that declares "
        "its own country (dataset_info key 'country') uses that one.",
        parse=country,
    ),
    Setting(
        "IOC_TIMEZONE",
        "Asia/Ho_Chi_Minh",
        "Time zone of the city. Every timestamp in the database is naive local time of this zone.",
        parse=time_zone,
    ),
    Setting("IOC_LANGUAGE", "vi", "Default user-interface language: vi or en.", parse=choice("vi", "en")),
    Setting(
        "IOC_QUERY_TTL_SECONDS",
        "300",
        "How long page query results are cached.",
        parse=whole_number,
        minimum=0,
        maximum=86400,
    ),
    Setting(
        "IOC_STATEMENT_TIMEOUT_SECONDS",
        "30",
        "Longest a single query may run: PostgreSQL's statement_timeout, and on both engines the client's own "
        "deadline (a frozen server or a hung DuckDB query is interrupted a few seconds after it).",
        parse=whole_number,
        minimum=1,
        maximum=86400,
    ),
    Setting(
        "IOC_CONNECT_TIMEOUT_SECONDS",
        "5",
        "Longest the app waits to open a database connection (PostgreSQL connect_timeout).",
        parse=whole_number,
        minimum=1,
        maximum=600,
    ),
    Setting(
        "IOC_WRITE_LOCK_TIMEOUT_SECONDS",
        "3600",
        "How long a DuckDB write (import, demo, init-db, forecast) waits for another write to finish.",
        parse=number,
        minimum=0,
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
    Setting(
        "IOC_WALL_REFRESH_SECONDS",
        "60",
        "How often the wall screen reloads its figures.",
        parse=whole_number,
        minimum=5,
        maximum=3600,
    ),
    Setting(
        "IOC_WALL_OVERDUE_DAYS",
        "3",
        "The wall's ticker lists open feedback overdue by more than this many days.",
        parse=whole_number,
        minimum=0,
        maximum=365,
    ),
    Setting(
        "IOC_FRESHNESS_FEEDBACK_MINUTES",
        "60",
        "Feedback is 'live' while its newest report is at most this many minutes old.",
        parse=whole_number,
        minimum=1,
        maximum=525600,
    ),
    Setting(
        "IOC_FRESHNESS_DOSSIERS_MINUTES",
        "1440",
        "Dossiers are 'live' while the newest dossier is at most this many minutes old.",
        parse=whole_number,
        minimum=1,
        maximum=525600,
    ),
    Setting(
        "IOC_FRESHNESS_TRAFFIC_MINUTES",
        "30",
        "Traffic is 'live' while the newest sensor observation is at most this many minutes old.",
        parse=whole_number,
        minimum=1,
        maximum=525600,
    ),
    # Accounts and log-in (issue 19; dashboard/db/accounts.py, dashboard/web/auth.py).
    Setting(
        "IOC_ADMIN_PASSWORD_HASH",
        "",
        "Before accounts: PBKDF2 hash of the one administrator password (python -m dashboard hash-password). While no "
        "account 'admin' exists, the name admin with this password signs in and the account is created from it; "
        "afterwards the setting is not read (remove it; change the password with `users set-password admin`).",
    ),
    Setting(
        "IOC_VISITOR_ACCESS",
        "login",
        "What a visitor without an account sees: login (only the sign-in page) or public (the city figures: overview, "
        "traffic, map, forecast; no records, no agency ranking).",
        parse=choice("login", "public"),
    ),
    Setting(
        "IOC_SESSION_IDLE_MINUTES",
        "60",
        "A signed-in session ends after this many minutes without activity.",
        parse=whole_number,
        minimum=1,
        maximum=43_200,
    ),
    Setting(
        "IOC_LOGIN_LOCK_AFTER",
        "5",
        "After this many wrong passwords in a row for a name, further tries wait 30 s, then twice as long after each "
        "new failure (at most an hour).",
        parse=whole_number,
        minimum=1,
        maximum=100,
    ),
    Setting(
        "IOC_OIDC_ROLE_CLAIM",
        "",
        "With Streamlit's OIDC sign-in ([auth] in .streamlit/secrets.toml): the claim of the identity token holding "
        "the role (viewer, agency_officer, analyst, operator, admin); empty: OIDC sign-in is not used. See README.",
    ),
    # Import limits: a file beyond one is refused with a one-line message naming the limit and where it was hit.
    Setting("IOC_IMPORT_MAX_COLUMNS", "500", "Most columns an imported file may have.", parse=whole_number, minimum=1),
    Setting(
        "IOC_IMPORT_MAX_FIELD_CHARS",
        "1000000",
        "Most characters in one cell of an imported file.",
        parse=whole_number,
        minimum=1,
    ),
    Setting(
        "IOC_IMPORT_MAX_LINE_BYTES",
        "4194304",
        "Longest line (bytes) of an imported CSV/TSV or JSONL file.",
        parse=whole_number,
        minimum=1,
    ),
    Setting("IOC_IMPORT_MAX_ROWS", "20000000", "Most data rows in an imported file.", parse=whole_number, minimum=1),
    Setting(
        "IOC_IMPORT_MAX_CELLS",
        "200000000",
        "Most cells (rows x columns) in an imported file.",
        parse=whole_number,
        minimum=1,
    ),
    Setting(
        "IOC_IMPORT_MAX_XLSX_RATIO",
        "200",
        "Most an .xlsx part (above 1 MiB) may expand over its compressed size; beyond it, a zip bomb.",
        parse=whole_number,
        minimum=1,
    ),
    Setting(
        "IOC_IMPORT_MAX_XLSX_PART_MB",
        "1024",
        "Largest uncompressed part (zip member) of an imported .xlsx.",
        parse=whole_number,
        minimum=1,
    ),
    Setting(
        "IOC_IMPORT_MEMORY_MB",
        "4096",
        "Address space (RLIMIT_AS) of the process an upload's import runs in; 0: no limit.",
        parse=whole_number,
        minimum=0,
    ),
    Setting(
        "IOC_IMPORT_TIMEOUT_SECONDS",
        "3600",
        "An upload's import still running after this long is stopped.",
        parse=whole_number,
        minimum=1,
    ),
    Setting(
        "IOC_OPEN311_ENDPOINTS",
        "",
        "Open311 GeoReport v2 endpoints the worker pulls every 15 minutes: comma-separated `source=URL` pairs "
        "(URL of the v2 base or of its requests.json); a bare URL is named after its host.",
        parse=open311_endpoints,
    ),
    Setting(
        "IOC_INBOX_DIR",
        "data/inbox",
        "Folder whose feedback/, dossiers/ and traffic/ subfolders the worker imports every minute "
        "(relative paths are resolved from the project root).",
    ),
    Setting(
        "IOC_ALERT_RULES_FILE",
        "data/alert_rules.yaml",
        "YAML file of the alert rules (relative to the project folder); validated when the alerts job loads it.",
    ),
    # Deliveries (dashboard/jobs/channels.py): e-mail over SMTP; recipients in a YAML file (dashboard/jobs/recipients.py).
    Setting("IOC_SMTP_HOST", "", "SMTP server the worker sends e-mail through; empty: no e-mail is sent."),
    Setting("IOC_SMTP_PORT", "587", "Port of the SMTP server.", parse=whole_number, minimum=1, maximum=65535),
    Setting(
        "IOC_SMTP_SECURITY",
        "starttls",
        "How the SMTP connection is protected: none, starttls or ssl (implicit TLS, usually port 465).",
        parse=choice("none", "starttls", "ssl"),
    ),
    Setting("IOC_SMTP_USER", "", "SMTP user name; empty: no login."),
    Setting("IOC_SMTP_PASSWORD", "", "SMTP password (keep it in .streamlit/secrets.toml or the environment)."),
    Setting("IOC_SMTP_FROM", "ioc@localhost", "Sender address of the worker's e-mails."),
    Setting(
        "IOC_RECIPIENTS_FILE",
        "data/recipients.yaml",
        "YAML file of who receives alerts and the weekly briefing (relative paths: from the project root); "
        "a missing file means no recipients.",
    ),
    # The worker's schedules (cron, city time): one per job of dashboard/jobs/registry.py, same default.
    Setting("IOC_JOB_FORECASTS_CRON", "0 1 * * *", "When the worker refits the forecasts.", parse=cron),
    Setting("IOC_JOB_ALERTS_CRON", "*/5 * * * *", "When the worker checks the alert rules.", parse=cron),
    Setting("IOC_JOB_WEEKLY_BRIEFING_CRON", "0 7 * * 1", "When the worker makes the weekly briefing.", parse=cron),
    Setting("IOC_JOB_OPEN311_PULL_CRON", "*/15 * * * *", "When the worker pulls the Open311 endpoints.", parse=cron),
    Setting("IOC_JOB_INBOX_CRON", "* * * * *", "When the worker imports files from data/inbox/.", parse=cron),
    Setting(
        "IOC_JOB_DEMO_FEED_CRON", "*/5 * * * *", "When the worker appends demo records (demo data only).", parse=cron
    ),
    Setting("IOC_JOB_DUPLICATES_CRON", "*/10 * * * *", "When the worker flags likely duplicate reports.", parse=cron),
    # The Decision 766-style scorecard (dashboard/metrics/scorecard.py).
    Setting(
        "IOC_SCORECARD_FILE",
        "data/scorecard.yaml",
        "YAML file of the scorecard's indicators, points and thresholds (relative paths: from the project root).",
    ),
    Setting(
        "IOC_SCORECARD_MIN_CASES",
        "20",
        "Fewest cases (dossiers + feedback) a unit needs in the period to be ranked; smaller units are listed apart.",
        parse=whole_number,
        minimum=1,
        maximum=1_000_000,
    ),
    # Hotspots and likely duplicates of citizen reports (dashboard/metrics/hotspots.py).
    Setting(
        "IOC_HOTSPOT_RADIUS_M",
        "50",
        "Reports of the same category at most this many metres apart belong to one hotspot (and may be duplicates).",
        parse=whole_number,
        minimum=1,
        maximum=5_000,
    ),
    Setting(
        "IOC_HOTSPOT_DAYS",
        "30",
        "Days of reports a hotspot is looked for in (the last days of the page's period).",
        parse=whole_number,
        minimum=1,
        maximum=366,
    ),
    Setting(
        "IOC_HOTSPOT_MIN_REPORTS",
        "2",
        "Fewest reports a hotspot has.",
        parse=whole_number,
        minimum=2,
        maximum=10_000,
    ),
    Setting(
        "IOC_DUPLICATE_HOURS",
        "48",
        "A report of the same category within the hotspot radius and this many hours after an open one is flagged "
        "as its likely duplicate.",
        parse=whole_number,
        minimum=1,
        maximum=8_760,
    ),
    # Citizens' personal details and the access log (issue 19: dashboard/access/pii.py, dashboard/db/audit.py).
    Setting(
        "IOC_PII_ROLES",
        "admin",
        "Roles that see citizens' personal details (name, phone, e-mail, exact address) unmasked: comma-separated "
        "(viewer, agency_officer, analyst, operator, admin); empty: nobody.",
        parse=role_names,
    ),
    Setting(
        "IOC_AUDIT_RETENTION_DAYS",
        "365",
        "Days the access log keeps its rows; older ones are deleted by the worker's audit_retention job.",
        parse=whole_number,
        minimum=1,
        maximum=36_500,
    ),
    Setting("IOC_JOB_AUDIT_RETENTION_CRON", "30 2 * * *", "When the worker purges the old access log.", parse=cron),
)

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Problem:
    """One setting whose value cannot be used: where the value came from and what the setting allows."""

    setting: Setting
    value: str
    source: str  # "environment" or "secrets"
    allowed_key: str = ""  # what the value must be instead, when another setting rules it out (catalogue key)

    def text(self, lang: str = "en") -> str:
        shown = _hide_password(self.value) if self.setting.parse is postgresql_url else self.value
        return t(
            "settings.problem",
            lang,
            name=self.setting.name,
            value=repr(shown),
            source=t(f"settings.source.{self.source}", lang),
            allowed=t(self.allowed_key, lang) if self.allowed_key else self.setting.allowed(lang),
        )


class SettingError(ValueError):
    """Settings the dashboard cannot start with. The message (English, for the command line and logs) has one
    line per problem; `text(lang)` says the same in the interface's language."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return "\n".join(problem.text(lang) for problem in self.problems)


def _secrets() -> dict:
    path = PROJECT_ROOT / ".streamlit" / "secrets.toml"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _raw(name: str, secrets: dict | None = None) -> tuple[str, str]:
    """(value, where it came from: "environment", "secrets" or "default") of one registered setting."""
    if name not in SETTINGS_BY_NAME:
        raise KeyError(f"unknown setting {name!r}")
    if os.environ.get(name, "") != "":
        return os.environ[name], "environment"
    secrets = _secrets() if secrets is None else secrets
    if name in secrets:
        return str(secrets[name]), "secrets"
    return SETTINGS_BY_NAME[name].default, "default"


def get(name: str) -> str:
    """Current value of one registered setting, as written (`value` gives it typed)."""
    return _raw(name)[0]


def value(name: str) -> Any:
    """Current value of one registered setting, parsed and within its bounds; SettingError otherwise."""
    setting = SETTINGS_BY_NAME.get(name)
    raw, source = _raw(name)
    try:
        return setting.read(raw)
    except ValueError:
        raise SettingError([Problem(setting, raw, source)]) from None


def problems() -> list[Problem]:
    """Every setting whose current value cannot be used (empty when all are fine)."""
    secrets = _secrets()
    found = []
    for setting in SETTINGS:
        raw, source = _raw(setting.name, secrets)
        try:
            setting.read(raw)
        except ValueError:
            found.append(Problem(setting, raw, source))
    if (problem := _read_url_problem(secrets)) is not None and not any(p.setting is problem.setting for p in found):
        found.append(problem)
    return found


def _read_url_problem(secrets: dict | None = None) -> Problem | None:
    """A read replica set while the primary database is not PostgreSQL (DuckDB has no replicas)."""
    raw, source = _raw("IOC_DATABASE_READ_URL", secrets)
    if not raw.strip() or _raw("IOC_DATABASE_URL", secrets)[0].strip().startswith("postgresql"):
        return None
    return Problem(SETTINGS_BY_NAME["IOC_DATABASE_READ_URL"], raw, source, "settings.allowed.read_url_needs_postgresql")


def check() -> None:
    """Raise SettingError naming every setting whose value cannot be used (call once at start-up: it is cheap)."""
    if found := problems():
        raise SettingError(found)


def database_url() -> str:
    """The database URL with a relative DuckDB path made absolute against the project root."""
    url = get("IOC_DATABASE_URL")
    prefix = "duckdb:///"
    if url.startswith(prefix):
        path = url[len(prefix) :]
        if path and path != ":memory:" and not path.startswith("/"):
            return prefix + str(PROJECT_ROOT / path)
    return url


def database_read_url() -> str:
    """The URL the pages read from: IOC_DATABASE_READ_URL (a PostgreSQL replica), or the database URL when it is
    empty. SettingError when it is set beside a primary that is not PostgreSQL."""
    read = value("IOC_DATABASE_READ_URL")
    if not read:
        return database_url()
    if (problem := _read_url_problem()) is not None:
        raise SettingError([problem])
    return read


def timezone() -> str:
    return value("IOC_TIMEZONE")


def city() -> str:
    return get("IOC_CITY")


def default_language() -> str:
    return value("IOC_LANGUAGE")


def query_ttl_seconds() -> int:
    return value("IOC_QUERY_TTL_SECONDS")


def statement_timeout_seconds() -> int:
    return value("IOC_STATEMENT_TIMEOUT_SECONDS")


def connect_timeout_seconds() -> int:
    return value("IOC_CONNECT_TIMEOUT_SECONDS")


def write_lock_timeout_seconds() -> float:
    return value("IOC_WRITE_LOCK_TIMEOUT_SECONDS")


def pii_roles() -> frozenset[str]:
    """The roles that see citizens' personal details unmasked (IOC_PII_ROLES)."""
    return frozenset(value("IOC_PII_ROLES"))


def audit_retention_days() -> int:
    return value("IOC_AUDIT_RETENTION_DAYS")
