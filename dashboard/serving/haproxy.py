"""The HAProxy configuration in front of N Streamlit processes.

One frontend on the public address, one backend `app` with every process:

* `balance roundrobin` for a client without the `IOC_NODE` cookie; HAProxy then inserts `IOC_NODE=<appK>`
  (`indirect`: it is taken out of the request again before it reaches Streamlit; `nocache`: never cached by a proxy
  in between), so the page, its static files and its WebSocket all reach the same process. Every other cookie (the
  login's `ioc_session`, Streamlit's `_streamlit_xsrf`) passes through untouched. When a process is down,
  `option redispatch` sends its clients to another one (they start a new Streamlit session there).
* WebSockets (`/_stcore/stream`): HAProxy's HTTP mode passes the upgrade through; once upgraded the connection is a
  tunnel that may stay idle up to `timeout tunnel` (a dashboard tab or the wall screen stays open for hours).
* Health checks on Streamlit's own `/_stcore/health` every two seconds; a process failing three in a row is taken
  out until it answers again.
* `X-IOC-Node: <appK>` on every response says which process answered.
* `/_ioc/health`: 200 `ok` while at least one app process is up, else 503 (for an outer load balancer or a monitor);
  `/_ioc/health/<appK>`: that one process's `/_stcore/health`, whatever the cookie says.
* A statistics page (every process's state, sessions, bytes) on a local-only port.

Nothing here imports Streamlit or the database: `render` is a pure function, tested without HAProxy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

NODE_COOKIE = "IOC_NODE"
NODE_HEADER = "X-IOC-Node"
HEALTH_PATH = "/_ioc/health"
APP_HEALTH_PATH = "/_stcore/health"
DEFAULT_BINARY = "/usr/sbin/haproxy"
TUNNEL_TIMEOUT = "1h"


@dataclass(frozen=True)
class Node:
    """One app process: its name (the cookie value and the server's name in HAProxy) and its local port."""

    name: str
    port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Layout:
    """Where HAProxy listens and which processes it sends to."""

    host: str
    port: int
    nodes: tuple[Node, ...]
    stats_port: int

    @property
    def bind(self) -> str:
        host = self.host.strip("[]")
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"


def node_health_path(name: str) -> str:
    return f"{HEALTH_PATH}/{name}"


def find_binary() -> str | None:
    """The haproxy executable: IOC_HAPROXY if set, else /usr/sbin/haproxy, else `haproxy` on the PATH."""
    configured = os.environ.get("IOC_HAPROXY", "").strip()
    if configured:
        return configured if Path(configured).is_file() else None
    if Path(DEFAULT_BINARY).is_file():
        return DEFAULT_BINARY
    return shutil.which("haproxy")


def version(binary: str) -> str:
    """'2.6.12-1+deb12u3' from `haproxy -v` ('' when it cannot be read)."""
    try:
        output = subprocess.run([binary, "-v"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
    match = re.search(r"version (\S+)", output)
    return match.group(1) if match else ""


def check(binary: str, path: Path) -> str | None:
    """None when `haproxy -c` accepts the file, else what it said."""
    result = subprocess.run([binary, "-c", "-q", "-f", str(path)], capture_output=True, text=True, timeout=30)
    if result.returncode == 0:
        return None
    return (result.stderr or result.stdout).strip() or f"haproxy -c exited with code {result.returncode}"


def render(layout: Layout) -> str:
    """The whole haproxy.cfg for `layout`."""
    node_routes = "\n".join(
        f"    use_backend node_{node.name} if {{ path {node_health_path(node.name)} }}" for node in layout.nodes
    )
    servers = "\n".join(
        f"    server {node.name} {node.address} cookie {node.name} check inter 2s fall 3 rise 1"
        for node in layout.nodes
    )
    node_backends = "\n\n".join(
        f"""backend node_{node.name}
    option httpchk GET {APP_HEALTH_PATH}
    http-request set-path {APP_HEALTH_PATH}
    http-response set-header {NODE_HEADER} %[srv_name]
    server {node.name} {node.address} check inter 2s fall 3 rise 1"""
        for node in layout.nodes
    )
    return f"""# Written by `python -m dashboard serve` (dashboard/serving/haproxy.py) at every start; edits are lost.
global
    log stderr format raw local0 notice
    maxconn 4096

defaults
    mode http
    log global
    option dontlognull
    option forwardfor
    option redispatch
    retries 2
    timeout connect 5s
    timeout client 60s
    timeout server 10m
    timeout http-request 30s
    timeout http-keep-alive 15s
    timeout queue 30s
    # An upgraded WebSocket (a dashboard tab, the wall screen) may stay quiet this long.
    timeout tunnel {TUNNEL_TIMEOUT}
    timeout client-fin 30s

frontend ioc
    bind {layout.bind}
    http-request return status 200 content-type text/plain string ok if {{ path {HEALTH_PATH} }} {{ nbsrv(app) gt 0 }}
    http-request return status 503 content-type text/plain string "no app process is up" if {{ path {HEALTH_PATH} }}
{node_routes}
    default_backend app

backend app
    balance roundrobin
    cookie {NODE_COOKIE} insert indirect nocache httponly attr "SameSite=Lax"
    option httpchk GET {APP_HEALTH_PATH}
    http-check expect status 200
    http-response set-header {NODE_HEADER} %[srv_name]
{servers}

{node_backends}

listen stats
    bind 127.0.0.1:{layout.stats_port}
    stats enable
    stats uri /
    stats refresh 5s
"""
