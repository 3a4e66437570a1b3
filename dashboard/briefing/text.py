"""Words and numbers of the briefing: KPI values with their units, changes, targets and the generated sentences.

Values come from `dashboard.metrics` unchanged and are written by `metrics.format` in its "pdf" style
(Vietnamese 1.234,5; a no-break space before the unit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.i18n import format_number, t
from dashboard.metrics import definitions
from dashboard.metrics.format import (
    COUNT_UNITS,
    NBSP,
    PERCENT_UNITS,
    format_value,
    target_number,
    with_unit,
)

# The executive summary's sentences, in reading order (5–8 headline KPIs).
HEADLINE_KEYS = (
    "feedback.received",
    "feedback.resolved_on_time_pct",
    "feedback.median_resolution_hours",
    "feedback.satisfaction_avg",
    "feedback.open_backlog",
    "dossiers.completed_on_time_pct",
    "dossiers.online_pct",
    "traffic.congestion_index_peak",
)


@dataclass(frozen=True)
class KpiLine:
    """One KPI of the week as the briefing prints it."""

    key: str
    label: str
    value: float | None
    previous: float | None
    value_text: str
    previous_text: str
    change_text: str
    target_text: str
    status: str | None  # kpis.status: on_target / near_target / off_target / None
    status_text: str
    sentence: str


def target_text(definition: definitions.KpiDefinition, lang: str) -> str:
    """ "≥ 90 %", "≤ 72 giờ", "≥ 4,0/5"; empty for volumes."""
    if definition.target is None or definition.higher_is_better is None:
        return ""
    operator = "≥" if definition.higher_is_better else "≤"
    decimals = 1 if definition.unit == "rating" else (0 if float(definition.target).is_integer() else 1)
    return f"{operator}{NBSP}{with_unit(definition, format_number(definition.target, lang, decimals), lang, 'pdf')}"


def change_amount(
    definition: definitions.KpiDefinition, value: Any, previous: Any, lang: str
) -> tuple[float | None, str]:
    """(signed change, its words without sign): points for percentages, percent for volumes, units otherwise."""
    change = definitions.change(value, previous)
    absolute = change["absolute"]
    if absolute is None:
        return None, ""
    if definition.unit in PERCENT_UNITS:  # changes of percentages are told in points
        return absolute, f"{format_number(abs(absolute), lang, 1)}{NBSP}{t('briefing.unit.points', lang)}"
    if definition.unit in COUNT_UNITS and change["relative_pct"] is not None:  # volumes: in percent
        relative = change["relative_pct"]
        return relative, f"{format_number(abs(relative), lang, 1)}{NBSP}%"
    amount = format_number(abs(absolute), lang, definition.decimals)
    if definition.unit == "rating":
        return absolute, f"{amount}{NBSP}{t('briefing.unit.points', lang)}"
    return absolute, with_unit(definition, amount, lang, "pdf")


def change_text(definition: definitions.KpiDefinition, value: Any, previous: Any, lang: str) -> str:
    """ "+1,3 điểm", "-5,2 %", "+2,1 giờ" for the KPI table ("–" when there is nothing to compare)."""
    signed, words = change_amount(definition, value, previous, lang)
    if signed is None:
        return "–"
    sign = "+" if signed > 0 else ("-" if signed < 0 else "±")
    return sign + words


def sentence(definition: definitions.KpiDefinition, value: Any, previous: Any, lang: str) -> str:
    """ "Tỷ lệ xử lý phản ánh đúng hạn đạt 94,2 %, tăng 1,3 điểm so với tuần trước; đạt mục tiêu ≥ 90 %."""
    if value is None:
        return f"{t(f'kpi.{definition.key}', lang)}: {t('briefing.no_value', lang)}."
    text = t(f"briefing.sentence.{definition.key}", lang, value=format_value(definition, value, lang, "pdf"))
    signed, words = change_amount(definition, value, previous, lang)
    if signed is not None:
        direction = "up" if signed > 0 else ("down" if signed < 0 else "same")
        text += t(f"briefing.change.{direction}", lang, amount=words)
    status = definitions.status(definition, value)
    if status is not None:
        text += t(f"briefing.target.{status}", lang, target=target_text(definition, lang))
    return text + "."


def kpi_line(definition: definitions.KpiDefinition, current: dict, previous: dict, lang: str) -> KpiLine:
    value = current[definition.section][definition.name]
    before = previous[definition.section][definition.name]
    status = definitions.status(definition, value)
    return KpiLine(
        key=definition.key,
        label=t(f"kpi.{definition.key}", lang),
        value=value,
        previous=before,
        value_text=format_value(definition, value, lang, "pdf"),
        previous_text=format_value(definition, before, lang, "pdf"),
        change_text=change_text(definition, value, before, lang),
        target_text=target_text(definition, lang),
        status=status,
        status_text=t(f"status.{status}", lang) if status else "",
        sentence=sentence(definition, value, before, lang),
    )


def kpi_lines(current: dict, previous: dict, lang: str) -> list[KpiLine]:
    """Every KPI of `kpis.KPI_DEFINITIONS`, in its order."""
    return [kpi_line(d, current, previous, lang) for d in definitions.KPI_DEFINITIONS]


def help_text(definition: definitions.KpiDefinition, lang: str) -> str:
    """The KPI's definition from the catalogue (the same text as the dashboard's (?) help)."""
    return t(f"help.{definition.key}", lang, target=target_number(definition, lang))
