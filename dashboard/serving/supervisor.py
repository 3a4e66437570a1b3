"""Start N Streamlit processes, the worker and HAProxy; keep them running; stop them all together.

Every child runs in a process group of its own (a Ctrl-C in the terminal reaches the supervisor only, which then
stops the children in order: HAProxy first so no new request arrives, then the app processes, then the worker) and
is sent SIGTERM by the kernel if the supervisor itself dies (`PR_SET_PDEATHSIG`), so no child outlives it. An app
process or the worker that exits on its own is started again on the same port (after 1, 2, 4 … 30 s when it keeps
dying within 30 s of its start), and the log says so; HAProxy exiting stops everything (exit code 1).

Each child writes its output to `<run dir>/<name>.log`; HAProxy's configuration is `<run dir>/haproxy.cfg`.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dashboard.serving import haproxy

APP_SCRIPT = Path(__file__).resolve().parents[1] / "app.py"
PROJECT_ROOT = APP_SCRIPT.parents[1]
STOP_GRACE_SECONDS = 15.0
WORKER_STOP_GRACE_SECONDS = 60.0  # SIGTERM lets the worker's running job finish
STABLE_SECONDS = 30.0  # a child that ran this long before dying is restarted at once
MAX_BACKOFF_SECONDS = 30.0
POLL_SECONDS = 0.25
_PR_SET_PDEATHSIG = 1
WILDCARDS = ("", "*", "0.0.0.0", "::")


class ServeError(RuntimeError):
    """The processes could not be started; the message says which one and ends with its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (the proxy's public port is checked before anything starts)."""
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host if host not in ("", "*") else "0.0.0.0", port))
        except OSError:
            return True
    return False


def healthy(url: str, timeout: float = 2.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # local: proxy variables must not apply
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Child:
    """One supervised process and what is needed to start it again."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    health_url: str | None = None
    restartable: bool = True
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0  # deaths in a row, each within STABLE_SECONDS of its start
    restart_at: float | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.started_at = time.monotonic()
        self.restart_at = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        """The exit code if the process has ended (None while it runs or before it started)."""
        return None if self.process is None else self.process.poll()

    def signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, number)  # its group: an import subprocess of the app goes too
            except ProcessLookupError:
                pass


@dataclass
class Plan:
    """What `serve` runs: the proxy's address, how many app processes, the database and where to write."""

    host: str
    port: int
    workers: int
    database_url: str
    run_dir: Path
    start_worker: bool
    haproxy_binary: str
    stats_port: int = 0
    python: str = sys.executable
    extra_env: dict[str, str] = field(default_factory=dict)
    start_timeout: float = 90.0


class Supervisor:
    def __init__(self, plan: Plan, say: Callable[[str], None] | None = None) -> None:
        self.plan = plan
        self.say = say or (lambda line: print(line, flush=True))
        self.stopping: int | None = None  # the signal that asked us to stop
        plan.run_dir.mkdir(parents=True, exist_ok=True)
        stats_port = plan.stats_port or free_port()
        nodes = tuple(haproxy.Node(f"app{k}", free_port()) for k in range(1, plan.workers + 1))
        self.layout = haproxy.Layout(plan.host, plan.port, nodes, stats_port)
        self.config_path = plan.run_dir / "haproxy.cfg"
        base_env = dict(os.environ)
        base_env.update(
            IOC_DATABASE_URL=plan.database_url,
            PYTHONUNBUFFERED="1",
            STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
            # One secret for every process: a cookie Streamlit signs (its XSRF token) stays valid on the others,
            # e.g. after HAProxy moved a client away from a process that died.
            STREAMLIT_SERVER_COOKIE_SECRET=os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32),
        )
        base_env.update(plan.extra_env)
        self.apps = [self._app_child(node, base_env) for node in nodes]
        self.worker = (
            Child(
                "worker",
                [plan.python, "-m", "dashboard", "worker"],
                dict(base_env),
                plan.run_dir / "worker.log",
            )
            if plan.start_worker
            else None
        )
        self.proxy = Child(
            "haproxy",
            [plan.haproxy_binary, "-db", "-f", str(self.config_path)],
            dict(base_env),
            plan.run_dir / "haproxy.log",
            health_url=self.public_url() + haproxy.HEALTH_PATH,
            restartable=False,
        )

    def _app_child(self, node: haproxy.Node, base_env: dict[str, str]) -> Child:
        env = dict(base_env, IOC_NODE_NAME=node.name)
        command = [
            self.plan.python,
            "-m",
            "streamlit",
            "run",
            str(APP_SCRIPT),
            "--server.port",
            str(node.port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.serverPort",  # where users point their browsers: the proxy
            str(self.plan.port),
        ]
        return Child(
            node.name,
            command,
            env,
            self.plan.run_dir / f"{node.name}.log",
            health_url=f"http://{node.address}{haproxy.APP_HEALTH_PATH}",
        )

    def public_url(self) -> str:
        """The proxy's address as this machine reaches it (a wildcard address: through the loopback)."""
        host = self.plan.host.strip("[]")
        if host in WILDCARDS:
            host = "::1" if ":" in host else "127.0.0.1"
        return f"http://[{host}]:{self.plan.port}" if ":" in host else f"http://{host}:{self.plan.port}"

    @property
    def children(self) -> list[Child]:
        return [self.proxy, *self.apps, *([self.worker] if self.worker else [])]

    # ------------------------------------------------------------------ lifecycle
    def _on_signal(self, number: int, _frame: object) -> None:
        if self.stopping is None:
            self.stopping = number

    def install_signal_handlers(self) -> None:
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, self._on_signal)

    def start(self) -> bool:
        """Start every process and wait until each answers; False if a stop signal came first."""
        self.config_path.write_text(haproxy.render(self.layout))
        problem = haproxy.check(self.plan.haproxy_binary, self.config_path)
        if problem:
            raise ServeError(f"HAProxy refuses {self.config_path}:\n{problem}")
        for app in self.apps:
            app.start()
        if self.worker:
            self.worker.start()
        if not self._wait_healthy(self.apps):
            return False
        self.proxy.start()
        return self._wait_healthy([self.proxy])

    def _wait_healthy(self, children: list[Child]) -> bool:
        deadline = time.monotonic() + self.plan.start_timeout
        waiting = list(children)
        while waiting:
            if self.stopping is not None:
                return False
            for child in list(waiting):
                code = child.exited()
                if code is not None:
                    raise ServeError(
                        f"{child.name} exited with code {code} while starting.\n--- {child.log_path} ---\n"
                        + tail(child.log_path)
                    )
                if child.health_url and healthy(child.health_url, timeout=1.0):
                    waiting.remove(child)
            if waiting and time.monotonic() > deadline:
                names = ", ".join(child.name for child in waiting)
                raise ServeError(
                    f"{names} did not answer within {self.plan.start_timeout:.0f} s.\n--- {waiting[0].log_path} ---\n"
                    + tail(waiting[0].log_path)
                )
            if waiting:
                time.sleep(POLL_SECONDS)
        return True

    def watch(self) -> int:
        """Keep the processes running until a stop signal (exit code 0) or HAProxy's death (exit code 1)."""
        while self.stopping is None:
            code = self.proxy.exited()
            if code is not None:
                self.say(f"haproxy exited with code {code}; stopping. --- {self.proxy.log_path} ---")
                self.say(tail(self.proxy.log_path))
                return 1
            now = time.monotonic()
            for child in [*self.apps, *([self.worker] if self.worker else [])]:
                self._look_after(child, now)
            time.sleep(POLL_SECONDS)
        return 0

    def _look_after(self, child: Child, now: float) -> None:
        if child.restart_at is not None:
            if now >= child.restart_at:
                child.start()
                self.say(f"{child.name} started again (pid {child.pid}).")
            return
        code = child.exited()
        if code is None:
            return
        lived = now - child.started_at
        child.failures = child.failures + 1 if lived < STABLE_SECONDS else 1
        delay = 0.0 if child.failures == 1 else min(MAX_BACKOFF_SECONDS, 2.0 ** (child.failures - 2))
        child.restart_at = now + delay
        self.say(
            f"{child.name} (pid {child.pid}) exited with code {code} after {lived:.0f} s; "
            f"restarting it{f' in {delay:.0f} s' if delay else ''} (see {child.log_path})."
        )

    def stop(self) -> None:
        """HAProxy first (no new requests), then the app processes and the worker; SIGKILL what outlives the grace."""
        ordered = [([self.proxy], STOP_GRACE_SECONDS), (self.apps, STOP_GRACE_SECONDS)]
        if self.worker:
            ordered.append(([self.worker], WORKER_STOP_GRACE_SECONDS))
        for group, grace in ordered:
            for child in group:
                child.signal(signal.SIGTERM)
            deadline = time.monotonic() + grace
            for child in group:
                if child.process is None:
                    continue
                try:
                    child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.say(f"{child.name} (pid {child.pid}) did not stop within {grace:.0f} s: killed.")
                    child.signal(signal.SIGKILL)
                    child.process.wait(timeout=STOP_GRACE_SECONDS)
