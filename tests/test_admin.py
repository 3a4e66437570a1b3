"""Administrator login: password hashes, the setting, and admin pages hidden until login (AppTest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from page_support import APP
from streamlit.testing.v1 import AppTest

from dashboard import config, navigation
from dashboard.i18n import t
from dashboard.web import admin

FAST = 1_000  # iterations for tests; the default (390k) takes ~0.3 s per hash


def test_hash_and_verify_round_trip():
    stored = admin.hash_password("mật khẩu đúng", iterations=FAST, salt=bytes(range(16)))
    algorithm, iterations, salt_hex, hash_hex = stored.split("$")
    assert (algorithm, iterations, salt_hex) == ("pbkdf2_sha256", "1000", bytes(range(16)).hex())
    assert len(hash_hex) == 64
    assert admin.verify_password("mật khẩu đúng", stored)
    assert not admin.verify_password("mật khẩu sai", stored)
    assert not admin.verify_password("", stored)


def test_default_hash_is_salted_and_slow_enough():
    first, second = admin.hash_password("x"), admin.hash_password("x")
    assert first != second  # random salt
    assert int(first.split("$")[1]) >= 200_000
    assert admin.verify_password("x", first) and admin.verify_password("x", second)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "garbage",
        "pbkdf2_sha256$1000$00$",
        "pbkdf2_sha256$abc$0011$0011",
        "md5$1000$0011$" + "00" * 32,
        "pbkdf2_sha256$1000$zz$" + "00" * 32,
        "pbkdf2_sha256$10$0011$" + "00" * 32,
        "pbkdf2_sha256$99999999999$0011$" + "00" * 32,
        "pbkdf2_sha256$1000$0011$" + "00" * 32 + "$extra",
        None,
        42,
    ],
)
def test_malformed_stored_values_are_refused_without_raising(stored):
    assert admin.verify_password("x", stored) is False


def test_empty_password_cannot_be_hashed():
    with pytest.raises(ValueError):
        admin.hash_password("")


def test_setting_from_secrets_file_then_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("IOC_ADMIN_PASSWORD_HASH", raising=False)
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)
    assert not admin.admin_configured()
    stored = admin.hash_password("s3cret", iterations=FAST)
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'IOC_ADMIN_PASSWORD_HASH = "{stored}"\n', encoding="utf-8")
    assert admin.admin_configured() and admin.configured_hash() == stored
    other = admin.hash_password("other", iterations=FAST)
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", other)
    assert admin.configured_hash() == other


def test_cli_prints_a_verifiable_hash_line_from_stdin():
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
    assert admin.verify_password("hunter2 mạnh", line.split('"')[1])
    empty = subprocess.run(
        [sys.executable, "-m", "dashboard", "hash-password"],
        input="\n",
        capture_output=True,
        text=True,
        cwd=config.PROJECT_ROOT,
    )
    assert empty.returncode == 2 and "empty" in empty.stderr


# ---------------------------------------------------------------- admin pages in the router
PROBE_TEXT = "admin probe page"


@pytest.fixture
def admin_app(monkeypatch, tmp_path, demo_db_url):
    """The router with one extra admin-only page (a probe file in tmp_path) and a configured admin password."""
    probe = tmp_path / "admin_probe.py"
    probe.write_text(f"import streamlit as st\nst.markdown({PROBE_TEXT!r})\n", encoding="utf-8")
    spec = navigation.PageSpec("quality", str(probe), "admin-probe", ":material/lock:", admin=True)
    monkeypatch.setattr(navigation, "PAGES", (*navigation.PAGES, spec))
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", admin.hash_password("đúng rồi", iterations=FAST))
    monkeypatch.setenv("IOC_DATABASE_URL", demo_db_url)
    monkeypatch.setattr(admin, "FAILURE_DELAY_SECONDS", 0)
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    return app, str(probe)


def _login(app: AppTest, password: str) -> AppTest:
    app.sidebar.text_input(key="admin_password").input(password)
    next(b for b in app.sidebar.button if b.label == t("admin.login")).click()
    return app.run()


def _probe_shown(app: AppTest, probe: str) -> bool:
    """Whether the router registered the probe page and it shows; AppTest refuses to switch to an unregistered page."""
    try:
        app.switch_page(probe)
    except ValueError as error:
        assert "Could not find a navigation page" in str(error)
        return False
    app.run()
    return any(m.value == PROBE_TEXT for m in app.markdown)


def test_admin_page_hidden_until_login(admin_app):
    app, probe = admin_app
    assert admin.SESSION_FLAG not in app.session_state
    assert any(e.label == t("admin.entry") for e in app.sidebar.expander)
    assert not _probe_shown(app, probe)


def test_wrong_password_shows_an_error_and_keeps_the_page_hidden(admin_app):
    app, probe = admin_app
    _login(app, "sai")
    assert [e.body for e in app.error] == [t("admin.wrong_password")]
    assert not _probe_shown(app, probe)


def test_admin_page_visible_after_login_and_hidden_after_logout(admin_app):
    app, probe = admin_app
    _login(app, "đúng rồi")
    assert not app.exception and not app.error
    assert app.session_state[admin.SESSION_FLAG] is True
    assert _probe_shown(app, probe)
    next(b for b in app.sidebar.button if b.label == t("admin.logout")).click()
    app.run()
    assert admin.SESSION_FLAG not in app.session_state
    assert not _probe_shown(app, probe)


def test_no_login_entry_without_a_configured_hash(monkeypatch, demo_db_url):
    monkeypatch.setenv("IOC_ADMIN_PASSWORD_HASH", "")
    monkeypatch.setattr(config, "PROJECT_ROOT", Path("/nonexistent"))
    monkeypatch.setenv("IOC_DATABASE_URL", demo_db_url)
    app = AppTest.from_file(APP, default_timeout=90).run()
    assert not app.exception
    assert not any(e.label == t("admin.entry") for e in app.sidebar.expander)
