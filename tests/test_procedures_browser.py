"""A real-browser click on a bar of the administrative-procedures page (Playwright on system Chromium)."""

from __future__ import annotations

from pathlib import Path

import pytest
from procedures_support import PAGE, demo_period

from dashboard.db import dossier_queries as dq
from dashboard.db.engine import make_engine
from dashboard.db.predicates import QueryFilter
from dashboard.i18n import t

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"


def test_clicking_a_procedure_bar_filters_the_page(web, chromium, demo_db_url, demo_now):
    period = demo_period(demo_now, 30)
    with web.running_app(demo_db_url, log_path=ARTIFACTS / "procedures.log") as base:
        page = web.new_page(chromium, viewport={"width": 1600, "height": 3600})
        page.goto(f"{base}/{PAGE.url_path}?from={period.start.isoformat()}&to={period.end.isoformat()}")
        page.wait_for_selector(web.PLOTLY_CHART, timeout=60_000)
        chart = page.locator(".js-plotly-plot").filter(has_text=t("procedures.top_volume_title"))
        chart.locator("g.point path").first.wait_for(timeout=60_000)
        bar = chart.locator("g.point path").first
        bar.scroll_into_view_if_needed()
        box = bar.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function("() => window.location.search.includes('procedure=')", timeout=30_000)
        code = page.evaluate("() => new URLSearchParams(window.location.search).get('procedure')")
        page.locator("button", has_text=f"{code} · ").first.wait_for(timeout=30_000)  # the removable chip
        assert page.locator(web.EXCEPTION).count() == 0
        page.screenshot(path=str(ARTIFACTS / "procedures_after_click.png"))
        page.context.close()
    engine = make_engine(demo_db_url, read_only=True)
    try:
        top = dq.top_procedures(dq.procedure_stats(engine, QueryFilter.build(period)), "received")
    finally:
        engine.dispose()
    assert code == top["procedure_code"].iloc[0]
