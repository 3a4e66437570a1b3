"""Typed settings: each setting parses its value and checks its bounds; a value that cannot be used stops start-up
(the CLI exits 2, the app shows an error page) with a message naming the setting, its value and what is allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from page_support import run_app

from dashboard import cli, config
from dashboard.i18n import t
from dashboard.wall import rules as wall

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_secrets_file(monkeypatch, tmp_path):
    """Only the environment counts here, whatever a developer keeps in .streamlit/secrets.toml."""
    monkeypatch.setattr(config, "PROJECT_ROOT", tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (  # a whole number with bounds: text
            "IOC_FRESHNESS_FEEDBACK_MINUTES",
            "an hour",
            "Setting IOC_FRESHNESS_FEEDBACK_MINUTES = 'an hour' (environment) cannot be used: "
            "it must be a whole number from 1 to 525600.",
        ),
        (  # a whole number with bounds: below the lower one
            "IOC_WALL_REFRESH_SECONDS",
            "2",
            "Setting IOC_WALL_REFRESH_SECONDS = '2' (environment) cannot be used: "
            "it must be a whole number from 5 to 3600.",
        ),
        (  # a whole number with a lower bound only; a fraction is not a whole number
            "IOC_IMPORT_MAX_ROWS",
            "1.5",
            "Setting IOC_IMPORT_MAX_ROWS = '1.5' (environment) cannot be used: it must be a whole number of at least 1.",
        ),
        (  # a number
            "IOC_WRITE_LOCK_TIMEOUT_SECONDS",
            "nan",
            "Setting IOC_WRITE_LOCK_TIMEOUT_SECONDS = 'nan' (environment) cannot be used: "
            "it must be a number of at least 0.",
        ),
        (  # a choice
            "IOC_LANGUAGE",
            "fr",
            "Setting IOC_LANGUAGE = 'fr' (environment) cannot be used: it must be one of: vi, en.",
        ),
        (  # a time zone
            "IOC_TIMEZONE",
            "Mars/Olympus_Mons",
            "Setting IOC_TIMEZONE = 'Mars/Olympus_Mons' (environment) cannot be used: "
            "it must be a time zone name such as Asia/Ho_Chi_Minh.",
        ),
    ],
)
def test_a_bad_value_of_each_kind_is_named_with_what_is_allowed(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(config.SettingError) as raised:
        config.check()
    assert str(raised.value) == message
    with pytest.raises(config.SettingError) as typed:
        config.value(name)  # the typed accessor refuses it too
    assert str(typed.value) == message


def test_good_values_are_typed_and_the_defaults_pass(monkeypatch):
    for setting in config.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    config.check()
    assert config.problems() == []
    monkeypatch.setenv("IOC_WRITE_LOCK_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("IOC_WALL_REFRESH_SECONDS", " 5 ")
    monkeypatch.setenv("IOC_LANGUAGE", "en")
    assert config.value("IOC_WRITE_LOCK_TIMEOUT_SECONDS") == 2.5
    assert config.value("IOC_WALL_REFRESH_SECONDS") == 5 and wall.refresh_seconds() == 5
    assert config.default_language() == "en"
    assert config.value("IOC_IMPORT_MAX_ROWS") == 20_000_000
    assert config.get("IOC_WALL_REFRESH_SECONDS") == " 5 "  # `get` is the value as written


def test_a_bad_freshness_threshold_no_longer_becomes_an_hour(monkeypatch):
    monkeypatch.setenv("IOC_FRESHNESS_DOSSIERS_MINUTES", "0")
    with pytest.raises(config.SettingError, match=r"^Setting IOC_FRESHNESS_DOSSIERS_MINUTES = '0' \(environment\)"):
        wall.freshness_thresholds()


def test_every_problem_is_listed_in_either_language_and_the_secrets_file_is_named(monkeypatch, tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('IOC_WALL_OVERDUE_DAYS = "-1"\n', encoding="utf-8")
    monkeypatch.delenv("IOC_WALL_OVERDUE_DAYS", raising=False)
    monkeypatch.setenv("IOC_LANGUAGE", "EN")
    with pytest.raises(config.SettingError) as raised:
        config.check()
    assert raised.value.text("en").splitlines() == [
        "Setting IOC_LANGUAGE = 'EN' (environment) cannot be used: it must be one of: vi, en.",
        "Setting IOC_WALL_OVERDUE_DAYS = '-1' (.streamlit/secrets.toml) cannot be used: "
        "it must be a whole number from 0 to 365.",
    ]
    assert raised.value.text("vi").splitlines() == [
        "Thiết lập IOC_LANGUAGE = 'EN' (biến môi trường) không dùng được: giá trị phải là một trong: vi, en.",
        "Thiết lập IOC_WALL_OVERDUE_DAYS = '-1' (.streamlit/secrets.toml) không dùng được: "
        "giá trị phải là một số nguyên từ 0 đến 365.",
    ]


def test_every_setting_says_what_it_allows_in_both_languages():
    for setting in config.SETTINGS:
        assert setting.allowed("vi") and setting.allowed("en"), setting.name


def test_the_cli_stops_with_exit_code_2_before_any_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("IOC_STATEMENT_TIMEOUT_SECONDS", "0")
    monkeypatch.setenv("IOC_DATABASE_URL", f"duckdb:///{tmp_path / 'never.duckdb'}")
    assert cli.main(["init-db"]) == 2
    assert capsys.readouterr().err == (
        "error: Setting IOC_STATEMENT_TIMEOUT_SECONDS = '0' (environment) cannot be used: "
        "it must be a whole number from 1 to 86400.\n"
    )
    assert not (tmp_path / "never.duckdb").exists()  # nothing ran


def test_python_m_dashboard_exits_2_with_the_message(tmp_path):
    environment = {**os.environ, "IOC_QUERY_TTL_SECONDS": "five minutes", "IOC_DATABASE_URL": "duckdb:///:memory:"}
    done = subprocess.run(
        [sys.executable, "-m", "dashboard", "info"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "error: Setting IOC_QUERY_TTL_SECONDS = 'five minutes' (environment) cannot be used: "
        "it must be a whole number from 0 to 86400.\n"
    )
    assert done.stdout == ""


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_app_shows_an_error_page_instead_of_the_pages(monkeypatch, demo_db_url, lang):
    monkeypatch.setenv("IOC_FRESHNESS_TRAFFIC_MINUTES", "half an hour")
    app = run_app(monkeypatch, demo_db_url, {"lang": lang})
    assert not app.exception, [e.message for e in app.exception]
    assert [e.body for e in app.error] == [t("settings.title", lang)]
    assert [m.value for m in app.markdown] == [t("settings.hint", lang)]
    assert [c.value for c in app.code] == [
        t(
            "settings.problem",
            lang,
            name="IOC_FRESHNESS_TRAFFIC_MINUTES",
            value="'half an hour'",
            source=t("settings.source.environment", lang),
            allowed=t("settings.allowed.whole_number_between", lang, low=1, high=525600),
        )
    ]
    assert not app.metric  # no page ran
    monkeypatch.delenv("IOC_FRESHNESS_TRAFFIC_MINUTES")
    # The next visit, with the setting fixed, shows the pages. (The same AppTest re-run would ask for the error page's
    # own URL, which no longer exists: a browser falls back to the default page there, AppTest raises.)
    app = run_app(monkeypatch, demo_db_url, {"lang": lang})
    assert not app.exception and not app.code and app.metric
