"""Accounts on DuckDB (ops store = SQLite beside the file) and PostgreSQL: the `users` CLI, argon2id, the lockout with
growing delays (a moved clock, no sleeps), idle expiry, log-out everywhere, a disabled user, kiosk tokens."""

from __future__ import annotations

import io
import sys
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select

from dashboard import cli, passwords
from dashboard.access.roles import Role
from dashboard.access.scope import Scope
from dashboard.db import accounts, kiosk_tokens
from dashboard.db.ops import ops_engine

T0 = datetime(2026, 11, 20, 8, 0)


@pytest.fixture
def store(any_db_url, monkeypatch):
    """The ops store of a fresh database with no account (PostgreSQL keeps its ops tables between tests)."""
    monkeypatch.setenv("IOC_DATABASE_URL", any_db_url)
    engine = ops_engine(any_db_url)
    with engine.begin() as connection:
        for table in accounts.ACCOUNT_TABLES:
            connection.execute(delete(table))
    return engine


def users_cli(monkeypatch, capsys, *args: str, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(["users", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_add_list_disable_set_password_and_log_out_everywhere(store, monkeypatch, capsys):
    code, _, err = users_cli(monkeypatch, capsys, "add", "lan", "--role", "agency_officer", stdin="pw\n")
    assert (code, err.strip()) == (2, "error: an agency_officer needs at least one --agency or --area")
    code, _, err = users_cli(monkeypatch, capsys, "add", "x", "--role", "analyst", "--agency", "A", stdin="pw\n")
    assert code == 2 and "for agency_officer only" in err
    code, _, err = users_cli(monkeypatch, capsys, "add", "Lan Anh", "--role", "viewer", stdin="pw\n")
    assert code == 2 and "invalid user name 'lan anh'" in err
    code, out, _ = users_cli(
        monkeypatch,
        capsys,
        "add",
        "Lan",
        "--role",
        "agency_officer",
        "--agency",
        "UBND",
        "--area",
        "P01",
        stdin="bí mật\n",
    )
    assert (code, out) == (0, "user lan added: agency_officer, agencies: UBND; areas: P01\n")
    code, _, err = users_cli(monkeypatch, capsys, "add", "lan", "--role", "viewer", stdin="x\n")
    assert (code, err.strip()) == (2, "error: user 'lan' already exists")
    code, _, err = users_cli(monkeypatch, capsys, "add", "boss", "--role", "admin", stdin="\n")
    assert (code, err.strip()) == (2, "error: the password is empty")
    assert users_cli(monkeypatch, capsys, "add", "boss", "--role", "admin", stdin="chủ tịch\n")[0] == 0

    user = accounts.load_user(store, "LAN", pii_roles=frozenset({"admin"}))
    assert user.role is Role.AGENCY_OFFICER and user.scope == Scope.of(["UBND"], ["P01"]) and not user.sees_pii
    assert accounts.load_user(store, "boss", pii_roles=frozenset({"admin"})).sees_pii
    with store.connect() as connection:
        stored = connection.execute(
            select(accounts.users.c.password_hash).where(accounts.users.c.name == "lan")
        ).scalar()
    assert stored.startswith("$argon2id$") and accounts.verify_password("bí mật", stored)

    first = accounts.authenticate(store, "lan", "bí mật", now=T0)
    second = accounts.authenticate(store, "lan", "bí mật", now=T0)
    assert first.ok and second.ok and first.token != second.token
    code, out, _ = users_cli(monkeypatch, capsys, "list")
    assert out.splitlines() == [
        "name  role            scope                       disabled  last login",
        "boss  admin           whole city                  no        -",
        "lan   agency_officer  agencies: UBND; areas: P01  no        2026-11-20 08:00",
        "2 users",
    ]

    code, out, _ = users_cli(monkeypatch, capsys, "logout-all", "lan")
    assert (code, out) == (0, "2 sessions of lan ended\n")
    assert accounts.session_user(store, first.token, now=T0) is None
    third = accounts.authenticate(store, "lan", "bí mật", now=T0)
    code, out, _ = users_cli(monkeypatch, capsys, "set-password", "lan", stdin="mới\n")
    assert (code, out) == (0, "password of lan changed; 1 sessions ended\n")
    assert accounts.session_user(store, third.token, now=T0) is None
    assert not accounts.authenticate(store, "lan", "bí mật", now=T0).ok
    live = accounts.authenticate(store, "lan", "mới", now=T0)
    assert live.ok

    code, out, _ = users_cli(monkeypatch, capsys, "disable", "lan")
    assert (code, out) == (0, "user lan disabled; 1 sessions ended\n")
    assert accounts.session_user(store, live.token, now=T0) is None  # at once, not at the next idle check
    assert accounts.load_user(store, "lan") is None
    assert accounts.authenticate(store, "lan", "mới", now=T0).outcome == "wrong"  # the same answer as a bad password
    assert users_cli(monkeypatch, capsys, "set-password", "nobody", stdin="x\n")[2].strip() == (
        "error: no user called 'nobody'"
    )


def test_cli_refuses_an_agency_or_area_the_data_does_not_know(tiny_engine, monkeypatch, capsys):
    url = str(tiny_engine.url.render_as_string(hide_password=False))
    tiny_engine.dispose()  # the CLI opens the file itself
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    with ops_engine(url).begin() as connection:
        connection.execute(delete(accounts.users))
        connection.execute(delete(accounts.user_scopes))
    code, _, err = users_cli(monkeypatch, capsys, "add", "a", "--role", "agency_officer", "--agency", "Sở Y tế")
    assert code == 2 and err.startswith("error: unknown agency 'Sở Y tế'; known agencies: ")
    assert "UBND" in err and "X" in err


def test_lockout_after_five_failures_with_growing_delays(store):
    accounts.add_user(store, "minh", "viewer", "đúng")
    for n in range(1, 5):
        result = accounts.authenticate(store, "minh", "sai", now=T0)
        assert (result.outcome, result.failures, result.wait_seconds) == ("wrong", n, 0)
    fifth = accounts.authenticate(store, "minh", "sai", now=T0)
    assert (fifth.outcome, fifth.failures, fifth.wait_seconds, fifth.locked_now) == ("wrong", 5, 30, True)
    locked = accounts.authenticate(store, "minh", "đúng", now=T0 + timedelta(seconds=29))  # not even checked
    assert (locked.outcome, locked.wait_seconds, locked.token) == ("locked", 1, "")
    sixth = accounts.authenticate(store, "minh", "sai", now=T0 + timedelta(seconds=30))
    assert (sixth.failures, sixth.wait_seconds) == (6, 60)
    seventh = accounts.authenticate(store, "minh", "sai", now=T0 + timedelta(seconds=90))
    assert (seventh.failures, seventh.wait_seconds) == (7, 120)
    assert [accounts.lock_seconds(n, 5) for n in (4, 5, 6, 10, 11, 12, 40)] == [0, 30, 60, 960, 1920, 3600, 3600]
    ok = accounts.authenticate(store, "minh", "đúng", now=T0 + timedelta(seconds=210))
    assert ok.ok
    assert accounts.authenticate(store, "minh", "sai", now=T0 + timedelta(seconds=211)).failures == 1  # reset
    # A name nobody has locks the same way: the answers never tell which names exist.
    answers = [accounts.authenticate(store, "khong-co", "x", now=T0).outcome for _ in range(6)]
    assert answers == ["wrong"] * 5 + ["locked"]


def test_idle_sessions_expire_and_last_seen_is_written_at_most_once_a_minute(store):
    accounts.add_user(store, "hoa", "analyst", "pw")
    token = accounts.create_session(store, "hoa", now=T0)

    def last_seen():
        with store.connect() as connection:
            return connection.execute(select(accounts.sessions.c.last_seen_at)).scalar()

    assert accounts.session_user(store, token, idle_minutes=60, now=T0 + timedelta(seconds=30)).name == "hoa"
    assert last_seen() == T0  # less than a minute: not written
    assert accounts.session_user(store, token, idle_minutes=60, now=T0 + timedelta(minutes=59)).name == "hoa"
    assert last_seen() == T0 + timedelta(minutes=59)
    assert accounts.session_user(store, token, idle_minutes=60, now=T0 + timedelta(minutes=118)).name == "hoa"
    assert accounts.session_user(store, token, idle_minutes=60, now=T0 + timedelta(minutes=179)) is None
    assert accounts.session_user(store, "not-a-token", now=T0) is None
    accounts.end_session(store, accounts.create_session(store, "hoa", now=T0), now=T0)
    with store.connect() as connection:
        digests = connection.execute(select(accounts.sessions.c.token_sha256)).scalars().all()
    assert token not in digests and accounts.token_digest(token) in digests  # only the SHA-256 is stored


def test_a_pbkdf2_password_is_verified_and_replaced_by_argon2id(store):
    accounts.add_user(store, "cu", "operator", passwords.hash_password("cũ", iterations=1_000))
    assert accounts.authenticate(store, "cu", "cũ", now=T0).ok
    with store.connect() as connection:
        stored = connection.execute(select(accounts.users.c.password_hash)).scalar()
    assert stored.startswith("$argon2id$") and accounts.verify_password("cũ", stored)


def test_kiosk_tokens_from_the_cli(store, monkeypatch, capsys):
    code, out, err = users_cli(monkeypatch, capsys, "kiosk-token", "add", "Tuong-1")
    token = out.strip()
    assert code == 0 and len(token) == 43 and f"/wall?token={token}" in err
    assert kiosk_tokens.kiosk_user(store, token, now=T0).name == "kiosk:tuong-1"
    assert users_cli(monkeypatch, capsys, "kiosk-token", "add", "tuong-1")[2].startswith(
        "error: kiosk token 'tuong-1' already exists"
    )
    code, out, _ = users_cli(monkeypatch, capsys, "kiosk-token", "list")
    assert out.splitlines()[1].split()[:2] == ["tuong-1", str(datetime.now().date())]
    assert users_cli(monkeypatch, capsys, "kiosk-token", "revoke", "tuong-1")[1] == "kiosk token tuong-1 revoked\n"
    assert kiosk_tokens.kiosk_user(store, token, now=T0) is None
    assert users_cli(monkeypatch, capsys, "kiosk-token", "revoke", "tuong-1")[0] == 2
    renewed = users_cli(monkeypatch, capsys, "kiosk-token", "add", "tuong-1")[1].strip()  # the label is free again
    assert kiosk_tokens.kiosk_user(store, renewed, now=T0) is not None
    assert kiosk_tokens.kiosk_user(store, token, now=T0) is None
