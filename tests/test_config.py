"""Settings: one registry, documented in the README, read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard import config
from dashboard.db.engine import duckdb_file, redact_url

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_documents_every_setting_with_its_default():
    text = README.read_text(encoding="utf-8")
    for setting in config.SETTINGS:
        assert f"`{setting.name}` | `{setting.default}`" in text, setting.name


def test_environment_overrides_default(monkeypatch):
    monkeypatch.setenv("IOC_TIMEZONE", "Asia/Bangkok")
    assert config.timezone() == "Asia/Bangkok"
    monkeypatch.delenv("IOC_TIMEZONE")
    assert config.timezone() == "Asia/Ho_Chi_Minh"


def test_relative_duckdb_path_is_resolved_from_project_root(monkeypatch):
    monkeypatch.setenv("IOC_DATABASE_URL", "duckdb:///data/x.duckdb")
    assert config.database_url() == "duckdb:///" + str(config.PROJECT_ROOT / "data" / "x.duckdb")
    monkeypatch.setenv("IOC_DATABASE_URL", "postgresql+psycopg://u:p@h/db")
    assert config.database_url() == "postgresql+psycopg://u:p@h/db"


def test_unknown_setting_is_refused():
    with pytest.raises(KeyError):
        config.get("IOC_NOPE")


def test_passwords_never_shown_and_duckdb_file_found():
    assert redact_url("postgresql+psycopg://ioc:s3cret@db:5432/ioc") == "postgresql+psycopg://ioc:***@db:5432/ioc"
    assert duckdb_file("duckdb:////tmp/a.duckdb") == Path("/tmp/a.duckdb")
    assert duckdb_file("duckdb:///:memory:") is None
    assert duckdb_file("postgresql://x/y") is None
