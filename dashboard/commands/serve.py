"""`python -m dashboard serve`: N app processes behind HAProxy, plus the worker on PostgreSQL.

    python -m dashboard serve [--workers 2] [--port 8501] [--host 0.0.0.0] [--run-dir DIR] [--no-worker]

HAProxy listens on HOST:PORT and shares the browsers among N `streamlit run dashboard/app.py` processes on free
local ports, each browser session sticking to its process (cookie IOC_NODE); see dashboard/serving/haproxy.py for
the configuration and README "Serving several processes" for the production layout.

PostgreSQL is the engine to scale out on: every process reads and writes it, and one `python -m dashboard worker`
runs beside them (unless --no-worker). On DuckDB every app process opens the file read-only (the app's reader
engine) and no worker starts: DuckDB lets one process write a file or several read it, and the worker writes.
Exit codes: 0 stopped by Ctrl-C/SIGTERM, 1 HAProxy died, 2 bad input or a process that would not start.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

MAX_WORKERS = 64


def _workers(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if not 1 <= number <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{value!r} must be from 1 to {MAX_WORKERS}")
    return number


def _port(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} must be from 1 to 65535")
    return number


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "serve",
        help="N app processes behind HAProxy (sticky sessions), plus the worker on PostgreSQL",
        description="Serve the dashboard from several Streamlit processes behind HAProxy (README: Serving several "
        "processes).",
    )
    parser.add_argument("--workers", type=_workers, default=2, help="app processes (default 2)")
    parser.add_argument("--port", type=_port, default=8501, help="port HAProxy listens on (default 8501)")
    parser.add_argument("--host", default="0.0.0.0", help="address HAProxy listens on (default 0.0.0.0: all)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="where haproxy.cfg and the processes' logs go (default: a new directory under the system's temp)",
    )
    parser.add_argument(
        "--stats-port", type=_port, default=None, help="local port of HAProxy's statistics page (default: a free one)"
    )
    parser.add_argument(
        "--no-worker", action="store_true", help="do not start the worker (on PostgreSQL; DuckDB never starts one)"
    )
    parser.set_defaults(handler=command_serve)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def database_note(url: str) -> tuple[bool, str]:
    """Whether to start the worker on `url`, and the line that says why (or why not)."""
    from dashboard.db.engine import duckdb_file

    if url.startswith("duckdb"):
        path = duckdb_file(url)
        missing = "" if path is None or path.exists() else f" ({path} does not exist yet: the pages say what to run)"
        return False, (
            f"DuckDB{missing}: every app process opens the file read-only, and no worker is started: DuckDB lets one "
            "process write a file or several read it, and the worker writes. Imports and `make demo` still work "
            "beside the app (they replace the file in one step). To run the scheduled jobs, or to scale further, "
            "move to PostgreSQL (README: Serving several processes)."
        )
    return True, "PostgreSQL: every app process reads it; one worker runs the scheduled jobs."


def command_serve(args: argparse.Namespace) -> int:
    from dashboard.db.engine import duckdb_file, redact_url
    from dashboard.serving import haproxy
    from dashboard.serving.supervisor import Plan, ServeError, Supervisor, port_in_use

    url = args.database_url
    if url.startswith("duckdb") and duckdb_file(url) is None:
        return _fail(f"{url} is an in-memory database: each process would have its own; serve a DuckDB file")
    binary = haproxy.find_binary()
    if binary is None:
        return _fail(
            "HAProxy is not installed (looked for IOC_HAPROXY, /usr/sbin/haproxy and `haproxy` on the PATH); "
            "on Debian: apt-get install haproxy"
        )
    if port_in_use(args.host, args.port):
        return _fail(f"port {args.port} on {args.host} is already in use; choose another with --port (PORT= in make)")
    worker, note = database_note(url)
    worker = worker and not args.no_worker
    run_dir = (args.run_dir or Path(tempfile.mkdtemp(prefix="ioc-serve-"))).resolve()
    plan = Plan(
        host=args.host,
        port=args.port,
        workers=args.workers,
        database_url=url,
        run_dir=run_dir,
        start_worker=worker,
        haproxy_binary=binary,
        stats_port=args.stats_port or 0,
    )
    supervisor = Supervisor(plan)
    supervisor.install_signal_handlers()
    print(f"Database {redact_url(url)}. {note}", flush=True)
    if url.startswith("postgresql") and args.no_worker:
        print("--no-worker: no worker started (run `python -m dashboard worker` once, elsewhere).", flush=True)
    print(
        f"Starting {args.workers} app process(es) and HAProxy {haproxy.version(binary)}; logs in {run_dir}", flush=True
    )
    code = 0
    try:
        started = supervisor.start()
        if started:
            _print_layout(supervisor)
            code = supervisor.watch()
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        code = 2
    finally:
        supervisor.stop()
    print("Stopped every process.", flush=True)
    return code


def _print_layout(supervisor) -> None:
    from dashboard.serving import haproxy

    layout = supervisor.layout
    public = supervisor.public_url()
    print(f"Serving {public} (HAProxy on {layout.bind}, sticky sessions by cookie {haproxy.NODE_COOKIE}):")
    print(f"  haproxy  pid {supervisor.proxy.pid}  config {supervisor.config_path}")
    for app in supervisor.apps:
        node = next(node for node in layout.nodes if node.name == app.name)
        print(
            f"  {app.name}  pid {app.pid}  http://{node.address}  health {public}{haproxy.node_health_path(app.name)}"
        )
    if supervisor.worker:
        print(f"  worker  pid {supervisor.worker.pid}  log {supervisor.worker.log_path}")
    print(f"  health {public}{haproxy.HEALTH_PATH}  statistics http://127.0.0.1:{layout.stats_port}/")
    print("Ctrl-C (or SIGTERM) stops every process.", flush=True)
