"""The weekly PDF briefing: its figures equal `kpi --json`, the PDF is well made (pages, fonts, headings),
bad input is refused with exit code 2, the forecast section reads the forecast tables, and the page works.

One PDF is rendered for the whole module (Chromium and WeasyPrint take seconds); its pages are
written to artifacts/briefing/ as PNG (pdftoppm -r 60) for people to look at.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from dashboard.briefing import text
from dashboard.briefing.content import build_briefing, weeks_with_data
from dashboard.briefing.render import (
    FontsMissing,
    find_fonts,
    render_briefing,
    render_html,
)
from dashboard.briefing.weeks import (
    BriefingInputError,
    last_complete_week,
    parse_week,
    weeks_in_year,
)
from dashboard.cli import main
from dashboard.db import schema
from dashboard.db.engine import create_schema, duckdb_file, make_engine
from dashboard.i18n import format_number, t
from dashboard.metrics import kpis
from dashboard.periods import Period

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "briefing"
WEEK = "2026-W46"  # the last complete week before the demo database's "now" (Friday 20/11/2026)
MONDAY, SUNDAY = date(2026, 11, 9), date(2026, 11, 15)
NUMBER = re.compile(r"[-+±]?\d{1,3}(?:\.\d{3})*(?:,\d+)?")


def _tool(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.fixture(scope="module")
def engine(demo_db_url):
    engine = make_engine(demo_db_url, read_only=True)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def pdf(engine, demo_now) -> Path:
    """The Vietnamese briefing of WEEK as a file, and its pages as PNG in artifacts/briefing/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"briefing-{WEEK}-vi*"):
        old.unlink()
    path = ARTIFACTS / f"briefing-{WEEK}-vi.pdf"
    path.write_bytes(render_briefing(engine, WEEK, lang="vi", now=demo_now))
    _tool("pdftoppm", "-r", "60", "-png", str(path), str(ARTIFACTS / f"briefing-{WEEK}-vi"))
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf) -> str:
    return _tool("pdftotext", "-layout", str(pdf), "-").replace("\u00a0", " ")


def _vi_number(token: str) -> float:
    return float(token.replace(".", "").replace(",", ".").lstrip("+±"))


# ---------------------------------------------------------------- the PDF
def test_pdf_has_every_heading_and_the_cover_facts(pdf_text):
    for key in (
        "briefing.title",
        "briefing.summary.heading",
        "briefing.table.heading",
        "briefing.feedback.heading",
        "briefing.map.heading",
        "briefing.categories.heading",
        "briefing.wards.heading",
        "briefing.agencies.heading",
        "briefing.dossiers.heading",
        "briefing.traffic.heading",
        "briefing.hotspots.heading",
        "briefing.outlook.heading",
        "briefing.appendix.definitions",
        "briefing.appendix.sources",
        "briefing.league.heading",
        "briefing.league.agency",
        "briefing.league.area",
        "briefing.league.lost_heading",
    ):
        assert t(key) in pdf_text, key
    # The test demo is small: no unit has the 20 cases a week needs to be ranked, and the page says so.
    assert t("ranking.none", min=20) in " ".join(pdf_text.split())
    assert "Tuần 46 năm 2026" in pdf_text and "Từ thứ Hai 09/11/2026 đến Chủ nhật 15/11/2026" in pdf_text
    assert t("app.city").upper() in pdf_text and t("briefing.demo_badge") in pdf_text  # the fixture is demo data
    assert t("briefing.partial_title") not in pdf_text  # a finished week with data on every day
    assert "Trang 2 / " in pdf_text  # page numbers


def test_pdf_figures_equal_kpi_json(capsys, demo_db_url, pdf_text):
    assert (
        main(["--database-url", demo_db_url, "kpi", "--from", MONDAY.isoformat(), "--to", SUNDAY.isoformat(), "--json"])
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    start = pdf_text.index(t("briefing.table.heading"))
    table = pdf_text[start : pdf_text.index("2. " + t("briefing.feedback.heading"), start)]
    compared = 0
    for definition in kpis.KPI_DEFINITIONS:
        label = t(f"kpi.{definition.key}")
        row = next(line for line in table.splitlines() if line.strip().startswith(label + "  "))
        cells = row.strip()[len(label) :]
        expected = printed[definition.section][definition.name]
        if expected is None:
            assert cells.split()[0] == "–", definition.key
            continue
        this_week, previous_week = (_vi_number(token) for token in NUMBER.findall(cells)[:2])
        assert this_week == pytest.approx(expected, abs=1e-9), definition.key
        compared += 1
    assert compared >= 12
    # the headline sentences print the same values
    received = format_number(printed["feedback"]["received"], "vi")
    assert f"Tiếp nhận {received} phản ánh hiện trường" in " ".join(pdf_text.split())


def test_pdf_has_four_to_nine_pages_rendered_as_png(pdf):
    pages = int(re.search(r"Pages:\s+(\d+)", _tool("pdfinfo", str(pdf)))[1])
    assert 4 <= pages <= 10  # eight before the league page (chapter 6), ten with the directives (chapter 7)
    images = sorted(ARTIFACTS.glob(f"briefing-{WEEK}-vi-*.png"))
    assert len(images) == pages
    assert all(image.stat().st_size > 5_000 for image in images)


def test_pdf_embeds_every_font(pdf):
    rows = _tool("pdffonts", str(pdf)).splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        name, emb = row.split()[0], row.split()[-5]
        assert emb == "yes", f"{name} is not embedded"
    assert any("IOC-Briefing-Sans" in row for row in rows)


def test_pdf_without_forecasts_names_the_command(pdf_text):
    assert "python -m dashboard forecast" in pdf_text


# ---------------------------------------------------------------- sentences and weeks
def test_sentence_matches_the_house_style():
    definition = kpis.KPI_BY_KEY["feedback.resolved_on_time_pct"]
    current, previous = {"feedback": {"resolved_on_time_pct": 94.2}}, {"feedback": {"resolved_on_time_pct": 92.9}}
    line = text.kpi_line(definition, current, previous, "vi")
    assert line.sentence.replace("\u00a0", " ") == (
        "Tỷ lệ xử lý phản ánh đúng hạn đạt 94,2 %, tăng 1,3 điểm so với tuần trước; đạt mục tiêu ≥ 90 %."
    )
    english = text.kpi_line(definition, current, previous, "en").sentence.replace("\u00a0", " ")
    assert english == "Reports resolved on time reached 94.2 %, up 1.3 points on the previous week; on target (≥ 90 %)."
    hours = text.kpi_line(
        kpis.KPI_BY_KEY["feedback.median_resolution_hours"],
        {"feedback": {"median_resolution_hours": 90.0}},
        {"feedback": {"median_resolution_hours": None}},
        "vi",
    )
    assert hours.status == "off_target" and hours.change_text == "–"
    assert hours.sentence.replace("\u00a0", " ").endswith("là 90,0 giờ; chưa đạt mục tiêu ≤ 72 giờ.")


def test_iso_weeks():
    assert parse_week("2026-W47") == Period(date(2026, 11, 16), date(2026, 11, 22))
    assert parse_week("2021-W01") == Period(date(2021, 1, 4), date(2021, 1, 10))
    assert weeks_in_year(2026) == 53 and weeks_in_year(2025) == 52
    assert last_complete_week(date(2026, 11, 20)) == parse_week("2026-W46")
    assert last_complete_week(date(2026, 11, 23)) == parse_week("2026-W47")  # a Monday: last week is complete
    for bad in ("2026-W60", "2025-W53", "2026-W00", "2026-47", "next week"):
        with pytest.raises(BriefingInputError):
            parse_week(bad)


# ---------------------------------------------------------------- content
def test_partial_week_says_so(engine, demo_now):
    briefing = build_briefing(engine, "2026-W47", now=demo_now)
    assert briefing.partial and "20/11/2026" in briefing.partial[0]
    html = render_html(briefing, {})
    assert t("briefing.partial_title") in html and briefing.partial[0] in html


def test_area_briefing_uses_the_area_kpis(engine, demo_now):
    briefing = build_briefing(engine, WEEK, area="19753", lang="en", now=demo_now)
    assert briefing.current == kpis.compute_kpis(engine, parse_week(WEEK), ["19753"])
    assert briefing.scope != t("briefing.scope_city", "en")
    assert briefing.notes["league"] == t("briefing.league.city_only", "en") and "league_agency" not in briefing.tables
    city = build_briefing(engine, WEEK, now=demo_now)
    assert 0 < briefing.current["feedback"]["received"] < city.current["feedback"]["received"]
    assert briefing.headlines[0].sentence.startswith(f"{briefing.current['feedback']['received']} field reports")


def test_weeks_offered_on_the_page(engine, demo_now):
    weeks = weeks_with_data(engine, demo_now.date())
    first_day = demo_now.date() - timedelta(days=400)  # the fixture's 400 days of data
    year, number, _ = first_day.isocalendar()
    assert weeks[0] == "2026-W47" and weeks[-1] == f"{year}-W{number:02d}" and WEEK in weeks  # newest first
    assert len(weeks) == len(set(weeks)) == (parse_week("2026-W47").start - parse_week(weeks[-1]).start).days // 7 + 1


def test_forecast_section_reads_the_stored_run(tmp_path, demo_db_url, demo_now):
    copy = tmp_path / "with_forecast.duckdb"
    shutil.copy(duckdb_file(demo_db_url), copy)
    engine = make_engine(f"duckdb:///{copy}")
    try:
        create_schema(engine)
        next_monday = SUNDAY + timedelta(days=1)
        with engine.begin() as connection:
            connection.execute(
                insert(schema.forecast_runs),
                [
                    dict(
                        run_id="r1",
                        created_at=datetime(2026, 11, 16, 6, 0),
                        metric="feedback",
                        horizon_days=28,
                        holdout_days=0,
                        status="current",
                    )
                ],
            )
            connection.execute(
                insert(schema.forecasts),
                [
                    dict(
                        run_id="r1",
                        series_id="feedback:city",
                        metric="feedback",
                        ds=next_monday + timedelta(days=i),
                        yhat=100.0 + i,
                        yhat_lower=80.0,
                        yhat_upper=130.0,
                        model="naive",
                    )
                    for i in range(7)
                ],
            )
            connection.execute(
                insert(schema.anomalies),
                [
                    dict(
                        run_id="r1",
                        series_id="feedback:area:19753:noise",
                        area_code="19753",
                        category="noise",
                        ds=MONDAY + timedelta(days=2),
                        actual=14.0,
                        expected=3.0,
                        lower=0.0,
                        upper=7.0,
                        size=4.3,
                    )
                ],
            )
        briefing = build_briefing(engine, WEEK, now=demo_now)
        old_week = build_briefing(engine, "2026-W10", now=demo_now)  # before the run's 120 scanned days
    finally:
        engine.dispose()
    assert "outlook" not in briefing.notes
    forecast = briefing.tables["forecast"]
    assert forecast.rows == (
        (
            t("briefing.forecast.metric.feedback"),
            format_number(briefing.current["feedback"]["received"], "vi"),
            "721",
            "560 – 910",
            "7",
        ),
    )
    anomaly = briefing.tables["anomalies"].rows[0]
    assert anomaly[0] == "11/11/2026" and anomaly[2] == t("category.noise") and anomaly[3:] == ("14", "3,0", "+4,3")
    assert list(briefing.forecast_next["yhat"]) == [100.0 + i for i in range(7)]
    assert not old_week.tables["anomalies"] and "19/07/2026" in old_week.notes["anomalies"]
    assert not old_week.tables["forecast"] and "forecast" in old_week.notes


# ---------------------------------------------------------------- bad input and fonts
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--week", "2026-W60"], "2026 has ISO weeks 2026-W01 to 2026-W53"),
        (["--week", "2020-W05"], "no data in 2020-W05"),
        (["--week", WEEK, "--area", "99999"], "unknown area code '99999'"),
        (["--week", "last week"], "YYYY-Www"),
    ],
)
def test_bad_brief_input_is_explained(capsys, tmp_path, demo_db_url, argv, message):
    out_file = tmp_path / "b.pdf"
    code = main(["--database-url", demo_db_url, "brief", *argv, "--out", str(out_file)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and message in captured.err
    assert not out_file.exists()


def test_missing_fonts_name_the_package(tmp_path):
    with pytest.raises(FontsMissing, match="fonts-noto-core"):
        find_fonts([tmp_path])
    (tmp_path / "DejaVuSans.ttf").write_bytes(b"")
    assert find_fonts([tmp_path]).main[0].path.name == "DejaVuSans.ttf"


# ---------------------------------------------------------------- the page
def test_briefing_page_previews_and_offers_the_pdf(monkeypatch, demo_db_url, engine):
    from page_support import run_app

    from dashboard.navigation import PAGES

    spec = next(spec for spec in PAGES if spec.key == "briefing")
    app = run_app(monkeypatch, demo_db_url, page=str(spec.path))
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.body for e in app.error]
    buttons = app.get("download_button")
    assert len(buttons) == 1 and buttons[0].label == t("briefing.page.download")
    week = app.session_state["briefing_week"]
    received = kpis.compute_kpis(engine, parse_week(week))["feedback"]["received"]
    sentence = f"Tiếp nhận {format_number(received, 'vi')} phản ánh hiện trường"
    assert any(sentence in m.value for m in app.markdown)


# ---------------------------------------------------------------- the league page
def test_league_page_is_the_scorecard_of_the_week(engine, demo_now, monkeypatch):
    from dashboard.briefing import league
    from dashboard.metrics.scorecard_table import compute_scorecard

    monkeypatch.setenv("IOC_SCORECARD_MIN_CASES", "3")  # the test demo is small: a week has few cases per unit
    briefing = build_briefing(engine, WEEK, now=demo_now)
    html = render_html(briefing, {})
    for by in ("agency", "area"):
        card = compute_scorecard(engine, parse_week(WEEK), by, now=briefing.generated_at)
        ranked = card.ranked
        assert len(ranked) > 10  # the demo has enough units for a gap between the best and the worst five
        printed = briefing.tables[f"league_{by}"].rows
        names = [row[1] for row in printed]
        assert names == [r["unit_name"] for r in ranked[:5]] + [""] + [r["unit_name"] for r in ranked[-5:]]
        assert [row[0] for row in printed] == [str(r["rank"]) for r in ranked[:5]] + ["…"] + [
            str(r["rank"]) for r in ranked[-5:]
        ]
        assert printed[0][2] == f"{format_number(ranked[0]['points'], 'vi', 1)} / {ranked[0]['max_points']:.0f}"
        assert f'<td class="">{names[0]}</td>' in html and f'<td class="">{names[-1]}</td>' in html
    # What cost the most points: per indicator, max − points summed over the ranked agencies.
    agencies = compute_scorecard(engine, parse_week(WEEK), "agency", now=briefing.generated_at).ranked
    expected: dict[str, float] = {}
    for row in agencies:
        for key, item in row["indicators"].items():
            if item["points"] is not None and item["max"] > item["points"]:
                expected[key] = expected.get(key, 0.0) + item["max"] - item["points"]
    losses = league.indicator_losses(agencies)
    assert [(e["indicator"], round(e["lost"], 6)) for e in losses] == sorted(
        ((k, round(v, 6)) for k, v in expected.items()), key=lambda pair: -pair[1]
    )
    assert [row[0] for row in briefing.tables["league_lost"].rows] == [
        t(f"ranking.indicator.{e['indicator']}") for e in losses
    ]


def test_league_best_and_worst_never_repeat_a_unit():
    from dashboard.briefing.league import best_and_worst, points_lost

    rows = [{"unit": str(i)} for i in range(7)]
    best, worst = best_and_worst(rows)
    assert [r["unit"] for r in best] == ["0", "1", "2", "3", "4"] and [r["unit"] for r in worst] == ["5", "6"]
    assert best_and_worst(rows[:3]) == (rows[:3], [])
    row = {
        "indicators": {"a": {"points": 4.5, "max": 6}, "b": {"points": None, "max": 12}, "c": {"points": 20, "max": 20}}
    }
    assert points_lost(row) == [("a", 1.5), ("c", 0.0)]
