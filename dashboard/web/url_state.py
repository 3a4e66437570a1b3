"""Filter state shared by every page, mirrored in the URL so a copied link reproduces the view.

URL parameters: `lang`, `from`, `to`, `compare`, `area` (global) and each page's own dimensions
(`category`, `agency`, `sector`, `procedure`, `channel`, `sensor`, …); several values are
comma-separated. The router calls `global_filters()` before the page and `sync_url()` after it;
a page declares its own dimensions with `dimension_filter()`.
Chart clicks add values with `add_value()` from an `on_select` callback (callbacks run before
the widgets exist, which is the only time Streamlit lets code change a widget's value).

Scope (issue 19): the filters carry the signed-in user's scope (`dashboard.web.auth.current_user().scope`) into
every QueryFilter. A link or a click can only narrow it: an agency or area outside an officer's scope is dropped
(`Scope.narrow_agencies` / `narrow_areas`), the sidebar says so and the access log gets `scope_narrowed`; the
sidebar's area and agency choices list only values inside the scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import config
from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import LANGUAGES, format_date, format_number, language_name, t
from dashboard.periods import (
    COMPARISONS,
    PRESETS,
    Period,
    local_now,
    parse_date,
    preset_period,
)
from dashboard.safe_text import chart_value, markdown_text, shorten
from dashboard.web import scope_notice
from dashboard.web.scope_notice import narrowed as _narrowed
from dashboard.web.scope_notice import user_scope

DEFAULT_PRESET = "last_30_days"
DEFAULT_COMPARISON = "previous_period"
AREA_KEY = "areas"
RECORDS_METRIC_KEY = "records_metric"  # the KPI whose records are open (web/records_view.py), URL parameter `metric`
# A click's narrowing of those records (web/drill.py): {"dims": {name: [values]}, "days": (first, last)}, in the URL
# as `metric_<name>=v1,v2` and `metric_days=YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`.
RECORDS_NARROW_KEY = "records_narrow"
NARROW_PREFIX = "metric_"
DIMENSION_PREFIX = "dim_"
EARLIEST_DATE = date(2000, 1, 1)  # a link's dates are kept between this day and today
PROBLEM_VALUES_SHOWN = 5  # a bad link names at most this many values per parameter, then "… and N more"
PROBLEM_VALUE_CHARS = 40  # and at most this many characters of each


@dataclass(frozen=True)
class Filters:
    lang: str
    period: Period
    comparison: str
    areas: tuple[str, ...]
    dimensions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    scope: Scope = WHOLE_CITY  # the signed-in user's: every query counts only these rows

    @property
    def compared_period(self) -> Period:
        return self.period.compared(self.comparison)

    def query(self, period: Period | None = None) -> QueryFilter:
        """The plain, hashable filter the query functions take (with the user's scope)."""
        return QueryFilter.build(period or self.period, self.areas, self.dimensions, self.scope)


def lang() -> str:
    """The session's language; the default one while the toggle has no valid value (seen as None in a 20-session
    load test, on a page switch before the toggle was drawn again)."""
    value = st.session_state.get("lang")
    return value if value in LANGUAGES else config.default_language()


def today() -> date:
    return local_now().date()


def matching_preset(period: Period, on: date) -> str:
    for preset in PRESETS:
        if preset != "custom" and preset_period(preset, on) == period:
            return preset
    return "custom"


def join_values(values) -> str:
    """Values of a link parameter joined by commas; a comma (or backslash) inside a value, as in a source's own
    category "Ổ gà, hư hỏng mặt đường", is escaped with a backslash."""
    return ",".join(str(v).replace("\\", "\\\\").replace(",", "\\,") for v in values)


def split_values(value: str | None) -> list[str]:
    """The comma-separated values of a link parameter (`join_values`), each once, in their order."""
    parts, current, escaped = [], [], False
    for char in value or "":
        if escaped or char not in ",\\":
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append("".join(current))
            current = []
    parts.append("".join(current))
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


_split = split_values


def _note_problem(key: str, **values: str | list[str]) -> None:
    """Remember a link problem (a catalogue key `filter.problem.*` and its values) for `sidebar_footer`, which words
    it in the page's language."""
    st.session_state.setdefault("_url_problems", []).append((key, values))


def note_link_problem(key: str, **values: str | list[str]) -> None:
    """`_note_problem` for the modules that read a parameter of their own (records_view: `metric=`)."""
    _note_problem(key, **values)


def _problem_values(values: list[str], language: str) -> str:
    shown = ", ".join(markdown_text(shorten(value, PROBLEM_VALUE_CHARS)) for value in values[:PROBLEM_VALUES_SHOWN])
    if len(values) > PROBLEM_VALUES_SHOWN:
        shown += " " + t(
            "filter.problem.more", language, count=format_number(len(values) - PROBLEM_VALUES_SHOWN, language)
        )
    return shown


def problem_text(key: str, values: Mapping[str, str | list[str]], language: str) -> str:
    """One link problem in words. What came from the link (`value`, `values`) is cut short, at most
    PROBLEM_VALUES_SHOWN values are named, and every value is escaped: shown as typed, never as Markdown."""
    return t(
        key,
        language,
        **{
            name: _problem_values(value if isinstance(value, list) else [value], language)
            if name in ("value", "values")
            else markdown_text(value)
            for name, value in values.items()
        },
    )


def _clamped(param: str, day: date) -> date:
    """A link's date kept between the data's first day (EARLIEST_DATE when unknown) and today, with a notice when
    it was moved."""
    if day > today():
        _note_problem("filter.problem.future", param=param, value=day.isoformat(), used=format_date(today()))
        return today()
    first = st.session_state.get("_data_start")
    if isinstance(first, date) and EARLIEST_DATE < first <= today() and day < first:
        _note_problem("filter.problem.before_data", param=param, value=day.isoformat(), used=format_date(first))
        return first
    if day < EARLIEST_DATE:
        _note_problem(
            "filter.problem.early",
            param=param,
            value=day.isoformat(),
            earliest=format_date(EARLIEST_DATE),
            used=format_date(EARLIEST_DATE),
        )
        return EARLIEST_DATE
    return day


def _period_from_url(params: Mapping[str, str]) -> Period:
    """The period of `from`/`to` (one alone is a single day); the default with a notice when a date cannot be read,
    dates moved into [EARLIEST_DATE, today] and swapped when `from` is after `to`, each with a notice. Never raises."""
    default = preset_period(DEFAULT_PRESET, today())
    given: dict[str, date] = {}
    unreadable = False
    for param in ("from", "to"):
        if param not in params:
            continue
        try:
            given[param] = _clamped(param, parse_date(params[param]))
        except ValueError:
            _note_problem("filter.problem.date", param=param, value=params[param])
            unreadable = True
    if unreadable or not given:
        return default
    start, end = given.get("from", given.get("to")), given.get("to", given.get("from"))
    if start > end:
        _note_problem("filter.problem.swapped", start=format_date(end), end=format_date(start))
        start, end = end, start
    return Period(start, end)


def _global_state_from_url(known_areas: set[str]) -> None:
    """Fill the global widgets' state from the URL (first run of a session, or after a reset)."""
    params = st.query_params.to_dict()
    language = params.get("lang", config.default_language())
    if language not in LANGUAGES:
        _note_problem("filter.problem.choice", param="lang", value=language, options=", ".join(LANGUAGES))
        language = config.default_language()
    st.session_state["lang"] = language
    period = _period_from_url(params)
    st.session_state["preset"] = matching_preset(period, today())
    st.session_state["period_range"] = (period.start, period.end)
    comparison = params.get("compare", DEFAULT_COMPARISON)
    if comparison not in COMPARISONS:
        _note_problem("filter.problem.choice", param="compare", value=comparison, options=", ".join(COMPARISONS))
        comparison = DEFAULT_COMPARISON
    st.session_state["compare"] = comparison
    requested = _split(params.get("area"))
    if unknown := [code for code in requested if code not in known_areas]:
        _note_problem("filter.problem.unknown", param="area", values=unknown)
    st.session_state[AREA_KEY] = _narrowed("area", [code for code in requested if code in known_areas])


def _on_preset_change() -> None:
    preset = st.session_state.get("preset")  # absent when a client sends widget values from before a cache clear
    if preset is not None and preset != "custom":
        period = preset_period(preset, today())
        st.session_state["period_range"] = (period.start, period.end)


def _on_range_change() -> None:
    value = st.session_state.get("period_range")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        st.session_state["preset"] = matching_preset(Period(value[0], value[1]), today())


def reset() -> None:
    """Back to the defaults: last 30 days, previous period, whole city, no page dimensions."""
    choices = [key for _param, key, _default in st.session_state.get("_declared_choices", [])]
    for key in (
        [k for k in st.session_state if k.startswith(DIMENSION_PREFIX)]
        + choices
        + ["preset", "period_range", "compare", AREA_KEY, RECORDS_METRIC_KEY]
    ):
        st.session_state.pop(key, None)
    st.query_params.clear()
    st.query_params["lang"] = lang()
    st.session_state["_reload_from_url"] = True


def _current_period() -> Period:
    value = st.session_state.get("period_range")
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Period(*value)
    start = value[0] if isinstance(value, (tuple, list)) and value else today()
    return Period(start, start)  # the user has picked only the first date so far


def global_filters(area_names: Mapping[str, str], data_start: date | None = None) -> Filters:
    """The sidebar's language toggle and global filters (period, comparison, areas). A link's dates are kept within
    `data_start` (the first day with data, see `data_start`) and today."""
    st.session_state["_data_start"] = data_start
    if not st.session_state.get("_filters_initialised") or st.session_state.pop("_reload_from_url", False):
        st.session_state["_link_params"] = st.query_params.to_dict()
        _global_state_from_url(set(area_names))
        st.session_state["_filters_initialised"] = True
    st.session_state["_declared_dimensions"] = []
    st.session_state["_declared_choices"] = []
    if st.session_state.get("lang") not in LANGUAGES:  # never draw the toggle with no language selected
        st.session_state["lang"] = lang()
    choices = _narrowed("area", list(area_names), notice=False)  # an area officer chooses among their wards
    if any(code not in choices for code in st.session_state.get(AREA_KEY, [])):  # e.g. a ward clicked on the map
        st.session_state[AREA_KEY] = [code for code in _narrowed("area", st.session_state[AREA_KEY]) if code in choices]
    with st.sidebar:
        st.segmented_control(
            t("app.language", lang()),
            options=list(LANGUAGES),
            key="lang",
            format_func=language_name,
            selection_mode="single",
            required=True,
        )
        language = lang()
        st.subheader(t("filter.heading", language))
        st.selectbox(
            t("filter.period", language),
            PRESETS,
            key="preset",
            format_func=lambda p: t(f"preset.{p}", language),
            on_change=_on_preset_change,
        )
        st.date_input(
            t("filter.from", language) + " – " + t("filter.to", language),
            key="period_range",
            format="DD/MM/YYYY",
            min_value=EARLIEST_DATE,
            max_value=today(),
            on_change=_on_range_change,
        )
        st.selectbox(
            t("filter.compare", language), COMPARISONS, key="compare", format_func=lambda c: t(f"compare.{c}", language)
        )
        st.multiselect(
            t("filter.area", language),
            choices,
            key=AREA_KEY,
            format_func=area_names.get,
            placeholder=t("filter.area_placeholder", language),
        )
    return current()


def current() -> Filters:
    """The filters as they stand now (global and the dimensions this page declared)."""
    dimensions = {
        name: tuple(st.session_state.get(DIMENSION_PREFIX + name, []))
        for name in st.session_state.get("_declared_dimensions", [])
    }
    return Filters(
        lang(),
        _current_period(),
        st.session_state.get("compare", DEFAULT_COMPARISON),
        tuple(st.session_state.get(AREA_KEY, [])),
        {k: v for k, v in dimensions.items() if v},
        user_scope(),
    )


def _link_value(param: str) -> str | None:
    """A parameter of the address the session was opened with (pages declared later still find theirs)."""
    return st.query_params.get(param, st.session_state.get("_link_params", {}).get(param))


def dimension_filter(name: str, options: Mapping[str, str], label: str) -> tuple[str, ...]:
    """A page's own multi-select filter (URL parameter `name`), shown in the sidebar under the global ones."""
    key = DIMENSION_PREFIX + name
    if name == "agency":  # an agency officer chooses among their agencies; a link or a click cannot widen that
        options = {value: options[value] for value in _narrowed(name, list(options), notice=False)}
    if key not in st.session_state:
        requested = _split(_link_value(name))
        if name == "agency":
            requested = _narrowed(name, requested)
        if unknown := [value for value in requested if value not in options]:
            _note_problem("filter.problem.unknown", param=name, values=unknown)
        st.session_state[key] = [value for value in requested if value in options]
    else:  # values clicked on a chart may not be among the options any more
        if name == "agency":
            st.session_state[key] = _narrowed(name, st.session_state[key])
        st.session_state[key] = [value for value in st.session_state[key] if value in options]
    st.session_state["_declared_dimensions"].append(name)
    with st.sidebar:
        st.multiselect(
            label,
            list(options),
            key=key,
            format_func=lambda value: options.get(value, value),
            placeholder=t("filter.all", lang()),
        )
    return tuple(st.session_state[key])


def page_choice(param: str, options: Mapping[str, str], label: str, default: str, key: str) -> str:
    """A single choice of the page (e.g. day/week/month) mirrored in the URL parameter `param` when not default."""
    if key not in st.session_state:
        requested = _link_value(param) or default
        if requested not in options:
            _note_problem("filter.problem.choice", param=param, value=requested, options=", ".join(options))
            requested = default
        st.session_state[key] = requested
    st.session_state.setdefault("_declared_choices", []).append((param, key, default))
    st.segmented_control(
        label, list(options), key=key, format_func=lambda value: options[value], selection_mode="single", required=True
    )
    return st.session_state[key]


def add_value(name: str, value: str) -> None:
    """Add `value` to a filter (name `area` or a dimension); for chart-click callbacks."""
    key = AREA_KEY if name == "area" else DIMENSION_PREFIX + name
    values = list(st.session_state.get(key, []))
    if value not in values:
        st.session_state[key] = values + [value]


def remove_value(name: str, value: str) -> None:
    key = AREA_KEY if name == "area" else DIMENSION_PREFIX + name
    st.session_state[key] = [v for v in st.session_state.get(key, []) if v != value]


def click_to_filter(name: str, chart_key: str, field_name: str = "location") -> Callable[[], None]:
    """An `on_select` callback adding the clicked point's `field_name` (e.g. a ward's location, a bar's x) to a filter."""

    def callback() -> None:
        state = st.session_state.get(chart_key)
        points = (
            (state or {}).get("selection", {}).get("points", [])
            if isinstance(state, Mapping)
            else state.selection.points
        )
        for point in points:
            value = point.get(field_name) if isinstance(point, Mapping) else None
            if isinstance(value, (list, tuple)):
                value = value[0] if value else None
            if value is not None:
                add_value(name, chart_value(value))  # labels are drawn escaped (safe_text.chart_text)

    return callback


def chips(filters: Filters, labels: Mapping[str, Callable[[str], str]]) -> None:
    """The active area and dimension filters as buttons; clicking one removes it."""
    active = [("area", code) for code in filters.areas]
    active += [(name, value) for name, values in filters.dimensions.items() for value in values]
    if not active:
        return
    with st.container(horizontal=True, gap="small"):
        st.caption(t("filter.active", filters.lang))
        for name, value in active:
            label = markdown_text(labels.get(name, str)(value))  # a button label is Markdown: shown as typed
            st.button(
                label,
                key=f"chip_{name}_{value}",
                icon=":material/close:",
                type="secondary",
                on_click=remove_value,
                args=(name, value),
                help=t("filter.remove", filters.lang),
            )
        st.button(
            t("filter.reset", filters.lang),
            key="chip_reset",
            icon=":material/restart_alt:",
            type="tertiary",
            on_click=reset,
        )


def sync_url() -> None:
    """Write the current filters into the URL (after the page ran, so its dimensions are known)."""
    filters = current()
    wanted = {
        "lang": filters.lang,
        "from": filters.period.start.isoformat(),
        "to": filters.period.end.isoformat(),
        "compare": filters.comparison,
    }
    if filters.areas:
        wanted["area"] = ",".join(filters.areas)
    for name, values in filters.dimensions.items():
        wanted[name] = join_values(values)
    for param, key, default in st.session_state.get("_declared_choices", []):
        if st.session_state.get(key, default) != default:
            wanted[param] = st.session_state[key]
    if metric := st.session_state.get(RECORDS_METRIC_KEY):
        wanted["metric"] = metric
        wanted.update(narrowing_params(st.session_state.get(RECORDS_NARROW_KEY)))
    if dict(st.query_params) != wanted:
        st.query_params.from_dict(wanted)


def narrowing_params(narrow: Mapping | None) -> dict[str, str]:
    """The URL parameters of a records narrowing (see RECORDS_NARROW_KEY)."""
    params = {}
    for name, values in ((narrow or {}).get("dims") or {}).items():
        params[NARROW_PREFIX + name] = join_values(values)
    if days := (narrow or {}).get("days"):
        first, last = days
        params[NARROW_PREFIX + "days"] = (
            first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"
        )
    return params


def sidebar_footer() -> None:
    """Below every filter (global and the page's): the reset button and any problem with the link."""
    with st.sidebar:
        st.button(t("filter.reset", lang()), key="sidebar_reset", icon=":material/restart_alt:", on_click=reset)
        if problems := st.session_state.pop("_url_problems", None):
            details = "; ".join(problem_text(key, values, lang()) for key, values in problems)
            st.warning(t("filter.bad_url", lang(), details=details), icon=":material/link_off:")
        if narrowed := st.session_state.pop(scope_notice.NOTICE_KEY, None):
            details = "; ".join(f"{param}: {_problem_values(values, lang())}" for param, values in narrowed)
            st.warning(t("filter.scope_narrowed", lang(), details=details), icon=":material/lock:")


def data_start(coverage: pd.DataFrame) -> date | None:
    """The first day any fact table has a record, from `queries.table_coverage` (None without records)."""
    firsts = pd.to_datetime(coverage["first_at"], errors="coerce").dropna() if "first_at" in coverage else []
    return firsts.min().date() if len(firsts) else None


def area_names(area_table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(area_table["code"], area_table["name"], strict=True))
