"""Soak test of the wall screen: run /wall headless for a long time at fast rotation and watch memory.

    .venv/bin/python scripts/soak_wall.py                      # 30 minutes, the configured database
    .venv/bin/python scripts/soak_wall.py --minutes 5 --database-url duckdb:////tmp/copy.duckdb

The app is started on a free local port (dashboard/browser.py) with every panel rotating every
`--dwell` seconds, the figures reloading every `--refresh` seconds and the query cache expiring every
`--ttl` seconds (so the queries really run again, not just the drawing). One system Chromium keeps the
wall open at `--viewport`. Every `--sample` seconds the script records the Streamlit server's resident
memory (VmRSS from /proc/<pid>/status: the server is the process listening on the port), the page's
JavaScript heap, how many panel switches the page has made and whether an exception is shown.

Pass criterion: after `--warmup` minutes, the server's RSS grows by less than `--max-growth` percent
(median of the last three samples against the median of the first three after warm-up), the panels
kept rotating and no exception was ever shown.

Writes artifacts/soak_wall/samples.csv (one row per sample), summary.json and summary.md.
Exit code 0 when the run passes, 1 when it fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from dashboard import config
from dashboard.config import PROJECT_ROOT
from dashboard.testing import browser

OUT_DIR = PROJECT_ROOT / "artifacts" / "soak_wall"

COUNT_SWITCHES_JS = """() => {
  if (window.__wallSoak) return;
  window.__wallSoak = {switches: 0, last: null};
  const look = () => {
    const tabs = document.querySelector('.wall-tabs');
    const current = tabs ? tabs.dataset.current : null;
    if (current && current !== window.__wallSoak.last) {
      if (window.__wallSoak.last !== null) window.__wallSoak.switches += 1;
      window.__wallSoak.last = current;
    }
  };
  new MutationObserver(look).observe(document.body, {subtree: true, childList: true, attributes: true});
  look();
}"""
SAMPLE_JS = """() => ({
  switches: window.__wallSoak ? window.__wallSoak.switches : 0,
  panel: window.__wallSoak ? window.__wallSoak.last : null,
  heap: performance.memory ? performance.memory.usedJSHeapSize : null,
  exceptions: document.querySelectorAll('[data-testid="stException"]').length,
  nodes: document.getElementsByTagName('*').length,
  banner: document.querySelectorAll('[data-testid="wall-banner"]').length,
})"""


def server_pid(port: int) -> int:
    """The process running `streamlit run ... --server.port <port>` (found through /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in arguments]
        if "streamlit" in " ".join(words) and "--server.port" in words and str(port) in words:
            return int(entry.name)
    raise RuntimeError(f"no streamlit process serving port {port}")


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (VmRSS)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def verdict(samples: list[dict], warmup_seconds: float, max_growth_pct: float) -> dict:
    after = [s for s in samples if s["elapsed_s"] >= warmup_seconds]
    if len(after) < 6:
        return {"passed": False, "reason": "too few samples after warm-up (run longer or sample more often)"}
    baseline = statistics.median(s["server_rss_kib"] for s in after[:3])
    final = statistics.median(s["server_rss_kib"] for s in after[-3:])
    growth = 100.0 * (final - baseline) / baseline
    switches = samples[-1]["panel_switches"]
    exceptions = max(s["exceptions"] for s in samples)
    reasons = []
    if growth >= max_growth_pct:
        reasons.append(f"server RSS grew {growth:.1f} % (limit {max_growth_pct} %)")
    if exceptions:
        reasons.append("an exception was shown on the wall")
    if switches < 2:
        reasons.append("the panels did not rotate")
    return {
        "passed": not reasons,
        "reason": "; ".join(reasons) or "ok",
        "baseline_rss_mib": round(baseline / 1024, 1),
        "final_rss_mib": round(final / 1024, 1),
        "growth_pct": round(growth, 2),
        "peak_rss_mib": round(max(s["server_rss_kib"] for s in samples) / 1024, 1),
        "panel_switches": switches,
        "max_exceptions_shown": exceptions,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run (default 30)")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="minutes left out before measuring growth (default 5)"
    )
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples (default 15)")
    parser.add_argument("--dwell", type=int, default=3, help="seconds per panel (default 3: fast rotation)")
    parser.add_argument("--refresh", type=int, default=5, help="seconds between data reloads (default 5)")
    parser.add_argument("--ttl", type=int, default=5, help="query cache lifetime in seconds (default 5)")
    parser.add_argument("--viewport", default="1920x1080", help="browser window, WIDTHxHEIGHT (default 1920x1080)")
    parser.add_argument(
        "--max-growth", type=float, default=10.0, help="allowed RSS growth after warm-up, in %% (default 10)"
    )
    parser.add_argument("--database-url", default=None, help="database to show (default: IOC_DATABASE_URL)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)

    width, height = (int(v) for v in args.viewport.lower().split("x"))
    url = args.database_url or config.database_url()
    args.out.mkdir(parents=True, exist_ok=True)
    port = browser.free_port()
    env = {"IOC_WALL_REFRESH_SECONDS": str(args.refresh), "IOC_QUERY_TTL_SECONDS": str(args.ttl)}
    samples: list[dict] = []
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    with browser.running_app(url, port, extra_env=env, log_path=args.out / "streamlit.log") as base:
        pid = server_pid(port)
        with browser.browser() as chromium:
            page = browser.new_page(chromium, viewport={"width": width, "height": height})
            page.goto(f"{base}/wall?dwell={args.dwell}")
            page.wait_for_selector(".wall-tabs", timeout=120_000)
            page.evaluate(COUNT_SWITCHES_JS)
            begin = time.monotonic()
            print(
                f"soak: server pid {pid}, {args.minutes:g} min at dwell {args.dwell} s, refresh {args.refresh} s",
                flush=True,
            )
            while (elapsed := time.monotonic() - begin) < args.minutes * 60:
                state = page.evaluate(SAMPLE_JS)
                sample = {
                    "elapsed_s": round(elapsed, 1),
                    "server_rss_kib": rss_kib(pid),
                    "js_heap_bytes": state["heap"],
                    "dom_nodes": state["nodes"],
                    "panel_switches": state["switches"],
                    "panel": state["panel"],
                    "exceptions": state["exceptions"],
                    "banner": state["banner"],
                }
                samples.append(sample)
                print(
                    f"{sample['elapsed_s']:>7.0f} s  rss {sample['server_rss_kib'] / 1024:7.1f} MiB  "
                    f"switches {sample['panel_switches']:>4}  panel {sample['panel']}",
                    flush=True,
                )
                page.wait_for_timeout(int(args.sample * 1000))
            page.screenshot(path=str(args.out / "last.png"))
    with (args.out / "samples.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)
    result = verdict(samples, args.warmup * 60, args.max_growth)
    summary = {
        "started": started,
        "minutes": args.minutes,
        "warmup_minutes": args.warmup,
        "dwell_s": args.dwell,
        "refresh_s": args.refresh,
        "query_ttl_s": args.ttl,
        "viewport": args.viewport,
        "samples": len(samples),
        "database": url.split("://", 1)[0],
        "python": sys.version.split()[0],
        **result,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (args.out / "summary.md").write_text(
        f"# Wall soak {started}\n\n{args.minutes:g} min, dwell {args.dwell} s, refresh {args.refresh} s, query TTL {args.ttl} s, "
        f"{args.viewport}.\n\nServer RSS after {args.warmup:g} min warm-up: {result.get('baseline_rss_mib')} MiB → "
        f"{result.get('final_rss_mib')} MiB at the end ({result.get('growth_pct')} %, limit {args.max_growth:g} %); "
        f"peak {result.get('peak_rss_mib')} MiB; {result.get('panel_switches')} panel switches.\n\n"
        f"**{'PASS' if result['passed'] else 'FAIL'}**: {result['reason']}\n",
        encoding="utf-8",
    )
    print(json.dumps(summary, indent=2))
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    os.chdir(PROJECT_ROOT)
    sys.exit(main())
