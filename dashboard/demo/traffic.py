"""Demo traffic data: sensors on real Huế roads and bridges, 15-minute observations.

Part of the demo generator (`dashboard.demo.generator`). Everything is vectorised over a
(time slot × sensor) grid; counts follow a daily profile with morning and evening peaks,
speeds follow a BPR-like volume/capacity curve. Positions are approximate (within a
few hundred metres) and the sensors themselves are invented: this is demo data.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import shapely

PERIOD_MINUTES = 15
SLOTS_PER_DAY = 24 * 60 // PERIOD_MINUTES
FULL_SENSOR_COUNT = 60

# (road, place label, lat, lon, direction A, direction B, index of the direction into the centre, kind)
# Two sensors per site, one per direction. The first sites come first in small demos.
_N, _S, _E, _W, _NW, _SE = "hướng Bắc", "hướng Nam", "hướng Đông", "hướng Tây", "hướng Tây Bắc", "hướng Đông Nam"
_SITES: tuple[tuple[str, str, float, float, str, str, int, str], ...] = (
    ("Cầu Trường Tiền", "Cầu Trường Tiền", 16.4685, 107.5891, _N, _S, 0, "bridge"),
    ("Lê Lợi", "Lê Lợi (Ga Huế)", 16.4572, 107.5790, _E, _W, 0, "arterial"),
    ("Hùng Vương", "Hùng Vương (ngã sáu)", 16.4628, 107.5937, _NW, _SE, 0, "arterial"),
    ("Cầu Phú Xuân", "Cầu Phú Xuân", 16.4645, 107.5812, _N, _S, 1, "bridge"),
    ("Trần Hưng Đạo", "Trần Hưng Đạo (chợ Đông Ba)", 16.4716, 107.5882, _E, _W, 1, "arterial"),
    ("Lê Duẩn", "Lê Duẩn (cửa Thượng Tứ)", 16.4666, 107.5792, _N, _S, 1, "arterial"),
    ("Cầu Dã Viên", "Cầu Dã Viên", 16.4607, 107.5706, _N, _S, 1, "bridge"),
    ("Điện Biên Phủ", "Điện Biên Phủ", 16.4532, 107.5826, _N, _S, 0, "arterial"),
    ("Nguyễn Tất Thành", "Nguyễn Tất Thành (Thủy Dương)", 16.4425, 107.6150, _NW, _SE, 0, "arterial"),
    ("Tố Hữu", "Tố Hữu", 16.4598, 107.6062, _W, _E, 0, "arterial"),
    ("Võ Văn Kiệt", "Võ Văn Kiệt", 16.4432, 107.6020, _N, _S, 0, "arterial"),
    ("Cầu Chợ Dinh", "Cầu Chợ Dinh", 16.4833, 107.6043, _N, _S, 1, "bridge"),
    ("Cầu Kim Long", "Cầu Kim Long", 16.4652, 107.5603, _E, _W, 0, "bridge"),
    ("Bà Triệu", "Bà Triệu", 16.4622, 107.6020, _N, _S, 0, "street"),
    ("Nguyễn Huệ", "Nguyễn Huệ", 16.4600, 107.5850, _E, _W, 0, "street"),
    ("Hà Nội", "Hà Nội", 16.4640, 107.5880, _N, _S, 0, "street"),
    ("Đống Đa", "Đống Đa", 16.4626, 107.5935, _E, _W, 1, "street"),
    ("Lê Lợi", "Lê Lợi (Trường Tiền)", 16.4668, 107.5905, _E, _W, 1, "arterial"),
    ("Lê Lợi", "Lê Lợi (Đập Đá)", 16.4718, 107.5990, _E, _W, 1, "arterial"),
    ("Hùng Vương", "Hùng Vương (An Cựu)", 16.4565, 107.6000, _NW, _SE, 0, "arterial"),
    ("Trần Hưng Đạo", "Trần Hưng Đạo (Phu Văn Lâu)", 16.4700, 107.5850, _E, _W, 0, "arterial"),
    ("Lê Duẩn", "Lê Duẩn (cửa Chánh Tây)", 16.4740, 107.5690, _N, _S, 1, "arterial"),
    ("Lê Duẩn", "Lê Duẩn (Hương Sơ)", 16.4800, 107.5680, _N, _S, 1, "arterial"),
    ("Điện Biên Phủ", "Điện Biên Phủ (Trường Chinh)", 16.4470, 107.5800, _N, _S, 0, "arterial"),
    ("Nguyễn Tất Thành", "Nguyễn Tất Thành (Thủy Phù)", 16.4250, 107.6400, _NW, _SE, 0, "arterial"),
    ("Tố Hữu", "Tố Hữu (An Vân Dương)", 16.4540, 107.6170, _W, _E, 0, "arterial"),
    ("Võ Văn Kiệt", "Võ Văn Kiệt (An Tây)", 16.4330, 107.6120, _N, _S, 0, "arterial"),
    ("Cầu Gia Hội", "Cầu Gia Hội", 16.4726, 107.5926, _E, _W, 1, "bridge"),
    ("Nguyễn Sinh Cung", "Nguyễn Sinh Cung (Vỹ Dạ)", 16.4775, 107.6060, _W, _E, 0, "street"),
    ("Đinh Tiên Hoàng", "Đinh Tiên Hoàng (Kinh thành)", 16.4720, 107.5810, _N, _S, 1, "street"),
)

_CAPACITY = {"bridge": (1800, 2600), "arterial": (2400, 3600), "street": (1200, 2000)}
_FREE_FLOW = {"bridge": (35, 42), "arterial": (42, 50), "street": (30, 38)}
# Volume/capacity at the busiest weekday slot: the bridges over the Perfume River jam first.
_PEAK_VC = {"bridge": (0.95, 1.4), "arterial": (0.7, 1.2), "street": (0.55, 0.95)}


def sensor_count(scale: float) -> int:
    return FULL_SENSOR_COUNT if scale >= 1 else max(8, round(FULL_SENSOR_COUNT * scale))


def _area_of_points(areas: pd.DataFrame, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Code of the area whose polygon holds each point; the nearest centroid when none does."""
    codes = np.full(len(lat), None, dtype=object)
    for code, geojson in zip(areas["code"], areas["geometry_geojson"], strict=True):
        if not isinstance(geojson, str) or not geojson:
            continue
        inside = shapely.contains_xy(shapely.from_geojson(geojson), lon, lat) & (codes == None)  # noqa: E711
        codes[inside] = code
    missing = codes == None  # noqa: E711
    if missing.any():
        d2 = (lat[missing, None] - areas["centroid_lat"].to_numpy()) ** 2 + (
            (lon[missing, None] - areas["centroid_lon"].to_numpy()) * np.cos(np.radians(16.5))
        ) ** 2
        codes[missing] = areas["code"].to_numpy()[d2.argmin(axis=1)]
    return codes.astype(str)


def sensor_frame(areas: pd.DataFrame, n_sensors: int, rng: np.random.Generator) -> pd.DataFrame:
    """The traffic_sensors rows plus helper columns `inbound` and `peak_vc` (dropped before loading).

    Beyond the 60 sensors of the real sites (benchmark builds), the sites repeat with a number and a
    position a few hundred metres along.
    """
    rows = []
    for repeat in range(-(-n_sensors // (2 * len(_SITES)))):
        number, along = (f" #{repeat + 1}", 0.0015 * repeat) if repeat else ("", 0.0)
        for road, label, lat, lon, dir_a, dir_b, inbound, kind in _SITES:
            for k, direction in enumerate((dir_a, dir_b)):
                shift = 0.00012 if k == 0 else -0.00012
                rows.append(
                    (
                        road,
                        f"{label}{number} – {direction}",
                        lat + shift + along,
                        lon + shift + along,
                        k == inbound,
                        kind,
                    )
                )
    frame = pd.DataFrame(rows[:n_sensors], columns=["road", "name", "lat", "lon", "inbound", "kind"])
    n = len(frame)
    low_cap = frame["kind"].map(lambda k: _CAPACITY[k][0]).to_numpy(float)
    high_cap = frame["kind"].map(lambda k: _CAPACITY[k][1]).to_numpy(float)
    low_ff = frame["kind"].map(lambda k: _FREE_FLOW[k][0]).to_numpy(float)
    high_ff = frame["kind"].map(lambda k: _FREE_FLOW[k][1]).to_numpy(float)
    frame["id"] = [f"S{i + 1:02d}" for i in range(n)]
    frame["capacity_per_hour"] = np.round(rng.uniform(low_cap, high_cap) / 100) * 100
    frame["free_flow_speed_kmh"] = np.round(rng.uniform(low_ff, high_ff))
    frame["peak_vc"] = rng.uniform(
        frame["kind"].map(lambda k: _PEAK_VC[k][0]).to_numpy(float),
        frame["kind"].map(lambda k: _PEAK_VC[k][1]).to_numpy(float),
    )
    frame["area_code"] = _area_of_points(areas, frame["lat"].to_numpy(), frame["lon"].to_numpy())
    return frame


def _bump(hours: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-(((hours - centre) / width) ** 2))


def _daylight(hours: np.ndarray, rise: float, fall: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(hours - rise) / 0.5)) / (1 + np.exp((hours - fall) / 0.8))


def daily_profiles() -> dict[str, np.ndarray]:
    """Relative demand per 15-minute slot: weekday in/outbound, Saturday, Sunday (peak ≈ 1)."""
    h = (np.arange(SLOTS_PER_DAY) + 0.5) * PERIOD_MINUTES / 60
    base = 0.03 + 0.45 * _daylight(h, 6.0, 22.0) + 0.12 * _bump(h, 11.5, 0.7)
    weekday_in = base + 0.55 * _bump(h, 7.4, 0.55) + 0.42 * _bump(h, 17.25, 0.75)
    weekday_out = base + 0.40 * _bump(h, 7.4, 0.55) + 0.55 * _bump(h, 17.25, 0.75)
    weekend = 0.03 + 0.5 * _daylight(h, 7.0, 23.0) + 0.1 * _bump(h, 10.0, 1.5) + 0.15 * _bump(h, 19.5, 1.5)
    top = max(weekday_in.max(), weekday_out.max())
    return {"in": weekday_in / top, "out": weekday_out / top, "sat": weekend / top, "sun": 0.9 * weekend / top}


def traffic_day_factors(cal) -> tuple[np.ndarray, np.ndarray]:
    """Per day of a demo calendar (`dashboard.demo.generator._Calendar`): kind and volume factor.

    Kind: 0 working day, 1 Saturday, 2 Sunday or public holiday. The factor holds slow growth,
    the summer tourist season, the Tết holiday week and the shopping days before it, and storms.
    """
    kind = np.where(cal.holiday | (cal.dow == 6), 2, np.where(cal.dow == 5, 1, 0))
    factor = 1.03 ** (-cal.years_ago) * np.where(np.isin(cal.month, (6, 7, 8)), 1.04, 1.0)
    holiday_week = (cal.tet_offset >= -1) & (cal.tet_offset <= 3)
    shopping_days = (cal.tet_offset >= -8) & (cal.tet_offset < -1)
    factor *= np.select([holiday_week, shopping_days], [0.55, 1.12], 1.0)
    factor *= np.where(cal.storm, 0.65, 1.0)
    return kind, factor


def observation_frame(
    sensors: pd.DataFrame,
    rng: np.random.Generator,
    *,
    first_day: np.datetime64,
    horizon: datetime,
    day_kind: np.ndarray,
    day_factor: np.ndarray,
    storm: np.ndarray,
    silent_tail: bool = True,
) -> pd.DataFrame:
    """traffic_observations rows for every sensor from `first_day` 00:00 to the last full slot before `horizon`.

    Per day (arrays aligned on consecutive days from `first_day`): `day_kind` 0 = working day,
    1 = Saturday, 2 = Sunday or holiday; `day_factor` scales volume (Tết, growth, season);
    `storm` marks storm/flood days (less traffic, lower speeds). `silent_tail` False: no silent
    sensor at the end (a chunk of a larger build that is not its last).
    """
    start = pd.Timestamp(first_day).to_pydatetime()
    n_slots = max(0, int((horizon - start) // timedelta(minutes=PERIOD_MINUTES)))
    n_sensors = len(sensors)
    if n_slots == 0 or n_sensors == 0:
        return pd.DataFrame(columns=["sensor_id", "observed_at", "period_minutes", "vehicle_count", "mean_speed_kmh"])
    slot = np.arange(n_slots)
    day = slot // SLOTS_PER_DAY
    tod = slot % SLOTS_PER_DAY
    prof = daily_profiles()
    inbound = sensors["inbound"].to_numpy(bool)
    weekday = np.where(inbound[None, :], prof["in"][tod][:, None], prof["out"][tod][:, None])
    kind = day_kind[day]
    weekend = np.where(kind == 1, prof["sat"][tod], prof["sun"][tod])
    shape = np.where((kind == 0)[:, None], weekday, weekend[:, None])

    capacity = sensors["capacity_per_hour"].to_numpy(float)
    n_days = int(day[-1]) + 1
    sensor_day_noise = rng.lognormal(0.0, 0.06, (n_days, n_sensors))
    hourly = shape * (capacity * sensors["peak_vc"].to_numpy())[None, :]
    hourly *= (day_factor[:n_days, None] * sensor_day_noise)[day]
    mean = hourly * (PERIOD_MINUTES / 60)
    dispersion = 30.0
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mean))
    del mean, shape, weekday

    free_flow = sensors["free_flow_speed_kmh"].to_numpy(float)
    vc = counts * (60 / PERIOD_MINUTES) / capacity[None, :]
    speed = free_flow[None, :] / (1 + 0.15 * vc**4)
    speed *= rng.lognormal(0.0, 0.06, speed.shape)
    speed *= np.where(storm[day], 0.82, 1.0)[:, None]
    speed = np.clip(speed, 5.0, free_flow[None, :] * 1.1).round(1)
    speed[counts == 0] = np.nan

    keep = np.ones((n_slots, n_sensors), dtype=bool)
    # A few outages (a sensor offline for hours to days), ending at least a day before the horizon.
    n_outages = max(1, round(8 * n_sensors / FULL_SENSOR_COUNT * n_days / 1096))
    for _ in range(n_outages):
        length = int(np.clip(rng.lognormal(np.log(48), 1.0), 8, 4 * SLOTS_PER_DAY))
        latest = n_slots - length - SLOTS_PER_DAY
        if latest > 0:
            first = int(rng.integers(0, latest))
            keep[first : first + length, int(rng.integers(0, n_sensors))] = False
    # One silent sensor: nothing for the last two hours.
    silent = int(rng.integers(0, n_sensors))
    slot_start = np.datetime64(start, "s") + slot.astype("timedelta64[m]") * PERIOD_MINUTES
    if silent_tail:
        keep[slot_start >= np.datetime64(horizon - timedelta(hours=2), "s"), silent] = False

    flat = keep.ravel()
    sensor_ids = pd.Categorical.from_codes(
        np.tile(np.arange(n_sensors), n_slots)[flat], categories=sensors["id"].tolist()
    )
    return pd.DataFrame(
        {
            "sensor_id": sensor_ids,
            "observed_at": np.repeat(slot_start.astype("datetime64[us]"), n_sensors)[flat],
            "period_minutes": np.full(int(flat.sum()), PERIOD_MINUTES, dtype=np.int32),
            "vehicle_count": counts.ravel()[flat].astype(np.int32),
            "mean_speed_kmh": speed.ravel()[flat],
        }
    )
