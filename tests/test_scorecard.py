"""The Decision 766-style scorecard: hand-worked values on DuckDB and PostgreSQL (tests/scorecard_data.py), the pure
arithmetic, the rules file and the command line."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
from scorecard_data import MARCH, NOW, load

from dashboard.cli import main
from dashboard.metrics import scorecard
from dashboard.metrics.scorecard import (
    DEFAULT_RULES,
    ScorecardRulesError,
    cityscore,
    competition_ranks,
    parse_rules,
    points,
)
from dashboard.metrics.scorecard_table import compute_scorecard, load_rules
from dashboard.periods import Period

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- pure arithmetic
def test_threshold_scaling_full_points_at_or_above_the_threshold():
    assert points(60.0, 20, 80) == 15.0  # 60 % against 80 % → 0.75 × the maximum
    assert points(80.0, 20, 80) == 20.0
    assert points(97.0, 20, 80) == 20.0
    assert points(0.0, 12, 50) == 0.0
    assert points(None, 12, 50) is None


def test_ranks_share_ties_and_skip():
    assert competition_ranks([90.0, 95.5, 90.0, 80.0, None]) == [2, 1, 2, 4, None]
    assert competition_ranks([50.0, 50.0, 40.0]) == [1, 1, 3]


def test_cityscore_caps_each_metric_at_one_and_a_quarter():
    # 75 % against 50 % would be 1.5: capped at 1.25; (1.25 + 0.5) ÷ 2 = 0.875
    assert cityscore([(75.0, 50.0), (45.0, 90.0), (None, 100.0)]) == pytest.approx(0.875)
    assert cityscore([(None, 100.0)]) is None


def test_the_rules_file_holds_the_documented_defaults():
    assert load_rules(ROOT / "data" / "scorecard.yaml") == parse_rules(
        (ROOT / "data" / "scorecard.yaml").read_text(encoding="utf-8")
    )
    rules = load_rules(ROOT / "data" / "scorecard.yaml")
    assert [(r.key, r.max_points, r.threshold) for r in rules.indicators] == [
        (r.key, r.max_points, r.threshold) for r in DEFAULT_RULES.indicators
    ]
    assert [(u.key, u.max_points) for u in rules.unmeasured] == [
        ("publication", 18),
        ("digitisation", 22),
        ("online_payment", 10),
    ]
    assert rules.total_points == 100
    assert sum(r.max_points for r in rules.indicators) == 50


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("indicators:\n  online:\n    threshold: 150\n", "<s>, line 3: indicators.online.threshold = 150: expected"),
        ("indicators:\n  online:\n    max_points: lots\n", "<s>, line 3: indicators.online.max_points = 'lots'"),
        ("indicators:\n  speed:\n    max_points: 5\n", "<s>, line 2: unknown indicator 'speed'"),
        ("indicators:\n  online:\n    treshold: 50\n", "<s>, line 3: indicators.online: unknown key 'treshold'"),
        ("unmeasured:\n  payment:\n    needs: x\n", "<s>, line 2: unmeasured.payment: max_points is missing"),
        ("bonus: 3\n", "<s>, line 1: unknown section 'bonus'"),
        ("indicators: [1\n", "<s>, line 2: not valid YAML"),
    ],
)
def test_a_bad_rules_file_names_the_line_and_key(text, message):
    with pytest.raises(ScorecardRulesError) as error:
        parse_rules(text, "<s>")
    assert str(error.value).startswith(message)


def test_a_rules_file_changes_points_and_thresholds():
    rules = parse_rules("indicators:\n  on_time:\n    max_points: 10\n    threshold: 80\n")
    assert rules.rule("on_time") == scorecard.IndicatorRule("on_time", 10.0, 80.0)
    assert rules.rule("online") == DEFAULT_RULES.rule("online")


# ---------------------------------------------------------------- hand-worked table, both engines
A_INDICATORS = {
    # a1 on time; a2 late; a3 2 days after due but 3 days waiting → on time; a4 two requests → late; a5 open, due
    # after the end → on time; a6 open past due → late; a7 carried over, late. 3 ÷ 7 = 42.857 % → 8.57 of 20.
    "on_time": {"rate": 42.86, "points": 8.57, "max": 20.0, "threshold": 100.0, "numerator": 3, "denominator": 7},
    # received in March: a1–a6, a9 (returned), a10 (no due); online: a1 a3 a4 a5 a9 a10. 6 ÷ 8 = 75 % ≥ 50 % → 12.
    "online": {"rate": 75.0, "points": 12.0, "max": 12.0, "threshold": 50.0, "numerator": 6, "denominator": 8},
    # due in March: fa1 fa2 fa3 fa4 fa6 fa8; by due: fa1 fa3 fa4 fa6. 4 ÷ 6 = 66.667 % → 4.00 of 6.
    "feedback_on_time": {
        "rate": 66.67,
        "points": 4.0,
        "max": 6.0,
        "threshold": 100.0,
        "numerator": 4,
        "denominator": 6,
    },
    # received in March, not rejected: fa1 fa2 fa3 fa4 fa5 fa8; fa2 overdue, fa3 rated 2, fa4 reopened, fa8 overdue.
    # 2 ÷ 6 = 33.333 % → 33.333 × 6 ÷ 90 = 2.22.
    "feedback_satisfaction": {
        "rate": 33.33,
        "points": 2.22,
        "max": 6.0,
        "threshold": 90.0,
        "numerator": 2,
        "denominator": 6,
    },
    # 100 % − (4 late ÷ 7 + 1 complaint (a6) ÷ 7) = (3 − 1) ÷ 7 = 28.571 % → 28.571 × 6 ÷ 90 = 1.90.
    "procedure_satisfaction": {
        "rate": 28.57,
        "points": 1.9,
        "max": 6.0,
        "threshold": 90.0,
        "numerator": 2,
        "denominator": 7,
    },
}
PERFECT = {
    "on_time": {"rate": 100.0, "points": 20.0, "max": 20.0, "threshold": 100.0, "numerator": 5, "denominator": 5},
    "online": {"rate": 100.0, "points": 12.0, "max": 12.0, "threshold": 50.0, "numerator": 5, "denominator": 5},
    "feedback_on_time": {
        "rate": 100.0,
        "points": 6.0,
        "max": 6.0,
        "threshold": 100.0,
        "numerator": 5,
        "denominator": 5,
    },
    "feedback_satisfaction": {
        "rate": 100.0,
        "points": 6.0,
        "max": 6.0,
        "threshold": 90.0,
        "numerator": 5,
        "denominator": 5,
    },
    "procedure_satisfaction": {
        "rate": 100.0,
        "points": 6.0,
        "max": 6.0,
        "threshold": 90.0,
        "numerator": 5,
        "denominator": 5,
    },
}


@pytest.fixture
def card_engine(any_db_url):
    engine = load(any_db_url)
    yield engine
    engine.dispose()


def _summary(row):
    keys = ("unit", "unit_name", "rank", "points", "max_points", "score_pct", "cityscore", "cases", "change")
    return tuple(row[k] for k in keys)


def test_scorecard_by_agency_hand_worked(card_engine):
    card = compute_scorecard(card_engine, MARCH, "agency", now=NOW, rules=DEFAULT_RULES, min_cases=10)
    assert card.as_of == datetime(2026, 4, 1)
    assert card.previous == Period(MARCH.start.replace(month=1, day=29), MARCH.start.replace(month=2, day=28))
    assert [_summary(r) for r in card.rows] == [
        # B and C: everything on time, online, satisfied: 50 / 50. CityScore: (1 + 1.25 (100 ÷ 50 capped) + 1 +
        # 100/90 + 100/90) ÷ 5 = 1.094. Nothing in the previous period: no change. Tied: rank 1 both.
        ("B", "B", 1, 50.0, 50.0, 100.0, 1.09, 10, None),
        ("C", "C", 1, 50.0, 50.0, 100.0, 1.09, 10, None),
        # A: 8.5714 + 12 + 4 + 2.2222 + 1.9048 = 28.70 of 50 (57.40 %); 7 dossiers + 6 reports = 13 cases; rank 3.
        # CityScore: (0.4286 + 1.25 (75 ÷ 50 = 1.5, capped) + 0.6667 + 0.3704 + 0.3175) ÷ 5 = 0.61.
        # Previous period (29/01–28/02, as of 01/03): a7 (open past due) and a8 (late) → on time 0 of 2, 0 points;
        # online 0 of 2, 0 points; complaints unknown → not measured; fa6 received, not overdue by 01/03 → 1 of 1
        # satisfied → 6 points; nothing due. 6.00 → change +22.70.
        ("A", "A", 3, 28.7, 50.0, 57.4, 0.61, 13, 22.7),
        # S: 2 cases < 10: listed apart, no rank. On time 2/2 (20), online 2/2 (12); complaints unknown and no
        # feedback → 32 of 32 measured. CityScore (1 + 1.25) ÷ 2 = 1.125 → 1.12 (half to even).
        ("S", "S", None, 32.0, 32.0, 100.0, 1.12, 2, None),
    ]
    by_unit = {r["unit"]: r for r in card.rows}
    assert by_unit["A"]["indicators"] == A_INDICATORS
    assert by_unit["B"]["indicators"] == PERFECT
    assert by_unit["A"]["previous_points"] == 6.0
    s = by_unit["S"]["indicators"]
    assert s["procedure_satisfaction"] == {
        "rate": None,
        "points": None,
        "max": 6.0,
        "threshold": 90.0,
        "numerator": None,
        "denominator": None,
    }  # "chưa đo": no dossier of S has the complaint field filled
    assert (s["feedback_on_time"]["rate"], s["feedback_on_time"]["denominator"]) == (None, 0)
    assert [r["unit"] for r in card.ranked] == ["B", "C", "A"] and [r["unit"] for r in card.apart] == ["S"]


def test_scorecard_by_area_uses_ward_names(card_engine):
    card = compute_scorecard(card_engine, MARCH, "area", now=NOW, rules=DEFAULT_RULES, min_cases=10)
    assert [_summary(r) for r in card.rows] == [
        ("B1", "Phường B", 1, 50.0, 50.0, 100.0, 1.09, 10, None),
        ("C1", "Phường C", 1, 50.0, 50.0, 100.0, 1.09, 10, None),
        ("A1", "Phường A", 3, 28.7, 50.0, 57.4, 0.61, 13, 22.7),
        ("S1", "Phường S", None, 32.0, 32.0, 100.0, 1.12, 2, None),
    ]


def test_a_period_not_ended_is_counted_up_to_now(card_engine):
    """As of 20/03 00:00: a6 (due 27/03) is still within its deadline, a3 (due 13/03 + 3 days, completed 15/03) on
    time, a5 not yet received; fa8 not yet received."""
    card = compute_scorecard(card_engine, MARCH, "agency", now=datetime(2026, 3, 20), rules=DEFAULT_RULES, min_cases=1)
    a = next(r for r in card.rows if r["unit"] == "A")
    assert card.as_of == datetime(2026, 3, 20)
    # set: a1 a2 a3 a4 a6? a6 received 20/03 08:00 — after the instant: out. a7. → a1 a2 a3 a4 a7 = 5; on time a1 a3
    assert (a["indicators"]["on_time"]["numerator"], a["indicators"]["on_time"]["denominator"]) == (2, 5)
    # due before 20/03: fa1 fa2 fa3 fa4 fa6 → on time fa1 fa3 fa4 fa6
    assert (a["indicators"]["feedback_on_time"]["numerator"], a["indicators"]["feedback_on_time"]["denominator"]) == (
        4,
        5,
    )


def test_the_minimum_volume_comes_from_the_setting(card_engine, monkeypatch):
    monkeypatch.setenv("IOC_SCORECARD_MIN_CASES", "11")
    card = compute_scorecard(card_engine, MARCH, "agency", now=NOW, rules=DEFAULT_RULES)
    assert [(r["unit"], r["rank"]) for r in card.rows] == [("A", 1), ("B", None), ("C", None), ("S", None)]


# ---------------------------------------------------------------- command line
def test_cli_json_shape_and_values(card_engine, any_db_url, capsys, monkeypatch):
    card_engine.dispose()
    monkeypatch.setenv("IOC_SCORECARD_MIN_CASES", "10")
    assert main(["--database-url", any_db_url, "scorecard", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--by", "agency", "--json"]) == 0  # fmt: skip
    rows = json.loads(capsys.readouterr().out)
    assert [r["unit"] for r in rows] == ["B", "C", "A", "S"]
    required = {"unit", "unit_name", "rank", "points", "max_points", "cityscore", "cases", "indicators", "change"}
    for row in rows:
        assert required <= set(row)
        assert set(row["indicators"]) == set(scorecard.INDICATORS)
        for indicator in row["indicators"].values():
            assert set(indicator) == {"rate", "points", "max", "threshold", "numerator", "denominator"}
    a = rows[2]
    assert (a["rank"], a["points"], a["max_points"], a["cityscore"], a["cases"]) == (3, 28.7, 50.0, 0.61, 13)
    assert a["indicators"] == A_INDICATORS
    assert rows[3]["rank"] is None


def test_cli_text_lists_small_units_apart_and_what_is_not_measured(card_engine, any_db_url, capsys, monkeypatch):
    card_engine.dispose()
    monkeypatch.setenv("IOC_SCORECARD_MIN_CASES", "10")
    assert main(["--database-url", any_db_url, "scorecard", "--from", "2026-03-01", "--to", "2026-03-31",
                 "--by", "area"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "   1  Phường B" in out and "   3  Phường A" in out and "28.70 / 50" in out and "+22.70" in out
    assert "Listed apart (fewer than 10 cases, or nothing measured): not ranked\n   —  Phường S" in out
    assert "publication: 18 points — cần dữ liệu" in out and "Points measured: 50 of 100" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "2026-03-31", "--to", "2026-03-01", "--by", "area"], "error: period ends (01/03/2026) before"),
        (["--from", "yesterday", "--to", "2026-03-01", "--by", "area"], "argument --from"),
        (["--from", "2026-03-01", "--to", "2026-03-31", "--by", "street"], "argument --by: invalid choice"),
    ],
)
def test_cli_bad_input_is_one_clear_line(argv, message, capsys, tmp_path):
    url = f"duckdb:///{tmp_path / 'none.duckdb'}"
    try:
        code = main(["--database-url", url, "scorecard", *argv])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_bad_rules_file(tmp_path, capsys, monkeypatch):
    rules = tmp_path / "rules.yaml"
    rules.write_text("indicators:\n  online:\n    threshold: -5\n", encoding="utf-8")
    monkeypatch.setenv("IOC_SCORECARD_FILE", str(rules))
    code = main(["--database-url", f"duckdb:///{tmp_path / 'x.duckdb'}", "scorecard", "--from", "2026-03-01",
                 "--to", "2026-03-31", "--by", "agency"])  # fmt: skip
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: scorecard rules: {rules}, line 3: indicators.online.threshold = -5: expected a number greater than 0 "
        "and at most 100\n"
    )


# ---------------------------------------------------------------- the demo database
def test_scorecard_on_the_demo(demo_db_url, demo_now):
    from dashboard.db.engine import make_engine

    engine = make_engine(demo_db_url, read_only=True)
    try:
        began = time.perf_counter()
        period = Period(demo_now.date().replace(day=1, month=10), demo_now.date().replace(day=31, month=10))
        card = compute_scorecard(engine, period, "agency", now=demo_now)
        assert time.perf_counter() - began < 10
    finally:
        engine.dispose()
    assert card.ranked and all(0 <= r["points"] <= r["max_points"] <= 50 for r in card.rows)
    ranks = [r["rank"] for r in card.ranked]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # the demo fills the complaint field: procedure satisfaction is measured wherever the on-time set is not empty
    assert all(
        r["indicators"]["procedure_satisfaction"]["rate"] is not None
        for r in card.rows
        if r["indicators"]["on_time"]["denominator"]
    )


def test_an_older_database_is_told_to_run_init_db(tmp_path, capsys):
    from sqlalchemy import text

    from dashboard.db.engine import make_engine
    from dashboard.db.load import prepare_database

    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    engine = make_engine(url)
    prepare_database(engine, "hue")
    with engine.begin() as connection:
        connection.execute(text('ALTER TABLE dossiers DROP COLUMN "complaint"'))
    engine.dispose()
    code = main(["--database-url", url, "scorecard", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "area"])
    assert code == 2
    err = capsys.readouterr().err
    assert "lacks the columns dossiers.complaint (made before they existed)." in err
    assert err.endswith("hint: python -m dashboard init-db\n") and "Traceback" not in err


def test_thresholds_from_a_rules_file_scale_the_table(card_engine):
    """on_time against 80 % instead of 100 %: A's 42.857 % earns 42.857 × 20 ÷ 80 = 10.71 (was 8.57); B's 100 % stays
    20. A's total: 28.70 − 8.57 + 10.71 = 30.84 (10.7143 + 12 + 4 + 2.2222 + 1.9048 = 30.8413)."""
    rules = parse_rules("indicators:\n  on_time:\n    threshold: 80\n")
    card = compute_scorecard(card_engine, MARCH, "agency", now=NOW, rules=rules, min_cases=10)
    by_unit = {r["unit"]: r for r in card.rows}
    assert by_unit["A"]["indicators"]["on_time"]["points"] == 10.71
    assert by_unit["A"]["points"] == 30.84
    assert by_unit["B"]["indicators"]["on_time"]["points"] == 20.0
