"""Every link parameter of every page, thrown random and extreme values (AppTest on the demo database).

A link is typed, pasted, truncated by a chat app or forged: whatever it holds, the page answers inside
itself. No exception, no error box, and any notice about the link short, escaped and in the page's
language. The random cases are seeded (one generator per page, so a failure names a reproducible case);
the exact cases are links that once broke pages.
"""

from __future__ import annotations

import html
import random
import re
from datetime import date, timedelta

import pytest
from conftest import DEMO_DAYS, DEMO_NOW
from page_support import APP, sign_in
from streamlit.testing.v1 import AppTest

from dashboard.i18n import format_date, t
from dashboard.navigation import PAGES, PAGES_DIR
from dashboard.periods import local_now
from dashboard.wall import rules as wall
from dashboard.web.url_state import EARLIEST_DATE

SEED = 20261205
CASES_PER_PAGE = 4
MAX_NOTICE_CHARS = 3000  # 5 values × 40 characters per parameter, a handful of parameters, the sentence around them
GLOBAL_PARAMS = ("lang", "from", "to", "compare", "area")
PAGE_PARAMS = {  # each page's own link parameters (README, "Pages")
    "overview": (),
    "feedback": ("category", "agency", "channel", "grain", "density"),
    "procedures": ("sector", "agency", "procedure", "channel"),
    "ranking": ("by",),
    "traffic": ("sensor", "road", "rank", "rank_by", "heat"),
    "map": ("layer",),
    "forecast": (),
    "briefing": (),
    "quality": (),
    "alerts": ("rule", "severity", "agency", "state"),
    "directives": ("status", "assignee"),
    "events": ("kind",),
    "wall": ("panels", "dwell"),
}
VALID = {  # values a page accepts, so the random links also mix good values with bad ones
    "lang": ["vi", "en"],
    "compare": ["previous_period", "same_period_last_year", "tet_aligned"],
    "area": ["19753", "19789"],
    "category": ["noise", "trees_parks"],
    "channel": ["zalo", "online"],
    "grain": ["day", "week", "month"],
    "density": ["feedback.received_per_10k"],
    "sector": ["land", "health"],
    "rank": ["sensor", "road"],
    "rank_by": ["congestion_index_peak", "congestion_index_mean"],
    "heat": ["vehicles", "congestion"],
    "layer": ["feedback_per_10k", "congestion"],
    "panels": ["overview,map", "traffic"],
    "dwell": ["3", "20,40"],
    "rule": ["feedback_due_soon", "sensor_silent"],
    "severity": ["critical", "warning"],
    "state": ["open", "resolved", "all"],
    "by": ["agency", "area"],
    "status": ["overdue", "done"],
    "kind": ["holiday", "weather"],
}
JUNK = [
    "",
    " ",
    ",",
    ",,,",
    "0",
    "-1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "None",
    "true",
    "[]",
    "{}",
    "%00",
    "\x00",
    "\t\n",
    "../../etc/passwd",
    "'; DROP TABLE feedback; --",
    "😀𝕏",
    "Đ" * 300,
    "a" * 5000,
    "![x](http://127.0.0.1:9/p.png)",
    "[t](http://127.0.0.1:9/)",
    "<a href='http://127.0.0.1:9/'>x</a>",
    "<img src=x onerror=alert(1)>",
    "**bold** _it_ `code` # h | t | ~s~ $x$ :red[r] :material/close:",
    "19753,19753",
    ",".join(["19753"] * 300),
    ",".join(str(i) for i in range(2000)),
]
DATES = [
    "0001-01-01",
    "9999-12-31",
    "1900-01-01",
    "2099-01-01",
    "2026-02-30",
    "2026-13-01",
    "20261120",
    "2026-W47-5",
    "2026-11-20T10:00",
    "01/11/2026",
    "2000-01-01",
    "1999-12-31",
]
LINK_NOTICE_ICON = ":material/link_off:"
PAYLOAD_CHARACTERS = re.compile(r"(?<!\\)[\[\]()<>!*_`~|#$]")  # Markdown that was not escaped


def _value(rng: random.Random, param: str) -> str:
    pool = JUNK + VALID.get(param, [])
    if param in ("from", "to"):
        pool = pool + DATES + [date.fromordinal(rng.randint(1, date.max.toordinal())).isoformat() for _ in range(3)]
    if rng.random() < 0.25:  # a list mixing values
        return ",".join(rng.choice(pool) for _ in range(rng.randint(2, 6)))
    return rng.choice(pool)


def random_links(spec_key: str) -> list[dict[str, str]]:
    rng = random.Random(f"{SEED}:{spec_key}")
    params = ("lang", "panels", "dwell") if spec_key == "wall" else GLOBAL_PARAMS + PAGE_PARAMS[spec_key]
    return [{param: _value(rng, param) for param in params if rng.random() < 0.7} for _ in range(CASES_PER_PAGE)]


def _check(app: AppTest, link: dict[str, str]) -> None:
    assert not app.exception, (link, [e.message for e in app.exception])
    assert not app.error, (link, [e.body for e in app.error])
    for warning in [w for w in app.warning if w.icon == LINK_NOTICE_ICON]:
        assert len(warning.body) <= MAX_NOTICE_CHARS, (link, len(warning.body))
        assert not PAYLOAD_CHARACTERS.search(warning.body), (link, warning.body[:500])


def open_link(monkeypatch, url: str, link: dict[str, str], page: str | None) -> tuple[AppTest, list[str]]:
    """The router opened with `link` (first run: the default page), then switched to `page`; both runs checked.
    Returns the app and the notices of the first run (the global parameters are read there)."""
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = sign_in(AppTest.from_file(APP, default_timeout=90), url)
    for key, value in link.items():
        app.query_params[key] = value
    app.run()
    _check(app, link)
    notices = [w.body for w in app.warning]
    if page is not None:
        app.switch_page(page)
        app.run()
        _check(app, link)
    return app, notices


FUZZED = [spec for spec in PAGES if not spec.admin]


def open_wall(monkeypatch, url: str, link: dict[str, str]) -> AppTest:
    """The wall as a browser opens /wall: the kiosk page alone, reading its own address (the router's first run on
    the default page would rewrite the address to the analyst filters and drop `panels` and `dwell`)."""
    monkeypatch.setenv("IOC_DATABASE_URL", url)
    app = AppTest.from_file(str(PAGES_DIR / "wall.py"), default_timeout=90)
    for key, value in link.items():
        app.query_params[key] = value
    app.run()
    _check(app, link)
    return app


@pytest.mark.parametrize("spec", FUZZED, ids=[spec.key for spec in FUZZED])
def test_random_links_never_break_a_page(monkeypatch, demo_db_url, spec):
    for link in random_links(spec.key):
        if spec.kiosk:
            open_wall(monkeypatch, demo_db_url, link)
        else:
            open_link(monkeypatch, demo_db_url, link, str(spec.path))


def test_ten_thousand_unknown_wall_panels_give_a_short_note(monkeypatch, demo_db_url):
    # The tab row named every unknown panel (a 100,000-character line on the wall).
    panels = ",".join(f"<b>x{i}</b>" for i in range(10_000))
    app = open_wall(monkeypatch, demo_db_url, {"panels": panels})
    notes = re.findall(r'<span class="wall-tab-note">(.*?)</span>', "".join(h.proto.body for h in app.html))
    problem = wall.wall_rotation({"panels": panels}, "vi")[1]
    assert problem.startswith("?panels/dwell: không có bảng '<b>x0</b>'") and len(problem) > 100_000
    assert [html.unescape(note) for note in notes] == [t("wall.rotation_problem", details=problem[:159] + "…")]
    assert "<b>" not in notes[0]


def test_every_page_parameter_is_fuzzed():
    assert set(PAGE_PARAMS) == {spec.key for spec in FUZZED}


def _notice(details: str, lang: str = "vi") -> str:
    return t("filter.bad_url", lang, details=details)


def _escaped_date(day: date) -> str:
    return format_date(day).replace("/", "\\/")


@pytest.mark.parametrize(
    "page",
    ["overview.py", "feedback.py", "procedures.py", "traffic.py", "map.py", "forecast.py", "briefing.py", "quality.py"],
)
def test_a_date_after_today_is_today_with_a_notice(monkeypatch, demo_db_url, page):
    # Was StreamlitValueAboveMaxError on every analysis page: no sidebar, no reset.
    app, notices = open_link(
        monkeypatch, demo_db_url, {"from": "2026-01-01", "to": "2099-01-01"}, str(PAGES_DIR / page)
    )
    today = local_now().date()
    assert app.session_state["period_range"] == (date(2026, 1, 1), today)
    assert notices == [
        _notice(t("filter.problem.future", param="to", value="2099\\-01\\-01", used=_escaped_date(today)))
    ]


@pytest.mark.parametrize("page", ["overview.py", "feedback.py", "procedures.py", "traffic.py", "map.py"])
def test_a_date_before_the_data_is_clamped_to_its_first_day_with_a_notice(monkeypatch, demo_db_url, page):
    # Was OverflowError ("date value out of range") on 5 pages: the comparison period went before year 1.
    app, notices = open_link(
        monkeypatch, demo_db_url, {"from": "0001-01-01", "to": "2026-11-20", "lang": "en"}, str(PAGES_DIR / page)
    )
    first_day = DEMO_NOW.date() - timedelta(days=DEMO_DAYS)  # the demo database's first record
    assert app.session_state["period_range"] == (first_day, date(2026, 11, 20))
    assert notices == [
        _notice(
            t("filter.problem.before_data", "en", param="from", value="0001\\-01\\-01", used=_escaped_date(first_day)),
            "en",
        )
    ]


def test_forecast_page_linked_before_the_data_opens_on_its_first_day(monkeypatch, demo_db_url):
    # Was "No objects to concatenate" (an empty history and no forecast run).
    app, notices = open_link(monkeypatch, demo_db_url, {"to": "1900-01-01"}, str(PAGES_DIR / "forecast.py"))
    first_day = DEMO_NOW.date() - timedelta(days=DEMO_DAYS)
    assert app.session_state["period_range"] == (first_day, first_day)
    assert len(notices) == 1 and not app.exception


def test_forecast_page_without_any_data_says_there_is_nothing(monkeypatch, tmp_path):
    from dashboard.db.engine import create_schema, make_engine
    from dashboard.db.load import load_areas

    url = f"duckdb:///{tmp_path / 'areas_only.duckdb'}"
    engine = make_engine(url)
    create_schema(engine)
    load_areas(engine, "hue")
    engine.dispose()
    app, _ = open_link(monkeypatch, url, {"to": "1900-01-01"}, str(PAGES_DIR / "forecast.py"))
    assert app.session_state["period_range"] == (EARLIEST_DATE, EARLIEST_DATE)  # no data: the fixed earliest day
    assert t("forecast.history_none", days=180, end=format_date(EARLIEST_DATE)) in [i.body for i in app.info]
    assert not app.get("plotly_chart")


def test_reversed_dates_are_swapped_with_a_notice(monkeypatch, demo_db_url):
    app, notices = open_link(monkeypatch, demo_db_url, {"from": "2026-05-31", "to": "2026-05-01"}, None)
    assert app.session_state["period_range"] == (date(2026, 5, 1), date(2026, 5, 31))
    assert notices == [_notice(t("filter.problem.swapped", start="01\\/05\\/2026", end="31\\/05\\/2026"))]


def test_an_unreadable_date_keeps_the_default_period(monkeypatch, demo_db_url):
    app, notices = open_link(monkeypatch, demo_db_url, {"from": "2026-02-30", "to": "2026-03-31"}, None)
    today = local_now().date()
    assert app.session_state["period_range"] == (today - timedelta(days=29), today)
    assert app.session_state["preset"] == "last_30_days"
    assert notices == [_notice(t("filter.problem.date", param="from", value="2026\\-02\\-30"))]


@pytest.mark.parametrize("page", ["overview.py", "feedback.py", "map.py"])
def test_a_repeated_area_is_kept_once(monkeypatch, demo_db_url, page):
    # Was StreamlitDuplicateElementKey (two chips with the same key).
    app, notices = open_link(monkeypatch, demo_db_url, {"area": "19753,19753, 19753"}, str(PAGES_DIR / page))
    assert app.session_state["areas"] == ["19753"]
    assert notices == []


def test_a_repeated_dimension_value_is_kept_once(monkeypatch, demo_db_url):
    app, _ = open_link(
        monkeypatch, demo_db_url, {"category": "noise,noise,trees_parks,noise"}, str(PAGES_DIR / "feedback.py")
    )
    assert app.session_state["dim_category"] == ["noise", "trees_parks"]
    assert [b.label for b in app.button if b.key and b.key.startswith("chip_") and b.key != "chip_reset"] == [
        t("category.noise"),
        t("category.trees_parks"),
    ]


def test_ten_thousand_unknown_codes_give_one_short_vietnamese_notice(monkeypatch, demo_db_url):
    # Was a 120,000-character warning with English ("(vi, en)", "from/to: … is not a date") in the Vietnamese page.
    codes = [f"X{i}" for i in range(10_000)]
    _, notices = open_link(monkeypatch, demo_db_url, {"area": ",".join(codes), "lang": "xx"}, None)
    assert notices == [
        _notice(
            t("filter.problem.choice", param="lang", value="xx", options="vi\\, en")
            + "; "
            + t(
                "filter.problem.unknown",
                param="area",
                values="X0, X1, X2, X3, X4 " + t("filter.problem.more", count="9.995"),
            )
        )
    ]


def test_page_dimension_notice_is_capped_in_english(monkeypatch, demo_db_url):
    link = {"lang": "en", "agency": ",".join(f"A{i}" for i in range(7)), "grain": "fortnight"}
    app, _ = open_link(monkeypatch, demo_db_url, link, str(PAGES_DIR / "feedback.py"))
    assert [w.body for w in app.warning] == [
        _notice(
            t(
                "filter.problem.unknown",
                "en",
                param="agency",
                values="A0, A1, A2, A3, A4 " + t("filter.problem.more", "en", count="2"),
            )
            + "; "
            + t("filter.problem.choice", "en", param="grain", value="fortnight", options="day\\, week\\, month"),
            "en",
        )
    ]
