"""Reproduce docs/forecasting.md's table on the real samples in ../shared/data/samples (issue 17, item 5).

    .venv/bin/python scripts/forecast_eval.py [--samples DIR] [--holdout 56] [--jobs 2] [--sensors N] [--json]

None of the samples has a daily series of 18 months or more; the longest is the Melbourne hourly pedestrian counts
(2012-01-01 … 2012-07-31, 43 sensors, ~7 months), so that file is used twice:

* **daily** – each sensor's daily total (a day with fewer than 24 hourly rows is missing, as the app treats a sensor
  outage), run through exactly what `python -m dashboard forecast --holdout DAYS` runs (models.run.forecast_series:
  backtest of naive, ETS, MSTL and Prophet with Australia's holidays, lowest MASE wins, calibrated band), judged two
  ways on the last DAYS days:
  - *one origin*: fitted once before the holdout, every holdout day forecast from there (days 29–56 lie beyond the
    28-day backtest folds the band was calibrated on);
  - *rolling origins* (what a leader sees: the worker refits nightly and the page shows 28 days): an origin every
    `--step` days from the holdout's start while a whole `--horizon` fits before the end; at each, the same run on the
    data up to the origin only (backtest, choice, band), judged on the next `--horizon` days. A holdout day is judged
    once per origin whose horizon holds it;
* **hourly** – each sensor's hourly counts: weekly seasonal naive (same hour last week) and MSTL (daily and weekly
  seasons) forecast a week at a time; the band is calibrated by models.calibration on the four weeks of backtest
  before each forecast week (rolling), and every week of the last DAYS days is forecast from the data before it.

Prints a Markdown table (or JSON rows with --json). Without ../shared the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import calibration, stats_models  # noqa: E402
from models.run import SeriesTask, Settings, executor_for, run_tasks  # noqa: E402

SAMPLES = ROOT.parent / "shared" / "data" / "samples"
MELBOURNE = "traffic_melbourne_pedestrian_hourly_2012-01_to_2012-07.csv"
WEEK_HOURS = 168
HOURLY_FOLDS = 4


def load_hourly(path: Path) -> pd.DataFrame:
    """Columns sensor, ts, y (one row per sensor and hour present in the file)."""
    raw = pd.read_csv(path).dropna(subset=["SensorID", "PedestrianCount", "Date", "Hour"])
    raw["SensorID"] = raw["SensorID"].astype(int)
    ts = pd.to_datetime(raw["Date"], format="%d-%b-%Y") + pd.to_timedelta(raw["Hour"], unit="h")
    return pd.DataFrame({"sensor": raw["SensorID"].astype(str), "ts": ts, "y": raw["PedestrianCount"].astype(float)})


def daily_series(hourly: pd.DataFrame) -> dict[str, pd.DataFrame]:
    day = hourly.assign(ds=hourly["ts"].dt.normalize())
    grouped = day.groupby(["sensor", "ds"])["y"].agg(["sum", "count"]).reset_index()
    grouped["y"] = grouped["sum"].where(grouped["count"] == 24)
    days = pd.date_range(grouped["ds"].min(), grouped["ds"].max(), freq="D")
    return {
        sensor: group.set_index("ds")["y"].reindex(days).rename_axis("ds").reset_index()
        for sensor, group in grouped.groupby("sensor")
    }


def _held_row(result, known: int) -> dict:
    held = result.scores[result.scores["is_holdout"]].set_index("model")
    return {
        "series": result.series_id,
        "model": result.model,
        "mase_model": float(held.loc[result.model, "mase"]),
        "mase_naive": float(held.loc["naive", "mase"]),
        "coverage_80": float(held.loc[result.model, "coverage_80"]),
        "coverage_80_raw": float(held.loc[result.model, "coverage_80_raw"]),
        "days": known,
    }


def daily_tasks(hourly: pd.DataFrame, holdout: int, horizon: int, step: int) -> tuple[list, list]:
    """(one-origin tasks, rolling-origin tasks): each a SeriesTask whose holdout is what it is judged on."""
    once, rolling = [], []
    for sensor, history in daily_series(hourly).items():
        if history["y"].notna().sum() < 56 + 28 + holdout:
            continue
        series_id = f"traffic:sensor:{sensor}"
        settings = Settings(holdout=holdout, country="AU", prophet_everywhere=True)
        once.append(SeriesTask(series_id, history, settings))
        start = len(history) - holdout
        for cut in range(start, len(history) - horizon + 1, step):
            judged = Settings(horizon=horizon, holdout=horizon, country="AU", prophet_everywhere=True)
            rolling.append(SeriesTask(series_id, history.iloc[: cut + horizon].reset_index(drop=True), judged))
    return once, rolling


def _known(task: SeriesTask) -> int:
    return int(task.history["y"].tail(task.settings.holdout).notna().sum())


def evaluate_daily(hourly: pd.DataFrame, holdout: int, jobs: int, horizon: int = 28, step: int = 7):
    """(one-origin rows, rolling-origin rows), one row per sensor each. A rolling row pools the sensor's origins:
    coverage over all judged (origin, day) pairs, MASE the mean of the origins', model the one chosen most often."""
    once, rolling = daily_tasks(hourly, holdout, horizon, step)
    with executor_for(jobs, None) as executor:
        results = run_tasks(once + rolling, executor)
    rows = [{**_held_row(r, _known(t)), "kind": "daily"} for r, t in zip(results[: len(once)], once, strict=True)]
    per_origin = pd.DataFrame([_held_row(r, _known(t)) for r, t in zip(results[len(once) :], rolling, strict=True)])
    pooled = []
    for series_id, group in per_origin.groupby("series", sort=False):
        days = group["days"].to_numpy(dtype=float)
        pooled.append(
            {
                "series": series_id,
                "kind": "daily rolling",
                "model": str(group["model"].value_counts().index[0]),
                "mase_model": float(group["mase_model"].mean()),
                "mase_naive": float(group["mase_naive"].mean()),
                "coverage_80": float(np.average(group["coverage_80"], weights=days)),
                "coverage_80_raw": float(np.average(group["coverage_80_raw"], weights=days)),
                "days": int(days.sum()),
                "origins": len(group),
            }
        )
    return rows, pooled


# ---------------------------------------------------------------- hourly
def _hourly_naive(y: np.ndarray, horizon: int) -> np.ndarray:
    last_week = y[-WEEK_HOURS:]
    return np.resize(last_week, horizon)


def _hourly_mstl(y: np.ndarray, horizon: int) -> np.ndarray:
    stats_models._import()
    from statsforecast.models import MSTL, AutoETS

    model = MSTL(season_length=[24, WEEK_HOURS], trend_forecaster=AutoETS(model="ANN"))
    return np.clip(np.expm1(model.forecast(y=np.log1p(y), h=horizon)["mean"]), 0, None)


def _filled(values: pd.Series) -> np.ndarray:
    return values.fillna(values.shift(WEEK_HOURS)).interpolate(limit_direction="both").fillna(0).to_numpy()


def _week_forecasts(series: pd.Series, origins: list[pd.Timestamp]) -> pd.DataFrame:
    """Both models' forecasts of the week after each origin: model, fold, origin, ds, y, yhat, yhat_lower, yhat_upper."""
    rows = []
    for fold, origin in enumerate(origins):
        train = _filled(series[series.index <= origin])
        actual = series[(series.index > origin) & (series.index <= origin + pd.Timedelta(hours=WEEK_HOURS))]
        for name, model in (("naive", _hourly_naive), ("mstl", _hourly_mstl)):
            yhat = model(train, WEEK_HOURS)[: len(actual)]
            rows.append(
                pd.DataFrame(
                    {"model": name, "fold": fold, "origin": origin, "ds": actual.index, "y": actual.to_numpy()}
                ).assign(yhat=yhat, yhat_lower=yhat, yhat_upper=yhat)
            )
    return pd.concat(rows, ignore_index=True)


def evaluate_hourly_sensor(item: tuple[str, pd.Series, int]) -> dict:
    sensor, series, holdout = item
    end = series.index.max()
    weeks = holdout // 7
    first_origin = end - pd.Timedelta(hours=WEEK_HOURS * (weeks + HOURLY_FOLDS))
    origins = [first_origin + pd.Timedelta(hours=WEEK_HOURS * k) for k in range(weeks + HOURLY_FOLDS)]
    frames = _week_forecasts(series, origins)
    scale = float(np.nanmean(np.abs(series.diff(WEEK_HOURS)[series.index <= origins[HOURLY_FOLDS]])))
    out = {"series": f"pedestrians:sensor:{sensor}:hourly", "kind": "hourly"}
    judged = {}
    for name, rows in frames.groupby("model"):
        parts = []
        for fold in range(HOURLY_FOLDS, len(origins)):
            before = rows[(rows["fold"] >= fold - HOURLY_FOLDS) & (rows["fold"] < fold)]
            week = rows[rows["fold"] == fold]
            parts.append(calibration.apply(week, origins[fold], calibration.bands(calibration.errors(before))))
        judged[name] = pd.concat(parts, ignore_index=True)
    mase = {name: float(np.nanmean(np.abs(rows["y"] - rows["yhat"]))) / scale for name, rows in judged.items()}
    chosen = "mstl" if mase["mstl"] < mase["naive"] else "naive"
    out.update(
        model=chosen,
        mase_model=mase[chosen],
        mase_naive=mase["naive"],
        coverage_80=calibration.inside_share(judged[chosen]),
        coverage_80_raw=float("nan"),  # neither model's own band is used here
        days=int(judged[chosen]["y"].notna().sum()),
    )
    return out


def evaluate_hourly(hourly: pd.DataFrame, holdout: int, jobs: int) -> list[dict]:
    items = []
    for sensor, group in hourly.groupby("sensor"):
        index = pd.date_range(group["ts"].min(), group["ts"].max(), freq="h")
        series = group.drop_duplicates("ts").set_index("ts")["y"].reindex(index)
        if series.notna().sum() >= WEEK_HOURS * (holdout // 7 + HOURLY_FOLDS + 4):
            items.append((sensor, series, holdout))
    with executor_for(jobs, None) as executor:
        return (
            [evaluate_hourly_sensor(i) for i in items]
            if executor is None
            else list(executor.map(evaluate_hourly_sensor, items))
        )


# ---------------------------------------------------------------- report
def summary(rows: list[dict], name: str) -> dict:
    frame = pd.DataFrame(rows)
    better = frame["mase_model"] < frame["mase_naive"]
    days = frame["days"].to_numpy(dtype=float)
    return {
        "data": name,
        "series": len(frame),
        "median_mase_model": round(float(frame["mase_model"].median()), 3),
        "median_mase_naive": round(float(frame["mase_naive"].median()), 3),
        "beat_naive": int(better.sum()),
        "median_coverage_80": round(float(frame["coverage_80"].median()), 3),
        "coverage_80_in_75_85": int(frame["coverage_80"].between(0.75, 0.85).sum()),
        # every judged day of every series counted once (a series with more judged days weighs more)
        "pooled_coverage_80": round(float(np.average(frame["coverage_80"], weights=days)), 3),
        "median_coverage_80_raw": None
        if frame["coverage_80_raw"].isna().all()
        else round(float(frame["coverage_80_raw"].median()), 3),
        "models": frame["model"].value_counts().to_dict(),
    }


def markdown(summaries: list[dict]) -> str:
    lines = [
        "| data | series | median MASE chosen | median MASE naive | beat naive | median coverage of the 80 % band "
        "(calibrated) | pooled coverage (all judged days) | series with coverage 75–85 % | median coverage, "
        "model's own band | models chosen |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        raw = "–" if s["median_coverage_80_raw"] is None else f"{100 * s['median_coverage_80_raw']:.0f} %"
        models = ", ".join(f"{k} {v}" for k, v in s["models"].items())
        lines.append(
            f"| {s['data']} | {s['series']} | {s['median_mase_model']:.2f} | {s['median_mase_naive']:.2f} | "
            f"{s['beat_naive']} | {100 * s['median_coverage_80']:.0f} % | {100 * s['pooled_coverage_80']:.0f} % | "
            f"{s['coverage_80_in_75_85']} | {raw} | "
            f"{models} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=SAMPLES)
    parser.add_argument("--holdout", type=int, default=56)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sensors", type=int, default=0, help="only the first N sensors (0: all)")
    parser.add_argument("--horizon", type=int, default=28, help="days judged after each rolling origin (default 28)")
    parser.add_argument("--step", type=int, default=7, help="days between rolling origins (default 7)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    path = args.samples / MELBOURNE
    if not path.exists():
        print(f"skipped: {path} not found (the shared samples are not beside this checkout)")
        return 0
    started = time.perf_counter()
    hourly = load_hourly(path)
    if args.sensors:
        keep = sorted(hourly["sensor"].unique(), key=int)[: args.sensors]
        hourly = hourly[hourly["sensor"].isin(keep)]
    daily, rolling = evaluate_daily(hourly, args.holdout, args.jobs, args.horizon, args.step)
    hourly_rows = evaluate_hourly(hourly, args.holdout, args.jobs)
    summaries = [
        summary(daily, f"Melbourne pedestrians, daily per sensor, last {args.holdout} days from one origin"),
        summary(
            rolling,
            f"Melbourne pedestrians, daily per sensor, last {args.holdout} days, an origin every {args.step} days "
            f"judged on the next {args.horizon}",
        ),
        summary(hourly_rows, f"Melbourne pedestrians, hourly per sensor, last {args.holdout} days"),
    ]
    if args.json:
        print(json.dumps({"summaries": summaries, "rows": daily + rolling + hourly_rows}, default=float))
    else:
        print(markdown(summaries))
        print(f"\n{len(daily) + len(rolling) + len(hourly_rows)} rows in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
