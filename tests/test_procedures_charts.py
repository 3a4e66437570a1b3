"""The administrative-procedures page's chart and table builders, on hand-made frames."""

from __future__ import annotations

from datetime import date

import pandas as pd
from procedures_support import NAMES, at

from dashboard.charts import dossiers as charts
from dashboard.charts import theme
from dashboard.i18n import t
from dashboard.metrics import kpis


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
