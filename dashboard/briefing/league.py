"""The briefing's league page: the five best and the five worst agencies and wards of the week by the scorecard
(`metrics.scorecard_table`, the same table as the page "Xếp hạng" and `python -m dashboard scorecard`), their points
and change against the week before, and which indicators cost the most points.

Only the city's briefing has it (a ward's briefing says so): a league compares units with each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from dashboard.briefing.tables import table
from dashboard.i18n import format_number, format_signed, t
from dashboard.metrics.scorecard import ScorecardRulesError
from dashboard.metrics.scorecard_table import compute_scorecard, load_rules

if TYPE_CHECKING:
    from dashboard.briefing.content import Briefing

TOP = 5
UNITS = ("agency", "area")


def points_lost(row: dict[str, Any]) -> list[tuple[str, float]]:
    """(indicator, points lost = max − points earned) of a scorecard row, measured indicators only, most lost first."""
    lost = [
        (key, float(item["max"]) - float(item["points"]))
        for key, item in row["indicators"].items()
        if item.get("points") is not None
    ]
    return sorted(lost, key=lambda pair: (-pair[1], pair[0]))


def best_and_worst(ranked: list[dict[str, Any]], top: int = TOP) -> tuple[list[dict], list[dict]]:
    """The first `top` ranked rows, and the last `top` among the others (in rank order): no unit is in both."""
    best = ranked[:top]
    rest = ranked[len(best) :]
    return best, rest[-top:] if rest else []


def indicator_losses(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per indicator, the points all `rows` lost on it, how many units lost some, and the unit that lost most; the
    indicators that cost most first (those that cost nothing left out)."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        for key, lost in points_lost(row):
            if lost <= 0:
                continue
            entry = totals.setdefault(key, {"indicator": key, "lost": 0.0, "units": 0, "worst": None, "worst_lost": 0})
            entry["lost"] += lost
            entry["units"] += 1
            if lost > entry["worst_lost"]:
                entry["worst"], entry["worst_lost"] = row["unit_name"], lost
    return sorted(totals.values(), key=lambda entry: (-entry["lost"], entry["indicator"]))


def _rows(rows: list[dict[str, Any]], lang: str) -> list[list[str]]:
    printed = []
    for row in rows:
        lost = [(key, value) for key, value in points_lost(row) if value > 0]
        costliest = (
            t(
                "briefing.league.lost_cell",
                lang,
                indicator=t(f"ranking.indicator.{lost[0][0]}", lang),
                points=format_number(lost[0][1], lang, 1),
            )
            if lost
            else "–"
        )
        printed.append(
            [
                str(row["rank"]),
                str(row["unit_name"]),
                t(
                    "briefing.league.points_cell",
                    lang,
                    points=format_number(row["points"], lang, 1),
                    max=format_number(row["max_points"], lang, 0),
                ),
                format_signed(row["change"], lang, 1),
                costliest,
            ]
        )
    return printed


def league_sections(engine: Engine, briefing: Briefing) -> None:
    """Fill the briefing's league tables (`league_agency`, `league_area`: the five best, then "…" when units are
    left out, then the five at the bottom; `league_lost`) and their notes."""
    lang = briefing.lang
    if briefing.area_code:
        briefing.notes["league"] = t("briefing.league.city_only", lang)
        return
    try:
        rules = load_rules()
    except ScorecardRulesError as error:
        briefing.notes["league"] = t("briefing.league.rules_error", lang, error=str(error))
        return
    columns = [
        (t("ranking.col.rank", lang), True),
        ("", False),
        (t("ranking.col.points", lang), True),
        (t("briefing.league.change", lang), True),
        (t("briefing.league.costliest", lang), False),
    ]
    for by in UNITS:
        card = compute_scorecard(
            engine, briefing.week, by, now=briefing.generated_at, rules=rules, scope=briefing.access
        )
        columns[1] = (t(f"ranking.col.unit_{by}", lang), False)
        ranked = card.ranked
        briefing.notes[f"league_{by}"] = t(
            "briefing.league.counts", lang, ranked=len(ranked), apart=len(card.apart), min=card.min_cases
        )
        best, worst = best_and_worst(ranked)
        gap = [["…", "", "", "", ""]] if worst and worst[0] is not ranked[len(best)] else []
        briefing.tables[f"league_{by}"] = table(columns, _rows(best, lang) + gap + _rows(worst, lang))
        if by == "agency":
            briefing.notes["league_lost"] = (
                t("briefing.league.nothing_lost", lang) if ranked else t("ranking.none", lang, min=card.min_cases)
            )
            measured = sum(rule.max_points for rule in rules.indicators)
            briefing.notes["league_measured"] = t(
                "briefing.league.measured",
                lang,
                measured=format_number(measured, lang),
                total=format_number(rules.total_points, lang),
            )
            briefing.tables["league_lost"] = table(
                [
                    (t("briefing.league.indicator", lang), False),
                    (t("briefing.league.lost_total", lang), True),
                    (t("briefing.league.lost_units", lang), True),
                    (t("briefing.league.lost_most", lang), False),
                ],
                [
                    [
                        t(f"ranking.indicator.{entry['indicator']}", lang),
                        format_number(entry["lost"], lang, 1),
                        format_number(entry["units"], lang),
                        t(
                            "briefing.league.lost_most_cell",
                            lang,
                            unit=entry["worst"],
                            points=format_number(entry["worst_lost"], lang, 1),
                        ),
                    ]
                    for entry in indicator_losses(ranked)
                ],
            )
