"""A real-browser click on a sensor of the traffic page's map (Playwright on system Chromium)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from traffic_support import last_30_days

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts" / "browser"

MARKER_PIXELS = """() => {
    const chart = document.querySelector('.js-plotly-plot');
    const map = chart._fullLayout.map._subplot.map;
    const last = chart.calcdata.length - 1;
    return chart.calcdata[last].map(point => {
        const pixel = map.project(point.lonlat);
        return [pixel.x, pixel.y, chart._fullData[last].customdata[point.i][0]];
    });
}"""


def test_clicking_a_sensor_filters_the_page(web, chromium, demo_db_url, demo_now):
    params = last_30_days(demo_now)
    with web.running_app(demo_db_url, log_path=ARTIFACTS / "streamlit-traffic-click.log") as base:
        page = web.new_page(chromium)
        page.goto(f"{base}/giao-thong?from={params['from']}&to={params['to']}")
        web.wait_for_app(page, charts=True, map_canvas=True)
        box = page.locator(web.MAP_CANVAS).first.bounding_box()
        markers = [
            m for m in page.evaluate(MARKER_PIXELS) if 20 < m[0] < box["width"] - 90 and 20 < m[1] < box["height"] - 20
        ]
        assert markers, "no sensor marker inside the map"
        x, y, sensor = markers[0]
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function("() => window.location.search.includes('sensor=')", timeout=30_000)
        web.wait_for_app(page, charts=True, map_canvas=True)
        web.full_page_screenshot(page, ARTIFACTS / "traffic-sensor-click.png")
        assert page.locator(web.EXCEPTION).count() == 0
        clicked = parse_qs(urlsplit(page.url).query)["sensor"][0]
        # The two directions of a site share a spot; the click picks the marker drawn on top.
        number = int(sensor[1:])
        partner = f"S{number + 1 if number % 2 else number - 1:02d}"  # demo sensors S01/S02, S03/S04, … share a site
        assert clicked in {sensor, partner}
        page.context.close()
