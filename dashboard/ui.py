"""Streamlit building blocks shared by the router and the pages: global filters mirrored in the
URL, KPI tiles, freshness lines, the demo badge and the friendly database-error page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import cache, config, kpis
from dashboard.db.engine import DatabaseError, DatabaseNotInitialised, DatabaseUnavailable, redact_url
from dashboard.i18n import LANGUAGES, format_date, format_datetime, format_number, format_signed, t
from dashboard.periods import COMPARISONS, PRESETS, Period, local_now, parse_date, preset_period

DEFAULT_PRESET = "last_30_days"
DEFAULT_COMPARISON = "previous_period"
STATUS_MARKDOWN_COLOUR = {"on_target": "green", "near_target": "orange", "off_target": "red"}


@dataclass(frozen=True)
class Filters:
    lang: str
    period: Period
    comparison: str
    areas: tuple[str, ...]

    @property
    def compared_period(self) -> Period:
        return self.period.compared(self.comparison)


def lang() -> str:
    return st.session_state.get("lang", config.default_language())


def today() -> date:
    return local_now().date()


def matching_preset(period: Period, on: date) -> str:
    for preset in PRESETS:
        if preset != "custom" and preset_period(preset, on) == period:
            return preset
    return "custom"


def _state_from_url(known_areas: set[str]) -> list[str]:
    """Fill the filter widgets' state from the URL (first run of a session only); returns problems."""
    params = st.query_params
    problems: list[str] = []
    language = params.get("lang", config.default_language())
    if language not in LANGUAGES:
        problems.append(f"lang={language!r} (vi, en)")
        language = config.default_language()
    st.session_state["lang"] = language
    period = preset_period(DEFAULT_PRESET, today())
    if "from" in params or "to" in params:
        try:
            start = parse_date(params.get("from", params.get("to")))
            end = parse_date(params.get("to", params.get("from")))
            period = Period(start, end)
        except ValueError as error:
            problems.append(f"from/to: {error}")
    st.session_state["preset"] = matching_preset(period, today())
    st.session_state["period_range"] = (period.start, period.end)
    comparison = params.get("compare", DEFAULT_COMPARISON)
    if comparison not in COMPARISONS:
        problems.append(f"compare={comparison!r} ({', '.join(COMPARISONS)})")
        comparison = DEFAULT_COMPARISON
    st.session_state["compare"] = comparison
    requested = [code for code in params.get("area", "").split(",") if code]
    unknown = [code for code in requested if code not in known_areas]
    if unknown:
        problems.append(f"area={','.join(unknown)}")
    st.session_state["areas"] = [code for code in requested if code in known_areas]
    return problems


def _on_preset_change() -> None:
    preset = st.session_state["preset"]
    if preset != "custom":
        period = preset_period(preset, today())
        st.session_state["period_range"] = (period.start, period.end)


def _on_range_change() -> None:
    value = st.session_state.get("period_range")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        st.session_state["preset"] = matching_preset(Period(value[0], value[1]), today())


def _reset() -> None:
    for key in ("preset", "period_range", "compare", "areas"):
        st.session_state.pop(key, None)
    st.session_state["_filters_from_url"] = True
    st.query_params.clear()
    st.query_params["lang"] = lang()


def _write_url(filters: Filters) -> None:
    wanted = {"lang": filters.lang, "from": filters.period.start.isoformat(), "to": filters.period.end.isoformat(),
              "compare": filters.comparison}
    if filters.areas:
        wanted["area"] = ",".join(filters.areas)
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def global_filters(area_table: pd.DataFrame) -> Filters:
    """The sidebar filters (period preset, dates, comparison, areas, language), synced with the URL."""
    known = dict(zip(area_table["code"], area_table["name"], strict=True))
    if not st.session_state.get("_filters_initialised") or st.session_state.pop("_filters_from_url", False):
        problems = _state_from_url(set(known))
        st.session_state["_filters_initialised"] = True
        if problems:
            st.session_state["_url_problems"] = problems
    with st.sidebar:
        st.segmented_control(t("app.language", lang()), options=list(LANGUAGES), key="lang",
                             format_func=lambda code: {"vi": "Tiếng Việt", "en": "English"}[code],
                             selection_mode="single", required=True)
        language = lang()
        st.subheader(t("filter.heading", language))
        st.selectbox(t("filter.period", language), PRESETS, key="preset",
                     format_func=lambda p: t(f"preset.{p}", language), on_change=_on_preset_change)
        st.date_input(t("filter.from", language) + " – " + t("filter.to", language), key="period_range",
                      format="DD/MM/YYYY", max_value=today(), on_change=_on_range_change)
        st.selectbox(t("filter.compare", language), COMPARISONS, key="compare",
                     format_func=lambda c: t(f"compare.{c}", language))
        st.multiselect(t("filter.area", language), list(known), key="areas", format_func=known.get,
                       placeholder=t("filter.area_placeholder", language))
        st.button(t("filter.reset", language), on_click=_reset, icon=":material/restart_alt:")
    value = st.session_state.get("period_range")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        period = Period(*value)
    else:  # the user has picked only the first date so far
        start = value[0] if isinstance(value, (tuple, list)) and value else today()
        period = Period(start, start)
    filters = Filters(language, period, st.session_state["compare"], tuple(st.session_state["areas"]))
    _write_url(filters)
    if problems := st.session_state.pop("_url_problems", None):
        st.warning(t("filter.bad_url", language, details="; ".join(problems)), icon=":material/link_off:")
    return filters


def demo_badge(language: str) -> None:
    """A visible badge whenever the database holds demo data."""
    if cache.dataset_info(cache.current_url()).get("kind") == "demo":
        st.badge(t("app.demo_badge", language), icon=":material/science:", color="orange", help=t("app.demo_help", language))


def freshness_line(table: str, language: str) -> str:
    """"Cập nhật lúc 14:30 20/11/2026" for a fact table, from its newest timestamp."""
    coverage = cache.coverage(cache.current_url()).set_index("table")
    last = coverage["last_at"].get(table) if "last_at" in coverage else None
    if last is None or pd.isna(last):
        return t("freshness.none", language)
    return t("freshness.updated", language, time=format_datetime(pd.Timestamp(last).to_pydatetime(), language))


def _value_text(definition: kpis.KpiDefinition, value, language: str) -> str:
    if value is None:
        return "–"
    if definition.unit == "pct" or definition.unit == "index_pct":
        return format_number(value, language, 1) + " %"
    if definition.unit == "hours":
        return format_number(value, language, 1) + " " + t("unit.hours", language)
    if definition.unit == "days":
        return format_number(value, language, 1) + " " + t("unit.days", language)
    if definition.unit == "rating":
        return format_number(value, language, 2) + t("unit.rating", language)
    return format_number(value, language, 0)


def kpi_tile(definition: kpis.KpiDefinition, current: dict, previous: dict, comparison: str, language: str) -> None:
    """One KPI as a bordered metric: value, change against the comparison period, target status, formula."""
    value = current[definition.section][definition.name]
    before = previous[definition.section][definition.name]
    change = kpis.change(value, before)
    if change["absolute"] is None:
        delta = None
    elif definition.unit in ("pct", "index_pct"):
        delta = format_signed(change["absolute"], language, 1) + " " + t("unit.points", language)
    elif change["relative_pct"] is not None:
        delta = format_signed(change["relative_pct"], language, 1) + " %"
    else:
        delta = format_signed(change["absolute"], language, 1)
    colour = "off" if definition.higher_is_better is None else ("normal" if definition.higher_is_better else "inverse")
    unchanged = change["absolute"] == 0
    target = format_number(definition.target, language, 0 if definition.target and definition.target >= 10 else 1) if definition.target else ""
    help_text = t(f"help.{definition.key}", language, target=target)
    label = t(f"kpi.{definition.key}", language)
    state = kpis.status(definition, value)
    if state:  # the coloured dot says how the figure stands against its target; the (?) says it in words
        label = f":{STATUS_MARKDOWN_COLOUR[state]}[●] {label}"
        help_text += f"\n\n**{t(f'status.{state}', language)}**"
    st.metric(label, _value_text(definition, value, language), delta=delta, delta_color="off" if unchanged else colour,
              delta_arrow="off" if unchanged else "auto", help=help_text, border=True,
              delta_description=t("delta.vs", language, comparison=t(f"compare.{comparison}", language).lower()) if delta else None)


TILES_PER_ROW = 4


def kpi_grid(definitions: list[kpis.KpiDefinition], current: dict, previous: dict, comparison: str, language: str) -> None:
    """KPI tiles in rows of at most four, so labels stay readable."""
    for first in range(0, len(definitions), TILES_PER_ROW):
        row = definitions[first:first + TILES_PER_ROW]
        for column, definition in zip(st.columns(TILES_PER_ROW), row, strict=False):
            with column:
                kpi_tile(definition, current, previous, comparison, language)


def database_error_page(error: DatabaseError) -> None:
    """What a person sees instead of a traceback when the database cannot serve the app."""
    language = lang()
    if isinstance(error, DatabaseNotInitialised):
        st.error(t("error.not_initialised_title", language), icon=":material/database:")
        st.markdown(f"**{t('error.what_to_do', language)}:** {t('error.run_demo', language)}")
    elif isinstance(error, DatabaseUnavailable):
        st.error(t("error.unavailable_title", language), icon=":material/cloud_off:")
        st.markdown(f"**{t('error.what_to_do', language)}:** "
                    f"{t('error.check_url', language, url=redact_url(cache.current_url()))}")
    else:
        st.error(t("error.query_title", language), icon=":material/error:")
        st.markdown(f"**{t('error.what_to_do', language)}:** "
                    f"{t('error.check_url', language, url=redact_url(cache.current_url()))}")
    with st.expander(t("error.details", language)):
        st.code(str(error) + (f"\n→ {error.hint}" if error.hint else ""), language=None)


def unexpected_error_page() -> None:
    """Shown when a page fails for a reason other than the database; details go to the server log."""
    language = lang()
    st.error(t("error.page_title", language), icon=":material/error:")
    st.markdown(t("error.page_hint", language))


def period_caption(filters: Filters) -> str:
    language = filters.lang
    compared = filters.compared_period
    return t("overview.period_line", language, start=format_date(filters.period.start), end=format_date(filters.period.end),
             comparison=t(f"compare.{filters.comparison}", language).lower(),
             cstart=format_date(compared.start), cend=format_date(compared.end))

