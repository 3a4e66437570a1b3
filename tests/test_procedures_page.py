"""The administrative-procedures page under AppTest against the seeded demo database: its tiles against the KPI
module and against figures counted independently (pandas on the raw table, SQL in tests/demo_sql.py), its link
parameters, and the empty period."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import demo_sql
import page_support
import pandas as pd
import pytest
from procedures_support import PAGE, demo_period
from sqlalchemy import select

from dashboard.db import dossier_queries as dq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period, local_now


def run_page(monkeypatch, url: str, params: dict[str, str]):
    return page_support.run_page(monkeypatch, url, params, str(PAGE.path))


def shown(app, definition: kpis.KpiDefinition, lang: str = "vi") -> str:
    label = t(f"kpi.{definition.key}", lang)
    values = [m.value for m in app.metric if m.label == label or m.label.endswith("] " + label)]
    assert len(values) == 1, f"{label!r} in {[m.label for m in app.metric]}"
    return values[0]


def expected_tile(definition: kpis.KpiDefinition, value, lang: str = "vi") -> str:
    if value is None:
        return "–"
    if definition.unit == "pct":
        return format_number(value, lang, 1) + " %"
    if definition.unit == "days":
        return format_number(value, lang, 1) + " " + t("unit.days", lang)
    return format_number(value, lang, 0)


COMBINATIONS = [
    {},
    {"sector": ["civil_status", "justice"], "channel": ["online"]},
    {"area": ["19815", "19753"], "agency": ["UBND Phường An Cựu", "Văn phòng đăng ký đất đai"]},
]
COMBINATION_IDS = ["city", "sectors-and-channel", "wards-and-agencies"]
PROCEDURES = {"procedure": ["TP.01", "HT.01"]}
# Dossiers received, completed, and open past due at the end of the demo's last day, for each combination
# (COMBINATION_IDS order, then PROCEDURES) over the demo's last 30 and 60 days: counted in SQL, see sql_figures.
FIGURES_30_DAYS = [(152, 140, 3), (63, 61, 2), (23, 19, 2), (38, 35, 1)]
FIGURES_60_DAYS = [(288, 273, 3), (119, 116, 2), (38, 35, 2)]
SQL_COLUMNS = {"area": "area_code", "procedure": "procedure_code"}


def sql_figures(url: str, period: Period, combination: dict) -> tuple[int, int, int]:
    """Received, completed and past-due-open dossiers counted with the SQL of tests/demo_sql.py."""
    columns = {SQL_COLUMNS.get(name, name): values for name, values in combination.items() if name != "area"}
    areas = combination.get("area", ())
    counts = demo_sql.dossier_figures(url, period, areas, columns)
    as_of = min(datetime.combine(period.end + timedelta(days=1), datetime.min.time()), local_now())
    return counts["received"], counts["completed"], demo_sql.past_due_open_dossiers(url, as_of, areas, columns)


def url_params(period: Period, combination: dict, **extra: str) -> dict[str, str]:
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), **extra}
    params.update({key: ",".join(values) for key, values in combination.items()})
    return params


@pytest.mark.parametrize(
    ("combination", "counted"),
    list(zip(COMBINATIONS + [PROCEDURES], FIGURES_30_DAYS, strict=True)),
    ids=COMBINATION_IDS + ["procedures"],
)
def test_tiles_show_the_kpi_module_figures(monkeypatch, demo_db_url, demo_now, combination, counted):
    period = demo_period(demo_now, 30)
    app = run_page(monkeypatch, demo_db_url, url_params(period, combination))
    areas = tuple(combination.get("area", ()))
    dimensions = {k: v for k, v in combination.items() if k != "area"}
    engine = make_engine(demo_db_url, read_only=True)
    try:
        figures = kpis.section_kpis(engine, "dossiers", period, areas, dimensions)
        figures.update(
            dq.extra_counts(engine, QueryFilter.build(period, areas, dimensions), dq.as_of_instant(period, local_now()))
        )
    finally:
        engine.dispose()
    assert sql_figures(demo_db_url, period, combination) == counted
    assert (figures["received"], figures["completed"], figures["past_due_open"]) == counted
    for definition in dq.page_kpis():
        assert shown(app, definition) == expected_tile(definition, figures[definition.name]), definition.key
    for name, values in dimensions.items():
        assert app.session_state[f"dim_{name}"] == values


def pandas_figures(url: str, period: Period, combination: dict) -> dict:
    """The page's headline figures worked out with pandas from the raw dossiers table (definitions of kpis.py)."""
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as connection:
            rows = pd.read_sql_query(select(schema.dossiers), connection)
    finally:
        engine.dispose()
    columns = {
        "area": "area_code",
        "sector": "sector",
        "agency": "agency",
        "procedure": "procedure_code",
        "channel": "channel",
    }
    for name, values in combination.items():
        rows = rows[rows[columns[name]].isin(values)]
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end + timedelta(days=1))
    as_of = min(end, pd.Timestamp(local_now().replace(second=0, microsecond=0)))
    received = rows[(rows["received_at"] >= start) & (rows["received_at"] < end)]
    completed = rows[(rows["completed_at"] >= start) & (rows["completed_at"] < end)]
    with_due = completed[completed["due_at"].notna()]
    on_time = with_due[with_due["completed_at"] <= with_due["due_at"]]
    past_due = rows[
        (rows["received_at"] < as_of)
        & (rows["due_at"] < as_of)
        & ~rows["status"].isin(["returned", "withdrawn"])
        & (rows["completed_at"].isna() | (rows["completed_at"] >= as_of))
    ]
    return {
        "received": len(received),
        "completed": len(completed),
        "completed_on_time_pct": round(100 * len(on_time) / len(with_due), 1) if len(with_due) else None,
        "late": len(with_due) - len(on_time),
        "online_pct": round(100 * (received["channel"] == "online").sum() / len(received), 1)
        if len(received)
        else None,
        "past_due_open": len(past_due),
    }


@pytest.mark.parametrize(
    ("combination", "counted"), list(zip(COMBINATIONS, FIGURES_60_DAYS, strict=True)), ids=COMBINATION_IDS
)
def test_page_figures_equal_an_independent_pandas_computation(monkeypatch, demo_db_url, demo_now, combination, counted):
    period = demo_period(demo_now)
    app = run_page(monkeypatch, demo_db_url, url_params(period, combination))
    expected = pandas_figures(demo_db_url, period, combination)
    assert sql_figures(demo_db_url, period, combination) == counted
    assert (expected["received"], expected["completed"], expected["past_due_open"]) == counted
    by_name = {d.name: d for d in dq.page_kpis()}
    for name in ("received", "completed", "completed_on_time_pct", "late", "online_pct", "past_due_open"):
        assert shown(app, by_name[name]) == expected_tile(by_name[name], expected[name]), name
    # The past-due table lists exactly that many dossiers (fewer than the display limit here).
    tables = [frame.value for frame in app.dataframe if t("procedures.col.overdue_days") in frame.value.columns]
    listed = len(tables[0]) if tables else 0
    assert listed == expected["past_due_open"]


def test_a_combination_with_open_past_due_dossiers_exists(demo_db_url, demo_now):
    # Guards the parity test above against checking only zeros: pandas and SQL both find 2 such dossiers.
    period = demo_period(demo_now)
    assert pandas_figures(demo_db_url, period, COMBINATIONS[2])["past_due_open"] == 2
    assert sql_figures(demo_db_url, period, COMBINATIONS[2])[2] == 2


def test_page_filters_round_trip_through_the_url(monkeypatch, demo_db_url):
    params = {
        "lang": "en",
        "from": "2026-09-01",
        "to": "2026-10-31",
        "compare": "same_period_last_year",
        "area": "19815",
        "sector": "civil_status,justice",
        "agency": "UBND Phường An Cựu",
        "procedure": "HT.01,TP.01",
        "channel": "online",
    }
    first = run_page(monkeypatch, demo_db_url, params)
    written = {key: first.query_params[key] for key in params}
    assert written == params
    second = run_page(monkeypatch, demo_db_url, written)
    for key in ("lang", "period_range", "compare", "areas", "dim_sector", "dim_agency", "dim_procedure", "dim_channel"):
        assert second.session_state[key] == first.session_state[key], key
    assert second.session_state["dim_procedure"] == ["HT.01", "TP.01"]
    assert [m.value for m in second.metric] == [m.value for m in first.metric]


def test_unknown_link_values_are_named_and_ignored(monkeypatch, demo_db_url):
    app = run_page(monkeypatch, demo_db_url, {"sector": "civil_status,astrology", "procedure": "XX.99"})
    assert app.session_state["dim_sector"] == ["civil_status"]
    assert app.session_state["dim_procedure"] == []
    warning = " ".join(w.body for w in app.warning)
    assert "astrology" in warning and "XX\\.99" in warning  # escaped: shown as typed, never as Markdown


def test_english_page_and_empty_period(monkeypatch, demo_db_url):
    # A link is kept within the data's span, so the empty period is picked in the sidebar, as a person would.
    app = run_page(monkeypatch, demo_db_url, {"lang": "en"})
    app.date_input(key="period_range").set_value((date(2020, 1, 1), date(2020, 1, 31))).run()
    assert not app.exception and app.session_state["period_range"] == (date(2020, 1, 1), date(2020, 1, 31))
    assert app.title[0].value == t("procedures.heading", "en")
    assert shown(app, dq.page_kpis()[0], "en") == "0"
    assert any(t("procedures.no_data", "en") == info.body for info in app.info)
