"""Signing in (AppTest): the form, wrong passwords and the lockout message, log-out and log-out everywhere, the old
IOC_ADMIN_PASSWORD_HASH migrated to the account `admin`, and the PBKDF2 hashes `hash-password` still makes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from page_support import new_app
from streamlit.testing.v1 import AppTest

from dashboard import config, passwords
from dashboard.db import accounts
from dashboard.db.ops import ops_engine
from dashboard.i18n import t
from dashboard.testing.accounts import SESSION_KEY

FAST = 1_000  # PBKDF2 iterations for tests; the default (390k) takes ~0.3 s per hash


# ---------------------------------------------------------------- PBKDF2 (hash-password, the old setting)
def test_pbkdf2_round_trip_and_malformed_values():
    stored = passwords.hash_password("mật khẩu đúng", iterations=FAST, salt=bytes(range(16)))
    algorithm, iterations, salt_hex, hash_hex = stored.split("$")
    assert (algorithm, iterations, salt_hex, len(hash_hex)) == ("pbkdf2_sha256", "1000", bytes(range(16)).hex(), 64)
    assert passwords.verify_password("mật khẩu đúng", stored) and not passwords.verify_password("sai", stored)
    for bad in ("", "garbage", "pbkdf2_sha256$10$0011$" + "00" * 32, "md5$1000$0011$" + "00" * 32, None, 42):
        assert passwords.verify_password("x", bad) is False
        assert accounts.verify_password("x", bad) is False
    with pytest.raises(ValueError):
        passwords.hash_password("")


def test_cli_hash_password_still_prints_a_verifiable_line():
    result = subprocess.run(
        [sys.executable, "-m", "dashboard", "hash-password"],
        input="hunter2 mạnh\n",
        capture_output=True,
        text=True,
        check=True,
        cwd=config.PROJECT_ROOT,
    )
    line = result.stdout.strip()
    assert line.startswith('IOC_ADMIN_PASSWORD_HASH = "pbkdf2_sha256$') and line.endswith('"')
    assert accounts.verify_password("hunter2 mạnh", line.split('"')[1])


# ---------------------------------------------------------------- the sign-in page
def _sign_in(app: AppTest, name: str, password: str) -> AppTest:
    app.text_input(key="login_name").input(name)
    app.text_input(key="login_password").input(password)
    next(b for b in app.button if b.label == t("auth.submit")).click()
    return app.run()


@pytest.fixture
def store_url(tmp_path, demo_db_url):
    """A copy of the demo database whose ops store starts empty (the sign-in tests add their own accounts)."""
    import shutil

    from dashboard.db.engine import duckdb_file

    copy = tmp_path / "login.duckdb"
    shutil.copy(duckdb_file(demo_db_url), copy)
    return f"duckdb:///{copy}"


def test_a_visitor_sees_only_the_sign_in_page_and_how_to_make_the_first_admin(monkeypatch, store_url):
    monkeypatch.delenv("IOC_ADMIN_PASSWORD_HASH", raising=False)
    app = new_app(monkeypatch, store_url, role=None)
    app.query_params["lang"] = "en"
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert [m.value for m in app.title] == [t("auth.heading", "en")]
    assert [i.body for i in app.info] == [t("auth.no_account", "en")]
    assert "users add NAME --role admin" in app.info[0].body
    app.sidebar.segmented_control(key="lang").set_value("vi").run()  # the language toggle works on the page
    assert [m.value for m in app.title] == [t("auth.heading", "vi")]


def test_sign_in_wrong_then_right_then_out(monkeypatch, store_url):
    engine = ops_engine(store_url)
    accounts.add_user(engine, "lan", "analyst", "mật khẩu đúng", display_name="Nguyễn Lan")
    app = new_app(monkeypatch, store_url, role=None)
    app.run()
    assert not [i for i in app.info if i.body == t("auth.no_account")]  # an account exists
    _sign_in(app, "lan", "sai")
    assert [e.body for e in app.error] == [t("auth.wrong")]
    _sign_in(app, "LAN", "mật khẩu đúng")
    assert not app.exception and not app.error
    assert app.session_state[SESSION_KEY]
    caption = " ".join(c.value for c in app.sidebar.caption)
    assert "Nguyễn Lan" in caption and t("role.analyst") in caption and t("auth.scope_whole") in caption
    assert [m.value for m in app.title] != [t("auth.heading")]  # the overview, not the sign-in page
    token = app.session_state[SESSION_KEY]
    assert accounts.session_user(engine, token).name == "lan"
    next(b for b in app.sidebar.button if b.label == t("auth.logout")).click().run()
    assert [m.value for m in app.title] == [t("auth.heading")]
    assert accounts.session_user(engine, token) is None  # the session ended in the store, not only here


def test_five_wrong_passwords_lock_the_name_and_the_page_says_for_how_long(monkeypatch, store_url):
    accounts.add_user(ops_engine(store_url), "minh", "viewer", "đúng")
    app = new_app(monkeypatch, store_url, role=None)
    app.run()
    for _ in range(4):
        _sign_in(app, "minh", "sai")
        assert [e.body for e in app.error] == [t("auth.wrong")]
    _sign_in(app, "minh", "sai")
    assert [e.body for e in app.error] == [t("auth.locked", wait=t("auth.wait_seconds", n="30"))]
    _sign_in(app, "minh", "đúng")  # refused while locked, without checking the password
    assert app.error[0].body.startswith(t("auth.locked", wait="\x00").split("\x00")[0])
    assert SESSION_KEY not in app.session_state or not app.session_state[SESSION_KEY]


def test_log_out_everywhere_ends_the_other_sessions(monkeypatch, store_url):
    engine = ops_engine(store_url)
    accounts.add_user(engine, "hoa", "operator", "pw")
    other = accounts.create_session(engine, "hoa")
    app = new_app(monkeypatch, store_url, role=None)
    app.session_state[SESSION_KEY] = accounts.create_session(engine, "hoa")
    app.run()
    assert accounts.session_user(engine, other).name == "hoa"
    next(b for b in app.sidebar.button if b.label == t("auth.logout_all")).click().run()
    assert [m.value for m in app.title] == [t("auth.heading")]
    assert accounts.session_user(engine, other) is None


def test_the_old_admin_password_setting_becomes_the_admin_account(monkeypatch, store_url):
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", passwords.hash_password("cũ", iterations=FAST))
    engine = ops_engine(store_url)
    assert not accounts.account_exists(engine, "admin")
    app = new_app(monkeypatch, store_url, role=None)
    app.run()
    assert not app.info  # no "make the first admin" hint while the old setting can sign in
    _sign_in(app, "admin", "cũ")
    assert not app.error, [e.body for e in app.error]
    assert any(t("role.admin") in c.value for c in app.sidebar.caption)
    migrated = next(a for a in accounts.list_users(engine) if a.name == "admin")
    assert migrated.role == "admin"
    with engine.connect() as connection:
        stored = connection.execute(accounts.users.select().where(accounts.users.c.name == "admin")).first()
    assert stored.password_hash.startswith("$argon2id$")  # rehashed at the first sign-in
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", passwords.hash_password("khác", iterations=FAST))
    assert not accounts.authenticate(engine, "admin", "khác", legacy_admin_hash="").ok  # the setting is not read
    assert accounts.authenticate(engine, "admin", "cũ").ok


def test_the_accounts_page_adds_an_officer_and_makes_a_kiosk_token_shown_once(monkeypatch, store_url):
    from dashboard.db import kiosk_tokens
    from dashboard.navigation import PAGES_BY_KEY

    app = new_app(monkeypatch, store_url, role="admin")
    app.run()
    app.switch_page(str(PAGES_BY_KEY["users"].path)).run()
    assert not app.exception and not app.error, [e.body for e in app.error]
    app.text_input(key="users_add_name").input("Lan")
    app.selectbox(key="users_add_role").set_value("agency_officer")
    app.text_input(key="users_add_password").input("mật khẩu")
    agency = app.multiselect(key="users_add_agencies").options[0]
    app.multiselect(key="users_add_agencies").select(agency)
    next(b for b in app.button if b.label == t("users.add.submit")).click().run()
    assert [s.body for s in app.success] == [t("users.added", name="lan")]
    user = accounts.load_user(ops_engine(store_url), "lan")
    assert user.role == "agency_officer" and user.scope.agencies == (agency,)

    app.text_input(key="kiosk_label").input("tuong-2")
    next(b for b in app.button if b.label == t("users.kiosk.add")).click().run()
    shown = [c.value for c in app.code]
    assert len(shown) == 1 and shown[0].startswith("/wall?token=")
    token = shown[0].removeprefix("/wall?token=")
    assert kiosk_tokens.kiosk_user(ops_engine(store_url), token).name == "kiosk:tuong-2"
    app.run()
    assert not [c.value for c in app.code]  # shown once only
