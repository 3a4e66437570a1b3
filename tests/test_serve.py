"""`python -m dashboard serve`: two Streamlit processes behind HAProxy on the small demo database.

One `serve --workers 2` for the module (DuckDB: no worker). Through HAProxy and directly, both processes answer
their health check; two clients without a cookie get different IOC_NODE cookies and a client that sends its cookie
always reaches the same process (the X-IOC-Node header names it); a WebSocket to /_stcore/stream upgrades through the
proxy and a page runs over it on each process without an error (both read the one DuckDB file at once); a killed app
process is started again; SIGINT stops every child. Apart from the app: HAProxy with the generated configuration in
front of two tiny echo servers passes every cookie but IOC_NODE to the process untouched (the login's ioc_session).

Skipped without /usr/sbin/haproxy (apt-get install haproxy); on CI (CI set) that fails instead.
"""

from __future__ import annotations

import http.client
import http.server
import importlib.util
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dashboard.config import PROJECT_ROOT
from dashboard.serving import haproxy
from dashboard.serving.supervisor import free_port, healthy

HAPROXY = haproxy.find_binary()


def _need_haproxy() -> str:
    if HAPROXY is None:
        problem = "HAProxy is not installed (apt-get install haproxy)"
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return HAPROXY


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    output: list[str]
    pids: dict[str, int]  # haproxy, app1, app2
    ports: dict[str, int]  # app1, app2: their local ports
    run_dir: Path
    cookie: str  # "ioc_session=<token>" once accounts exist, else ""


def _request(url: str, path: str, cookie: str = "", method: str = "GET") -> http.client.HTTPResponse:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request(method, path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def _node_cookie(response: http.client.HTTPResponse) -> str | None:
    for value in response.headers.get_all("Set-Cookie") or []:
        if value.startswith(f"{haproxy.NODE_COOKIE}="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def _login_cookie(db_url: str) -> str:
    """`ioc_session=<token>` of an analyst once accounts exist (issue 19: visitors see only the login page)."""
    if importlib.util.find_spec("dashboard.testing.accounts") is None:
        return ""
    from dashboard.testing.accounts import COOKIE, login_token

    return f"{COOKIE}={login_token(db_url, 'analyst')}"


@pytest.fixture(scope="module")
def served(demo_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    _need_haproxy()
    port = free_port()
    run_dir = tmp_path_factory.mktemp("serve")
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard", "serve", "--workers", "2", "--port", str(port), "--host", "127.0.0.1"]
        + ["--run-dir", str(run_dir)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ, IOC_DATABASE_URL=demo_db_url, PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []

    def read() -> None:
        for line in process.stdout:
            output.append(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 120
    while not any(line.startswith("Ctrl-C") for line in output):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("serve did not start:\n" + "".join(output))
        time.sleep(0.2)
    text = "".join(output)
    pids = {name: int(pid) for name, pid in re.findall(r"^  (\w+)  pid (\d+)", text, re.M)}
    ports = {name: int(p) for name, p in re.findall(r"^  (app\d)  pid \d+  http://127\.0\.0\.1:(\d+)", text, re.M)}
    served = Served(f"http://127.0.0.1:{port}", process, output, pids, ports, run_dir, _login_cookie(demo_db_url))
    try:
        yield served
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            for pid in pids.values():
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=10)


def test_the_layout_is_announced(served: Served) -> None:
    text = "".join(served.output)
    assert "no worker is started" in text  # DuckDB: the file is only read
    assert set(served.pids) == {"haproxy", "app1", "app2"}
    assert set(served.ports) == {"app1", "app2"}
    assert (served.run_dir / "haproxy.cfg").read_text().count(" cookie app") == 2


def test_each_process_answers_its_health_check_directly_and_through_the_proxy(served: Served) -> None:
    for name, port in served.ports.items():
        assert healthy(f"http://127.0.0.1:{port}/_stcore/health")
        response = _request(served.url, haproxy.node_health_path(name))
        assert (response.status, response.headers["X-IOC-Node"]) == (200, name)
    response = _request(served.url, haproxy.HEALTH_PATH)
    assert response.status == 200


def test_new_clients_are_shared_out_and_a_client_stays_on_its_process(served: Served) -> None:
    first, second = _request(served.url, "/"), _request(served.url, "/")
    assigned = [_node_cookie(first), _node_cookie(second)]
    assert sorted(assigned) == ["app1", "app2"]  # round robin
    assert [first.headers["X-IOC-Node"], second.headers["X-IOC-Node"]] == assigned
    for node in assigned:
        for path in ("/", "/_stcore/health", "/?lang=en", "/_stcore/health"):
            response = _request(served.url, path, f"{haproxy.NODE_COOKIE}={node}")
            assert (response.status, response.headers["X-IOC-Node"], _node_cookie(response)) == (200, node, None)


def _protocol():
    """scripts/streamlit_protocol.py, the load test's Streamlit WebSocket client."""
    if "streamlit_protocol" not in sys.modules:
        path = PROJECT_ROOT / "scripts" / "streamlit_protocol.py"
        spec = importlib.util.spec_from_file_location("streamlit_protocol", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["streamlit_protocol"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["streamlit_protocol"]


def test_a_websocket_upgrades_through_the_proxy_and_each_process_runs_a_page(served: Served) -> None:
    import websocket

    ws = websocket.create_connection(
        served.url.replace("http", "ws") + "/_stcore/stream",
        subprotocols=["streamlit"],
        cookie=f"{haproxy.NODE_COOKIE}=app2",
        timeout=10,
    )
    try:
        assert ws.getstatus() == 101
        assert ws.getheaders()["x-ioc-node"] == "app2"
    finally:
        ws.close()

    protocol = _protocol()
    runs: dict[str, object] = {}

    def run_page(node: str) -> None:
        cookie = "; ".join(filter(None, [f"{haproxy.NODE_COOKIE}={node}", served.cookie]))
        session = protocol.Session(served.url, cookie=cookie, timeout=60)
        session.open()
        try:
            runs[node] = session.open_page("", "lang=en")
        finally:
            session.close()

    threads = [threading.Thread(target=run_page, args=(node,)) for node in ("app1", "app2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert sorted(runs) == ["app1", "app2"]
    assert {node: run.errors for node, run in runs.items()} == {"app1": [], "app2": []}


def test_a_process_that_dies_is_started_again(served: Served) -> None:
    os.killpg(served.pids["app1"], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while not any("app1" in line and "restarting" in line for line in served.output):
        assert time.monotonic() < deadline, "".join(served.output)
        time.sleep(0.2)
    assert any(f"app1 (pid {served.pids['app1']}) exited with code -9" in line for line in served.output)
    while not healthy(f"http://127.0.0.1:{served.ports['app1']}/_stcore/health", timeout=1):
        assert time.monotonic() < deadline, "".join(served.output)
        time.sleep(0.25)
    restarted = re.search(r"app1 started again \(pid (\d+)\)", "".join(served.output))
    served.pids["app1"] = int(restarted.group(1))
    response = _request(served.url, "/_stcore/health", f"{haproxy.NODE_COOKIE}=app1")
    assert response.headers["X-IOC-Node"] in ("app1", "app2")  # app1 again once HAProxy's check sees it


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_every_process(served: Served) -> None:
    os.kill(served.process.pid, signal.SIGINT)
    assert served.process.wait(timeout=40) == 0
    assert {name: _alive(pid) for name, pid in served.pids.items()} == {"haproxy": False, "app1": False, "app2": False}
    assert "Stopped every process." in "".join(served.output)
    assert not healthy(served.url + haproxy.HEALTH_PATH, timeout=1)


# ---------------------------------------------------------------- the configuration alone, with echo servers
class _Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = (self.headers.get("Cookie") or "").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_the_proxy_passes_every_cookie_but_its_own_to_the_process(tmp_path: Path) -> None:
    binary = _need_haproxy()
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    nodes = tuple(haproxy.Node(f"app{k}", server.server_address[1]) for k, server in enumerate(servers, 1))
    layout = haproxy.Layout("127.0.0.1", free_port(), nodes, free_port())
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render(layout))
    assert haproxy.check(binary, config) is None
    proxy = subprocess.Popen([binary, "-db", "-f", str(config)], stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{layout.port}"
    try:
        deadline = time.monotonic() + 10
        while not healthy(url + haproxy.HEALTH_PATH, timeout=1):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        host, port = "127.0.0.1", layout.port
        connection = http.client.HTTPConnection(host, port, timeout=5)
        cookies = "ioc_session=tok-123; IOC_NODE=app2; _streamlit_xsrf=2|ab|cd|9"
        connection.request("GET", "/", headers={"Cookie": cookies})
        response = connection.getresponse()
        assert (response.status, response.headers["X-IOC-Node"]) == (200, "app2")
        assert response.read().decode() == "ioc_session=tok-123; _streamlit_xsrf=2|ab|cd|9"
        connection.close()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        for server in servers:
            server.shutdown()


# ---------------------------------------------------------------- without starting anything
def test_postgresql_gets_one_worker_and_every_process_the_same_cookie_secret(tmp_path: Path) -> None:
    from dashboard.commands.serve import database_note
    from dashboard.serving.supervisor import Plan, Supervisor

    url = "postgresql+psycopg://ioc:secret@db.example:5432/ioc"
    assert database_note(url)[0] is True
    assert database_note(f"duckdb:///{tmp_path / 'ioc.duckdb'}")[0] is False
    plan = Plan("127.0.0.1", 8501, 3, url, tmp_path, start_worker=True, haproxy_binary="/usr/sbin/haproxy")
    supervisor = Supervisor(plan)
    assert [child.name for child in supervisor.children] == ["haproxy", "app1", "app2", "app3", "worker"]
    assert supervisor.worker.command[1:] == ["-m", "dashboard", "worker"]
    assert {child.env["IOC_DATABASE_URL"] for child in supervisor.children} == {url}
    assert len({child.env["STREAMLIT_SERVER_COOKIE_SECRET"] for child in supervisor.apps}) == 1
    assert [child.env["IOC_NODE_NAME"] for child in supervisor.apps] == ["app1", "app2", "app3"]
    assert len({node.port for node in supervisor.layout.nodes} | {supervisor.layout.stats_port}) == 4


def test_bad_input_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import socket

    from dashboard.cli import main

    assert main(["--database-url", "duckdb:///:memory:", "serve"]) == 2
    assert capsys.readouterr().err == (
        "error: duckdb:///:memory: is an in-memory database: each process would have its own; serve a DuckDB file\n"
    )
    with pytest.raises(SystemExit) as raised:
        main(["serve", "--workers", "0"])
    assert raised.value.code == 2
    assert "argument --workers: '0' must be from 1 to 64" in capsys.readouterr().err
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        url = f"duckdb:///{tmp_path / 'ioc.duckdb'}"
        assert main(["--database-url", url, "serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
    expected = (
        f"error: port {port} on 127.0.0.1 is already in use; choose another with --port (PORT= in make)\n"
        if HAPROXY
        else "error: HAProxy is not installed (looked for IOC_HAPROXY, /usr/sbin/haproxy and `haproxy` on the PATH); "
        "on Debian: apt-get install haproxy\n"
    )
    assert capsys.readouterr().err == expected
