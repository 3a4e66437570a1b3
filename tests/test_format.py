"""One formatter: every KPI of one week reads the same on the overview page's tiles, the map page's table, the
wall's tiles and the PDF briefing, in Vietnamese and English (`metrics.format.format_value`)."""

from __future__ import annotations

import re
from datetime import date, datetime
from html import unescape

import pytest
from page_support import metric_value, run_app

from dashboard.briefing.content import build_briefing
from dashboard.charts import map_layers
from dashboard.db.engine import make_engine
from dashboard.i18n import LANGUAGES, format_number, t
from dashboard.metrics import definitions, kpis
from dashboard.metrics.format import NBSP, compact, format_value, separators, value_parts
from dashboard.periods import Period
from dashboard.wall import render as draw

WEEK = "2026-W46"  # the last complete week before the demo database's "now" (Friday 20/11/2026)
MONDAY, SUNDAY = date(2026, 11, 9), date(2026, 11, 15)
# What follows the number on a tile, written out here rather than taken from the formatter.
UNIT_SUFFIX = {
    "vi": {
        "count": "",
        "vehicles": "",
        "pct": " %",
        "index_pct": " %",
        "hours": " giờ",
        "days": " ngày",
        "rating": "/5",
    },
    "en": {"count": "", "vehicles": "", "pct": " %", "index_pct": " %", "hours": " h", "days": " days", "rating": "/5"},
}
WALL_TILE = re.compile(
    r'data-kpi="([^"]+)">.*?class="wall-tile-value">(.*?)</div>.*?class="wall-tile-typical">(.*?)</div>'
)


@pytest.fixture(scope="module")
def week(demo_db_url) -> dict:
    """`kpis.compute_kpis` of the week."""
    engine = make_engine(demo_db_url, read_only=True)
    try:
        return kpis.compute_kpis(engine, Period(MONDAY, SUNDAY))
    finally:
        engine.dispose()


def _value(figures: dict, definition: definitions.KpiDefinition):
    return figures[definition.section][definition.name]


def _wall_tiles(current: dict, lang: str) -> dict[str, tuple[str, str]]:
    """The wall's overview tiles drawn with the week's figures as "today" and as the typical day: key → (value text,
    typical text), tags stripped as a browser shows them."""
    day = {
        "kpis": current,
        "traffic_hour": {"congestion_index_peak": current["traffic"]["congestion_index_peak"]},
        "hour_start": datetime(2026, 11, 15, 17),
    }
    html = draw.overview_html(day, day, lang)

    def shown(fragment: str) -> str:
        return unescape(re.sub(r"<[^>]+>", "", fragment)).strip()

    return {key: (shown(value), shown(typical)) for key, value, typical in WALL_TILE.findall(html)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kpi_of_a_week_reads_the_same_on_page_wall_and_pdf(monkeypatch, demo_db_url, demo_now, week, lang):
    current = week
    page = run_app(monkeypatch, demo_db_url, {"from": MONDAY.isoformat(), "to": SUNDAY.isoformat(), "lang": lang})
    assert not page.exception, [e.message for e in page.exception]
    engine = make_engine(demo_db_url, read_only=True)
    try:
        briefing = build_briefing(engine, WEEK, lang=lang, now=demo_now)
    finally:
        engine.dispose()
    pdf_rows = briefing.tables["kpis"].rows
    assert len(pdf_rows) == len(definitions.KPI_DEFINITIONS)
    table = map_layers.comparison_table({"city": current}, lang)
    wall_tiles = _wall_tiles(current, lang)
    assert set(wall_tiles) == set(draw.OVERVIEW_TILES)

    for definition, pdf_row in zip(definitions.KPI_DEFINITIONS, pdf_rows, strict=True):
        value = _value(current, definition)
        assert value is not None, definition.key  # the demo week has every KPI
        label = t(f"kpi.{definition.key}", lang)
        tile = metric_value(page, label)
        assert pdf_row[0] == label
        pdf = pdf_row[1]
        # The tile as it always read: the number with the definition's decimals, then the unit.
        assert tile == format_number(value, lang, definition.decimals) + UNIT_SUFFIX[lang][definition.unit]
        assert tile == format_value(definition, value, lang, "tile")
        # The PDF is the same text; only its space before a unit does not break.
        assert pdf == format_value(definition, value, lang, "pdf")
        assert pdf.replace(NBSP, " ") == tile
        assert briefing.lines[definitions.KPI_DEFINITIONS.index(definition)].value_text == pdf
        assert table.loc[table.index[definitions.KPI_DEFINITIONS.index(definition)], "city"] == tile

    for key, (wall_text, typical_text) in wall_tiles.items():
        definition = draw.tile_definition(key)
        value = _value(current, definition)
        assert wall_text == format_value(definition, value, lang, "wall")
        assert typical_text == t("wall.typical", lang, value=wall_text)
        if definition.unit in ("count", "vehicles"):  # counts are shortened on the wall, read from afar
            assert wall_text == compact(value, lang)
        else:
            assert wall_text == metric_value(page, t(f"kpi.{definition.key}", lang))


def test_styles_and_missing_values():
    on_time = definitions.KPI_BY_KEY["feedback.resolved_on_time_pct"]
    hours = definitions.KPI_BY_KEY["feedback.median_resolution_hours"]
    rating = definitions.KPI_BY_KEY["feedback.satisfaction_avg"]
    vehicles = definitions.KPI_BY_KEY["traffic.vehicles"]
    assert format_value(on_time, 94.24, "vi") == "94,2 %" == format_value(on_time, 94.24, "vi", "table")
    assert format_value(on_time, 94.24, "en", "pdf") == f"94.2{NBSP}%"
    assert format_value(hours, 41.5, "vi", "pdf") == f"41,5{NBSP}giờ"
    assert format_value(hours, 41.5, "en", "tile") == "41.5 h"
    assert format_value(rating, 4.123, "vi") == "4,12/5" == format_value(rating, 4.123, "vi", "pdf")
    assert format_value(vehicles, 1_132_349, "vi") == "1.132.349"
    assert format_value(vehicles, 1_132_349, "vi", "wall") == "1,13 tr"
    assert format_value(vehicles, 1_132_349, "en", "wall") == "1.13 M"
    assert format_value(vehicles, 245_210, "vi", "wall") == "245 N"
    assert value_parts(on_time, 87.3, "vi", "wall") == ("87,3", "%")
    for style in ("tile", "table", "pdf", "wall"):
        assert format_value(on_time, None, "vi", style) == "–"
        assert format_value(on_time, float("nan"), "en", style) == "–"
        assert value_parts(vehicles, None, "vi", style) == ("–", "")
    with pytest.raises(ValueError, match="unknown style"):
        format_value(on_time, 1.0, "vi", "poster")


def test_plotly_separators_follow_the_number_format():
    assert separators("vi") == ",."
    assert separators("en") == ".,"
