"""`python -m dashboard bench`: time the page queries on a synthetic database of a given size.

Scale 1 = 10 M feedback reports, 5 M dossiers and 50 M traffic observations over three years,
made by the demo generator (`dashboard.demo.generator.build_demo`) in a subprocess, into
data/bench-<scale>.duckdb or `--db URL`; a database already built at that scale is reused.
Then, in one run: each query behind the overview, feedback, procedures, traffic and map pages
cold (first call on a fresh engine) and warm (p50/p95 of repeated calls, no TTL cache), the
same figures the naive way (`dashboard.bench.naive`, checked equal), the weekly PDF, the
forecast of the default series and the peak RSS; last, every registered page run by a real
Streamlit server (`dashboard.bench.pages`: cold, then p50/p95 warm; `--no-pages` skips it).
Progress goes to stderr; `--json` prints only the result object on stdout. Exit code 1 when
any query's figures differ from the naive path's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from dashboard.bench import naive
from dashboard.bench import pages as page_timing
from dashboard.bench.postgres import database_size_mb, vacuum_analyze
from dashboard.bench.queries import (
    RECORDS_VIEWS,
    hotspot_figures,
    naive_hotspot_figures,
    naive_records_count,
    records_view,
)
from dashboard.config import PROJECT_ROOT
from dashboard.db import dossier_queries as dq
from dashboard.db import feedback_queries as fq
from dashboard.db import map_queries, queries
from dashboard.db import traffic_queries as tq
from dashboard.db.engine import DatabaseError, is_duckdb, make_engine, redact_url
from dashboard.db.predicates import QueryFilter
from dashboard.metrics import kpis
from dashboard.periods import Period

ROWS_AT_SCALE_1 = {"feedback": 10_000_000, "dossiers": 5_000_000, "traffic_observations": 50_000_000}
DEMO_DAYS = 1096  # the demo's default three years
BUILD_MEMORY_MB = 1536  # DuckDB's share of memory while building (it spills the rest to disk)
TARGETS = {"p50_ms": 300, "speedup": 50, "peak_rss_mb": 2048, "pdf_s": 10, "forecast_s": 300}
EXIT_DIFFERENT_FIGURES = 1  # exit code when any page query's figures differ from the naive path's


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def demo_sizes(scale: float) -> dict[str, Any]:
    """build_demo arguments giving ROWS_AT_SCALE_1 × scale rows (3 years; 96 observations per sensor-day)."""
    from dashboard.demo.generator import DOSSIERS_PER_3_YEARS, FEEDBACK_PER_3_YEARS

    return {
        "feedback_scale": ROWS_AT_SCALE_1["feedback"] * scale / FEEDBACK_PER_3_YEARS,
        "dossier_scale": ROWS_AT_SCALE_1["dossiers"] * scale / DOSSIERS_PER_3_YEARS,
        "sensors": max(8, round(ROWS_AT_SCALE_1["traffic_observations"] * scale / (DEMO_DAYS * 96))),
    }


def default_url(scale: float) -> str:
    return f"duckdb:///{PROJECT_ROOT / 'data' / f'bench-{scale:g}.duckdb'}"


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux reports KiB


# ---------------------------------------------------------------- building the database
def build(url: str, scale: float, seed: int) -> dict[str, Any]:
    """Build the benchmark database in this process (the `--build-only` subprocess)."""
    from dashboard.bench.queries import limit_duckdb_memory
    from dashboard.db import schema
    from dashboard.db.load import bulk_load
    from dashboard.demo.generator import build_demo

    engine = make_engine(url)
    try:
        limit_duckdb_memory(engine, BUILD_MEMORY_MB)
        sizes = demo_sizes(scale)
        summary = build_demo(engine, seed=seed, scale=sizes["feedback_scale"], **sizes)
        bulk_load(engine, schema.dataset_info, pd.DataFrame({"key": ["bench_scale"], "value": [f"{scale:g}"]}))
        vacuum_s = vacuum_analyze(engine, log)
    finally:
        engine.dispose()
    return {"build_s": summary.seconds, "vacuum_s": vacuum_s, "rows": summary.rows, "peak_rss_mb": peak_rss_mb()}


def _built_scale(url: str) -> str | None:
    engine = make_engine(url, read_only=True)
    try:
        return queries.dataset_info(engine).get("bench_scale")
    except DatabaseError:
        return None
    finally:
        engine.dispose()


def ensure_database(url: str, scale: float, seed: int, rebuild: bool) -> dict[str, Any]:
    """Reuse the database when it was built at `scale`, else build it in a subprocess."""
    path_missing = url.startswith("duckdb:///") and not os.path.exists(url.removeprefix("duckdb:///"))
    if not rebuild and not path_missing and _built_scale(url) == f"{scale:g}":
        log(f"reusing {redact_url(url)} (built at scale {scale:g})")
        return {"built": False, **_ensure_rollups(url)}
    log(f"building {redact_url(url)} at scale {scale:g} (seed {seed}) ...")
    command = [
        sys.executable,
        "-m",
        "dashboard",
        "bench",
        "--db",
        url,
        "--scale",
        str(scale),
        "--seed",
        str(seed),
        "--build-only",
    ]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"building the benchmark database failed (exit {done.returncode})")
    result = json.loads(done.stdout)
    log(f"built in {result['build_s']:.0f} s, peak RSS {result['peak_rss_mb']:.0f} MB")
    return {"built": True, **result}


def _ensure_rollups(url: str) -> dict[str, Any]:
    """Bring a database built by an older version up to the schema (added columns, as `init-db` does: the page
    queries select them) and fill its rollup tables if it was built before the demo refreshed them."""
    from dashboard.db import rollups, schema
    from dashboard.db.engine import create_schema

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            outdated = schema.missing_columns(connection)
        if outdated:
            log("adding the columns " + ", ".join(f"{t}.{c}" for t, cs in outdated.items() for c in cs) + " ...")
            create_schema(engine)
        if rollups.rollups_ready(engine):
            return {}
        log("refreshing the rollup tables ...")
        began = time.perf_counter()
        rollups.refresh_rollups(engine)
        seconds = round(time.perf_counter() - began, 1)
        log(f"rollups refreshed in {seconds} s")
        return {"rollup_refresh_s": seconds}
    finally:
        engine.dispose()


# ---------------------------------------------------------------- the timed cases
@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[Any], Any]  # engine → the page's result
    figures: Callable[[Any], dict]  # that result → comparable numbers
    naive: Callable[[Any], dict] | None  # engine → the same numbers, the naive way


@dataclass(frozen=True)
class Context:
    period: Period  # the last 30 days of the data
    trend: Period  # the overview trend: 30 days plus 6 for the rolling mean
    area: str  # one ward with traffic sensors
    now: datetime  # when the data ends


def _context(engine) -> Context:
    info = queries.dataset_info(engine)
    end = date.fromisoformat(info["end"])
    sensors = tq.sensor_list(engine)
    area = sensors["area_code"].value_counts().index[0]
    return Context(
        Period(end - timedelta(days=29), end),
        Period(end - timedelta(days=35), end),
        str(area),
        datetime.fromisoformat(info["generated_at"]),
    )


def _flat(result: dict) -> dict:
    return {f"{section}.{k}": v for section in ("feedback", "dossiers", "traffic") for k, v in result[section].items()}


def _keyed(frame: pd.DataFrame, keys: list[str], value: str, fmt: Callable[[Any], str] = str) -> dict:
    return {
        "/".join(fmt(row[k]) if i == 0 else str(row[k]) for i, k in enumerate(keys)): int(row[value])
        for row in frame.to_dict("records")
        if row[value]
    }


def _day(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def _area_figures(table: pd.DataFrame) -> dict:
    out = {}
    for column in ("feedback.received", "dossiers.received", "traffic.vehicles"):
        out.update({f"{column}/{code}": int(v) for code, v in zip(table["code"], table[column], strict=True) if v})
    return out


def cases(ctx: Context) -> list[Case]:
    p, area = ctx.period, ctx.area
    city, ward = QueryFilter.build(p), QueryFilter.build(p, (area,))
    return [
        Case("overview.kpis_city", lambda e: kpis.compute_kpis(e, p), _flat, lambda e: _flat(naive.kpis_figures(e, p))),
        Case(
            "overview.kpis_area",
            lambda e: kpis.compute_kpis(e, p, [area]),
            _flat,
            lambda e: _flat(naive.kpis_figures(e, p, [area])),
        ),
        Case(
            "overview.area_kpis",
            lambda e: kpis.compute_area_kpis(e, p),
            _area_figures,
            lambda e: naive.area_figures(e, p),
        ),
        Case(
            "overview.feedback_daily",
            lambda e: queries.feedback_daily(e, ctx.trend),
            lambda f: _keyed(f, ["day", "category"], "received", _day),
            lambda e: naive.daily_counts(e, "feedback", "category", ctx.trend),
        ),
        Case(
            "overview.dossier_daily",
            lambda e: queries.dossier_daily(e, ctx.trend),
            lambda f: _keyed(f, ["day", "channel"], "received", _day),
            lambda e: naive.daily_counts(e, "dossiers", "channel", ctx.trend),
        ),
        Case(
            "overview.traffic_daily",
            lambda e: queries.traffic_daily(e, ctx.trend),
            lambda f: _keyed(f, ["day"], "vehicles", _day),
            lambda e: naive.traffic_daily(e, ctx.trend),
        ),
        Case(
            "feedback.volume_area",
            lambda e: fq.volume(e, ward, "day"),
            lambda f: _keyed(f, ["bucket", "category"], "received", _day),
            lambda e: naive.daily_counts(e, "feedback", "category", p, [area]),
        ),
        Case(
            "feedback.by_agency",
            lambda e: fq.by_agency(e, city),
            lambda f: _keyed(f, ["agency"], "resolved"),
            lambda e: naive.agency_resolved(e, p),
        ),
        Case(
            "feedback.overdue_count",
            lambda e: fq.overdue_count(e, city),
            lambda n: {"overdue": int(n)},
            lambda e: naive.overdue_count(e, p),
        ),
        Case(
            "procedures.extra_counts",
            lambda e: dq.extra_counts(e, city, ctx.now),
            dict,
            lambda e: naive.dossier_extra_counts(e, p, ctx.now),
        ),
        Case(
            "procedures.channel_mix",
            lambda e: dq.channel_mix(e, city, "week"),
            lambda f: _keyed(f, ["bucket", "channel"], "received", _day),
            lambda e: naive.weekly_counts(e, "dossiers", "channel", p),
        ),
        Case(
            "procedures.procedure_stats",
            lambda e: dq.procedure_stats(e, city),
            lambda f: _keyed(f, ["procedure_code"], "received"),
            lambda e: naive.procedure_received(e, p),
        ),
        Case(
            "traffic.congestion_ranking",
            lambda e: tq.congestion_ranking(e, city, "sensor"),
            lambda f: _keyed(f, ["key"], "vehicles"),
            lambda e: naive.sensor_vehicles(e, p),
        ),
        Case(
            "traffic.hour_weekday",
            lambda e: tq.hour_weekday(e, city),
            lambda f: _keyed(f, ["weekday", "hour"], "vehicles"),
            lambda e: naive.hour_weekday(e, p),
        ),
        Case(
            "traffic.sensor_last_seen",
            lambda e: tq.sensor_last_seen(e, city, ctx.now),
            lambda f: {
                str(k): pd.Timestamp(v).isoformat()
                for k, v in zip(f["id"], f["last_observed_at"], strict=True)
                if not pd.isna(v)
            },
            lambda e: naive.sensor_last_seen(e, ctx.now),
        ),
        Case(
            "map.feedback_layer",
            lambda e: map_queries.feedback_layer(e, city),
            lambda layer: {"located": layer.total, "shown": len(layer.frame)},
            lambda e: naive.located_feedback(e, p, map_queries.GRID_DEGREES, map_queries.POINT_THRESHOLD),
        ),
        Case(  # issue 18: the hotspots of the period's last IOC_HOTSPOT_DAYS days, grouped in Python (h3)
            "feedback.hotspots",
            lambda e: hotspot_figures(e, city),
            dict,
            lambda e: naive_hotspot_figures(e, city),
        ),
        *[
            Case(
                name,
                lambda e, m=metric, q=part: records_view(e, m, q, city),
                dict,
                lambda e, m=metric, q=part: naive_records_count(e, p, m, q),
            )
            for name, metric, part in RECORDS_VIEWS
        ],
    ]


def same(a: dict, b: dict) -> bool:
    """Equal keys and values (numbers within rounding: 0.1 absolute or 1e-9 relative)."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if x is None or y is None or isinstance(x, str) or isinstance(y, str):
            if x != y:
                return False
        elif not np.isclose(float(x), float(y), rtol=1e-9, atol=0.1):
            return False
    return True


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = function()
    return (time.perf_counter() - began) * 1000, result


def time_queries(url: str, ctx: Context, runs: int) -> tuple[list[dict], dict[str, dict]]:
    """Cold and warm timings of every case; also each case's figures for the naive comparison."""
    rows, figures = [], {}
    for case in cases(ctx):
        engine = make_engine(url, read_only=True)
        try:
            cold, result = _timed(lambda: case.run(engine))  # noqa: B023 - called at once
            warm = [_timed(lambda: case.run(engine))[0] for _ in range(runs)]  # noqa: B023
        finally:
            engine.dispose()
        figures[case.name] = case.figures(result)
        row = {
            "name": case.name,
            "cold_ms": round(cold, 1),
            "p50_ms": round(float(np.percentile(warm, 50)), 1),
            "p95_ms": round(float(np.percentile(warm, 95)), 1),
        }
        rows.append(row)
        log(
            f"{case.name:<30} cold {row['cold_ms']:>8.1f} ms  warm p50 {row['p50_ms']:>7.1f}  p95 {row['p95_ms']:>7.1f}"
        )
    return rows, figures


def time_naive(url: str, ctx: Context, runs: int, rows: list[dict], figures: dict[str, dict]) -> None:
    """Add naive_p50_ms, speedup and naive_matches to each query row."""
    by_name = {row["name"]: row for row in rows}
    engine = make_engine(url, read_only=True)
    try:
        for case in cases(ctx):
            times, result = [], None
            for _ in range(runs):
                ms, result = _timed(lambda: case.naive(engine))  # noqa: B023
                times.append(ms)
            row = by_name[case.name]
            row["naive_p50_ms"] = round(float(np.percentile(times, 50)), 1)
            row["speedup"] = round(row["naive_p50_ms"] / max(row["p50_ms"], 0.01), 1)
            row["naive_matches"] = same(figures[case.name], result)
            log(
                f"{case.name:<30} naive p50 {row['naive_p50_ms']:>9.1f} ms  ×{row['speedup']:<7} "
                f"{'same figures' if row['naive_matches'] else 'DIFFERENT FIGURES'}"
            )
    finally:
        engine.dispose()


# ---------------------------------------------------------------- PDF and forecast
def time_pdf(url: str, ctx: Context) -> tuple[float | None, str | None]:
    from dashboard.briefing.render import render_briefing
    from dashboard.briefing.weeks import last_complete_week

    engine = make_engine(url, read_only=True)
    try:
        began = time.perf_counter()
        pdf = render_briefing(engine, last_complete_week(ctx.now.date()), now=ctx.now)
        seconds = round(time.perf_counter() - began, 2)
        log(f"weekly PDF: {len(pdf) / 1024:,.0f} kB in {seconds} s")
        return seconds, None
    except Exception as error:  # noqa: BLE001 - reported in the result, the rest of the run goes on
        log(f"weekly PDF failed: {error}")
        return None, str(error)
    finally:
        engine.dispose()


def time_forecast(url: str) -> dict[str, Any]:
    """Fit every default series as `python -m dashboard forecast` does (one worker process per core): wall seconds,
    series, CPU seconds of this process and its workers (what the wall time is on an idle machine × cores), and the
    peak RSS of the largest process (the workers are children: RUSAGE_CHILDREN once they have ended)."""
    from models.run import Settings, run_forecasts

    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    engine = make_engine(url)
    try:
        began, cpu_before = time.perf_counter(), cpu()
        runs = run_forecasts(engine, ["feedback", "dossiers", "traffic"], Settings(), jobs=os.cpu_count() or 1)
        seconds, cpu_seconds = round(time.perf_counter() - began, 1), round(cpu() - cpu_before, 1)
    finally:
        engine.dispose()
    series = sum(len(run.results) for run in runs)
    rss = max(peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN))
    log(f"forecast: {series} series in {seconds} s (CPU {cpu_seconds} s), peak RSS {rss:.0f} MB")
    return {
        "forecast_s": seconds,
        "forecast_series": series,
        "forecast_cpu_s": cpu_seconds,
        "forecast_peak_rss_mb": rss,
    }


def _machine() -> dict[str, Any]:
    import duckdb

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                platform.processor(),
            )
    except OSError:
        cpu = platform.processor()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "os": platform.platform(),
    }


def _row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url, read_only=True)
    try:
        coverage = queries.table_coverage(engine)
        return {row["table"]: int(row["rows"]) for row in coverage.to_dict("records")}
    finally:
        engine.dispose()


def run(args: argparse.Namespace) -> dict[str, Any]:
    url = args.db or default_url(args.scale)
    build_info = ensure_database(url, args.scale, args.seed, args.rebuild)
    engine = make_engine(url, read_only=True)
    try:
        ctx = _context(engine)
        engine_name = "duckdb" if is_duckdb(engine) else "postgresql"
    finally:
        engine.dispose()
    rows = _row_counts(url)
    log(
        f"{engine_name}: "
        + ", ".join(f"{t} {n:,}" for t, n in rows.items())
        + f"; period {ctx.period.start}..{ctx.period.end}"
    )
    result: dict[str, Any] = {
        "scale": args.scale,
        "engine": engine_name,
        "database": redact_url(url),
        "database_size_mb": database_size_mb(url),
        "rows": rows,
        "build": build_info,
        "runs": args.runs,
        "naive_runs": args.naive_runs,
        "period": {"from": ctx.period.start.isoformat(), "to": ctx.period.end.isoformat()},
        "area": ctx.area,
        "machine": _machine(),
        "targets": TARGETS,
    }
    result["queries"], figures = time_queries(url, ctx, args.runs)
    result["pdf_s"], pdf_error = (None, "skipped") if args.skip_pdf else time_pdf(url, ctx)
    if pdf_error:
        result["pdf_error"] = pdf_error
    skipped = {"forecast_s": None, "forecast_series": None, "forecast_cpu_s": None, "forecast_peak_rss_mb": None}
    result.update(skipped if args.skip_forecast else time_forecast(url))
    result["peak_rss_mb"] = max(peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN))
    result["peak_rss_self_mb"] = peak_rss_mb()
    for row in result["queries"]:
        row.update({"naive_p50_ms": None, "speedup": None, "naive_matches": None})
    if not args.skip_naive:
        time_naive(url, ctx, args.naive_runs, result["queries"], figures)
        result["naive_peak_rss_mb"] = peak_rss_mb()
    if args.pages:  # last: the server is a child process, so RUSAGE_CHILDREN above must not count it
        result["pages"] = page_timing.time_pages(url, args.page_runs, log, args.page or ())
    return result


def _print_table(result: dict[str, Any]) -> None:
    print(
        f"scale {result['scale']:g} on {result['engine']} ({result['database']}): "
        + ", ".join(f"{t} {n:,}" for t, n in result["rows"].items())
    )
    print(f"{'query':<30} {'cold ms':>9} {'p50 ms':>8} {'p95 ms':>8} {'naive ms':>10} {'speedup':>8}  same")
    for q in result["queries"]:
        naive_ms = "" if q["naive_p50_ms"] is None else f"{q['naive_p50_ms']:.0f}"
        speedup = "" if q["speedup"] is None else f"{q['speedup']:.0f}×"
        same_figures = {None: "", True: "yes", False: "NO"}[q["naive_matches"]]
        print(
            f"{q['name']:<30} {q['cold_ms']:>9.1f} {q['p50_ms']:>8.1f} {q['p95_ms']:>8.1f} {naive_ms:>10} {speedup:>8}  {same_figures}"
        )
    if result.get("pages"):
        print(f"{'page (server-side run)':<30} {'cold ms':>9} {'p50 ms':>8} {'p95 ms':>8}  errors")
        for page in result["pages"]:
            print(
                f"{page['name']:<30} {page['cold_ms']:>9.1f} {page['p50_ms']:>8.1f} {page['p95_ms']:>8.1f}  "
                f"{'; '.join(page['errors'])[:120]}"
            )
    print(
        f"weekly PDF {result['pdf_s']} s; forecast {result['forecast_s']} s ({result['forecast_series']} series, "
        f"CPU {result['forecast_cpu_s']} s, peak RSS {result['forecast_peak_rss_mb']} MB); "
        f"peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def command_bench(args: argparse.Namespace) -> int:
    if args.build_only:
        print(json.dumps(build(args.db or default_url(args.scale), args.scale, args.seed)))  # never IOC_DATABASE_URL
        return 0
    if args.runs < 5:
        print("error: --runs must be at least 5 (p95 needs them)", file=sys.stderr)
        return 2
    try:
        page_timing.timed_pages(args.page or ())
    except ValueError as error:
        print(f"error: --page: {error}", file=sys.stderr)
        return 2
    result = run(args)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result)
    different = [row["name"] for row in result["queries"] if row["naive_matches"] is False]
    if different:  # a page query that disagrees with its naive computation is a wrong figure, not a slow one
        print(
            f"error: {len(different)} page quer{'y' if len(different) == 1 else 'ies'} gave figures different from "
            f"the naive computation: {', '.join(different)}",
            file=sys.stderr,
        )
        return EXIT_DIFFERENT_FIGURES
    return 0


def add_parser(commands: Any, positive_float: Callable[[str], float], positive_int: Callable[[str], int]) -> None:
    """Register the `bench` subcommand on the CLI's subparsers."""
    bench = commands.add_parser(
        "bench", help="time the page queries, PDF and forecast on a synthetic database of a given size"
    )
    bench.add_argument(
        "--scale",
        type=positive_float,
        default=1.0,
        help="1.0 = 10 M feedback, 5 M dossiers, 50 M traffic observations (default 1.0)",
    )
    bench.add_argument(
        "--db",
        default=None,
        metavar="URL",
        help="database to build or reuse (default: data/bench-<scale>.duckdb; never IOC_DATABASE_URL)",
    )
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument("--runs", type=positive_int, default=10, help="warm runs per query (at least 5; default 10)")
    bench.add_argument("--naive-runs", type=positive_int, default=3, help="runs of each naive baseline (default 3)")
    bench.add_argument("--rebuild", action="store_true", help="build the database even when one of this scale exists")
    bench.add_argument("--skip-naive", action="store_true")
    bench.add_argument("--skip-pdf", action="store_true")
    bench.add_argument("--skip-forecast", action="store_true")
    bench.add_argument(
        "--pages",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time every page on a streamlit server (default: yes)",
    )
    bench.add_argument("--page-runs", type=positive_int, default=10, help="warm runs per page (default 10)")
    bench.add_argument("--page", action="append", metavar="NAME", help="time only this page (repeat; default: all)")
    bench.add_argument("--json", action="store_true", help="print only the result as JSON on stdout")
    bench.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    bench.set_defaults(handler=command_bench)
