"""The demo feed's simulation: what the demo generator would have produced between two moments.

`dashboard.jobs.demo_feed` calls it every few minutes on a demo database so the demonstration stays live. Everything
here works on frames (no database): new feedback and dossiers come from the generator's own frame functions for the
window's days (same categories, hours, wards, agencies, deadlines), keeping the rows received inside the window;
open cases move on with a discrete-time hazard so their durations follow the generator's distributions; traffic
sensors keep counting with the generator's profiles.

Hazard: a case open at age a0 whose duration D has the generator's CDF F finishes by age a1 with probability
(F(a1) − F(a0)) / (1 − F(a0)); drawing u uniformly in (F(a0), 1) and D = F⁻¹(u) gives exactly that, and D is its
finishing age when D ≤ a1. Feedback: D is lognormal with P(D ≤ deadline) = the agency's on-time rate (σ = 0.7);
dossiers: on time with the agency's rate (Beta(2, 1.5) of the allowed time), else late (the deadline plus a
lognormal of median two days). Every draw comes from the run's random streams, seeded from (seed, window start).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from math import erf, sqrt
from statistics import NormalDist

import numpy as np
import pandas as pd

from dashboard.demo import generator as gen
from dashboard.demo.chunks import calendar_part
from dashboard.demo.traffic import PERIOD_MINUTES, observation_frame, sensor_frame, traffic_day_factors

DAY = 86400
MAX_CATCH_UP = timedelta(days=14)  # a demo left alone longer gets only its last two weeks of new records
RATE_PRIOR = 20  # pseudo-cases pulling a ward's observed on-time rate towards the generator's mid-range
FEEDBACK_SIGMA = 0.7  # generator.feedback_frame
FIRST_RESPONSE_MEDIAN, FIRST_RESPONSE_SIGMA = 1.5 * 3600, 0.9
REJECTED_SHARE = 0.02
LATE_MEDIAN, LATE_SIGMA = 2 * DAY, 0.9  # generator.dossier_frame: late dossiers finish this long after the deadline
RETURNED, WITHDRAWN = 0.015, 0.008  # generator.dossier_frame: shares of dossiers settled without a result at 3 days
_normal = NormalDist()
_erf = np.vectorize(erf, otypes=[float])


@dataclass(frozen=True)
class Demo:
    """What dataset_info says about a demo database."""

    seed: int
    scale: float
    start: date
    generated_at: datetime

    @classmethod
    def from_info(cls, info: dict[str, str]) -> Demo:
        return cls(
            seed=int(info["seed"]),
            scale=float(info["scale"]),
            start=date.fromisoformat(info["start"]),
            generated_at=datetime.fromisoformat(info["generated_at"]),
        )


def epoch_seconds(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1)).total_seconds())


def run_streams(seed: int, window_start: datetime, n: int = 6) -> list[np.random.Generator]:
    """The run's independent random streams: the same (seed, window start) gives the same draws."""
    sequence = np.random.SeedSequence([seed, max(0, epoch_seconds(window_start))])
    return [np.random.default_rng(child) for child in sequence.spawn(n)]


# ---------------------------------------------------------------- distributions
def normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + _erf(np.asarray(x, dtype=float) / sqrt(2)))


def normal_ppf(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.array([_normal.inv_cdf(float(v)) for v in p.ravel()]).reshape(p.shape)


def lognormal_cdf(x: np.ndarray, median: float | np.ndarray, sigma: float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    z = np.log(np.maximum(x, 1e-9) / median) / sigma
    return np.where(x > 0, normal_cdf(z), 0.0)


def lognormal_ppf(p: np.ndarray, median: float | np.ndarray, sigma: float) -> np.ndarray:
    return median * np.exp(sigma * normal_ppf(p))


_BETA_X = np.linspace(0.0, 1.0, 20001)


def beta_2_15_cdf(x: np.ndarray) -> np.ndarray:
    """CDF of Beta(2, 1.5) in closed form: 1 − 2.5 y^1.5 + 1.5 y^2.5 with y = 1 − x."""
    y = 1 - np.clip(np.asarray(x, dtype=float), 0.0, 1.0)
    return 1 - 2.5 * y**1.5 + 1.5 * y**2.5


_BETA_P = beta_2_15_cdf(_BETA_X)


def beta_2_15_ppf(p: np.ndarray) -> np.ndarray:
    return np.interp(np.asarray(p, dtype=float), _BETA_P, _BETA_X)


def truncated_draw(rng: np.random.Generator, floor: np.ndarray) -> np.ndarray:
    """u uniform in (floor, 1): the quantile of a duration known to exceed the age whose CDF value is `floor`."""
    floor = np.clip(np.asarray(floor, dtype=float), 0.0, 1.0)
    return floor + (1 - floor) * rng.random(len(floor))


def feedback_duration_cdf(age: np.ndarray, allowed: np.ndarray, on_time_rate: np.ndarray) -> np.ndarray:
    """The generator's resolution time: lognormal, `allowed` (the deadline) reached with the on-time rate."""
    median = allowed * np.exp(-FEEDBACK_SIGMA * normal_ppf(on_time_rate))
    return lognormal_cdf(age, median, FEEDBACK_SIGMA)


def feedback_duration_ppf(u: np.ndarray, allowed: np.ndarray, on_time_rate: np.ndarray) -> np.ndarray:
    median = allowed * np.exp(-FEEDBACK_SIGMA * normal_ppf(on_time_rate))
    return np.maximum(lognormal_ppf(u, median, FEEDBACK_SIGMA), 1800.0)


def dossier_duration_cdf(age: np.ndarray, allowed: np.ndarray, on_time_rate: np.ndarray) -> np.ndarray:
    """The generator's completion time: on time (Beta(2, 1.5) × allowed) with the rate, else the deadline plus a
    lognormal delay."""
    age, allowed = np.asarray(age, dtype=float), np.maximum(np.asarray(allowed, dtype=float), 3600.0)
    late = lognormal_cdf(age - allowed, LATE_MEDIAN, LATE_SIGMA)
    return on_time_rate * beta_2_15_cdf(age / allowed) + (1 - on_time_rate) * late


def dossier_duration_ppf(u: np.ndarray, allowed: np.ndarray, on_time_rate: np.ndarray) -> np.ndarray:
    allowed = np.maximum(np.asarray(allowed, dtype=float), 3600.0)
    on_time = u <= on_time_rate
    share = np.where(
        on_time, u / np.maximum(on_time_rate, 1e-12), (u - on_time_rate) / np.maximum(1 - on_time_rate, 1e-12)
    )
    early = allowed * beta_2_15_ppf(np.clip(share, 0, 1))
    late = allowed + lognormal_ppf(np.clip(share, 1e-12, 1 - 1e-12), LATE_MEDIAN, LATE_SIGMA)
    return np.where(on_time, early, late)


# ---------------------------------------------------------------- on-time rates
def shrunk_rates(observed: pd.DataFrame, codes: pd.Series, low: float, high: float) -> np.ndarray:
    """Per area (in the order of `codes`): the on-time rate its ward agency showed (columns area_code, cases,
    on_time), pulled towards the generator's mid-range by RATE_PRIOR cases and kept within [low, high]."""
    prior = (low + high) / 2
    by_code = observed.set_index("area_code") if len(observed) else pd.DataFrame(columns=["cases", "on_time"])
    cases = codes.map(by_code["cases"]).fillna(0).to_numpy(float)
    on_time = codes.map(by_code["on_time"]).fillna(0).to_numpy(float)
    return np.clip((on_time + RATE_PRIOR * prior) / (cases + RATE_PRIOR), low, high)


def case_rates(agency: pd.Series, area_code: pd.Series, named: dict[str, float], areas: pd.DataFrame, ward_rates):
    """The on-time rate of each case: its named agency's, else its ward's."""
    by_area = pd.Series(ward_rates, index=areas["code"].to_numpy())
    rates = agency.map(named).astype(float)
    return rates.fillna(area_code.map(by_area)).fillna(float(np.mean(ward_rates))).to_numpy(float)


# ---------------------------------------------------------------- new records
def calendars(demo: Demo, first_day: date, now: datetime):
    """(the calendar of first_day … now's day, the generator's three-year reference) as `build_demo` makes them:
    storm days come from the demo's own calendar stream, so a storm under way when the demo was built goes on."""
    rng_calendar = np.random.default_rng(demo.seed).spawn(4)[0]
    start = min(demo.start, first_day)
    full = gen._calendar(start, now.date(), now, rng_calendar)
    reference = gen._calendar(
        gen._three_years_before(now.date()) + timedelta(days=1), now.date() - timedelta(days=1), now
    )
    return calendar_part(full, slice((first_day - start).days, None)), reference


def _in_window(frame: pd.DataFrame, start: datetime, now: datetime) -> pd.DataFrame:
    received = frame["received_at"]
    return frame[(received > start) & (received <= now)].reset_index(drop=True)


def new_feedback(rng, areas: pd.DataFrame, cal, reference, demo: Demo, start: datetime, now: datetime, ward_rates):
    """Feedback received in (start, now], as the generator makes it; ids are placeholders (1, 2, …)."""
    frame = gen.feedback_frame(rng, areas, cal, reference, demo.scale, now, ward_on_time=ward_rates)
    return _in_window(frame, start, now)


def new_dossiers(rng, areas: pd.DataFrame, cal, reference, demo: Demo, start: datetime, now: datetime, ward_rates):
    """Dossiers received in (start, now], as the generator makes them; ids are placeholders."""
    frame = gen.dossier_frame(rng, areas, cal, reference, demo.scale, now, ward_on_time=ward_rates)
    return _in_window(frame, start, now)


def with_ids(frame: pd.DataFrame, ids: np.ndarray, prefix: str) -> pd.DataFrame:
    """The rows with their final ids and source ids in the generator's pattern (PA-0000123, HS-0000123)."""
    frame = frame.copy()
    frame["id"] = np.asarray(ids, dtype=np.int64)
    frame["source_id"] = [f"{prefix}-{int(i):07d}" for i in frame["id"]]
    return frame


# ---------------------------------------------------------------- open cases moving on
def _seconds(values) -> np.ndarray:
    return pd.to_datetime(pd.Series(values)).to_numpy("datetime64[s]").astype(np.int64)


def _stamp(seconds: np.ndarray) -> np.ndarray:
    return np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")


def progress_feedback(rng, open_cases: pd.DataFrame, rates: np.ndarray, start: datetime, now: datetime) -> pd.DataFrame:
    """The open reports (id, received_at, due_at, first_response_at, status) that change in (start, now]: rows
    with id, status, first_response_at, resolved_at, satisfaction, reopened (only the changed ones)."""
    n = len(open_cases)
    t0, t1 = epoch_seconds(start), epoch_seconds(now)
    received = _seconds(open_cases["received_at"])
    allowed = np.maximum(_seconds(open_cases["due_at"]) - received, 3600).astype(float)
    a0, a1 = np.maximum(t0 - received, 0), t1 - received
    u = truncated_draw(rng, feedback_duration_cdf(a0, allowed, rates))
    duration = feedback_duration_ppf(u, allowed, rates)
    resolves = duration <= a1
    resolved = received + np.ceil(np.maximum(duration, a0 + 1)).astype(np.int64)

    waiting = open_cases["status"].eq("new").to_numpy()  # no first response yet
    floor = lognormal_cdf(a0 - 60, FIRST_RESPONSE_MEDIAN, FIRST_RESPONSE_SIGMA)
    delay = lognormal_ppf(truncated_draw(rng, floor), FIRST_RESPONSE_MEDIAN, FIRST_RESPONSE_SIGMA) + 60
    first = received + np.ceil(np.maximum(delay, a0 + 1)).astype(np.int64)
    rejected = waiting & (rng.random(n) < REJECTED_SHARE) & (first <= t1) & ~(resolves & (resolved < first))
    resolves &= ~rejected
    first = np.where(resolves, np.minimum(first, resolved), first)
    responds = waiting & (first <= t1)

    late = resolved > _seconds(open_cases["due_at"])
    rated = rng.random(n) < 0.8
    score = (
        np.where(
            late,
            np.searchsorted(np.cumsum(gen._SATISFACTION_LATE), rng.random(n) * 0.999999),
            np.searchsorted(np.cumsum(gen._SATISFACTION_ON_TIME), rng.random(n) * 0.999999),
        )
        + 1
    )
    reopened = rng.random(n) < 0.02 + 0.06 * late + 0.25 * (rated & (score <= 2))

    changed = resolves | responds
    status = np.select([rejected, resolves, responds], ["rejected", "resolved", "in_progress"], "new")
    old_first = pd.to_datetime(open_cases["first_response_at"]).to_numpy("datetime64[us]")
    first_at = np.where(responds, _stamp(first), old_first)
    resolved_at = _stamp(resolved).copy()
    resolved_at[~resolves] = np.datetime64("NaT")
    out = pd.DataFrame(
        {
            "id": open_cases["id"].to_numpy(np.int64),
            "status": np.where(waiting | resolves, status, open_cases["status"].to_numpy(object)),
            "first_response_at": first_at,
            "resolved_at": resolved_at,
            "satisfaction": pd.Series(score).where(resolves & rated).astype("Int64").array,
            "reopened": resolves & reopened,
        }
    )
    return out[changed].reset_index(drop=True)


def progress_dossiers(rng, open_cases: pd.DataFrame, rates: np.ndarray, start: datetime, now: datetime) -> pd.DataFrame:
    """The open dossiers (id, received_at, due_at, status) that change in (start, now]: rows with id, status and
    completed_at. Completion by the hazard; one day after filing 60 % of those still 'received' are taken in
    hand, all of them after three days; returned and withdrawn with the generator's shares (see below)."""
    n = len(open_cases)
    t0, t1 = epoch_seconds(start), epoch_seconds(now)
    received = _seconds(open_cases["received_at"])
    allowed = np.maximum(_seconds(open_cases["due_at"]) - received, 3600).astype(float)
    a0, a1 = np.maximum(t0 - received, 0), t1 - received
    u = truncated_draw(rng, dossier_duration_cdf(a0, allowed, rates))
    duration = dossier_duration_ppf(u, allowed, rates)
    # Returned / withdrawn with the generator's shares whatever the duration: such a dossier ends when its
    # processing would have ended, at three days at the latest (the generator's snapshot: every dossier older
    # than three days may be settled so). Open at three days or later, a dossier is one that was not settled.
    outcome = rng.random(n)
    young = a0 < 3 * DAY
    returned = young & (outcome < RETURNED)
    withdrawn = young & (outcome > 1 - WITHDRAWN)
    settled = returned | withdrawn
    ends = np.where(settled, np.minimum(duration, 3 * DAY), duration)
    done = ends <= a1
    completes = done & ~settled
    returned, withdrawn = returned & done, withdrawn & done
    completed = received + np.ceil(np.maximum(duration, a0 + 1)).astype(np.int64)

    status = open_cases["status"].to_numpy(object)
    keeps_received = (status == "received") & ((a1 < DAY) | ((a1 < 3 * DAY) & ((a0 >= DAY) | (rng.random(n) < 0.4))))
    new_status = np.select(
        [returned, withdrawn, completes, keeps_received],
        ["returned", "withdrawn", "completed", "received"],
        "in_progress",
    )
    completed_at = _stamp(completed).copy()
    completed_at[~completes] = np.datetime64("NaT")
    out = pd.DataFrame({"id": open_cases["id"].to_numpy(np.int64), "status": new_status, "completed_at": completed_at})
    return out[new_status != status].reset_index(drop=True)


# ---------------------------------------------------------------- traffic
def demo_sensors(demo: Demo, areas: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The stored sensors with the generator's helper columns (inbound direction, peak volume/capacity), made
    again from the demo's traffic stream: `sensor_frame` is its first use in `build_demo`."""
    rng_traffic = np.random.default_rng(demo.seed).spawn(4)[3]
    made = sensor_frame(areas, len(stored), rng_traffic).set_index("id")
    sensors = stored.copy()
    sensors["inbound"] = sensors["id"].map(made["inbound"]).fillna(False).astype(bool)
    sensors["peak_vc"] = sensors["id"].map(made["peak_vc"]).fillna(1.0).astype(float)
    return sensors.reset_index(drop=True)


def slot_floor(moment: datetime) -> datetime:
    return moment.replace(minute=moment.minute - moment.minute % PERIOD_MINUTES, second=0, microsecond=0)


def new_observations(rng, sensors: pd.DataFrame, demo: Demo, first_slot: datetime, now: datetime) -> pd.DataFrame:
    """Observations of every sensor for the 15-minute slots from `first_slot` that have ended by `now`."""
    first_day = first_slot.date()
    cal, _ = calendars(demo, first_day, now)
    day_kind, day_factor = traffic_day_factors(cal)
    frame = observation_frame(
        sensors,
        rng,
        first_day=np.datetime64(first_day, "D"),
        horizon=now,
        day_kind=day_kind,
        day_factor=day_factor,
        storm=cal.storm,
        silent_tail=False,
    )
    frame = frame[frame["observed_at"] >= pd.Timestamp(first_slot)].reset_index(drop=True)
    frame["sensor_id"] = frame["sensor_id"].astype(str)
    return frame


def midnight(day: date) -> datetime:
    return datetime.combine(day, time())
