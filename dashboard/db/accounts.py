"""Accounts: users and their scopes, browser sessions, kiosk tokens and the log-in lockout (issue 19).

The tables live in the operational store (`dashboard.db.ops`: SQLite beside a DuckDB file, the project database on
PostgreSQL) and are created with the other ops tables, also in an existing store (create_all adds missing tables only).

* Passwords: argon2id (argon2-cffi) for every new hash. A PBKDF2 hash of the older form
  (`pbkdf2_sha256$…`, `dashboard.passwords`, the IOC_ADMIN_PASSWORD_HASH setting) is still verified and replaced by an
  argon2id hash at the next successful log-in.
* Sessions and kiosk tokens: the browser keeps `secrets.token_urlsafe(32)`; the store keeps only its SHA-256, so a
  copy of the database opens no session.
* Lockout: after `lock_after` wrong passwords for a name (known or not: the answer never tells which names exist)
  further tries are refused without checking the password until `lock_seconds(n)` passed (30 s · 2^(n−lock_after),
  at most an hour).

Every function takes the time as `now` (naive local time, like every timestamp of the project), so tests move a clock
instead of sleeping.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine

from dashboard.access.identity import User
from dashboard.access.roles import ACCOUNT_ROLES, Role, parse_role
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db.ops import ops_metadata
from dashboard.passwords import verify_password as verify_pbkdf2

log = logging.getLogger("dashboard.accounts")

users = Table(
    "users",
    ops_metadata,
    Column("name", String(64), primary_key=True),  # lower case, [a-z0-9._-]
    Column("role", String(16), nullable=False),
    Column("display_name", String(255)),
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_login_at", DateTime),
)

# An officer's agencies and wards (union: a case is theirs when its agency OR its area is listed).
user_scopes = Table(
    "user_scopes",
    ops_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # agency, area
    Column("value", String(255), nullable=False),
    Index("ix_user_scopes_user", "user_name"),
)

sessions = Table(
    "sessions",
    ops_metadata,
    Column("token_sha256", String(64), primary_key=True),
    Column("user_name", String(64), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("ended_at", DateTime),
    Index("ix_sessions_user", "user_name"),
)

kiosk_tokens = Table(
    "kiosk_tokens",
    ops_metadata,
    Column("label", String(64), primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("created_by", String(64)),
    Column("created_at", DateTime, nullable=False),
    Column("last_used_at", DateTime),
    Column("revoked_at", DateTime),
)

# Wrong passwords in a row per name typed (lower case), known or not.
login_failures = Table(
    "login_failures",
    ops_metadata,
    Column("name", String(255), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", DateTime, nullable=False),
    Column("locked_until", DateTime),
)

ACCOUNT_TABLES = (users, user_scopes, sessions, kiosk_tokens, login_failures)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
LOCK_BASE_SECONDS = 30
LOCK_MAX_SECONDS = 3600
_HASHER = PasswordHasher()  # argon2id, the library's recommended parameters
_DUMMY_HASH = _HASHER.hash("not a password")  # verified for unknown names so the answer takes as long


class AccountError(ValueError):
    """A request the store refuses (unknown user, bad name, an officer without scope…): the message says why."""


# ---------------------------------------------------------------- passwords
def hash_password(password: str) -> str:
    if not password:
        raise AccountError("the password is empty")
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """argon2id or the older PBKDF2 form; False for a wrong password or a malformed hash (never raises)."""
    if not isinstance(stored, str) or not isinstance(password, str):
        return False
    stored = stored.strip()
    if stored.startswith("$argon2"):
        try:
            return _HASHER.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    return verify_pbkdf2(password, stored)


def needs_rehash(stored: str) -> bool:
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- users
def normalise_name(name: str) -> str:
    return (name or "").strip().lower()


def check_name(name: str) -> str:
    name = normalise_name(name)
    if not NAME_PATTERN.match(name):
        raise AccountError(
            f"invalid user name {name!r}: 1-64 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def scope_for(role: str | Role, agencies: Iterable[str], areas: Iterable[str]) -> Scope:
    """The scope of an account of `role`: an officer's agencies/areas (at least one), the whole city otherwise."""
    role = parse_role(str(role))
    agencies, areas = tuple(agencies), tuple(areas)
    if role is Role.AGENCY_OFFICER:
        try:
            return Scope.of(agencies, areas)
        except ValueError:
            raise AccountError("an agency_officer needs at least one --agency or --area") from None
    if agencies or areas:
        raise AccountError(f"--agency and --area are for agency_officer only; a {role} sees the whole city")
    return WHOLE_CITY


def add_user(
    engine: Engine,
    name: str,
    role: str | Role,
    password: str,
    *,
    agencies: Iterable[str] = (),
    areas: Iterable[str] = (),
    display_name: str = "",
    now: datetime | None = None,
) -> User:
    """Create an account; AccountError when the name exists, is invalid, or an officer has no scope."""
    name = check_name(name)
    role = parse_role(str(role)) if not isinstance(role, Role) else role
    if role not in ACCOUNT_ROLES:
        raise AccountError(f"role {role} is not an account role; expected one of: {', '.join(ACCOUNT_ROLES)}")
    scope = scope_for(role, agencies, areas)
    stored = password if password.startswith(("$argon2", "pbkdf2_sha256$")) else hash_password(password)
    now = now or datetime.now()
    with engine.begin() as connection:
        if connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise AccountError(f"user {name!r} already exists")
        connection.execute(
            insert(users).values(
                name=name,
                role=str(role),
                display_name=display_name.strip() or None,
                password_hash=stored,
                disabled=False,
                created_at=now,
            )
        )
        rows = [{"user_name": name, "kind": "agency", "value": a} for a in scope.agencies]
        rows += [{"user_name": name, "kind": "area", "value": a} for a in scope.areas]
        if rows:
            connection.execute(insert(user_scopes), rows)
    return User(name, role, scope, display_name.strip())


def _scope_rows(connection, name: str) -> Scope:
    rows = connection.execute(select(user_scopes.c.kind, user_scopes.c.value).where(user_scopes.c.user_name == name))
    agencies, areas = [], []
    for kind, value in rows:
        (agencies if kind == "agency" else areas).append(value)
    return Scope.of(agencies, areas) if agencies or areas else WHOLE_CITY


def _user_from_row(connection, row, pii_roles: frozenset[str]) -> User:
    role = Role(row.role)
    scope = _scope_rows(connection, row.name) if role is Role.AGENCY_OFFICER else WHOLE_CITY
    return User(row.name, role, scope, row.display_name or "", str(role) in pii_roles)


def load_user(ops_engine: Engine, name: str, *, pii_roles: frozenset[str] = frozenset({"admin"})) -> User | None:
    """The user called `name` (None: unknown or disabled)."""
    with ops_engine.connect() as connection:
        row = connection.execute(select(users).where(users.c.name == normalise_name(name))).first()
        if row is None or row.disabled:
            return None
        return _user_from_row(connection, row, pii_roles)


@dataclass(frozen=True)
class Account:
    """One row of `users list`."""

    name: str
    role: str
    scope: str
    display_name: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None
    limits: Scope = WHOLE_CITY  # the scope itself (`scope` is its plain-text form for the CLI)


def list_users(engine: Engine) -> list[Account]:
    with engine.connect() as connection:
        rows = connection.execute(select(users).order_by(users.c.name)).all()
        scopes = {row.name: _scope_rows(connection, row.name) for row in rows}
        return [
            Account(
                row.name,
                row.role,
                scopes[row.name].describe(),
                row.display_name or "",
                bool(row.disabled),
                row.created_at,
                row.last_login_at,
                scopes[row.name],
            )
            for row in rows
        ]


def account_exists(engine: Engine, name: str) -> bool:
    """Whether an account (enabled or not) is called `name`."""
    with engine.connect() as connection:
        return connection.execute(select(users.c.name).where(users.c.name == normalise_name(name))).first() is not None


def count_users(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(users)).scalar_one()


def _require(connection, name: str):
    row = connection.execute(select(users).where(users.c.name == normalise_name(name))).first()
    if row is None:
        raise AccountError(f"no user called {normalise_name(name)!r}")
    return row


def disable_user(engine: Engine, name: str, *, now: datetime | None = None) -> int:
    """Disable the account and end its sessions at once; returns the number of sessions ended."""
    now = now or datetime.now()
    with engine.begin() as connection:
        row = _require(connection, name)
        connection.execute(update(users).where(users.c.name == row.name).values(disabled=True))
        return _end_sessions(connection, row.name, now)


def enable_user(engine: Engine, name: str) -> None:
    with engine.begin() as connection:
        row = _require(connection, name)
        connection.execute(update(users).where(users.c.name == row.name).values(disabled=False))


def set_password(engine: Engine, name: str, password: str, *, now: datetime | None = None) -> int:
    """A new password; every session of the user ends (returns how many) and the lockout for the name is lifted."""
    stored = hash_password(password)
    now = now or datetime.now()
    with engine.begin() as connection:
        row = _require(connection, name)
        connection.execute(update(users).where(users.c.name == row.name).values(password_hash=stored))
        connection.execute(delete(login_failures).where(login_failures.c.name == row.name))
        return _end_sessions(connection, row.name, now)


# ---------------------------------------------------------------- sessions
def create_session(engine: Engine, name: str, *, now: datetime | None = None) -> str:
    """A new session for `name`; returns the token the browser keeps (only its SHA-256 is stored)."""
    now = now or datetime.now()
    token = new_token()
    with engine.begin() as connection:
        row = _require(connection, name)
        connection.execute(
            insert(sessions).values(
                token_sha256=token_digest(token), user_name=row.name, created_at=now, last_seen_at=now
            )
        )
    return token


def session_user(
    engine: Engine,
    token: str,
    *,
    idle_minutes: int = 60,
    pii_roles: frozenset[str] = frozenset({"admin"}),
    now: datetime | None = None,
) -> User | None:
    """The user of a live session (None: unknown, ended, idle too long, or the user is disabled)."""
    if not token:
        return None
    now = now or datetime.now()
    digest = token_digest(token)
    with engine.connect() as connection:
        row = connection.execute(select(sessions).where(sessions.c.token_sha256 == digest)).first()
        if row is None or row.ended_at is not None:
            return None
        if now - row.last_seen_at > timedelta(minutes=idle_minutes):
            return None
        account = connection.execute(select(users).where(users.c.name == row.user_name)).first()
        if account is None or account.disabled:
            return None
        user = _user_from_row(connection, account, pii_roles)
    if now - row.last_seen_at >= SEEN_EVERY:
        with engine.begin() as connection:
            connection.execute(update(sessions).where(sessions.c.token_sha256 == digest).values(last_seen_at=now))
    return user


def end_session(engine: Engine, token: str, *, now: datetime | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(sessions)
            .where(sessions.c.token_sha256 == token_digest(token), sessions.c.ended_at.is_(None))
            .values(ended_at=now or datetime.now())
        )


def _end_sessions(connection, name: str, now: datetime) -> int:
    result = connection.execute(
        update(sessions).where(sessions.c.user_name == name, sessions.c.ended_at.is_(None)).values(ended_at=now)
    )
    return result.rowcount or 0


def end_all_sessions(engine: Engine, name: str, *, now: datetime | None = None) -> int:
    """Log the user out everywhere; returns the number of sessions ended."""
    with engine.begin() as connection:
        row = _require(connection, name)
        return _end_sessions(connection, row.name, now or datetime.now())


# ---------------------------------------------------------------- log-in and lockout
@dataclass(frozen=True)
class LoginResult:
    outcome: str  # ok, wrong, locked
    name: str
    token: str = ""
    wait_seconds: int = 0  # locked: how long until the next try is checked
    failures: int = 0  # wrong passwords in a row for the name so far
    locked_now: bool = False  # this failure started (or extended) the lock

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def lock_seconds(failures: int, lock_after: int) -> int:
    """How long the name stays locked after `failures` wrong passwords in a row (0 below `lock_after`)."""
    if failures < lock_after:
        return 0
    return min(LOCK_MAX_SECONDS, LOCK_BASE_SECONDS * 2 ** (failures - lock_after))


def authenticate(
    engine: Engine,
    name: str,
    password: str,
    *,
    lock_after: int = 5,
    legacy_admin_hash: str = "",
    now: datetime | None = None,
) -> LoginResult:
    """Check a log-in; on success a new session token. Unknown, disabled and wrong all answer `wrong`.

    `legacy_admin_hash` (the old IOC_ADMIN_PASSWORD_HASH setting): while no account `admin` exists, the name `admin`
    with that password logs in, and the account `admin` is created with the same hash (migrated once)."""
    now = now or datetime.now()
    key = normalise_name(name)[:255]
    with engine.connect() as connection:
        failure = connection.execute(select(login_failures).where(login_failures.c.name == key)).first()
        if failure is not None and failure.locked_until is not None and now < failure.locked_until:
            wait = int((failure.locked_until - now).total_seconds() + 0.999)
            return LoginResult("locked", key, wait_seconds=max(wait, 1), failures=failure.failures)
        account = connection.execute(select(users).where(users.c.name == key)).first()
    if account is None and key == "admin" and legacy_admin_hash:
        good = verify_password(password, legacy_admin_hash)
        if good:
            add_user(engine, "admin", Role.ADMIN, legacy_admin_hash.strip(), now=now)
            log.warning("account 'admin' created from IOC_ADMIN_PASSWORD_HASH; the setting is no longer read")
            account = _fetch(engine, "admin")
    elif account is None:
        verify_password(password, _DUMMY_HASH)  # as slow as a real check
        good = False
    else:
        good = verify_password(password, account.password_hash) and not account.disabled
    if not good:
        return _failed(engine, key, failure, lock_after, now)
    with engine.begin() as connection:
        connection.execute(delete(login_failures).where(login_failures.c.name == key))
        values = {"last_login_at": now}
        if needs_rehash(account.password_hash):
            values["password_hash"] = hash_password(password)
        connection.execute(update(users).where(users.c.name == key).values(**values))
    return LoginResult("ok", key, token=create_session(engine, key, now=now))


def _fetch(engine: Engine, name: str):
    with engine.connect() as connection:
        return connection.execute(select(users).where(users.c.name == name)).first()


def _failed(engine: Engine, key: str, failure, lock_after: int, now: datetime) -> LoginResult:
    failures = (failure.failures if failure is not None else 0) + 1
    wait = lock_seconds(failures, lock_after)
    locked_until = now + timedelta(seconds=wait) if wait else None
    with engine.begin() as connection:
        if failure is None:
            connection.execute(
                insert(login_failures).values(
                    name=key, failures=failures, last_failed_at=now, locked_until=locked_until
                )
            )
        else:
            connection.execute(
                update(login_failures)
                .where(login_failures.c.name == key)
                .values(failures=failures, last_failed_at=now, locked_until=locked_until)
            )
    return LoginResult("wrong", key, wait_seconds=wait, failures=failures, locked_now=bool(wait))


# ---------------------------------------------------------------- audit (S19c's log; never raises)
def audit(engine: Engine, *, actor: str, role: str, action: str, target: str = "", details: dict | None = None) -> None:
    """Record an account event in the audit log (`dashboard.db.audit.record`), logged only when that is missing."""
    try:
        from dashboard.db import audit as audit_log
    except ImportError:
        log.info("audit %s by %s (%s) on %s: %s", action, actor, role, target, details or {})
        return
    audit_log.record(engine, actor=actor, role=role, action=action, target=target, details=details)
