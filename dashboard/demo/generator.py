"""Seeded demo data for the whole dashboard: citizen feedback, administrative dossiers, traffic.

`build_demo` recreates the schema, loads the city's areas and fills every table with data
that has the structure of the real thing: weekly cycles, Tết, the rainy season, urban wards
busier than mountain communes, agencies that differ in speed. Same seed and same `now`
give the same database. Nothing is ever later than `now` (deadlines may be).
Agency, procedure, place and road names are real proper names (stored as written locally);
procedure codes, sensors and every record are invented.
"""

from __future__ import annotations

import time as timer
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from statistics import NormalDist
from zoneinfo import ZoneInfo

import holidays
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.boundaries import area_frame
from dashboard.db import schema
from dashboard.db.engine import create_schema, is_duckdb, translating_errors
from dashboard.db.load import bulk_load, load_areas
from dashboard.db.rollups import refresh_rollups
from dashboard.demo.chunks import (
    calendar_part,
    day_chunks,
    load_cases,
    load_frame,
    load_observations,
)
from dashboard.demo.citizens import citizen_details
from dashboard.demo.source_labels import source_categories
from dashboard.demo.supplements import supplements_and_complaints
from dashboard.demo.traffic import SLOTS_PER_DAY, sensor_count, sensor_frame
from dashboard.domain import FEEDBACK_CATEGORIES, FEEDBACK_CHANNELS

FEEDBACK_PER_3_YEARS = 200_000
DOSSIERS_PER_3_YEARS = 150_000
# Tables up to these sizes are generated in one pass (the demo as it always was for a seed);
# larger ones in chunks of days of about GENERATE_CHUNK_ROWS rows each.
SINGLE_PASS_CASES = 1_500_000
SINGLE_PASS_OBSERVATIONS = 8_000_000
GENERATE_CHUNK_ROWS = 1_000_000

HEPCO = "Công ty CP Môi trường và Công trình đô thị Huế"
HUEWACO = "Công ty CP Cấp nước Thừa Thiên Huế"
CONSTRUCTION_DEPT = "Sở Xây dựng"
PARKS = "Trung tâm Công viên Cây xanh Huế"
FOOD_SAFETY = "Chi cục An toàn vệ sinh thực phẩm"
WARD = None  # the people's committee ("UBND ...") of the report's or dossier's ward

# Feedback: share of each category, resolution deadline in days, responsible agency.
_FEEDBACK = {
    "waste_environment": (0.250, 3, HEPCO),
    "roads_traffic": (0.200, 7, CONSTRUCTION_DEPT),
    "street_lighting": (0.120, 5, CONSTRUCTION_DEPT),
    "water_drainage": (0.090, 3, HUEWACO),
    "urban_order": (0.140, 7, WARD),
    "trees_parks": (0.050, 3, PARKS),
    "noise": (0.070, 3, WARD),
    "food_safety": (0.015, 5, FOOD_SAFETY),
    "other": (0.065, 10, WARD),
}
# Month multipliers (Jan..Dec) of the categories that follow the weather or Tết.
_FEEDBACK_MONTHS = {
    "water_drainage": (0.8, 0.6, 0.5, 0.5, 0.6, 0.7, 0.7, 0.8, 1.5, 3.0, 3.2, 1.8),
    "trees_parks": (0.8, 0.7, 0.7, 0.8, 1.0, 1.0, 1.0, 1.0, 1.4, 2.6, 2.4, 1.3),
    "waste_environment": (1.15, 1.15, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1.05),
}
_STORM_MULTIPLIER = {"water_drainage": 4.0, "trees_parks": 6.0, "roads_traffic": 1.5, "street_lighting": 1.5}
_FEEDBACK_CHANNEL_SHARE = {"hue_s_app": 0.68, "hotline_1022": 0.12, "zalo": 0.09, "web_portal": 0.07, "walk_in": 0.04}
_FEEDBACK_ON_TIME = {HEPCO: 0.91, HUEWACO: 0.95, CONSTRUCTION_DEPT: 0.78, PARKS: 0.86, FOOD_SAFETY: 0.97}
# Satisfaction 1..5 when resolved on time / late.
_SATISFACTION_ON_TIME = (0.004, 0.008, 0.03, 0.60, 0.358)
_SATISFACTION_LATE = (0.04, 0.06, 0.12, 0.52, 0.26)
_FEEDBACK_HOURS = (
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.8,
    2.0,
    3.5,
    5.0,
    5.5,
    5.2,
    4.5,
    3.0,
    3.2,
    4.2,
    4.6,
    4.3,
    3.8,
    3.0,
    2.6,
    2.2,
    1.8,
    1.2,
    0.8,
)

LAND_OFFICE = "Văn phòng đăng ký đất đai"
# Dossier procedures: code, name, sector, agency (WARD = the ward's people's committee),
# legal processing time in working days, relative popularity.
PROCEDURES = (
    ("HT.01", "Đăng ký khai sinh", "civil_status", WARD, 1, 10),
    ("HT.02", "Đăng ký kết hôn", "civil_status", WARD, 3, 4),
    ("HT.03", "Đăng ký khai tử", "civil_status", WARD, 1, 2),
    ("HT.04", "Cấp bản sao trích lục hộ tịch", "civil_status", WARD, 1, 4),
    ("HT.05", "Cấp giấy xác nhận tình trạng hôn nhân", "civil_status", WARD, 3, 5),
    ("TP.01", "Chứng thực bản sao từ bản chính", "justice", WARD, 1, 18),
    ("TP.02", "Chứng thực chữ ký trong giấy tờ, văn bản", "justice", WARD, 1, 6),
    ("TP.03", "Chứng thực hợp đồng, giao dịch", "justice", WARD, 2, 3),
    ("TP.04", "Cấp Phiếu lý lịch tư pháp", "justice", "Sở Tư pháp", 10, 3),
    ("DD.01", "Đăng ký biến động quyền sử dụng đất", "land", LAND_OFFICE, 10, 6),
    ("DD.02", "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu", "land", LAND_OFFICE, 20, 2),
    ("DD.03", "Đăng ký thế chấp quyền sử dụng đất", "land", LAND_OFFICE, 3, 4),
    ("DD.04", "Chuyển mục đích sử dụng đất", "land", WARD, 15, 1),
    ("XD.01", "Cấp giấy phép xây dựng nhà ở riêng lẻ", "construction", WARD, 15, 4),
    ("XD.02", "Cấp giấy phép xây dựng công trình", "construction", CONSTRUCTION_DEPT, 20, 1),
    ("XD.03", "Gia hạn giấy phép xây dựng", "construction", CONSTRUCTION_DEPT, 5, 0.5),
    ("XD.04", "Cấp giấy phép sửa chữa, cải tạo công trình", "construction", WARD, 15, 1),
    ("KD.01", "Đăng ký hộ kinh doanh", "business", WARD, 3, 5),
    ("KD.02", "Đăng ký thành lập doanh nghiệp", "business", "Sở Tài chính", 3, 2),
    ("KD.03", "Đăng ký thay đổi nội dung đăng ký doanh nghiệp", "business", "Sở Tài chính", 3, 2.5),
    ("KD.04", "Thông báo tạm ngừng kinh doanh", "business", "Sở Tài chính", 3, 0.8),
    ("LD.01", "Giải quyết trợ cấp xã hội hằng tháng", "labour_social", WARD, 15, 2),
    ("LD.02", "Cấp giấy phép lao động cho người nước ngoài", "labour_social", "Sở Nội vụ", 5, 0.4),
    ("LD.03", "Giải quyết hưởng trợ cấp thất nghiệp", "labour_social", "Trung tâm Dịch vụ việc làm", 20, 2),
    ("LD.04", "Xác nhận hộ nghèo, hộ cận nghèo", "labour_social", WARD, 7, 1),
    ("GT.01", "Cấp phù hiệu xe ô tô kinh doanh vận tải", "transport", CONSTRUCTION_DEPT, 2, 1),
    ("GT.02", "Cấp giấy phép thi công trên đường bộ đang khai thác", "transport", CONSTRUCTION_DEPT, 7, 0.3),
    ("GT.03", "Cấp giấy phép lưu hành xe quá tải trọng, quá khổ", "transport", CONSTRUCTION_DEPT, 2, 0.4),
    ("YT.01", "Cấp giấy chứng nhận cơ sở đủ điều kiện an toàn thực phẩm", "health", "Sở Y tế", 15, 1),
    ("YT.02", "Cấp chứng chỉ hành nghề dược", "health", "Sở Y tế", 20, 0.8),
    ("YT.03", "Cấp giấy phép hành nghề khám bệnh, chữa bệnh", "health", "Sở Y tế", 20, 0.8),
    ("GD.01", "Cấp bản sao văn bằng, chứng chỉ từ sổ gốc", "education", "Sở Giáo dục và Đào tạo", 1, 1.5),
    ("GD.02", "Chuyển trường đối với học sinh trung học phổ thông", "education", "Sở Giáo dục và Đào tạo", 3, 0.8),
    ("GD.03", "Cho phép trung tâm ngoại ngữ, tin học hoạt động", "education", "Sở Giáo dục và Đào tạo", 15, 0.2),
)
_DOSSIER_ON_TIME = {
    "Sở Tư pháp": 0.96,
    LAND_OFFICE: 0.85,
    CONSTRUCTION_DEPT: 0.89,
    "Sở Tài chính": 0.98,
    "Sở Nội vụ": 0.94,
    "Trung tâm Dịch vụ việc làm": 0.93,
    "Sở Y tế": 0.90,
    "Sở Giáo dục và Đào tạo": 0.97,
}
_DOSSIER_MONTHS = (1.1, 1.0, 1, 1, 1, 1, 1.05, 1.05, 1, 1, 1, 1.1)
_COUNTER_HOURS = (0, 0, 0, 0, 0, 0, 0, 1.5, 4, 5, 4.5, 2, 0.2, 1.5, 4, 4, 3, 0.3, 0, 0, 0, 0, 0, 0)
_SATURDAY_HOURS = (0, 0, 0, 0, 0, 0, 0, 1.5, 4, 5, 4.5, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
_ONLINE_HOURS = (0.3, 0.15, 0.1, 0.1, 0.2, 0.4, 0.8, 2, 4, 5, 5, 4, 2, 2.5, 4, 4.5, 4, 3, 2, 2, 2.5, 2.2, 1.5, 0.8)


@dataclass
class DemoSummary:
    seed: int
    scale: float
    start: date
    end: date
    rows: dict[str, int]
    seconds: float


@dataclass
class _Calendar:
    """Per-day facts for consecutive days (arrays aligned on `days`)."""

    days: np.ndarray  # datetime64[D]
    dow: np.ndarray  # 0 = Monday
    month: np.ndarray  # 1..12
    tet_offset: np.ndarray  # days since the nearest first day of Tết (negative before)
    holiday: np.ndarray  # public holiday (Tết included)
    storm: np.ndarray  # storm/flood day
    years_ago: np.ndarray  # years before `now`
    holiday_dates: np.ndarray


def _calendar(first: date, last: date, now: datetime, rng: np.random.Generator | None = None) -> _Calendar:
    days = np.arange(np.datetime64(first, "D"), np.datetime64(last, "D") + 1)
    stamps = pd.DatetimeIndex(days)
    public = holidays.Vietnam(years=range(first.year - 1, last.year + 2), language="en_US")
    holiday_dates = np.array(sorted(public), dtype="datetime64[D]")
    tet = np.array(sorted(d for d, name in public.items() if name == "Lunar New Year"), dtype="datetime64[D]")
    pos = np.clip(np.searchsorted(tet, days), 1, len(tet) - 1)
    after, before = (days - tet[pos - 1]).astype(int), (days - tet[pos]).astype(int)
    tet_offset = np.where(np.abs(before) < np.abs(after), before, after)
    storm = np.zeros(len(days), dtype=bool)
    if rng is not None:  # two or three storm/flood episodes per rainy season
        for year in range(first.year, last.year + 1):
            for _ in range(int(rng.integers(2, 4))):
                begin = np.datetime64(date(year, 10, 1), "D") + int(rng.integers(-10, 60))
                storm |= (days >= begin) & (days < begin + int(rng.integers(2, 5)))
    return _Calendar(
        days=days,
        dow=stamps.day_of_week.to_numpy(),
        month=stamps.month.to_numpy(),
        tet_offset=tet_offset,
        holiday=np.isin(days, holiday_dates),
        storm=storm,
        years_ago=(np.datetime64(now.date(), "D") - days).astype(int) / 365.25,
        holiday_dates=holiday_dates,
    )


def _tet_factor(offset: np.ndarray, closed: float, backlog: float) -> np.ndarray:
    """Volume multiplier around Tết: low during the holiday week, a surge that decays after it."""
    surge = 1 + (backlog - 1) * np.exp(-(offset - 5) / 6)
    return np.select(
        [(offset >= -2) & (offset <= 4), (offset >= -4) & (offset < -2), (offset >= 5) & (offset <= 25)],
        [closed, (1 + closed) / 2, surge],
        1.0,
    )


def _hour_cdf(hours: tuple[float, ...]) -> np.ndarray:
    weights = np.asarray(hours, dtype=float)
    return np.concatenate([[0.0], np.cumsum(weights / weights.sum())])


def _day_fraction(cdf: np.ndarray, seconds: float) -> float:
    """Share of a day's volume before `seconds` past midnight."""
    hour = min(int(seconds // 3600), 23)
    return float(cdf[hour] + (cdf[hour + 1] - cdf[hour]) * (seconds / 3600 - hour))


def _sample_seconds(rng: np.random.Generator, cdf: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Seconds past midnight drawn from an hourly profile, each below its `limit` share of the day."""
    u = rng.random(len(limit)) * limit
    hour = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, 23)
    width = np.maximum(cdf[hour + 1] - cdf[hour], 1e-12)
    return np.floor((hour + np.clip((u - cdf[hour]) / width, 0, 1 - 1e-9)) * 3600).astype(np.int64)


def _to_datetime(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]").astype("datetime64[us]")


def _with_nat(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    out = _to_datetime(np.where(keep, values, 0))
    out[~keep] = np.datetime64("NaT")
    return out


def _area_weights(areas: pd.DataFrame, urban_power: float) -> np.ndarray:
    """Reports per area ∝ population × an urban factor (dense central wards ≫ mountain communes)."""
    centre_lat, centre_lon = 16.4685, 107.5891  # Trường Tiền bridge
    km = 111 * np.hypot(
        areas["centroid_lat"] - centre_lat, (areas["centroid_lon"] - centre_lon) * np.cos(np.radians(centre_lat))
    )
    is_ward = areas["kind"].eq("ward")
    urban = np.where(is_ward, 0.5 + 2.5 * np.exp(-km / 6), 0.35).astype(float)
    # Real populations come with the areas; a rough density stands in where one is missing.
    fallback = areas["area_km2"].fillna(50) * np.where(is_ward, 1500, 150)
    population = pd.to_numeric(areas["population"], errors="coerce").fillna(fallback).to_numpy(float)
    weights = population * urban**urban_power
    return weights / weights.sum()


def _points_in_areas(
    rng: np.random.Generator, areas: pd.DataFrame, area_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Random points inside each row's area polygon (rejection sampling around the centroid)."""
    lat = areas["centroid_lat"].to_numpy(float)[area_idx].copy()
    lon = areas["centroid_lon"].to_numpy(float)[area_idx].copy()
    for a in np.unique(area_idx):
        geojson = areas["geometry_geojson"].iloc[a]
        if not isinstance(geojson, str) or not geojson:
            continue
        polygon = shapely.from_geojson(geojson)
        shapely.prepare(polygon)
        spread_km = 0.3 * np.sqrt(max(float(areas["area_km2"].iloc[a] or 1.0), 0.1))
        todo = np.flatnonzero(area_idx == a)
        for _ in range(6):
            if len(todo) == 0:
                break
            k = 2 * len(todo) + 8
            cand_lat = areas["centroid_lat"].iloc[a] + rng.normal(0, spread_km / 111, k)
            cand_lon = areas["centroid_lon"].iloc[a] + rng.normal(0, spread_km / (111 * np.cos(np.radians(16.5))), k)
            good = np.flatnonzero(shapely.contains_xy(polygon, cand_lon, cand_lat))[: len(todo)]
            lat[todo[: len(good)]], lon[todo[: len(good)]] = cand_lat[good], cand_lon[good]
            todo = todo[len(good) :]
    return lat.round(6), lon.round(6)


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    unique, inverse = np.unique(np.round(p, 4), return_inverse=True)
    return np.array([NormalDist().inv_cdf(float(v)) for v in unique])[inverse]


def _spread(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    """`n` rows spread over the cells of `weights` (flattened), proportionally at random."""
    total = weights.sum()
    return rng.multinomial(n, (weights / total).ravel()) if n > 0 and total > 0 else np.zeros(weights.size, int)


def _calibrated_total(per_3_years: float, scale: float, window: np.ndarray, reference: np.ndarray) -> int:
    """Rows for the window: `per_3_years` × scale over the three years ending today, same shape elsewhere."""
    return int(round(per_3_years * scale * window.sum() / reference.sum()))


def _feedback_day_weights(cal: _Calendar) -> np.ndarray:
    """Expected reports per day and category (days × categories), before storms and noise."""
    dow = np.array([1.06, 1.04, 1.02, 1.0, 0.98, 0.85, 0.70])[cal.dow]
    day = dow * 1.15 ** (-cal.years_ago) * _tet_factor(cal.tet_offset, 0.35, 1.4)
    day *= np.where(cal.holiday & ((cal.tet_offset < -4) | (cal.tet_offset > 25)), 0.8, 1.0)
    columns = []
    for category in FEEDBACK_CATEGORIES:
        months = np.asarray(_FEEDBACK_MONTHS.get(category, (1.0,) * 12))
        columns.append(_FEEDBACK[category][0] * months[cal.month - 1])
    return day[:, None] * np.stack(columns, axis=1)


def feedback_frame(
    rng: np.random.Generator,
    areas: pd.DataFrame,
    cal: _Calendar,
    reference: _Calendar,
    scale: float,
    now: datetime,
    *,
    first_id: int = 1,
    ward_on_time: np.ndarray | None = None,
) -> pd.DataFrame:
    """feedback rows: Hue-S field reports with their routing, deadlines, outcomes and ratings.

    A chunk of a larger build passes its first id and the wards' on-time rates shared by every chunk.
    """
    cdf = _hour_cdf(_FEEDBACK_HOURS)
    now_seconds = (now - datetime.combine(now.date(), time())).total_seconds()
    last_share = np.where(cal.days == np.datetime64(now.date(), "D"), _day_fraction(cdf, now_seconds), 1.0)
    weights = _feedback_day_weights(cal) * last_share[:, None]
    n = _calibrated_total(FEEDBACK_PER_3_YEARS, scale, weights, _feedback_day_weights(reference))
    storm = np.array([_STORM_MULTIPLIER.get(c, 1.0) for c in FEEDBACK_CATEGORIES])
    weights = weights * np.where(cal.storm[:, None], storm[None, :], 1.0) * rng.lognormal(0, 0.15, (len(cal.days), 1))
    cells = _spread(rng, n, weights)
    cell = np.repeat(np.arange(cells.size), cells)
    day, cat = cell // len(FEEDBACK_CATEGORIES), cell % len(FEEDBACK_CATEGORIES)
    day_start = cal.days[day].astype("datetime64[s]").astype(np.int64)
    received = day_start + _sample_seconds(rng, cdf, last_share[day])
    order = np.argsort(received, kind="stable")
    received, cat = received[order], cat[order]
    now_s = np.datetime64(now, "s").astype(np.int64)

    area_idx = rng.choice(len(areas), size=n, p=_area_weights(areas, 1.0))
    lat, lon = _points_in_areas(rng, areas, area_idx)
    categories = np.array(FEEDBACK_CATEGORIES)[cat]
    ward_agency = ("UBND " + areas["name"]).to_numpy(object)[area_idx]
    is_commune = areas["kind"].eq("commune").to_numpy()[area_idx]
    agency = np.array([_FEEDBACK[c][2] for c in FEEDBACK_CATEGORIES], dtype=object)[cat]
    drainage = (categories == "water_drainage") & (rng.random(n) < 0.5)
    agency = np.where(drainage, HEPCO, agency)
    agency = np.where(pd.isna(agency) | (is_commune & (agency == HEPCO)), ward_agency, agency)

    drawn = rng.uniform(0.78, 0.97, len(areas))
    ward_on_time = drawn if ward_on_time is None else ward_on_time
    on_time_rate = pd.Series(agency).map(_FEEDBACK_ON_TIME).to_numpy(float)
    on_time_rate = np.where(np.isnan(on_time_rate), ward_on_time[area_idx], on_time_rate)
    sla_days = np.array([_FEEDBACK[c][1] for c in FEEDBACK_CATEGORIES])[cat]
    sigma = 0.7
    mu = -sigma * _normal_quantile(on_time_rate)  # P(duration <= deadline) = on-time rate
    duration = np.maximum(sla_days * 86400 * np.exp(mu + sigma * rng.standard_normal(n)), 1800).astype(np.int64)
    first_delay = np.minimum(rng.lognormal(np.log(1.5 * 3600), 0.9, n), 0.8 * duration).astype(np.int64) + 60
    due = received + sla_days * 86400
    first_response = received + first_delay
    resolved = received + duration
    rejected = rng.random(n) < 0.02
    responded = first_response <= now_s
    is_resolved = ~rejected & (resolved <= now_s)
    status = np.select([rejected & responded, is_resolved, responded], ["rejected", "resolved", "in_progress"], "new")

    late = resolved > due
    rated = is_resolved & (rng.random(n) < 0.8)
    u = rng.random(n)
    score = (
        np.where(
            late,
            np.searchsorted(np.cumsum(_SATISFACTION_LATE), u * 0.999999),
            np.searchsorted(np.cumsum(_SATISFACTION_ON_TIME), u * 0.999999),
        )
        + 1
    )
    reopen_p = 0.02 + 0.06 * late + 0.25 * (rated & (score <= 2))
    channel_p = np.array([_FEEDBACK_CHANNEL_SHARE[c] for c in FEEDBACK_CHANNELS])
    ids = np.arange(first_id, first_id + n)
    return pd.DataFrame(
        {
            "id": ids,
            "source": "hue-s",
            "source_id": pd.Series(ids).astype(str).str.zfill(7).radd("PA-").to_numpy(),
            "received_at": _to_datetime(received),
            "category": categories,
            "channel": np.array(FEEDBACK_CHANNELS)[rng.choice(len(FEEDBACK_CHANNELS), n, p=channel_p)],
            "area_code": areas["code"].to_numpy()[area_idx],
            "lat": lat,
            "lon": lon,
            "status": status,
            "agency": agency.astype(str),
            "due_at": _to_datetime(due),
            "first_response_at": _with_nat(first_response, responded),
            "resolved_at": _with_nat(resolved, is_resolved),
            "satisfaction": pd.Series(score).where(rated).astype("Int64").array,
            "reopened": is_resolved & (rng.random(n) < reopen_p),
            "source_category": source_categories(categories, ids),  # no draw: the seeded values above stay
            **citizen_details(ids),  # fake contacts of a share of reports (from the id: no draw either)
        }
    )


def _online_share(cal: _Calendar) -> np.ndarray:
    """Share of dossiers submitted online: about 35 % three years ago, about 75 % now."""
    return 0.35 + 0.40 * np.clip(1 - cal.years_ago / 3, 0, 1)


def _dossier_day_weights(cal: _Calendar) -> np.ndarray:
    """Expected dossiers per day and channel group (days × [online, counter/postal])."""
    outside_tet = (cal.tet_offset < -4) | (cal.tet_offset > 25)
    other_holiday = cal.holiday & outside_tet
    base = 1.05 ** (-cal.years_ago) * np.asarray(_DOSSIER_MONTHS)[cal.month - 1]
    online = np.array([1, 1, 1, 1, 1, 0.35, 0.25])[cal.dow] * _tet_factor(cal.tet_offset, 0.15, 1.5)
    offline = np.array([1, 1, 1, 1, 1, 0.15, 0.0])[cal.dow] * _tet_factor(cal.tet_offset, 0.02, 2.0)
    online = np.where(other_holiday, 0.2, online)
    offline = np.where(other_holiday, 0.0, offline)
    share = _online_share(cal)
    return base[:, None] * np.stack([share * online, (1 - share) * offline], axis=1)


def dossier_frame(
    rng: np.random.Generator,
    areas: pd.DataFrame,
    cal: _Calendar,
    reference: _Calendar,
    scale: float,
    now: datetime,
    *,
    first_id: int = 1,
    ward_on_time: np.ndarray | None = None,
) -> pd.DataFrame:
    """dossiers rows: administrative procedures filed online, at a counter or by post (chunks: see feedback_frame)."""
    cdfs = {"online": _hour_cdf(_ONLINE_HOURS), "counter": _hour_cdf(_COUNTER_HOURS), "sat": _hour_cdf(_SATURDAY_HOURS)}
    now_seconds = (now - datetime.combine(now.date(), time())).total_seconds()
    today = cal.days == np.datetime64(now.date(), "D")
    saturday = cal.dow == 5
    share_online = np.where(today, _day_fraction(cdfs["online"], now_seconds), 1.0)
    today_cdf = cdfs["sat"] if now.weekday() == 5 else cdfs["counter"]
    share_offline = np.where(today, _day_fraction(today_cdf, now_seconds), 1.0)
    weights = _dossier_day_weights(cal) * np.stack([share_online, share_offline], axis=1)
    n = _calibrated_total(DOSSIERS_PER_3_YEARS, scale, weights, _dossier_day_weights(reference))
    weights = weights * rng.lognormal(0, 0.12, (len(cal.days), 1))
    cells = _spread(rng, n, weights)
    cell = np.repeat(np.arange(cells.size), cells)
    day, online = cell // 2, cell % 2 == 0
    seconds = np.empty(n, dtype=np.int64)
    seconds[online] = _sample_seconds(rng, cdfs["online"], share_online[day[online]])
    for is_saturday, cdf in ((False, cdfs["counter"]), (True, cdfs["sat"])):
        rows = ~online & (saturday[day] == is_saturday)
        seconds[rows] = _sample_seconds(rng, cdf, share_offline[day[rows]])
    received_day = cal.days[day]
    received = received_day.astype("datetime64[s]").astype(np.int64) + seconds
    channel = np.where(online, "online", np.where(rng.random(n) < 0.92, "counter", "postal"))
    order = np.argsort(received, kind="stable")
    received, received_day, channel = received[order], received_day[order], channel[order]
    now_s = np.datetime64(now, "s").astype(np.int64)

    procedures = pd.DataFrame(PROCEDURES, columns=["code", "name", "sector", "agency", "days", "weight"])
    proc = rng.choice(len(procedures), size=n, p=(procedures["weight"] / procedures["weight"].sum()).to_numpy())
    area_idx = rng.choice(len(areas), size=n, p=_area_weights(areas, 0.5))
    agency = procedures["agency"].to_numpy(object)[proc]
    agency = np.where(pd.isna(agency), ("UBND " + areas["name"]).to_numpy(object)[area_idx], agency)
    drawn = rng.uniform(0.88, 0.99, len(areas))
    ward_on_time = drawn if ward_on_time is None else ward_on_time
    on_time_rate = pd.Series(agency).map(_DOSSIER_ON_TIME).to_numpy(float)
    on_time_rate = np.where(np.isnan(on_time_rate), ward_on_time[area_idx], on_time_rate)

    due_day = np.busday_offset(
        received_day, procedures["days"].to_numpy()[proc], roll="forward", holidays=cal.holiday_dates
    )
    due = due_day.astype("datetime64[s]").astype(np.int64) + 17 * 3600
    allowed = np.maximum(due - received, 3600)
    on_time = rng.random(n) < on_time_rate
    completed = np.where(
        on_time,
        received + (rng.beta(2.0, 1.5, n) * allowed).astype(np.int64),
        due + rng.lognormal(np.log(2 * 86400), 0.9, n).astype(np.int64),
    )
    outcome = rng.random(n)
    settled = received < now_s - 3 * 86400  # old enough to have been returned or withdrawn
    returned, withdrawn = settled & (outcome < 0.015), settled & (outcome > 0.992)
    is_completed = ~returned & ~withdrawn & (completed <= now_s)
    fresh = (now_s - received < 86400) | ((now_s - received < 3 * 86400) & (outcome < 0.4))
    status = np.select(
        [returned, withdrawn, is_completed, fresh], ["returned", "withdrawn", "completed", "received"], "in_progress"
    )
    supplement_requests, supplement_days, complaint = supplements_and_complaints(rng, completed > due)
    ids = np.arange(first_id, first_id + n)
    return pd.DataFrame(
        {
            "id": ids,
            "source": "dvc-hue",
            "source_id": pd.Series(ids).astype(str).str.zfill(7).radd("HS-").to_numpy(),
            "procedure_code": procedures["code"].to_numpy()[proc],
            "procedure_name": procedures["name"].to_numpy()[proc],
            "sector": procedures["sector"].to_numpy()[proc],
            "agency": agency.astype(str),
            "area_code": areas["code"].to_numpy()[area_idx],
            "channel": channel,
            "received_at": _to_datetime(received),
            "due_at": _to_datetime(due),
            "completed_at": _with_nat(completed, is_completed),
            "status": status,
            "supplement_requests": supplement_requests,
            "supplement_days": supplement_days,
            "complaint": complaint,
            **citizen_details(ids),
        }
    )


def _three_years_before(day: date) -> date:
    return day.replace(year=day.year - 3, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 3)


def _local_now(now: datetime | None) -> datetime:
    """`now` as naive local time of the city (the current time when None)."""
    zone = ZoneInfo(config.timezone())
    now = now if now is not None else datetime.now(zone).replace(microsecond=0)
    return now.astimezone(zone).replace(tzinfo=None) if now.tzinfo is not None else now


def _run_ddl(engine: Engine, steps: list) -> None:
    """Run index drops/creates in one transaction, without PostgreSQL's per-statement time limit."""
    with translating_errors(engine), engine.begin() as connection:
        if steps and not is_duckdb(engine):
            connection.execute(text("SET LOCAL statement_timeout = 0"))
        for step in steps:
            step(connection)


def build_demo(
    engine: Engine,
    *,
    seed: int = 42,
    scale: float = 1.0,
    start: date | None = None,
    end: date | None = None,
    city: str = "hue",
    now: datetime | None = None,
    feedback_scale: float | None = None,
    dossier_scale: float | None = None,
    sensors: int | None = None,
) -> DemoSummary:
    """Recreate the schema and fill it with seeded demo data; see the module docstring.

    `feedback_scale`, `dossier_scale` (default `scale`) and `sensors` (default from `scale`) size the tables
    separately, e.g. for the benchmark. Tables larger than a few million rows are generated and loaded in
    chunks of days, so memory stays flat whatever the size.
    """
    began = timer.perf_counter()
    feedback_scale = scale if feedback_scale is None else feedback_scale
    dossier_scale = scale if dossier_scale is None else dossier_scale
    if min(scale, feedback_scale, dossier_scale) <= 0 or (sensors is not None and sensors <= 0):
        raise ValueError("scale must be positive")
    now = _local_now(now)
    end = min(end or now.date(), now.date())
    start = start or _three_years_before(end) + timedelta(days=1)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    horizon = min(datetime.combine(end + timedelta(days=1), time()), now)
    rng_calendar, rng_feedback, rng_dossiers, rng_traffic = np.random.default_rng(seed).spawn(4)
    cal = _calendar(start, end, now, rng_calendar)
    reference = _calendar(_three_years_before(now.date()) + timedelta(days=1), now.date() - timedelta(days=1), now)

    create_schema(engine, drop_first=True)
    rows = {"areas": load_areas(engine, city)}
    areas = area_frame(city).reset_index(drop=True)
    sensor_table = sensor_frame(areas, sensors or sensor_count(scale), rng_traffic)
    n_days, per_day = len(cal.days), 1 / 1096
    feedback_chunks = day_chunks(
        n_days, FEEDBACK_PER_3_YEARS * feedback_scale * n_days * per_day, SINGLE_PASS_CASES, GENERATE_CHUNK_ROWS
    )
    dossier_chunks = day_chunks(
        n_days, DOSSIERS_PER_3_YEARS * dossier_scale * n_days * per_day, SINGLE_PASS_CASES, GENERATE_CHUNK_ROWS
    )
    traffic_chunks = day_chunks(
        n_days, len(sensor_table) * n_days * SLOTS_PER_DAY, SINGLE_PASS_OBSERVATIONS, GENERATE_CHUNK_ROWS
    )

    def feedback_part(rng, days, first_id, ward_on_time):
        return feedback_frame(
            rng,
            areas,
            calendar_part(cal, days),
            reference,
            feedback_scale,
            now,
            first_id=first_id,
            ward_on_time=ward_on_time,
        )

    def dossier_part(rng, days, first_id, ward_on_time):
        return dossier_frame(
            rng,
            areas,
            calendar_part(cal, days),
            reference,
            dossier_scale,
            now,
            first_id=first_id,
            ward_on_time=ward_on_time,
        )

    tables = (schema.feedback, schema.dossiers, schema.traffic_sensors, schema.traffic_observations)
    # Measured at scale 1.0 (6.3 M traffic rows): DuckDB loads the indexed tables faster (≈ 5 s) than
    # it loads bare tables and builds the indexes afterwards (≈ 1 s + 7 s); PostgreSQL is the other
    # way round (COPY ≈ 38 s with the indexes, ≈ 24 s + 8 s without). So only PostgreSQL rebuilds them.
    indexes = [] if is_duckdb(engine) else [index for table in tables for index in table.indexes]
    _run_ddl(engine, [index.drop for index in indexes])
    try:
        rows["feedback"] = load_cases(
            engine, schema.feedback, feedback_part, rng_feedback, feedback_chunks, (0.78, 0.97), len(areas)
        )
        rows["dossiers"] = load_cases(
            engine, schema.dossiers, dossier_part, rng_dossiers, dossier_chunks, (0.88, 0.99), len(areas)
        )
        rows["traffic_sensors"] = load_frame(engine, schema.traffic_sensors, sensor_table)
        rows["traffic_observations"] = load_observations(
            engine, sensor_table, rng_traffic, cal, horizon, traffic_chunks
        )
    finally:
        _run_ddl(engine, [index.create for index in indexes])
    info = {
        "kind": "demo",
        "seed": str(seed),
        "scale": str(scale),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "generated_at": now.isoformat(timespec="seconds"),
        "city": city,
        "timezone": config.timezone(),
    }
    rows["dataset_info"] = bulk_load(
        engine, schema.dataset_info, pd.DataFrame({"key": list(info), "value": list(info.values())})
    )
    refresh_rollups(engine)  # the pages read the daily/hourly rollups (dashboard.db.rollups)
    return DemoSummary(
        seed=seed, scale=scale, start=start, end=end, rows=rows, seconds=round(timer.perf_counter() - began, 2)
    )
