"""The wall screen's drawing: tiles with value, typical day and change, escaping, and the layout heights."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd
import pytest

from dashboard.wall import panels as wall_panels
from dashboard.wall import render as draw


# ---------------------------------------------------------------- drawing
def test_overview_tiles_show_value_typical_and_change():
    today = {
        "kpis": {
            "feedback": {"received": 302, "resolved": 165, "resolved_on_time_pct": 87.3, "open_backlog": 733},
            "dossiers": {"received": 154, "completed_on_time_pct": 91.9},
            "traffic": {"vehicles": 1_132_349},
        },
        "traffic_hour": {"congestion_index_peak": 15.1},
        "hour_start": datetime(2026, 11, 23, 17),
    }
    typical = {
        "kpis": {
            "feedback": {"received": 275.0, "resolved": 178.0, "resolved_on_time_pct": 86.1, "open_backlog": 730.5},
            "dossiers": {"received": 156.0, "completed_on_time_pct": 95.4},
            "traffic": {"vehicles": 1_126_436.0},
        },
        "traffic_hour": {"congestion_index_peak": 16.4},
    }
    html = draw.overview_html(today, typical, "vi")
    tiles = dict(re.findall(r'data-kpi="([^"]+)">.*?class="wall-tile-value">([^<]+?)\s*<', html))
    assert tiles["feedback.received"] == "302" and tiles["feedback.resolved_on_time_pct"] == "87,3"
    assert tiles["traffic.vehicles"] == "1,13 tr" and tiles["traffic.congestion_now"] == "15,1"
    assert "▲ 9,8 %" in html and "ngày thường 275" in html and "▲ 1,2 điểm %" in html
    assert "Ùn tắc 17:00–18:00" in html


def test_database_text_is_escaped():
    sensors = pd.DataFrame({"congestion_index_mean": [50.0]})
    points = pd.DataFrame({"category": ["<script>"], "lat": [16.4], "lon": [107.6]})
    html = draw.map_legend_html(points.assign(category="noise"), 1, sensors, datetime(2026, 1, 1, 8), "vi")
    assert "Tiếng ồn" in html
    data = {
        "hour_start": datetime(2026, 1, 1, 8),
        "top": pd.DataFrame({"name": ["<b>x</b>"], "congestion_index_mean": [40.0]}),
        "silent": pd.DataFrame(),
        "sensor_total": 1,
    }
    today = {"traffic_hour": {"congestion_index_peak": 40.0}, "kpis": {"traffic": {"vehicles": 10}}}
    typical = {"traffic_hour": {"congestion_index_peak": None}, "kpis": {"traffic": {"vehicles": None}}}
    assert "&lt;b&gt;x&lt;/b&gt;" in wall_panels.traffic_side_html(today, typical, data, "vi")


def test_layout_heights_add_up_to_the_screen():
    for width, height in ((1920, 1080), (3840, 2160)):
        unit = draw.theme.wall_unit_px(width, height)
        _stage_width, stage_height = draw.stage_size(width, height)
        assert stage_height + (draw.HEADER_U + draw.TABS_U + draw.TICKER_U) * unit == pytest.approx(height)
        assert draw.panel_height(width, height) < stage_height
    assert draw.theme.wall_unit_px(1920, 1080) >= 28
    assert draw.theme.wall_unit_px(3840, 2160) == pytest.approx(2 * draw.theme.wall_unit_px(1920, 1080))
