"""Streamlit's WebSocket protocol without a browser: the virtual users of `scripts/load_test.py --protocol`.

It lives in scripts/, beside its one user, because it imports `streamlit.proto`: the import contracts keep Streamlit
out of the `dashboard` package except for app.py, web/ and pages/.

A browser tab talks to the app over one WebSocket (`/_stcore/stream`, subprotocol "streamlit"): it sends `BackMsg`
protobufs (`rerun_script` carrying a `ClientState`: the page, the query string and the widgets' values) and receives
`ForwardMsg`s (`new_session`, the page's deltas, ..., `script_finished`). `Session` speaks that protocol with
websocket-client and the installed streamlit's own protobuf classes, so one virtual user costs a thread, not a browser.

A page change is timed from sending `rerun_script` to the `script_finished` message that ends the run (a run the app
restarts itself, FINISHED_EARLY_FOR_RERUN, is followed to its end). Errors: an exception element, an error alert
(`st.error`, what the app shows for a database problem), a script that did not compile, no `script_finished` within
the page timeout, and a closed connection.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import websocket
from streamlit.proto.Alert_pb2 import Alert
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from dashboard.periods import PRESETS

FINISHED = ForwardMsg.ScriptFinishedStatus
DONE = (FINISHED.FINISHED_SUCCESSFULLY, FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
FILTER_KEYS = ("preset", "areas")  # the sidebar's period select and area multiselect (dashboard.web.url_state)
# Widgets whose values this client keeps and sends back with every rerun, as the browser's widget manager does: the
# sidebar's filters (a period preset sets `period_range` through a callback; sending the old range would undo it).
TRACKED_KEYS = ("preset", "period_range", "compare", "areas")
PERIODS_PICKED = ("last_7_days", "this_month", "last_month", "last_30_days", "this_quarter", "year_to_date")


class ProtocolError(RuntimeError):
    """The connection failed, closed, or a run did not finish in time."""


@dataclass
class Run:
    """One script run as the client saw it."""

    ms: float
    errors: list[str] = field(default_factory=list)


@dataclass
class Widget:
    id: str
    kind: str  # the element type: "selectbox", "multiselect", ...
    options: list[str]  # the formatted options, which are what a selectbox/multiselect sends back


def _user_key(widget_id: str) -> str:
    """`$$ID-<hash>-<key>` → key ("" for a widget without a key)."""
    parts = widget_id.split("-", 2)
    return parts[2] if widget_id.startswith("$$ID-") and len(parts) == 3 else ""


class Session:
    """One browser tab's WebSocket session with the app at `base_url` (http://host:port)."""

    def __init__(self, base_url: str, *, cookie: str | None = None, timeout: float = 60) -> None:
        self.base_url = base_url.rstrip("/")
        self.cookie = cookie  # "ioc_session=<token>" for a logged-in user
        self.timeout = timeout
        self.widgets: dict[str, Widget] = {}  # by user key, from the last run's deltas
        self.values: dict[str, WidgetState] = {}  # by widget id: what this tab has set, sent with every rerun
        self.pages: dict[str, str] = {}  # url path → page script hash, from the navigation message
        self.page = ""  # url path of the page shown
        self.query_string = ""  # the address's query as the app last set it (the filters are mirrored there)
        self._ws: websocket.WebSocket | None = None

    def open(self) -> None:
        """Connect: a new server session, so nothing of an earlier connection's widgets is sent again."""
        self.widgets, self.values, self.pages = {}, {}, {}
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        try:
            self._ws = websocket.create_connection(
                f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream",
                subprotocols=["streamlit"],
                origin=self.base_url,
                cookie=self.cookie,
                timeout=self.timeout,
                enable_multithread=True,
            )
        except (OSError, websocket.WebSocketException) as error:
            raise ProtocolError(f"cannot connect: {type(error).__name__}: {error}") from error

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            except (OSError, websocket.WebSocketException):
                pass
            self._ws = None

    # ------------------------------------------------------------ what the browser does
    def open_page(self, url_path: str, query_string: str = "") -> Run:
        """Open a page as a click in the sidebar does (or as the first load of its address)."""
        self.page = url_path
        return self._rerun(query_string)

    def set_filter(self, key: str, value: str | Sequence[str]) -> Run:
        """Change a widget found in the last run (by its key) to a formatted option (a list for a multiselect)."""
        widget = self.widgets.get(key)
        if widget is None:
            raise ProtocolError(f"no widget with key {key!r} on page {self.page!r}")
        state = WidgetState(id=widget.id)
        if widget.kind == "multiselect":
            state.string_array_value.data.extend(list(value))
        else:
            state.string_value = str(value)
        self.values[widget.id] = state
        return self._rerun("")

    def clear_caches(self) -> None:
        """Empty the app's caches (st.cache_data and st.cache_resource, for every session) and this session's state,
        as Streamlit's "Clear cache" does; the next run is a fresh visitor's on a cold app."""
        assert self._ws is not None
        self._ws.send_binary(BackMsg(clear_cache=True).SerializeToString())
        self.widgets, self.values = {}, {}

    def idle(self, seconds: float) -> None:
        """Think: keep reading (answering the server's pings) for `seconds`; a closed connection raises."""
        assert self._ws is not None
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._ws.settimeout(min(left, 1.0))
            try:
                self._ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException) as error:
                raise ProtocolError(f"connection lost while idle: {type(error).__name__}") from error
        self._ws.settimeout(self.timeout)

    # ------------------------------------------------------------ the protocol
    def _rerun(self, query_string: str) -> Run:
        if self._ws is None:
            raise ProtocolError("not connected")
        message = BackMsg()
        state = message.rerun_script
        state.query_string = query_string
        state.page_name = self.page
        if self.page in self.pages:
            state.page_script_hash = self.pages[self.page]
        state.context_info.url = f"{self.base_url}/{self.page}" + (f"?{query_string}" if query_string else "")
        state.context_info.timezone = "Asia/Ho_Chi_Minh"
        state.context_info.locale = "vi-VN"
        state.widget_states.widgets.extend(self.values.values())
        began = time.perf_counter()
        try:
            self._ws.settimeout(self.timeout)
            self._ws.send_binary(message.SerializeToString())
            errors = self._until_finished(began)
        except websocket.WebSocketTimeoutException as error:
            raise ProtocolError(f"no script_finished within {self.timeout:g} s") from error
        except (OSError, websocket.WebSocketException) as error:
            raise ProtocolError(f"connection lost: {type(error).__name__}: {error}") from error
        return Run((time.perf_counter() - began) * 1000, errors)

    def _until_finished(self, began: float) -> list[str]:
        assert self._ws is not None
        errors: list[str] = []
        widgets: dict[str, Widget] = {}
        while True:
            if time.perf_counter() - began > self.timeout:
                raise websocket.WebSocketTimeoutException("page timeout")
            data = self._ws.recv()
            if not isinstance(data, bytes):
                continue
            forward = ForwardMsg()
            forward.ParseFromString(data)
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                self._element(forward.delta.new_element, widgets, errors)
                self._track(forward.delta.new_element)
            elif kind == "page_info_changed":
                self.query_string = forward.page_info_changed.query_string
            elif kind == "navigation":
                self.pages = {page.url_pathname: page.page_script_hash for page in forward.navigation.app_pages}
            elif kind == "script_finished":
                status = forward.script_finished
                if status == FINISHED.FINISHED_WITH_COMPILE_ERROR:
                    errors.append("script did not compile")
                if status != FINISHED.FINISHED_EARLY_FOR_RERUN:
                    self.widgets = widgets or self.widgets
                    return errors

    def _track(self, element: Any) -> None:
        """Keep a tracked widget's value as the browser would: its default when first drawn, the server's value
        when the app set one (`set_value`), else what this client sent."""
        kind = element.WhichOneof("type")
        if kind not in ("selectbox", "multiselect", "date_input"):
            return
        widget = getattr(element, kind)
        if _user_key(widget.id) not in TRACKED_KEYS or (widget.id in self.values and not widget.set_value):
            return
        state = WidgetState(id=widget.id)
        if kind == "selectbox":
            if widget.set_value:
                state.string_value = widget.raw_value
            elif widget.HasField("default"):
                state.string_value = widget.options[widget.default]
            else:
                return
        elif kind == "multiselect":
            chosen = list(widget.raw_values) if widget.set_value else [widget.options[i] for i in widget.default]
            state.string_array_value.data.extend(chosen)
        else:
            state.string_array_value.data.extend(list(widget.value) if widget.set_value else list(widget.default))
        self.values[widget.id] = state

    @staticmethod
    def _element(element: Any, widgets: dict[str, Widget], errors: list[str]) -> None:
        kind = element.WhichOneof("type")
        if kind == "exception":
            errors.append(f"exception: {element.exception.type}: {element.exception.message[:200]}")
        elif kind == "alert" and element.alert.format == Alert.ERROR:
            errors.append(f"error alert: {element.alert.body[:200]}")
        elif kind in ("selectbox", "multiselect"):
            widget = getattr(element, kind)
            widgets[_user_key(widget.id)] = Widget(widget.id, kind, list(widget.options))


# ---------------------------------------------------------------- a virtual user
@dataclass
class Record:
    user: int
    action: str  # "first_load", "page" or "filter"
    target: str  # the page's url path or the filter's key
    page: str  # the url path of the page the action ran on
    ms: float
    ok: bool


@dataclass
class Shared:
    """What all virtual users append to (under the lock)."""

    records: list[Record] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record, problems: Sequence[str] = ()) -> None:
        with self.lock:
            self.records.append(record)
            self.errors.extend(
                {
                    "user": record.user,
                    "action": record.action,
                    "target": record.target,
                    "page": record.page,
                    "error": problem,
                }
                for problem in problems
            )


def virtual_user(
    base_url: str,
    index: int,
    pages: Sequence[str],
    *,
    deadline: float,
    think: float,
    shared: Shared,
    cookie: str | None = None,
    page_timeout: float = 60,
    seed: int = 0,
) -> None:
    """Open a page (each user starts at a different one), then until `deadline` (time.monotonic): think for
    `think` s (± 20 %), then one action: every third one changes a filter (the period or the area), the others open
    the next page. Each user takes at least one step after its first page, however slow the app (a run without a
    single page change would measure nothing). A failed action is recorded as an error and the user reconnects."""
    rng = random.Random(seed * 1000 + index)
    session = Session(base_url, cookie=cookie, timeout=page_timeout)
    step, shown = 0, index  # steps taken after the first page; which page (of `pages`, in turn) is shown
    action, target = "first_load", pages[shown % len(pages)]
    try:
        while True:
            try:
                if session._ws is None:
                    session.open()
                if action == "filter":
                    run = session.set_filter(target, _filter_value(session, target, rng))
                else:
                    run = session.open_page(target)
                problems = list(run.errors)
                if action == "first_load" and not run.errors and "preset" not in session.widgets:
                    problems.append("no sidebar filters on the first page: not signed in? (--cookie or --as-role)")
                shared.add(Record(index, action, target, session.page, run.ms, not problems), problems)
            except ProtocolError as error:
                shared.add(Record(index, action, target, session.page, 0.0, False), [str(error)])
                session.close()  # the next step connects again
            if time.monotonic() + think * 0.8 >= deadline and step > 0:
                return
            try:
                if session._ws is not None:
                    session.idle(think * rng.uniform(0.8, 1.2))
                else:
                    time.sleep(think)
            except ProtocolError as error:
                shared.add(Record(index, "idle", session.page, session.page, 0.0, False), [str(error)])
                session.close()
            step += 1
            if step % 3 == 0 and all(key in session.widgets for key in FILTER_KEYS):
                action, target = "filter", FILTER_KEYS[(step // 3 + index) % len(FILTER_KEYS)]
            else:  # the next page in turn: every page is opened (a user's 12 pages take 18 steps)
                shown += 1
                action, target = "page", pages[shown % len(pages)]
    finally:
        session.close()


def _filter_value(session: Session, key: str, rng: random.Random) -> str | list[str]:
    """A period preset a leader would pick, or one ward picked at random (a third of the time none: the city)."""
    options = session.widgets[key].options
    if key == "areas":
        return [] if rng.random() < 1 / 3 else [rng.choice(options)]
    return options[PRESETS.index(rng.choice(PERIODS_PICKED))]  # the select lists PRESETS in order, formatted


def run_users(
    base_url: str,
    pages: Sequence[str],
    *,
    users: int,
    think: float,
    duration: float,
    cookies: Sequence[str | None] = (None,),
    page_timeout: float = 60,
    seed: int = 0,
    ramp_up: float = 0.0,
) -> tuple[Shared, float]:
    """`users` virtual users for `duration` seconds (started over `ramp_up` seconds; user i sends cookies[i mod n]);
    their records and the elapsed seconds (until the last user ended)."""
    shared = Shared()
    began = time.monotonic()
    deadline = began + duration
    threads = []
    for index in range(users):
        thread = threading.Thread(
            target=virtual_user,
            args=(base_url, index, pages),
            kwargs={
                "deadline": deadline,
                "think": think,
                "shared": shared,
                "cookie": cookies[index % len(cookies)],
                "page_timeout": page_timeout,
                "seed": seed,
            },
            daemon=True,
            name=f"virtual-user-{index}",
        )
        thread.start()
        threads.append(thread)
        if ramp_up and users > 1:
            time.sleep(ramp_up / users)
    for thread in threads:
        thread.join(timeout=duration + page_timeout + 30)
    return shared, time.monotonic() - began


# ---------------------------------------------------------------- page timings (`python -m dashboard bench`)
def time_pages(base_url: str, pages: Sequence[tuple[str, str]], runs: int, cookie: str | None = None) -> list[dict]:
    """Each (name, url path) page: `cold_ms`, its first run after the app's caches were cleared (a `clear_cache`
    message empties st.cache_data and st.cache_resource, so the queries and the engine start afresh), then `runs`
    warm runs (the same page again, query results cached): their p50 and p95. One session, one page at a time, so
    the times are the app's own (on localhost the WebSocket adds about a millisecond)."""
    import numpy as np

    rows = []
    session = Session(base_url, cookie=cookie, timeout=600)
    session.open()
    try:
        for name, url_path in pages:
            session.clear_caches()
            cold = session.open_page(url_path)
            warm = [session.open_page(url_path) for _ in range(runs)]
            problems = sorted({problem for run in (cold, *warm) for problem in run.errors})
            times = [run.ms for run in warm]
            rows.append(
                {
                    "name": name,
                    "path": "/" + url_path,
                    "cold_ms": round(cold.ms, 1),
                    "p50_ms": round(float(np.percentile(times, 50)), 1) if times else None,
                    "p95_ms": round(float(np.percentile(times, 95)), 1) if times else None,
                    "runs": len(times),
                    "errors": problems,
                }
            )
    finally:
        session.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Time every page of a running app (used by `dashboard bench`).")
    parser.add_argument("--url", required=True, help="the running app, http://host:port")
    parser.add_argument("--page", action="append", default=[], metavar="NAME=PATH", help="a page to time (repeat)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cookie", default=None)
    args = parser.parse_args(argv)
    pages = [tuple(item.split("=", 1)) for item in args.page]
    try:
        rows = time_pages(args.url, pages, args.runs, args.cookie)
    except ProtocolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(rows, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
