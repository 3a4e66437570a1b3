"""`python -m dashboard scorecard`: the Decision 766-style league table of agencies or wards for a period.

    python -m dashboard scorecard --from 2026-10-01 --to 2026-10-31 --by agency|area [--json]

Text: rank, unit, points / measured maximum, CityScore, cases, change of points against the previous period of equal
length; units below IOC_SCORECARD_MIN_CASES follow without a rank. `--json`: a list of {"unit", "unit_name", "rank",
"points", "max_points", "cityscore", "cases", "change", "indicators": {key: {"rate", "points", "max", "threshold",
"numerator", "denominator"}}, …} (rates in percent; rank null below the minimum volume). The rules:
data/scorecard.yaml (IOC_SCORECARD_FILE). Exit codes: 0 done, 2 bad input, rules file or database problem.
"""

from __future__ import annotations

import argparse
import json
import sys

from dashboard.commands import date_argument
from dashboard.periods import Period

JSON_KEYS = ("unit", "unit_name", "rank", "points", "max_points", "cityscore", "cases", "change", "indicators")


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "scorecard",
        help="league table of agencies or wards by the Decision 766-style scorecard (data/scorecard.yaml)",
        description="Points per unit for a period, ranked; units below IOC_SCORECARD_MIN_CASES are listed apart.",
    )
    parser.add_argument("--from", dest="date_from", type=date_argument, required=True, metavar="DATE")
    parser.add_argument("--to", dest="date_to", type=date_argument, required=True, metavar="DATE")
    parser.add_argument("--by", choices=("agency", "area"), required=True, help="rank agencies or wards")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per unit")
    parser.set_defaults(handler=command_scorecard)


def _number(value, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value) -> str:
    return "—" if value is None else f"{value:+.2f}"


def render_text(card) -> str:
    """The table as text: the ranked units, then the ones listed apart, then what is not measured."""
    unit_word = "agency" if card.by == "agency" else "ward"
    measured = sum(r.max_points for r in card.rules.indicators)
    lines = [
        f"Scorecard by {unit_word}, {card.period.start:%Y-%m-%d} to {card.period.end:%Y-%m-%d} "
        f"(change: against {card.previous.start:%Y-%m-%d} to {card.previous.end:%Y-%m-%d}; "
        f"counted up to {card.as_of:%Y-%m-%d %H:%M})",
        f"Points measured: {measured:g} of {card.rules.total_points:g}; each unit's total is x / y points of the "
        "indicators it has data for.",
        "",
        f"{'rank':>4}  {'unit':<48} {'points':>15} {'CityScore':>9} {'cases':>8} {'change':>8}",
    ]

    def line(row) -> str:
        rank = "—" if row["rank"] is None else str(row["rank"])
        name = str(row["unit_name"])
        name = name if len(name) <= 48 else name[:47] + "…"
        score = f"{_number(row['points'])} / {row['max_points']:g}"
        return (
            f"{rank:>4}  {name:<48} {score:>15} {_number(row['cityscore']):>9} {row['cases']:>8} "
            f"{_signed(row['change']):>8}"
        )

    lines += [line(r) for r in card.ranked] or ["   (no unit has enough cases to be ranked)"]
    if card.apart:
        lines += ["", f"Listed apart (fewer than {card.min_cases} cases, or nothing measured): not ranked"]
        lines += [line(r) for r in card.apart]
    lines += ["", "Not measured (chưa đo):"]
    lines += [f"  {u.key}: {u.max_points:g} points — cần dữ liệu {u.needs}" for u in card.rules.unmeasured]
    return "\n".join(lines)


def json_rows(card) -> list[dict]:
    return [
        {
            **{key: row[key] for key in JSON_KEYS},
            "score_pct": row["score_pct"],
            "previous_points": row["previous_points"],
        }
        for row in card.rows
    ]


def command_scorecard(args: argparse.Namespace) -> int:
    from dashboard.cli import _engine
    from dashboard.db.engine import check_ready
    from dashboard.metrics.scorecard import ScorecardRulesError
    from dashboard.metrics.scorecard_table import compute_scorecard, load_rules

    try:
        period = Period(args.date_from, args.date_to)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        rules = load_rules()
    except ScorecardRulesError as error:
        print(f"error: scorecard rules: {error}", file=sys.stderr)
        return 2
    with _engine(args, read_only=True) as engine:
        check_ready(engine)
        card = compute_scorecard(engine, period, args.by, rules=rules)
    if args.json:
        print(json.dumps(json_rows(card), ensure_ascii=False, indent=2))
    else:
        print(render_text(card))
    return 0
