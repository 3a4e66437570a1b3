"""`import --country`: the data's own country is recorded in dataset_info and wins over IOC_COUNTRY for the forecasts'
holidays; an unknown code is refused before anything is read."""

from __future__ import annotations

from sqlalchemy import func, select

from dashboard.cli import main
from dashboard.db import queries, schema
from dashboard.db.engine import make_engine
from models.calendar import country_of

CSV = (
    "service_request_id,requested_datetime,status,service_name\n"
    "A1,2026-11-19 08:00,open,Rác thải\n"
    "A2,2026-11-19 09:00,closed,Chiếu sáng\n"
)


def _state(url: str) -> tuple[dict, int]:
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(func.count()).select_from(schema.feedback)).scalar_one()
        return queries.dataset_info(engine), rows
    finally:
        engine.dispose()


def test_import_declares_the_country_of_its_data(any_db_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IOC_COUNTRY", "VN")
    path = tmp_path / "boston.csv"
    path.write_text(CSV, encoding="utf-8")
    base = ["--database-url", any_db_url, "import", "feedback", str(path), "--source", "boston", "--quiet"]

    assert main([*base, "--country", "XX"]) == 2
    assert "error: --country: unknown country code 'XX'" in capsys.readouterr().err
    info, rows = _state(any_db_url)
    assert rows == 0 and "country" not in info  # refused before reading the file

    assert main([*base, "--country", "us", "--dry-run"]) == 0
    assert "country" not in _state(any_db_url)[0]  # a dry run records nothing

    assert main([*base, "--country", "us"]) == 0
    assert "The data's country is US" in capsys.readouterr().out
    info, rows = _state(any_db_url)
    assert rows == 2 and info["country"] == "US"
    assert country_of(info) == "US" and country_of({}) == "VN"  # the setting only where the data says nothing

    assert main([*base, "--country", "AU"]) == 0  # declared again: replaced, one row
    info, _ = _state(any_db_url)
    assert info["country"] == "AU"
