"""The page "Xếp hạng" (AppTest on the seeded demo): the same table as the scorecard computed directly, "chưa đo" for
the indicators without data, a bad rules file shown as an error box naming the line."""

from __future__ import annotations

from datetime import date

from page_support import run_app, run_page

from dashboard.db.engine import make_engine
from dashboard.i18n import format_number, t
from dashboard.navigation import PAGES
from dashboard.periods import Period

PAGE = str(next(spec for spec in PAGES if spec.key == "ranking").path)
PARAMS = {"from": "2026-09-01", "to": "2026-10-31"}


def _expected(url: str, by: str):
    from dashboard.metrics.scorecard_table import compute_scorecard

    engine = make_engine(url, read_only=True)
    try:
        return compute_scorecard(engine, Period(date(2026, 9, 1), date(2026, 10, 31)), by)
    finally:
        engine.dispose()


def test_the_page_shows_the_scorecard_of_the_command(monkeypatch, demo_db_url):
    for by, lang in (("agency", "vi"), ("area", "en")):
        app = run_page(monkeypatch, demo_db_url, {**PARAMS, "by": by, "lang": lang}, PAGE)
        card = _expected(demo_db_url, by)
        shown = app.dataframe[0].value
        assert len(shown) == len(card.ranked) > 0
        first = card.ranked[0]
        assert shown.iloc[0][t(f"ranking.col.unit_{by}", lang)] == first["unit_name"]
        assert shown.iloc[0][t("ranking.col.points", lang)] == (
            f"{format_number(first['points'], lang, 2)} / {format_number(first['max_points'], lang, 0)}"
        )
        assert shown.iloc[0][t("ranking.col.rank", lang)] == "1"
        if card.apart:
            assert len(app.dataframe[1].value) == len(card.apart)
        markdown = "\n".join(m.value for m in app.markdown)
        words = {"vi": "**Công khai, minh bạch** (18 điểm): chưa đo — cần dữ liệu công khai thủ tục",
                 "en": "**Publication of procedures** (18 points): not measured — needs data on publication"}  # fmt: skip
        assert words[lang] in markdown


def test_a_bad_rules_file_is_an_error_box_naming_the_line(monkeypatch, demo_db_url, tmp_path):
    rules = tmp_path / "scorecard.yaml"
    rules.write_text("indicators:\n  online:\n    max_points: many\n", encoding="utf-8")
    monkeypatch.setenv("IOC_SCORECARD_FILE", str(rules))
    app = run_app(monkeypatch, demo_db_url, PARAMS, PAGE)
    assert not app.exception
    assert [e.body for e in app.error] == [
        t(
            "ranking.rules_error",
            "vi",
            error=f"{rules}, line 3: indicators.online.max_points = 'many': expected a number greater than 0",
        )  # fmt: skip
    ]


def test_a_database_older_than_its_columns_says_to_run_init_db_instead_of_any_page(monkeypatch, demo_copy_url):
    from sqlalchemy import text

    from dashboard.db import schema

    engine = make_engine(demo_copy_url)
    with engine.begin() as connection:  # a database built before the newest optional columns existed
        for name in schema.ADDED_COLUMNS["dossiers"]:
            connection.execute(text(f'ALTER TABLE dossiers DROP COLUMN "{name}"'))
    engine.dispose()
    app = run_app(monkeypatch, demo_copy_url, {**PARAMS, "by": "area"})  # the router checks before any page runs
    assert not app.exception
    assert [e.body for e in app.error] == [t("error.outdated_title")]
    markdown = "\n".join(m.value for m in app.markdown)
    assert t("error.run_init_db") in markdown and t("error.run_demo") not in markdown
    assert not app.metric and not app.dataframe  # no page ran
