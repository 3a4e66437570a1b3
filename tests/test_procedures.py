"""The administrative-procedures page: its queries on a hand-made table (DuckDB and PostgreSQL), its chart
builders, the page under AppTest, its link parameters, parity with pandas on the demo database, and a
real-browser click on a bar."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import page_support
import pandas as pd
import pytest
from sqlalchemy import select

from dashboard.charts import dossiers as charts
from dashboard.charts import theme
from dashboard.db import dossier_queries as dq
from dashboard.db import schema
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.navigation import PAGES
from dashboard.periods import Period, local_now

PAGE = next(spec for spec in PAGES if spec.key == "procedures")

# ---------------------------------------------------------------- a tiny table worked out by hand
# Period: Monday 2 March – Sunday 15 March 2026; the past-due list is taken at 16/03 00:00.
PERIOD = Period(date(2026, 3, 2), date(2026, 3, 15))
AS_OF = datetime(2026, 3, 16)


def at(day: int, hour: int = 8, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour)


NAMES = {"P1": "Đăng ký khai sinh", "P2": "Đăng ký biến động quyền sử dụng đất", "P3": "Đăng ký hộ kinh doanh"}
SECTORS = {"P1": "civil_status", "P2": "land", "P3": "business"}


def _dossier(id_, procedure, agency, area, channel, received, due=None, completed=None, status=None):
    return dict(
        id=id_,
        source="t",
        source_id=f"HS-{id_}",
        procedure_code=procedure,
        procedure_name=NAMES[procedure],
        sector=SECTORS[procedure],
        agency=agency,
        area_code=area,
        channel=channel,
        received_at=received,
        due_at=due,
        completed_at=completed,
        status=status or ("completed" if completed else "in_progress"),
    )


DOSSIERS = [
    _dossier(1, "P1", "UBND A", "A", "online", at(2), at(4, 17), at(3)),  # lead 1 d, on time
    _dossier(2, "P1", "UBND A", "A", "online", at(3), at(5, 17), at(5)),  # lead 2 d, on time
    _dossier(3, "P1", "UBND A", "A", "counter", at(4), at(6, 17), at(7)),  # lead 3 d, late
    _dossier(4, "P1", "UBND B", "B", "counter", at(9), at(10, 17), at(13)),  # lead 4 d, late
    _dossier(5, "P1", "UBND B", "B", "online", at(10), at(20, 17), at(15)),  # lead 5 d, on time
    _dossier(
        6, "P2", "Land office", "B", "postal", at(20, month=2), at(1, 17), at(2)
    ),  # received before; lead 10 d, late
    _dossier(7, "P2", "Land office", "A", "online", at(12), at(13, 17)),  # open, past due: age 3 d 16 h, 2 d 7 h over
    _dossier(8, "P2", "Land office", "A", "counter", at(14), at(25, 17)),  # open, not yet due
    _dossier(9, "P2", "Land office", "B", "counter", at(1), at(5, 17), status="returned"),  # returned: never past due
    _dossier(
        10, "P1", "UBND B", "B", "online", at(5), at(9, 17), at(17)
    ),  # completed after: open and past due at 16/03
    _dossier(11, "P3", None, "A", "online", at(16), at(18, 17)),  # received after the period
    _dossier(12, "P3", "Finance dept", None, "online", at(6), None, at(8)),  # no due date; lead 2 d
]


@pytest.fixture
def tiny(any_db_url):
    engine = make_engine(any_db_url)
    with engine.begin() as connection:
        connection.execute(
            schema.areas.insert(),
            [
                dict(
                    code=c,
                    name=f"Phường {c}",
                    name_ascii=f"Phuong {c}",
                    kind="ward",
                    parent_code="46",
                    geometry_geojson=None,
                    centroid_lat=16.4,
                    centroid_lon=107.5,
                    area_km2=10.0,
                    population=20_000,
                    population_is_estimate=True,
                )
                for c in ("A", "B")
            ],
        )
        connection.execute(schema.dossiers.insert(), DOSSIERS)
    yield engine
    engine.dispose()


def scope(areas=(), **dimensions) -> QueryFilter:
    return QueryFilter.build(PERIOD, areas, dimensions)


def test_kpis_and_extra_counts_on_the_tiny_table(tiny):
    # received in the period: 1,2,3,4,5,7,8,10,12 (9); online 1,2,5,7,10,12 (6); completed 1-6 and 12 (7);
    # with a due date 1-6, on time 1,2,5; late 3,4,6; lead times 1,2,3,4,5,10,2 -> median 3.
    assert kpis.section_kpis(tiny, "dossiers", PERIOD) == {
        "received": 9,
        "completed": 7,
        "completed_on_time_pct": 50.0,
        "online_pct": 66.7,
        "median_lead_time_days": 3.0,
    }
    assert dq.extra_counts(tiny, scope(), AS_OF) == {"late": 3, "past_due_open": 2}
    assert dq.extra_counts(tiny, scope(areas=("A",)), AS_OF) == {"late": 1, "past_due_open": 1}
    # At 13/03 00:00 dossier 7 (due 13/03 17:00) is not late yet; 10 (due 09/03 17:00) and 4 (due 10/03 17:00,
    # completed only at 13/03 08:00) are open and past due.
    assert dq.past_due(tiny, scope(), datetime(2026, 3, 13))["source_id"].tolist() == ["HS-10", "HS-4"]


def test_page_dimensions_narrow_every_query(tiny):
    civil_online = scope(sector=["civil_status"], channel=["online"])  # received 1,2,5,10; completed 1,2,5 all on time
    assert kpis.section_kpis(tiny, "dossiers", PERIOD, dimensions=dict(civil_online.dimensions))["received"] == 4
    assert dq.procedure_stats(tiny, civil_online)[
        ["procedure_code", "received", "completed", "late"]
    ].values.tolist() == [["P1", 4, 3, 0]]
    assert dq.extra_counts(tiny, civil_online, AS_OF) == {"late": 0, "past_due_open": 1}
    assert dq.past_due(tiny, scope(procedure=["P2"]), AS_OF)["source_id"].tolist() == ["HS-7"]


def test_past_due_list_oldest_first_with_ages(tiny):
    rows = dq.past_due(tiny, scope(), AS_OF)
    assert rows["source_id"].tolist() == ["HS-10", "HS-7"]
    # 10: received 05/03 08:00, due 09/03 17:00 -> 10 d 16 h old, 6 d 7 h over; 7: 3 d 16 h old, 2 d 7 h over.
    assert rows["age_days"].tolist() == [10.7, 3.7]
    assert rows["overdue_days"].tolist() == [6.3, 2.3]
    assert rows["area_name"].tolist() == ["Phường B", "Phường A"]
    assert len(dq.past_due(tiny, scope(), AS_OF, limit=1)) == 1


def test_agency_ranking_lowest_on_time_first(tiny):
    ranking = dq.agency_ranking(tiny, scope())
    # Land office 0/1, UBND B 1/2 (4 late, 5 on time), UBND A 2/3, Finance dept nothing with a due date.
    assert ranking["agency"].tolist() == ["Land office", "UBND B", "UBND A", "Finance dept"]
    assert ranking["on_time_pct"].tolist()[:3] == [0.0, 50.0, 66.7]
    assert pd.isna(ranking["on_time_pct"].iloc[3])
    assert ranking["received"].tolist() == [2, 3, 3, 1]
    assert ranking["late"].tolist() == [1, 1, 1, 0]


def test_procedure_and_sector_figures(tiny):
    stats = dq.procedure_stats(tiny, scope())
    assert stats[["procedure_code", "received", "completed", "completed_with_due", "late"]].values.tolist() == [
        ["P1", 6, 5, 5, 2],
        ["P2", 2, 1, 1, 1],
        ["P3", 1, 1, 0, 0],
    ]
    assert stats["late_pct"].tolist()[:2] == [40.0, 100.0] and pd.isna(stats["late_pct"].iloc[2])
    assert dq.top_procedures(stats, "received")["procedure_code"].tolist() == ["P1", "P2", "P3"]
    assert dq.top_procedures(stats, "late")["procedure_code"].tolist() == ["P1", "P2"]
    assert dq.top_procedures(stats, "late", top=1)["procedure_code"].tolist() == ["P1"]
    with pytest.raises(ValueError):
        dq.top_procedures(stats, "completed")
    sectors = dq.sector_stats(tiny, scope())
    assert sectors[["sector", "received", "completed"]].values.tolist() == [
        ["civil_status", 6, 5],
        ["land", 2, 1],
        ["business", 1, 1],
    ]


def test_lead_time_quantiles_are_computed_in_sql(tiny):
    quantiles = dq.lead_time_quantiles(tiny, scope())
    # P1 lead times 1, 2, 3, 4, 5 days: linear interpolation gives P10 1.4 and P90 4.6.
    assert quantiles["procedure_code"].tolist() == ["P1", "P2", "P3"]
    assert quantiles.iloc[0][["completed", "p10", "p25", "p50", "p75", "p90"]].tolist() == [5, 1.4, 2.0, 3.0, 4.0, 4.6]
    assert quantiles.iloc[1][["p10", "p90"]].tolist() == [10.0, 10.0]
    assert dq.lead_time_quantiles(tiny, scope(), top=1)["procedure_code"].tolist() == ["P1"]


def test_channel_mix_per_week_and_day(tiny):
    weekly = dq.channel_mix(tiny, scope(), "week")
    assert [(b.date(), c, n) for b, c, n in weekly.itertuples(index=False)] == [
        (date(2026, 3, 2), "counter", 1),
        (date(2026, 3, 2), "online", 4),
        (date(2026, 3, 9), "counter", 2),
        (date(2026, 3, 9), "online", 2),
    ]
    daily = dq.channel_mix(tiny, scope(), "day")
    assert daily["received"].sum() == 9 and daily["bucket"].min() == pd.Timestamp(2026, 3, 2)
    with pytest.raises(ValueError):
        dq.channel_mix(tiny, scope(), "month")


def test_filter_options_are_the_distinct_values(tiny):
    options = dq.filter_options(tiny)
    assert list(options["sector"]) == ["business", "civil_status", "land"]
    assert list(options["agency"]) == ["Finance dept", "Land office", "UBND A", "UBND B"]
    assert list(options["channel"]) == ["counter", "online", "postal"]
    assert options["procedure"] == NAMES


def test_as_of_and_grain():
    assert dq.as_of_instant(PERIOD, datetime(2026, 4, 1, 9, 30)) == AS_OF
    assert dq.as_of_instant(PERIOD, datetime(2026, 3, 10, 9, 30, 45)) == datetime(2026, 3, 10, 9, 30)
    assert dq.channel_grain(PERIOD) == "day"
    assert dq.channel_grain(Period(date(2026, 3, 1), date(2026, 3, 15))) == "week"
    assert [d.name for d in dq.page_kpis()] == [
        "received",
        "completed",
        "completed_on_time_pct",
        "late",
        "online_pct",
        "median_lead_time_days",
        "past_due_open",
    ]


# ---------------------------------------------------------------- chart builders
def test_channel_share_stacks_to_100_and_marks_partial_weeks():
    frame = pd.DataFrame(
        {
            "bucket": pd.to_datetime(["2026-03-02", "2026-03-02", "2026-03-09"]),
            "channel": ["online", "counter", "online"],
            "received": [3, 1, 2],
        }
    )
    figure = charts.channel_share(frame, "week", "vi", (date(2026, 3, 4), date(2026, 3, 15)))
    assert [trace.name for trace in figure.data] == [t("channel.online"), t("channel.counter")]
    assert list(figure.data[0].y) == [75.0, 100.0] and list(figure.data[1].y) == [25.0, 0.0]
    assert list(figure.data[0].marker.opacity) == [charts.PARTIAL_OPACITY, 1.0]
    assert figure.layout.separators == ",."
    assert charts.channel_share(frame.iloc[0:0], "day", "en").data == ()


def test_lead_time_ranges_draw_the_quantiles():
    frame = pd.DataFrame(
        {
            "procedure_code": ["P1", "P2"],
            "procedure_name": [NAMES["P1"], NAMES["P2"]],
            "completed": [5, 1],
            "p10": [1.4, 10.0],
            "p25": [2.0, 10.0],
            "p50": [3.0, 10.0],
            "p75": [4.0, 10.0],
            "p90": [4.6, 10.0],
        }
    )
    figure = charts.lead_time_ranges(frame, "vi", selected=["P2"])
    whisker, box, median = figure.data
    assert list(whisker.base) == [1.4, 10.0] and [round(x, 2) for x in whisker.x] == [3.2, 0.0]
    assert list(box.base) == [2.0, 10.0] and list(box.x) == [2.0, 0.0]
    assert list(median.x) == [3.0, 10.0] and list(median.y) == ["P1", "P2"]
    assert list(box.marker.line.width) == [0, 2.5]
    assert figure.layout.yaxis.ticktext[0] == "P1 · Đăng ký khai sinh"
    assert charts.shorten("x" * 60).endswith("…") and len(charts.shorten("x" * 60)) == charts.LABEL_CHARACTERS


def test_agency_ranking_colours_by_target_status():
    frame = pd.DataFrame(
        {
            "agency": ["Land office", "UBND A", "Finance dept"],
            "received": [2, 3, 1],
            "completed_with_due": [1, 40, 0],
            "late": [1, 1, 0],
            "on_time_pct": [0.0, 97.5, None],
        }
    )
    figure = charts.agency_ranking(frame, "vi", selected=["UBND A"])
    bars = figure.data[0]
    assert list(bars.y) == ["Land office", "UBND A"]
    assert list(bars.marker.color) == [theme.STATUS_COLOURS["off_target"], theme.STATUS_COLOURS["on_target"]]
    assert list(bars.text) == ["0,0 %", "97,5 %"]
    assert figure.layout.shapes[0].x0 == kpis.KPI_BY_KEY["dossiers.completed_on_time_pct"].target


def test_top_procedures_and_sectors_carry_the_filter_value_on_the_axis():
    stats = pd.DataFrame(
        {
            "procedure_code": ["P1", "P2"],
            "procedure_name": [NAMES["P1"], NAMES["P2"]],
            "received": [6, 2],
            "completed": [5, 1],
            "late": [2, 1],
            "late_pct": [40.0, 100.0],
        }
    )
    late = charts.top_procedures(stats, "late", "vi")
    assert list(late.data[0].y) == ["P1", "P2"] and list(late.data[0].x) == [2, 1]
    assert list(late.data[0].text) == ["2 (40,0 %)", "1 (100,0 %)"]
    volume = charts.top_procedures(stats, "received", "en")
    assert list(volume.data[0].x) == [6, 2] and volume.layout.title.text == t("procedures.top_volume_title", "en")
    sectors = pd.DataFrame(
        {"sector": ["civil_status", "mystery"], "received": [6, 1], "completed": [5, 0], "on_time_pct": [60.0, None]}
    )
    figure = charts.sector_volume(sectors, "vi", selected=["civil_status"])
    assert list(figure.data[0].y) == ["civil_status", "mystery"]
    assert list(figure.layout.yaxis.ticktext) == ["Hộ tịch", "mystery"]
    assert list(figure.data[0].marker.line.width) == [2.5, 0]


def test_tables_and_option_labels_are_translated():
    options = {
        "sector": {"land": "land", "mystery": "mystery"},
        "agency": {"UBND A": "UBND A"},
        "procedure": {"P1": NAMES["P1"]},
        "channel": {"online": "online"},
    }
    labels = charts.option_labels(options, "vi")
    assert labels == {
        "sector": {"land": "Đất đai", "mystery": "mystery"},
        "agency": {"UBND A": "UBND A"},
        "procedure": {"P1": "P1 · Đăng ký khai sinh"},
        "channel": {"online": "Trực tuyến"},
    }
    frame = pd.DataFrame(
        {
            "source_id": ["HS-1"],
            "overdue_days": [2.3],
            "age_days": [3.7],
            "procedure_name": ["x"],
            "agency": ["UBND A"],
            "area_name": ["Phường A"],
            "channel": ["counter"],
            "status": ["in_progress"],
            "received_at": [at(12)],
            "due_at": [at(13, 17)],
            "sector": ["land"],
        }
    )
    table = charts.display_table(frame, charts.PAST_DUE_COLUMNS, "en")
    assert list(table.columns) == [t(f"procedures.col.{c}", "en") for c in charts.PAST_DUE_COLUMNS]
    assert table.iloc[0][t("procedures.col.channel", "en")] == "At the counter"
    assert table.iloc[0][t("procedures.col.status", "en")] == "In progress"
    assert "sector" not in table.columns


# ---------------------------------------------------------------- the page (AppTest) against the demo database
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


def demo_period(demo_now: datetime, days: int = 60) -> Period:
    # Ends on the demo's last day, which is over by now, so the past-due list is taken at the end of that day.
    return Period(demo_now.date() - timedelta(days=days - 1), demo_now.date())


COMBINATIONS = [
    {},
    {"sector": ["civil_status", "justice"], "channel": ["online"]},
    {"area": ["19815", "19753"], "agency": ["UBND Phường An Cựu", "Văn phòng đăng ký đất đai"]},
]
COMBINATION_IDS = ["city", "sectors-and-channel", "wards-and-agencies"]


def url_params(period: Period, combination: dict, **extra: str) -> dict[str, str]:
    params = {"from": period.start.isoformat(), "to": period.end.isoformat(), **extra}
    params.update({key: ",".join(values) for key, values in combination.items()})
    return params


@pytest.mark.parametrize(
    "combination", COMBINATIONS + [{"procedure": ["TP.01", "HT.01"]}], ids=COMBINATION_IDS + ["procedures"]
)
def test_tiles_show_the_kpi_module_figures(monkeypatch, demo_db_url, demo_now, combination):
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
    assert figures["received"] > 0
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


@pytest.mark.parametrize("combination", COMBINATIONS, ids=COMBINATION_IDS)
def test_page_figures_equal_an_independent_pandas_computation(monkeypatch, demo_db_url, demo_now, combination):
    period = demo_period(demo_now)
    app = run_page(monkeypatch, demo_db_url, url_params(period, combination))
    expected = pandas_figures(demo_db_url, period, combination)
    assert expected["received"] > 0 and expected["completed"] > 0
    by_name = {d.name: d for d in dq.page_kpis()}
    for name in ("received", "completed", "completed_on_time_pct", "late", "online_pct", "past_due_open"):
        assert shown(app, by_name[name]) == expected_tile(by_name[name], expected[name]), name
    # The past-due table lists exactly that many dossiers (fewer than the display limit here).
    tables = [frame.value for frame in app.dataframe if t("procedures.col.overdue_days") in frame.value.columns]
    listed = len(tables[0]) if tables else 0
    assert listed == expected["past_due_open"]


def test_a_combination_with_open_past_due_dossiers_exists(demo_db_url, demo_now):
    # Guards the parity test above against checking only zeros.
    assert pandas_figures(demo_db_url, demo_period(demo_now), COMBINATIONS[2])["past_due_open"] > 0


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


# ---------------------------------------------------------------- a real click on a bar
@pytest.mark.browser
def test_clicking_a_procedure_bar_filters_the_page(demo_db_url, demo_now):
    try:
        import playwright.sync_api  # noqa: F401

        from dashboard.testing import browser
    except ImportError as error:
        pytest.skip(f"Playwright is not installed ({error})")
    if not Path(browser.CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"no Chromium at {browser.CHROMIUM}")
        pytest.skip(f"no Chromium at {browser.CHROMIUM}")
    period = demo_period(demo_now, 30)
    artifacts = Path(__file__).resolve().parent.parent / "artifacts" / "browser"
    with browser.running_app(demo_db_url, log_path=artifacts / "procedures.log") as base, browser.browser() as chromium:
        page = browser.new_page(chromium, viewport={"width": 1600, "height": 3600})
        page.goto(f"{base}/{PAGE.url_path}?from={period.start.isoformat()}&to={period.end.isoformat()}")
        page.wait_for_selector(browser.PLOTLY_CHART, timeout=60_000)
        chart = page.locator(".js-plotly-plot").filter(has_text=t("procedures.top_volume_title"))
        chart.locator("g.point path").first.wait_for(timeout=60_000)
        bar = chart.locator("g.point path").first
        bar.scroll_into_view_if_needed()
        box = bar.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("() => window.location.search.includes('procedure=')", timeout=30_000)
        code = page.evaluate("() => new URLSearchParams(window.location.search).get('procedure')")
        page.locator("button", has_text=f"{code} · ").first.wait_for(timeout=30_000)  # the removable chip
        assert page.locator(browser.EXCEPTION).count() == 0
        page.screenshot(path=str(artifacts / "procedures_after_click.png"))
    engine = make_engine(demo_db_url, read_only=True)
    try:
        top = dq.top_procedures(dq.procedure_stats(engine, QueryFilter.build(period)), "received")
    finally:
        engine.dispose()
    assert code == top["procedure_code"].iloc[0]
