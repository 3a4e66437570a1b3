"""Tables and texts of the page "Xếp hạng" from a computed scorecard (metrics.scorecard_table): what a leader reads,
in the page's language; indicators without data say "chưa đo", never a number."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dashboard.i18n import CATALOGUE, format_number, t
from dashboard.metrics.scorecard import INDICATORS, Rules
from dashboard.safe_text import markdown_text

CHART_COLUMNS = ["rank", "unit_name", "points", "max_points", "score_pct", "cityscore", "cases", "change"]


def chart_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*CHART_COLUMNS, "indicators"])[CHART_COLUMNS]


def _number(value, lang: str, decimals: int, suffix: str = "") -> str:
    return t("ranking.not_measured", lang) if value is None else format_number(value, lang, decimals) + suffix


def _signed(value, lang: str) -> str:
    if value is None:
        return "–"
    return ("+" if value > 0 else "") + format_number(value, lang, 2)


def display_table(rows: list[dict[str, Any]], by: str, lang: str) -> pd.DataFrame:
    """One row per unit: rank, name, "x / y" points, share of measured points, CityScore, cases, change, and each
    indicator's rate (with its points) or "chưa đo"."""
    percent = " %" if lang == "vi" else "%"
    records = []
    for row in rows:
        record = {
            t("ranking.col.rank", lang): "–" if row["rank"] is None else str(row["rank"]),
            t(f"ranking.col.unit_{by}", lang): row["unit_name"],
            t(
                "ranking.col.points", lang
            ): f"{_number(row['points'], lang, 2)} / {format_number(row['max_points'], lang, 0)}",
            t("ranking.col.score_pct", lang): _number(row["score_pct"], lang, 1, percent),
            t("ranking.col.cityscore", lang): _number(row["cityscore"], lang, 2),
            t("ranking.col.cases", lang): format_number(row["cases"], lang, 0),
            t("ranking.col.change", lang): _signed(row["change"], lang),
        }
        for key in INDICATORS:
            indicator = row["indicators"][key]
            if indicator["rate"] is None:
                value = t("ranking.not_measured", lang)
            else:
                value = t(
                    "ranking.cell",
                    lang,
                    rate=format_number(indicator["rate"], lang, 1) + percent,
                    points=format_number(indicator["points"], lang, 2),
                    max=format_number(indicator["max"], lang, 0),
                )
            record[t(f"ranking.indicator.{key}", lang)] = value
        records.append(record)
    return pd.DataFrame(records)


def rules_lines(rules: Rules, lang: str) -> list[str]:
    """Markdown lines: each measured indicator with its points and threshold, then each unmeasured one with the data
    it needs ("chưa đo — cần dữ liệu …")."""
    lines = [
        t(
            "ranking.rule_line",
            lang,
            name=t(f"ranking.indicator.{r.key}", lang),
            points=format_number(r.max_points, lang, 0),
            threshold=format_number(r.threshold, lang, 0),
        )
        for r in rules.indicators
    ]
    catalogue = CATALOGUE.get(lang, CATALOGUE["vi"])
    for item in rules.unmeasured:
        key = f"ranking.unmeasured.{item.key}"
        name = t(key, lang) if key in catalogue else markdown_text(item.key)
        needs = item.needs_en if lang == "en" and item.needs_en else item.needs
        lines.append(
            t(
                "ranking.unmeasured_line",
                lang,
                name=name,
                points=format_number(item.max_points, lang, 0),
                needs=markdown_text(needs),
            )
        )
    return lines
