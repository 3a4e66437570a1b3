"""Load test: N simultaneous browser sessions cycling through the analyst pages for a fixed time.

    .venv/bin/python scripts/load_test.py --database-url duckdb:////work/main/data/bench-1.duckdb
    .venv/bin/python scripts/load_test.py --sessions 20 --minutes 2 --ttl 300 --json
    .venv/bin/python scripts/load_test.py --protocol --url http://127.0.0.1:8501 --users 20 --think 5 --duration 120 --json

--protocol: no browser. Virtual users speak Streamlit's WebSocket protocol (scripts/streamlit_protocol.py): each
opens a page, then thinks (--think s ± 20 %) and opens the next page or, every third step, changes the period or the
area filter. Every step is timed from the request to the script's `script_finished` message. --url is a running app
(one process or HAProxy in front of several); without it the app is started as below. --cookie NAME=VALUE or
--as-role ROLE (a test user made by dashboard.testing.accounts.login_token) logs the users in. With --json it prints
{"users", "page_changes", "errors", "p50_ms", "p95_ms", "throughput_per_s", ...}; exit code 1 on any error.

Starts `streamlit run dashboard/app.py` on a free local port against the database (dashboard/browser.py),
opens one system Chromium (never Playwright's download) with one context per session, and lets every
session open the app and then click through the sidebar to each analyst page in turn (each session starts
at a different page). A page counts as loaded when Streamlit has finished its script and the page has
stopped changing; its time runs from the click to the last change. Errors: an exception box, an error
alert, or a page not loaded within --page-timeout seconds. Prints p50/p95/max page time per page and
overall; exit code 1 when any error was seen. Writes artifacts/load_test/summary.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from dashboard import config
from dashboard.config import PROJECT_ROOT
from dashboard.navigation import PAGES
from dashboard.testing import browser

OUT_DIR = PROJECT_ROOT / "artifacts" / "load_test"
ANALYST_PAGES = [spec for spec in PAGES if not spec.kiosk and not getattr(spec, "admin", False)]
ERROR_SELECTOR = f'{browser.EXCEPTION}, [data-testid="stAlertContentError"]'


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _settled(page, started: float, stable_ms: int, timeout_s: float) -> float:
    """Milliseconds from `started` (page clock) to the last change before the page settled."""
    handle = await page.wait_for_function(browser.SETTLED_JS, arg=stable_ms, timeout=timeout_s * 1000, polling=100)
    return float(await handle.json_value()) - started


async def session(instance, base_url: str, index: int, deadline: float, args, records: list, errors: list) -> None:
    context = await instance.new_context(viewport=browser.VIEWPORT, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    await context.add_cookies(browser.session_cookie(base_url))  # signed in as running_app's test admin (issue 19)
    await context.route(
        "**/*", lambda route: route.continue_() if browser._is_local(route.request.url) else route.abort()
    )
    page = await context.new_page()
    step = index
    try:
        await page.goto(base_url + "/", wait_until="domcontentloaded", timeout=args.page_timeout * 1000)
        started = await page.evaluate("performance.now()")
        records.append(("overview(first load)", await _settled(page, started, args.stable_ms, args.page_timeout)))
        while time.monotonic() < deadline:
            spec = ANALYST_PAGES[step % len(ANALYST_PAGES)]
            step += 1
            link = page.locator(f'[data-testid="stSidebarNavLink"][href$="/{spec.url_path}"]').first
            try:
                await page.evaluate("window.__iocIdle = null")
                started = await page.evaluate("performance.now()")
                await link.click(timeout=args.page_timeout * 1000)
                await page.wait_for_function(
                    "(path) => location.pathname.endsWith('/' + path)",
                    arg=spec.url_path,
                    timeout=args.page_timeout * 1000,
                )
                ms = await _settled(page, started, args.stable_ms, args.page_timeout)
            except Exception as error:  # noqa: BLE001 - a timeout or a closed page counts as an error
                errors.append(
                    {"session": index, "page": spec.key, "error": f"{type(error).__name__}: {str(error)[:200]}"}
                )
                await page.goto(f"{base_url}/{spec.url_path}", wait_until="domcontentloaded")
                continue
            shown = page.locator(ERROR_SELECTOR)
            if await shown.count():
                errors.append({"session": index, "page": spec.key, "error": (await shown.first.inner_text())[:300]})
            records.append((spec.key, ms))
    finally:
        await context.close()


async def drive(base_url: str, args) -> tuple[list, list, float]:
    from playwright.async_api import async_playwright

    records: list[tuple[str, float]] = []
    errors: list[dict] = []
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=browser.CHROMIUM, args=list(browser.CHROMIUM_ARGS))
        try:
            began = time.monotonic()
            deadline = began + args.minutes * 60
            tasks = [session(instance, base_url, i, deadline, args, records, errors) for i in range(args.sessions)]
            await asyncio.gather(*tasks)
            elapsed = time.monotonic() - began
        finally:
            await instance.close()
    return records, errors, elapsed


def _stats(times: list[float]) -> dict:
    return {
        "loads": len(times),
        "p50_ms": round(float(np.percentile(times, 50))),
        "p95_ms": round(float(np.percentile(times, 95))),
        "max_ms": round(max(times)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="default: IOC_DATABASE_URL / the configured database")
    protocol = parser.add_argument_group("protocol mode (no browser)")
    protocol.add_argument("--protocol", action="store_true", help="virtual users over the WebSocket protocol")
    protocol.add_argument("--url", default=None, help="a running app (default: start one on --database-url)")
    protocol.add_argument("--users", type=int, default=20)
    protocol.add_argument("--think", type=float, default=5.0, help="seconds between a user's steps (± 20 %%)")
    protocol.add_argument("--duration", type=float, default=120.0, help="seconds the users run")
    protocol.add_argument("--ramp-up", type=float, default=5.0, help="seconds over which the users connect")
    protocol.add_argument("--seed", type=int, default=0)
    protocol.add_argument("--cookie", default=None, help="cookie every user sends, e.g. ioc_session=TOKEN")
    protocol.add_argument("--as-role", default=None, help="log every user in as a test user of this role")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--page-timeout", type=float, default=120.0, help="seconds before a page counts as failed")
    parser.add_argument(
        "--stable-ms", type=int, default=750, help="how long a page must stay unchanged to count as loaded"
    )
    parser.add_argument(
        "--ttl", type=int, default=None, help="IOC_QUERY_TTL_SECONDS for the server (default: configured)"
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    args = parser.parse_args(argv)

    url = args.database_url or config.database_url()
    extra = {"IOC_QUERY_TTL_SECONDS": str(args.ttl)} if args.ttl is not None else {}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = OUT_DIR / "streamlit.log"
    if args.protocol:
        return protocol_main(args, url, extra, log_path)
    log(
        f"{args.sessions} sessions for {args.minutes:g} min against {url}; pages: {', '.join(s.key for s in ANALYST_PAGES)}"
    )
    with browser.running_app(url, extra_env=extra, log_path=log_path, timeout=120) as base_url:
        records, errors, elapsed = asyncio.run(drive(base_url, args))
    navigations = [ms for name, ms in records if "first load" not in name]
    summary = {
        "sessions": args.sessions,
        "minutes": args.minutes,
        "elapsed_s": round(elapsed, 1),
        "database": url,
        "ttl_s": args.ttl if args.ttl is not None else config.query_ttl_seconds(),
        "errors": len(errors),
        "error_samples": errors[:10],
        "overall": _stats(navigations) if navigations else None,
        "first_load": _stats([ms for name, ms in records if "first load" in name]) if records else None,
        "pages": {
            spec.key: _stats(t) for spec in ANALYST_PAGES if (t := [ms for name, ms in records if name == spec.key])
        },
    }
    Path(OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(
            f"{summary['sessions']} sessions, {summary['elapsed_s']} s, {len(navigations)} page loads, {len(errors)} errors"
        )
        for key, stats in [
            ("all pages", summary["overall"]),
            ("first load", summary["first_load"]),
            *summary["pages"].items(),
        ]:
            if stats:
                print(
                    f"  {key:<12} n={stats['loads']:<4} p50 {stats['p50_ms']:>6} ms  p95 {stats['p95_ms']:>6} ms  max {stats['max_ms']:>6} ms"
                )
    return 1 if errors else 0


# ---------------------------------------------------------------- protocol mode
def _cookies(args, db_url: str) -> list[str | None]:
    """The cookie each user sends: --cookie for all, or with --as-role a session of its own per user (the test user
    of that role is made in the operational store of --database-url, which must be the database the app serves)."""
    if args.cookie or not args.as_role:
        return [args.cookie]
    try:
        from dashboard.testing.accounts import COOKIE, login_token
    except ImportError:
        raise SystemExit(
            "error: --as-role needs dashboard.testing.accounts (accounts, issue 19), not present"
        ) from None
    return [f"{COOKIE}={login_token(db_url, args.as_role)}" for _ in range(args.users)]


def protocol_summary(shared, elapsed: float, users: int) -> dict:
    """The JSON the issue asks for (users, page_changes, errors, p50_ms, p95_ms, throughput_per_s) and the detail."""
    steps = [r for r in shared.records if r.action in ("page", "filter") and r.ok]
    first = [r.ms for r in shared.records if r.action == "first_load" and r.ok]
    times = [r.ms for r in steps]

    def percentile(values: list[float], q: int) -> float | None:
        return round(float(np.percentile(values, q))) if values else None

    return {
        "users": users,
        "page_changes": len(steps),
        "errors": len(shared.errors),
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "throughput_per_s": round(len(steps) / elapsed, 2) if elapsed else 0.0,
        "max_ms": round(max(times)) if times else None,
        "elapsed_s": round(elapsed, 1),
        "by_action": {
            action: {"n": len(t), "p50_ms": percentile(t, 50), "p95_ms": percentile(t, 95)}
            for action in ("page", "filter")
            if (t := [r.ms for r in steps if r.action == action])
        },
        "first_load": {"n": len(first), "p50_ms": percentile(first, 50), "p95_ms": percentile(first, 95)},
        "by_page": {  # page opens only (a filter change re-runs the page it is on, counted above)
            "/" + page: {"n": len(t), "p50_ms": percentile(t, 50), "p95_ms": percentile(t, 95)}
            for page in dict.fromkeys(r.target for r in steps if r.action == "page")
            if (t := [r.ms for r in steps if r.action == "page" and r.target == page])
        },
        "errors_by_page": dict(Counter("/" + error["page"] for error in shared.errors).most_common()),
        "error_samples": shared.errors[:10],
    }


def protocol_main(args, db_url: str, extra: dict, log_path: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import streamlit_protocol

    pages = [spec.url_path for spec in ANALYST_PAGES]
    cookies = _cookies(args, db_url)
    options = {
        "users": args.users,
        "think": args.think,
        "duration": args.duration,
        "cookies": cookies,
        "page_timeout": args.page_timeout,
        "seed": args.seed,
        "ramp_up": min(args.ramp_up, args.duration / 2),
    }
    log(f"{args.users} virtual users, think {args.think:g} s, {args.duration:g} s; pages: {', '.join(pages)}")
    if args.url:
        shared, elapsed = streamlit_protocol.run_users(args.url, pages, **options)
    else:
        with browser.running_app(db_url, extra_env=extra, log_path=log_path, timeout=120) as base_url:
            shared, elapsed = streamlit_protocol.run_users(base_url, pages, **options)
    summary = protocol_summary(shared, elapsed, args.users)
    summary["url"] = args.url or db_url
    Path(OUT_DIR / "protocol_summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(
            f"{args.users} users, {summary['elapsed_s']} s: {summary['page_changes']} page changes "
            f"({summary['throughput_per_s']}/s), p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
            f"{summary['errors']} errors"
        )
        for sample in summary["error_samples"]:
            print(f"  error: {sample}")
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
