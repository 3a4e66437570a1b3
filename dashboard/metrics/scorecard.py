"""The Decision 766-style scorecard's rules and arithmetic: no engine, no SQL (`metrics.scorecard_table` runs the
queries of `db.scorecard_queries` and hands their counts here).

What each indicator counts, its default points and threshold and where they come from: data/scorecard.yaml (the
file read is the setting IOC_SCORECARD_FILE). In short, per unit (agency or ward) and period:

on_time                 on time ÷ dossiers in the on-time set (received in the period or carried over open)
online                  filed online ÷ dossiers received in the period
feedback_on_time        resolved by due_at ÷ reports due in the period
feedback_satisfaction   (total − dissatisfied/reopened/overdue) ÷ reports received in the period
procedure_satisfaction  (on time − complaints) ÷ the on-time set = 100 % − (late rate + complaint rate);
                        not measured while no dossier of the set has the complaint field filled

points = max_points when rate ≥ threshold, else rate × max_points ÷ threshold; CityScore = mean of
min(rate ÷ threshold, 1.25); ranks by points ÷ measured maximum, ties (to two decimals) share a rank (1, 1, 3).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

INDICATORS = ("on_time", "online", "feedback_on_time", "feedback_satisfaction", "procedure_satisfaction")
CITYSCORE_CAP = 1.25  # Boston CityScore: actual ÷ target, capped
DECIMALS = 2


@dataclass(frozen=True)
class IndicatorRule:
    key: str
    max_points: float
    threshold: float  # a rate in percent, 0 < threshold ≤ 100


@dataclass(frozen=True)
class Unmeasured:
    key: str
    max_points: float
    needs: str  # what data would measure it (Vietnamese)
    needs_en: str = ""


@dataclass(frozen=True)
class Rules:
    indicators: tuple[IndicatorRule, ...]
    unmeasured: tuple[Unmeasured, ...]

    def rule(self, key: str) -> IndicatorRule:
        return next(r for r in self.indicators if r.key == key)

    @property
    def total_points(self) -> float:
        """Every point of the scorecard, measured or not (100 with the defaults)."""
        return sum(r.max_points for r in self.indicators) + sum(u.max_points for u in self.unmeasured)


DEFAULT_RULES = Rules(
    indicators=(
        IndicatorRule("on_time", 20, 100),
        IndicatorRule("online", 12, 50),
        IndicatorRule("feedback_on_time", 6, 100),
        IndicatorRule("feedback_satisfaction", 6, 90),
        IndicatorRule("procedure_satisfaction", 6, 90),
    ),
    unmeasured=(
        Unmeasured("publication", 18, "công khai thủ tục hành chính", "publication of the procedures"),
        Unmeasured("digitisation", 22, "số hóa hồ sơ và kết quả", "digitisation of dossiers and results"),
        Unmeasured("online_payment", 10, "thanh toán trực tuyến", "online payment"),
    ),
)


# ---------------------------------------------------------------- the rules file
class ScorecardRulesError(ValueError):
    """The rules file cannot be used; the message names the file, the line and the key."""


def _scalar(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def _mapping(node: yaml.Node, fail, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise fail(node, f"{what} must be a mapping of keys to values")
    return node.value


def _number(node: yaml.Node, fail, key: str, *, low: float, high: float | None) -> float:
    value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= low or (high and value > high):
        allowed = f"a number greater than {low:g}" + (f" and at most {high:g}" if high else "")
        raise fail(node, f"{key} = {value if value is not None else '(not a number)'!r}: expected {allowed}")
    return float(value)


def parse_rules(text: str, source: str = "<scorecard>") -> Rules:
    """The rules described by the YAML `text`; what it leaves out keeps DEFAULT_RULES."""

    def fail(node: yaml.Node, message: str) -> ScorecardRulesError:
        return ScorecardRulesError(f"{source}, line {node.start_mark.line + 1}: {message}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ScorecardRulesError(f"{source}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    indicators = {r.key: r for r in DEFAULT_RULES.indicators}
    unmeasured = {u.key: u for u in DEFAULT_RULES.unmeasured}
    if root is None:
        return DEFAULT_RULES
    for key_node, value_node in _mapping(root, fail, "the file"):
        section = _scalar(key_node)
        if section == "indicators":
            for name_node, body in _mapping(value_node, fail, "indicators"):
                key = _scalar(name_node)
                if key not in indicators:
                    raise fail(name_node, f"unknown indicator {key!r}; expected one of {', '.join(INDICATORS)}")
                values = {"max_points": indicators[key].max_points, "threshold": indicators[key].threshold}
                for field_node, field_value in _mapping(body, fail, f"indicators.{key}"):
                    field = _scalar(field_node)
                    if field not in values:
                        raise fail(
                            field_node, f"indicators.{key}: unknown key {field!r}; expected max_points, threshold"
                        )
                    high = 100.0 if field == "threshold" else None
                    values[field] = _number(field_value, fail, f"indicators.{key}.{field}", low=0, high=high)
                indicators[key] = IndicatorRule(key, values["max_points"], values["threshold"])
        elif section == "unmeasured":
            unmeasured = {}
            for name_node, body in _mapping(value_node, fail, "unmeasured"):
                key = str(_scalar(name_node))
                values: dict[str, Any] = {"max_points": None, "needs": None, "needs_en": ""}
                for field_node, field_value in _mapping(body, fail, f"unmeasured.{key}"):
                    field = _scalar(field_node)
                    if field not in values:
                        raise fail(field_node, f"unmeasured.{key}: unknown key {field!r}; expected max_points, needs")
                    if field == "max_points":
                        values[field] = _number(field_value, fail, f"unmeasured.{key}.max_points", low=0, high=None)
                    else:
                        text_value = _scalar(field_value) if isinstance(field_value, yaml.ScalarNode) else None
                        if not isinstance(text_value, str) or not text_value.strip():
                            raise fail(field_value, f"unmeasured.{key}.{field}: expected a text")
                        values[field] = text_value.strip()
                for required in ("max_points", "needs"):
                    if values[required] is None:
                        raise fail(name_node, f"unmeasured.{key}: {required} is missing")
                unmeasured[key] = Unmeasured(key, values["max_points"], values["needs"], values["needs_en"])
        else:
            raise fail(key_node, f"unknown section {section!r}; expected indicators, unmeasured")
    return Rules(tuple(indicators[k] for k in INDICATORS), tuple(unmeasured.values()))


# ---------------------------------------------------------------- arithmetic
def rate(numerator: float | None, denominator: float | None) -> float | None:
    """100 × numerator ÷ denominator (unrounded); None without a denominator."""
    if not denominator or numerator is None:
        return None
    return 100.0 * float(numerator) / float(denominator)


def points(rate_pct: float | None, max_points: float, threshold: float) -> float | None:
    """max_points at or above the threshold, rate × max_points ÷ threshold below it (60 % against 80 % → 0.75 ×)."""
    if rate_pct is None:
        return None
    return float(max_points) if rate_pct >= threshold else rate_pct * max_points / threshold


def cityscore(pairs: Iterable[tuple[float | None, float]]) -> float | None:
    """Mean of min(rate ÷ target, 1.25) over the (rate, target) pairs that have a rate; None when none has."""
    scores = [min(r / target, CITYSCORE_CAP) for r, target in pairs if r is not None and target]
    return sum(scores) / len(scores) if scores else None


def competition_ranks(values: Sequence[float | None]) -> list[int | None]:
    """Ranks of `values`, highest first; equal values share a rank and the next is skipped (1, 1, 3); None: no rank."""
    ordered = sorted((v for v in values if v is not None), reverse=True)
    first = {}
    for position, value in enumerate(ordered, start=1):
        first.setdefault(value, position)
    return [None if v is None else first[v] for v in values]


def _rounded(value: float | None, digits: int = DECIMALS) -> float | None:
    return None if value is None else round(value, digits)


def indicator_counts(dossiers: Mapping[str, Any], feedback: Mapping[str, Any]) -> dict[str, tuple[int, int] | None]:
    """(numerator, denominator) of each indicator from one unit's counts (db.scorecard_queries); None: not measured."""

    def n(row: Mapping[str, Any], key: str) -> int:
        value = row.get(key)
        return int(value) if value is not None and value == value else 0

    in_set, on_time = n(dossiers, "in_set"), n(dossiers, "on_time")
    satisfied = max(on_time - n(dossiers, "complaints"), 0)
    return {
        "on_time": (on_time, in_set),
        "online": (n(dossiers, "online"), n(dossiers, "received")),
        "feedback_on_time": (n(feedback, "due_on_time"), n(feedback, "due")),
        "feedback_satisfaction": (n(feedback, "total") - n(feedback, "bad"), n(feedback, "total")),
        "procedure_satisfaction": (satisfied, in_set) if n(dossiers, "complaint_known") else None,
    }


def score_unit(counts: Mapping[str, tuple[int, int] | None], rules: Rules) -> dict[str, Any]:
    """points, max_points (measured), score_pct, cityscore and the indicators of one unit, unrounded → rounded."""
    indicators: dict[str, dict[str, Any]] = {}
    total, maximum, pairs = 0.0, 0.0, []
    for rule in rules.indicators:
        numerator, denominator = counts.get(rule.key) or (None, None)
        value = rate(numerator, denominator)
        earned = points(value, rule.max_points, rule.threshold)
        if earned is not None:
            total += earned
            maximum += rule.max_points
        pairs.append((value, rule.threshold))
        indicators[rule.key] = {
            "rate": _rounded(value),
            "points": _rounded(earned),
            "max": rule.max_points,
            "threshold": rule.threshold,
            "numerator": numerator if value is not None else None,
            "denominator": denominator if counts.get(rule.key) is not None else None,
        }
    measured = maximum > 0
    return {
        "points": _rounded(total) if measured else None,
        "max_points": maximum,
        "score_pct": _rounded(100 * total / maximum) if measured else None,
        "cityscore": _rounded(cityscore(pairs)),
        "indicators": indicators,
    }


def change(current: float | None, previous: float | None) -> float | None:
    """current − previous (two decimals); None when either is missing."""
    if current is None or previous is None:
        return None
    return round(current - previous, DECIMALS)


def league_table(
    units: Sequence[Mapping[str, Any]],
    rules: Rules,
    min_cases: int,
    previous: Mapping[str, float | None] | None = None,
) -> list[dict[str, Any]]:
    """The scorecard rows: `units` are {"unit", "unit_name", "cases", "counts"} (counts: `indicator_counts`);
    `previous` maps a unit to its points in the previous period. Units with at least `min_cases` cases and a
    measured indicator are ranked; the others follow, rank None ("listed apart"), most cases first. A unit with no
    measured indicator has no row."""
    rows = []
    for unit in units:
        scored = score_unit(unit["counts"], rules)
        if scored["points"] is None:  # nothing measured (e.g. only dossiers without a due date): no row
            continue
        ranked = unit["cases"] >= min_cases and scored["score_pct"] is not None
        before = (previous or {}).get(unit["unit"])
        rows.append(
            {
                "unit": unit["unit"],
                "unit_name": unit["unit_name"],
                "rank": None,
                "ranked": ranked,
                "points": scored["points"],
                "max_points": scored["max_points"],
                "score_pct": scored["score_pct"],
                "cityscore": scored["cityscore"],
                "cases": int(unit["cases"]),
                "previous_points": before,
                "change": change(scored["points"], before),
                "indicators": scored["indicators"],
            }
        )
    ranked_rows = [r for r in rows if r["ranked"]]
    for row, position in zip(ranked_rows, competition_ranks([r["score_pct"] for r in ranked_rows]), strict=True):
        row["rank"] = position
    ranked_rows.sort(key=lambda r: (r["rank"], str(r["unit_name"])))
    apart = sorted((r for r in rows if not r["ranked"]), key=lambda r: (-r["cases"], str(r["unit_name"])))
    return ranked_rows + apart
