"""Màn hình tường — the IOC wall screen at /wall: dark, no scrolling, panels rotating on their own.

Layout only. Each part is a fragment that redraws itself in place (no page reload):
  * header   every IOC_WALL_REFRESH_SECONDS: city, per-source freshness, clock (kept ticking by the
             browser), and the red banner while the database is unreachable;
  * rotation every gcd(dwell) seconds: shows the panel the schedule says (dashboard.wall.rules.Rotation);
  * panels   every IOC_WALL_REFRESH_SECONDS: reload their figures, keeping the last good ones when the
             database fails (dashboard.wall.rules.LastGood);
  * ticker   every IOC_WALL_REFRESH_SECONDS: the alerts.
Every panel stays in the page, stacked; only the visible one is opaque, so a switch never redraws a chart.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from dashboard import config
from dashboard.charts import theme
from dashboard.db import queries
from dashboard.db.engine import DatabaseError
from dashboard.i18n import LANGUAGES, t
from dashboard.periods import local_now
from dashboard.safe_text import shorten
from dashboard.wall import data as wall_queries
from dashboard.wall import panels as wall_panels
from dashboard.wall import render as draw
from dashboard.wall import rules as wall
from dashboard.web import audit, cache

log = logging.getLogger("dashboard.wall")
TYPICAL_TTL_SECONDS = 3600
NOTE_CHARS = 160  # a bad rotation in the address is named in the tab row, cut to this length

VIEWPORT_JS = """
export default function (component) {
  const { setStateValue, data } = component;
  const report = () => {
    const size = { width: window.innerWidth, height: window.innerHeight };
    if (!data || data.width !== size.width || data.height !== size.height) setStateValue("size", size);
  };
  report();
  let timer = null;
  const onResize = () => { clearTimeout(timer); timer = setTimeout(report, 500); };
  window.addEventListener("resize", onResize);
  return () => { window.removeEventListener("resize", onResize); clearTimeout(timer); };
}
"""
CLOCK_JS = """<script>
(function () {
  const zone = %s;
  const format = new Intl.DateTimeFormat("en-GB", {timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
  const tick = () => document.querySelectorAll(".wall-clock-time").forEach((element) => {
    const time = format.format(new Date());
    if (element.textContent !== time) element.textContent = time;
  });
  if (window.__iocWallClock) clearInterval(window.__iocWallClock);
  window.__iocWallClock = setInterval(tick, 1000);
})();
</script>"""


@st.cache_resource(show_spinner=False)
def viewport_component():
    return st.components.v2.component("ioc_wall_viewport", js=VIEWPORT_JS)


def screen_size() -> tuple[int, int]:
    """The browser's window size in CSS pixels (1920 × 1080 until the browser has reported it)."""
    known = st.session_state.get("wall_screen", {"width": 1920, "height": 1080})
    with st.container(key="wall_viewport"):
        result = viewport_component()(key="wall_viewport_size", data=known, on_size_change=lambda: None)
    size = result.get("size") if result else None
    if isinstance(size, dict) and size.get("width") and size.get("height"):
        known = {"width": int(size["width"]), "height": int(size["height"])}
        st.session_state["wall_screen"] = known
    return known["width"], known["height"]


language = st.query_params.get("lang", st.session_state.get("lang", config.default_language()))
language = language if language in LANGUAGES else config.default_language()
st.session_state.setdefault("lang", language)  # on the wall there is no language widget; never overwrite one
rotation, rotation_problem = wall.wall_rotation(st.query_params.to_dict(), language)
refresh = wall.refresh_seconds()
memory = wall.LastGood(st.session_state, (DatabaseError,))
st.session_state.setdefault("wall_panel", (0, time.monotonic()))  # (index on screen, since when)

st.html(f"<style>{draw.stylesheet()}</style>")
width, height = screen_size()
unit = theme.wall_unit_px(width, height)
stage_width, _stage_height = draw.stage_size(width, height)
panel_height = draw.panel_height(width, height)
st.html(CLOCK_JS % json.dumps(config.timezone()), unsafe_allow_javascript=True)


def load(key: str, figures: Callable[[datetime], object]) -> wall.Loaded:
    """(data clock, figures) for one part of the wall, or the last good ones while the database is away."""

    def run():
        as_of = wall.data_clock(local_now(), newest_records())
        return as_of, figures(as_of)

    return memory.load(key, run, local_now())


def guarded(draw_part: Callable[[], None]) -> Callable[[], None]:
    """Never a traceback on the wall: a drawing error is logged and the part shows "waiting for data"."""

    def run() -> None:
        try:
            draw_part()
        except Exception:
            log.exception("wall part %s failed", draw_part.__name__)
            st.html(draw.waiting_html(language))

    run.__name__ = run.__qualname__ = f"wall_{draw_part.__name__}"
    return run


def newest_records() -> dict:
    """The newest record of each source, always from the database (never a cached answer): its success is what
    ends an outage, and the data clock follows it."""
    return cache.query(wall_queries.newest_records, ttl=0)


def today_and_typical(as_of: datetime) -> dict:
    return {
        "today": cache.query(wall_queries.today_so_far, as_of),
        # Only past weeks go into a typical day, so its ~35 queries are kept an hour instead of the query TTL.
        "typical": cache.query(wall_queries.typical_day, as_of, ttl=TYPICAL_TTL_SECONDS),
    }


def subtitle(text: str, loaded: wall.Loaded) -> None:
    st.html(draw.subtitle_html(text, None if loaded.fresh else loaded.loaded_at, language))


# ---------------------------------------------------------------- header and banner
@st.fragment(run_every=refresh)
@guarded
def header() -> None:
    loaded = memory.load("header", newest_records, local_now())
    demo = memory.load(
        "demo",
        lambda: cache.query(queries.dataset_info, ttl=cache.STATUS_TTL_SECONDS).get("kind") == "demo",
        local_now(),
        tracks_outage=False,
    )
    now = local_now()
    sources = wall.all_freshness(loaded.value or {}, now, wall.freshness_thresholds(), reachable=loaded.fresh)
    st.html(draw.header_html(now, sources, language, demo=bool(demo.value)))
    if memory.outage_since is not None:
        st.html(draw.banner_html(memory.outage_since, loaded.loaded_at, language))


# ---------------------------------------------------------------- rotation
@st.fragment(run_every=rotation.tick_seconds)
@guarded
def rotate() -> None:
    shown, since = st.session_state["wall_panel"]
    shown = shown if shown < len(rotation.panels) else 0  # the panel list changed under this session
    now = time.monotonic()
    index = rotation.step(shown, now - since)
    if index != shown:
        st.session_state["wall_panel"] = (index, now)
    note = (
        t("wall.rotation_problem", language, details=shorten(rotation_problem, NOTE_CHARS)) if rotation_problem else ""
    )
    st.html(
        f"<style>{draw.visible_panel_css(rotation.panels[index])}</style>"
        + draw.tabs_html(rotation, index, language, note)
    )


# ---------------------------------------------------------------- panels
def overview() -> None:
    loaded = load("overview", today_and_typical)
    if loaded.value is None:
        st.html(draw.waiting_html(language))
        return
    as_of, data = loaded.value
    caption = draw.day_caption(as_of, local_now().date(), language)
    subtitle(f"{caption} · {t('wall.typical_note', language, weeks=wall.TYPICAL_WEEKS)}", loaded)
    st.html(draw.overview_html(data["today"], data["typical"], language))


def live_map() -> None:
    loaded = load("map", lambda as_of: audit.for_viewer(cache.query(wall_queries.map_layers, as_of)))
    geometry = memory.load(
        "areas",
        lambda: cache.query(queries.area_list, with_geometry=True, ttl=cache.AREAS_TTL_SECONDS),
        local_now(),
        tracks_outage=False,
    )
    if loaded.value is None or geometry.value is None:
        st.html(draw.waiting_html(language))
        return
    as_of, data = loaded.value
    subtitle(draw.day_caption(as_of, local_now().date(), language), loaded)
    map_height = panel_height
    city_column, centre_column, legend_column = st.columns(list(draw.MAP_SHARES), gap="small")
    with city_column:
        figure = draw.map_figure(
            geometry.value, data["points"], data["sensors"], stage_width * draw.MAP_SHARES[0], map_height, unit
        )
        st.plotly_chart(figure, key="wall_map", config={"displayModeBar": False, "staticPlot": True})
    with centre_column:  # the inner city, where the sensors are
        figure = draw.map_figure(
            geometry.value,
            data["points"],
            data["sensors"],
            stage_width * draw.MAP_SHARES[1],
            map_height,
            unit,
            bounds=draw.sensor_bounds(data["sensors"]),
        )
        st.plotly_chart(figure, key="wall_map_centre", config={"displayModeBar": False, "staticPlot": True})
    with legend_column:
        st.html(
            draw.map_legend_html(
                data["points"], data["located"], data["sensors"], wall.last_full_hour(as_of).start_at, language
            )
        )


def traffic() -> None:
    loaded = load(
        "traffic", lambda as_of: {**today_and_typical(as_of), "now": cache.query(wall_queries.traffic_now, as_of)}
    )
    if loaded.value is None:
        st.html(draw.waiting_html(language))
        return
    as_of, data = loaded.value
    subtitle(draw.day_caption(as_of, local_now().date(), language), loaded)
    chart_column, side_column = st.columns([0.55, 0.45], gap="small")
    with chart_column:
        figure = wall_panels.profile_figure(
            data["now"]["profile"],
            language,
            unit,
            panel_height,
            wall_panels.day_label(as_of, local_now().date(), language),
        )
        st.plotly_chart(figure, key="wall_profile", config={"displayModeBar": False, "staticPlot": True})
    with side_column:
        st.html(wall_panels.traffic_side_html(data["today"], data["typical"], data["now"], language))


def procedures() -> None:
    loaded = load(
        "procedures",
        lambda as_of: {**today_and_typical(as_of), "dossiers": cache.query(wall_queries.procedures_today, as_of)},
    )
    if loaded.value is None:
        st.html(draw.waiting_html(language))
        return
    as_of, data = loaded.value
    subtitle(draw.day_caption(as_of, local_now().date(), language), loaded)
    st.html(wall_panels.procedures_html(data["today"], data["typical"], data["dossiers"], language))


def forecast() -> None:
    loaded = load("forecast", lambda as_of: cache.query(wall_queries.forecast_outlook, as_of))
    if loaded.value is None:
        st.html(draw.waiting_html(language))
        return
    _as_of, data = loaded.value
    subtitle(wall_panels.forecast_caption(data, language), loaded)
    st.html(wall_panels.forecast_html(data, language))


PANEL_PARTS = {
    "overview": overview,
    "map": live_map,
    "traffic": traffic,
    "procedures": procedures,
    "forecast": forecast,
}


# ---------------------------------------------------------------- ticker
@st.fragment(run_every=refresh)
@guarded
def ticker() -> None:
    """The worker's open alerts (the `alerts` table); computed here when the worker has not kept them current."""
    now = local_now()
    newest = memory.load("ticker_newest", newest_records, now)
    table = memory.load(
        "ticker_alerts",
        lambda: cache.query(wall_queries.alert_table, cache.current_url(), ttl=cache.STATUS_TTL_SECONDS),
        now,
        tracks_outage=False,
    )
    last_run = table.value["last_run"] if table.value else None
    if table.value is not None and wall.alerts_current(last_run, now):
        alerts = wall.alerts_from_table(table.value, table.value["sensor_total"], reachable=newest.fresh)
    else:
        days = wall.overdue_days()
        sources = wall.all_freshness(newest.value or {}, now, wall.freshness_thresholds(), reachable=newest.fresh)
        loaded = load("ticker", lambda as_of: cache.query(wall_queries.ticker_inputs, as_of, days))
        inputs = loaded.value[1] if loaded.value else {}
        live = wall.build_alerts(
            sources,
            inputs.get("silent"),
            inputs.get("sensor_total", 0),
            inputs.get("overdue"),
            days,
            inputs.get("anomalies"),
        )
        alerts = wall.without_worker(live, last_run)
    st.html(draw.ticker_html(alerts, language))


header()
rotate()
with st.container(key="wall_stage"):
    for name in dict.fromkeys(rotation.panels):
        with st.container(key=f"wall_panel_{name}"):
            st.fragment(guarded(PANEL_PARTS[name]), run_every=refresh)()
ticker()
