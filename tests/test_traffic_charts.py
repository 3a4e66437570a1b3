"""Traffic page chart and table builders, on hand-made frames."""

from __future__ import annotations

import pandas as pd
from traffic_support import apr

from dashboard.charts import theme
from dashboard.charts import traffic as charts
from dashboard.i18n import t
from dashboard.metrics import kpis


def ranking_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": ["S1", "S2", "S3"],
            "name": ["Cầu A", "Cầu B", "Cầu C"],
            "road": ["R1", "R1", "R2"],
            "area_code": ["A", "A", "B"],
            "lat": [16.46, 16.47, 16.45],
            "lon": [107.58, 107.59, 107.60],
            "sensors": [1, 1, 1],
            "vehicles": [400, 900, 0],
            "congestion_index_mean": pd.array([25.0, 10.0, None], dtype="Float64"),
            "congestion_index_peak": pd.array([50.0, 80.0, None], dtype="Float64"),
            "peak_hour": pd.to_datetime([apr(6, 8), apr(6, 9), None]),
        }
    )


def areas_frame() -> pd.DataFrame:
    square = '{"type": "Polygon", "coordinates": [[[107.5, 16.4], [107.7, 16.4], [107.7, 16.5], [107.5, 16.5], [107.5, 16.4]]]}'
    return pd.DataFrame({"code": ["A"], "name": ["Phường Thuận Hóa"], "geometry_geojson": [square]})


def test_sensor_map_is_offline_and_clickable():
    figure = charts.sensor_map(ranking_frame(), areas_frame(), "vi", selected=["S2"])
    assert figure.layout.map.style == "white-bg"
    assert [layer.type for layer in figure.layout.map.layers] == ["fill", "line"]
    idle, active = figure.data
    assert [row[0] for row in idle.customdata] == ["S3"]
    assert [row[0] for row in active.customdata] == ["S1", "S2"]
    assert list(active.marker.color) == [50.0, 80.0]
    assert active.marker.size[1] > active.marker.size[0]  # more vehicles, bigger marker
    assert active.selectedpoints == (1,) and idle.selectedpoints == ()
    assert active.customdata[1][2] == "900" and active.customdata[1][3] == "80,0 %"
    assert active.marker.cmax == 2 * kpis.KPI_BY_KEY["traffic.congestion_index_peak"].target


def test_heatmap_places_weekdays_and_hours():
    frame = pd.DataFrame(
        {
            "weekday": [1, 7],
            "hour": [8, 23],
            "days": [2, 1],
            "vehicles": [1510, 5],
            "vehicles_per_day": [755.0, 5.0],
            "congestion_index": pd.array([206.0, None], dtype="Float64"),
        }
    )
    vehicles = charts.hour_weekday_heatmap(frame, "vehicles", "vi")
    z = vehicles.data[0].z
    assert len(z) == 7 and len(z[0]) == 24
    assert z[0][8] == 755.0 and z[6][23] == 5.0 and pd.isna(z[3][3])
    assert vehicles.data[0].y[0] == "Thứ Hai" and vehicles.data[0].text[0][8] == "755"
    congestion = charts.hour_weekday_heatmap(frame, "congestion", "en")
    assert congestion.data[0].z[0][8] == 206.0 and congestion.data[0].zmin == 0
    assert congestion.data[0].y[6] == "Sunday"
    assert charts.hour_weekday_heatmap(frame.iloc[0:0], "vehicles", "vi").data[0].z.shape == (7, 24)


def test_profile_chart_has_the_day_and_the_typical_line():
    frame = pd.DataFrame(
        {
            "hour": range(24),
            "vehicles": pd.array([None] * 8 + [120] + [None] * 15, dtype="Int64"),
            "typical_vehicles": [None] * 8 + [250.0] + [None] * 15,
            "days": [0] * 8 + [4] + [0] * 15,
        }
    )
    figure = charts.profile_chart(frame, "Hôm nay", 8, "vi")
    bars, line = figure.data
    assert bars.name == "Hôm nay" and bars.y[8] == 120
    assert line.y[8] == 250.0 and "8" in line.name


def test_ranking_chart_puts_the_worst_on_top_with_status_colours():
    figure = charts.congestion_ranking_chart(ranking_frame(), "sensor", "congestion_index_peak", "vi")
    bar = figure.data[0]
    assert list(bar.y) == ["Cầu A", "Cầu B"]  # Plotly draws the last bar on top
    assert [row[0] for row in bar.customdata] == ["S1", "S2"]
    assert list(bar.marker.color) == [theme.status_colour("on_target"), theme.status_colour("off_target")]
    assert figure.layout.shapes[0].x0 == 50.0
    roads = charts.congestion_ranking_chart(
        ranking_frame().assign(key=["R1", "R1b", "R2"]), "road", "congestion_index_mean", "vi"
    )
    assert list(roads.data[0].y) == ["R1b", "R1"] and not roads.layout.shapes


def test_tables_are_labelled_and_never_empty_of_meaning():
    table = charts.ranking_table(ranking_frame(), "sensor", "congestion_index_peak", "vi")
    assert list(table.columns)[:3] == [t("traffic.column.sensor"), t("traffic.column.name"), t("traffic.column.road")]
    assert list(table[t("traffic.column.sensor")]) == ["S2", "S1", "S3"]
    assert table[t("traffic.column.peak_hour")].iloc[0] == "09:00 06/04/2026"
    silent = pd.DataFrame(
        {
            "id": ["S4", "S3"],
            "name": ["a", "b"],
            "road": ["r", "r"],
            "area_code": ["B", "B"],
            "last_observed_at": pd.to_datetime([None, apr(20, 13, 30)]),
            "minutes_silent": pd.array([None, 67], dtype="Int64"),
        }
    )
    shown = charts.silent_table(silent, "vi")
    assert list(shown[t("traffic.column.last_observed_at")]) == [t("traffic.silent.never"), "13:30 20/04/2026"]
