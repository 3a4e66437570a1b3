"""The open311_pull and inbox jobs against real local servers and folders (no network): a GeoReport v2 server on
127.0.0.1 that caps its answers at 4 requests, endpoints that fail in each way, and an inbox folder."""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import delete, select, text

from dashboard.db import ops
from dashboard.db.engine import make_engine
from dashboard.jobs import inbox as inbox_job
from dashboard.jobs import open311
from dashboard.jobs.registry import JobContext

CAP = 4  # requests per response, as a real server caps them (silently)
NOW_1 = datetime(2026, 11, 20, 12, 0)
NOW_2 = datetime(2026, 11, 20, 14, 0)


def _request(number: int, requested: datetime, status: str = "open", updated: datetime | None = None) -> dict:
    return {
        "service_request_id": f"R{number:03d}",
        "status": status,
        "service_name": "Rác thải",
        "description": f"request {number}",
        "requested_datetime": requested.isoformat() + "+07:00",
        "updated_datetime": (updated or requested).isoformat() + "+07:00",
        "address": "Phú Hội",
    }


class GeoReport:
    """A GeoReport v2 server: `requests.json` filtered by start_date/end_date on requested_datetime (newest first,
    at most CAP) or by service_request_id; `mode` makes it fail (500, bad JSON, too slow)."""

    def __init__(self) -> None:
        self.requests: dict[str, dict] = {}
        self.mode = "ok"
        self.calls: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(parts.query).items()}
                owner.calls.append(params)
                if owner.mode == "slow":
                    time.sleep(1.5)
                if owner.mode == "500" or not parts.path.endswith("/v2/requests.json"):
                    self.send_response(500 if owner.mode == "500" else 404)
                    self.end_headers()
                    return
                body = b"<html>not json" if owner.mode == "badjson" else json.dumps(owner.answer(params)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/open311/v2"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def answer(self, params: dict) -> list[dict]:
        if "service_request_id" in params:
            wanted = params["service_request_id"].split(",")
            return [self.requests[i] for i in wanted if i in self.requests]
        start = datetime.fromisoformat(params["start_date"])
        end = datetime.fromisoformat(params["end_date"])
        found = [r for r in self.requests.values() if start <= datetime.fromisoformat(r["requested_datetime"]) <= end]
        found.sort(key=lambda r: r["requested_datetime"], reverse=True)
        return found[:CAP]

    def add(self, *requests: dict) -> None:
        self.requests.update({r["service_request_id"]: r for r in requests})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def servers():
    made: list[GeoReport] = []

    def make() -> GeoReport:
        made.append(GeoReport())
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.fixture
def db_url(any_db_url: str) -> str:
    """A fresh database with the schema; the ops rows these tests use cleared (they persist on PostgreSQL)."""
    with ops.ops_engine(any_db_url).begin() as connection:
        connection.execute(delete(ops.pull_state))
    return any_db_url


def _feedback(url: str, source: str) -> dict[str, tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT source_id, status, resolved_at FROM feedback WHERE source = :s"), {"s": source}
            ).all()
    finally:
        engine.dispose()
    return {row[0]: (row[1], row[2]) for row in rows}


def _log(url: str, source: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text(
                    "SELECT status, rows_read, rows_inserted, rows_updated, rows_unchanged FROM import_log "
                    "WHERE source = :s ORDER BY started_at"
                ),
                {"s": source},
            ).all()
    finally:
        engine.dispose()


def _state(url: str, source: str):
    with ops.ops_engine(url).connect() as connection:
        return connection.execute(select(ops.pull_state).where(ops.pull_state.c.source == f"open311:{source}")).first()


def test_requests_url_and_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard import config

    assert open311.requests_url("http://h/open311/v2/") == "http://h/open311/v2/requests.json"
    assert open311.requests_url("http://h/v2/requests.json?jurisdiction_id=hue") == (
        "http://h/v2/requests.json?jurisdiction_id=hue"
    )
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", "hue_s=http://a/v2, https://open311.hue.gov.vn/v2")
    assert config.value("IOC_OPEN311_ENDPOINTS") == (
        ("hue_s", "http://a/v2"),
        ("open311_hue_gov_vn", "https://open311.hue.gov.vn/v2"),
    )
    for bad in ("hue_s=ftp://a/v2", "not a url", "a=http://x/v2,a=http://y/v2"):
        monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", bad)
        with pytest.raises(config.SettingError, match="IOC_OPEN311_ENDPOINTS.*source=URL pairs"):
            config.value("IOC_OPEN311_ENDPOINTS")


def test_two_pulls_three_pages_and_an_update(db_url: str, servers, monkeypatch: pytest.MonkeyPatch) -> None:
    server = servers()
    base = datetime(2026, 11, 18, 8, 0)
    server.add(
        *(_request(n, base + timedelta(hours=5 * n)) for n in range(10))
    )  # 08:00 on the 18th … 05:00 on the 20th
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", f"srv={server.url}")

    first = open311.open311_pull(JobContext(db_url, NOW_1))
    assert first.rows == 10
    summary = first.details["endpoints"]["srv"]
    assert (summary["requests"], summary["inserted"], summary["updated"], summary["rejected"]) == (10, 10, 0, 0)
    assert len([c for c in server.calls if "start_date" in c]) > 3  # more than one page: the window was split
    stored = _feedback(db_url, "srv")
    assert sorted(stored) == [f"R{n:03d}" for n in range(10)]
    assert {status for status, _ in stored.values()} == {"new"}
    state = _state(db_url, "srv")
    assert state.last_success_at == NOW_1
    assert state.watermark == base + timedelta(hours=45)
    assert len(json.loads(state.details)["open_ids"]) == 10

    # Between the pulls: R003 (requested on the 19th, before the next window) is closed; two new requests arrive.
    server.add(
        _request(3, base + timedelta(hours=15), "closed", updated=datetime(2026, 11, 20, 13, 0)),
        _request(10, datetime(2026, 11, 20, 12, 30)),
        _request(11, datetime(2026, 11, 20, 13, 30)),
    )
    server.calls.clear()
    second = open311.open311_pull(JobContext(db_url, NOW_2))
    summary = second.details["endpoints"]["srv"]
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == (2, 1, 0)
    assert summary["from"] == "2026-11-20T11:00:00"  # last success minus the hour of overlap
    assert any("service_request_id" in c and "R003" in c["service_request_id"] for c in server.calls)
    stored = _feedback(db_url, "srv")
    assert sorted(stored) == [f"R{n:03d}" for n in range(12)]  # nothing lost, nothing twice
    assert stored["R003"] == ("resolved", datetime(2026, 11, 20, 13, 0))
    assert sum(status == "new" for status, _ in stored.values()) == 11
    state = _state(db_url, "srv")
    assert (state.last_success_at, state.watermark) == (NOW_2, datetime(2026, 11, 20, 13, 30))
    assert "R003" not in json.loads(state.details)["open_ids"]
    assert [row[0] for row in _log(db_url, "srv")] == ["done", "done"]

    third = open311.open311_pull(JobContext(db_url, NOW_2 + timedelta(minutes=15)))  # nothing new: nothing changes
    summary = third.details["endpoints"]["srv"]
    assert (summary["inserted"], summary["updated"]) == (0, 0)
    assert len(_feedback(db_url, "srv")) == 12


@pytest.mark.parametrize("mode", ["500", "badjson", "slow"])
def test_a_failing_endpoint_does_not_stop_the_others(
    db_url: str, servers, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    good, bad = servers(), servers()
    good.add(_request(1, datetime(2026, 11, 20, 9, 0)), _request(2, datetime(2026, 11, 20, 10, 0)))
    bad.add(_request(1, datetime(2026, 11, 20, 9, 0)))
    bad.mode = mode
    monkeypatch.setattr(open311, "TIMEOUT_SECONDS", 0.5)
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", f"bad={bad.url},good={good.url}")

    outcome = open311.open311_pull(JobContext(db_url, NOW_1))
    assert outcome.details["failed"] == ["bad"]
    error = outcome.details["endpoints"]["bad"]["error"]
    expected = {"500": "HTTP 500", "badjson": "did not return JSON", "slow": "no answer from"}[mode]
    assert expected in error and bad.url in error
    assert outcome.details["endpoints"]["good"]["inserted"] == 2
    assert sorted(_feedback(db_url, "good")) == ["R001", "R002"]
    assert _feedback(db_url, "bad") == {}
    assert _state(db_url, "bad") is None  # the next pull starts where the last good one ended
    assert _state(db_url, "good").last_success_at == NOW_1

    good.mode = mode
    with pytest.raises(open311.PullError, match="every Open311 endpoint failed: bad: .*; good: "):
        open311.open311_pull(JobContext(db_url, NOW_2))


def test_no_endpoints_is_a_quiet_run(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", "")
    outcome = open311.open311_pull(JobContext(db_url, NOW_1))
    assert (outcome.rows, outcome.details) == (0, {"endpoints": {}, "failed": []})


def test_a_bad_request_is_rejected_and_the_rest_imported(db_url: str, servers, monkeypatch: pytest.MonkeyPatch) -> None:
    server = servers()
    future = _request(3, datetime(2026, 11, 20, 11, 0))
    future["service_request_id"] = ""  # no id: the importer rejects it
    server.add(_request(1, datetime(2026, 11, 20, 9, 0)), _request(2, datetime(2026, 11, 20, 10, 0)), future)
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", f"srv={server.url}")
    outcome = open311.open311_pull(JobContext(db_url, NOW_1))
    summary = outcome.details["endpoints"]["srv"]
    assert (summary["status"], summary["inserted"], summary["rejected"]) == ("done", 2, 1)
    assert sorted(_feedback(db_url, "srv")) == ["R001", "R002"]
    assert _state(db_url, "srv").last_success_at == NOW_1
    assert json.loads(_state(db_url, "srv").details)["open_ids"] == ["R001", "R002"]


def test_a_closed_request_updated_in_the_future_is_rejected(db_url: str, servers, monkeypatch) -> None:
    """A closed request's resolved time is its last update: one dated after the pull (beyond the clock skew the
    importer allows) is a bad row, not a report resolved tomorrow; an open request's update time is not used."""
    server = servers()
    server.add(
        _request(1, datetime(2026, 11, 20, 9, 0), "closed", updated=datetime(2026, 11, 20, 10, 30)),
        _request(2, datetime(2026, 11, 20, 9, 30), "closed", updated=datetime(2026, 11, 21, 9, 0)),
        _request(3, datetime(2026, 11, 20, 10, 0), "open", updated=datetime(2026, 11, 21, 9, 0)),
    )
    monkeypatch.setenv("IOC_OPEN311_ENDPOINTS", f"srv={server.url}")
    summary = open311.open311_pull(JobContext(db_url, NOW_1)).details["endpoints"]["srv"]
    assert (summary["inserted"], summary["rejected"]) == (2, 1)
    assert _feedback(db_url, "srv") == {"R001": ("resolved", datetime(2026, 11, 20, 10, 30)), "R003": ("new", None)}
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            rejects = connection.execute(text("SELECT reason, column_name FROM import_rejects")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rejects] == [("future_date", "updated_datetime")]


# ---------------------------------------------------------------- inbox
GOOD_CSV = (
    "service_request_id,requested_datetime,status,service_name\n"
    "A1,2026-11-19 08:00,open,Rác thải\n"
    "A2,2026-11-19 09:00,closed,Chiếu sáng\n"
    "A3,2026-11-19 10:00,open,Giao thông\n"
)
BAD_CSV = (  # two of three rows rejected (no received time, received in the future): above the 5 % allowed
    "service_request_id,requested_datetime,status,service_name\n"
    "B1,2026-11-19 08:00,open,Rác thải\n"
    "B2,,open,Rác thải\n"
    "B3,2027-01-01 08:00,open,Rác thải\n"
)


def _drop(folder: Path, name: str, content: str, age_seconds: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content, encoding="utf-8")
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_inbox_imports_moves_and_waits(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "inbox"
    monkeypatch.setenv("IOC_INBOX_DIR", str(root))
    monkeypatch.setattr(inbox_job, "SECOND_LOOK_SECONDS", 0.05)
    _drop(root / "feedback", "phan_anh_2026-11-20.csv", GOOD_CSV, 60)
    _drop(root / "feedback", "xau.csv", BAD_CSV, 60)
    growing = _drop(root / "feedback", "dang_ghi.csv", GOOD_CSV, 0)  # just written: maybe still growing
    _drop(root / "feedback", "upload.csv.part", GOOD_CSV, 60)

    outcome = inbox_job.inbox(JobContext(db_url, NOW_1))
    assert outcome.rows == 3
    by_file = {f["file"]: f for f in outcome.details["files"]}
    assert set(by_file) == {"phan_anh_2026-11-20.csv", "xau.csv"}
    assert by_file["phan_anh_2026-11-20.csv"]["status"] == "done"
    assert by_file["phan_anh_2026-11-20.csv"]["source"] == "phan_anh"
    assert by_file["xau.csv"]["status"] == "failed"
    assert outcome.details["failed"] == ["xau.csv"]
    assert outcome.details["left_for_next_run"] == ["feedback/dang_ghi.csv"]

    assert (root / "feedback/done/phan_anh_2026-11-20.csv").read_text(encoding="utf-8") == GOOD_CSV
    assert (root / "feedback/done/phan_anh_2026-11-20.csv.rejects.csv").exists()
    stored = _feedback(db_url, "phan_anh")
    assert sorted(stored) == ["A1", "A2", "A3"]
    assert stored["A2"][0] == "resolved"

    assert (root / "feedback/failed/xau.csv").exists()
    report = (root / "feedback/failed/xau.csv.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(report) == 3  # the header and the two rejected rows
    assert report[0].startswith("row_number")
    error = (root / "feedback/failed/xau.csv.error.txt").read_text(encoding="utf-8")
    assert error.startswith("xau.csv: 2 of 3 rows rejected (66.7%) is more than the allowed 5.0%; nothing was imported")
    assert _feedback(db_url, "xau") == {}
    assert [row[0] for row in _log(db_url, "xau")] == ["aborted"]

    assert growing.exists() and (root / "feedback/upload.csv.part").exists()
    assert sorted(p.name for p in (root / "feedback").iterdir()) == [
        ".reports",
        "dang_ghi.csv",
        "done",
        "failed",
        "upload.csv.part",
    ]

    # A file whose size changes between the two looks waits too.
    stamp = time.time() - 60
    os.utime(growing, (stamp, stamp))

    def appending(_seconds: float) -> None:
        with growing.open("a", encoding="utf-8") as handle:
            handle.write("A4,2026-11-19 11:00,open,Rác thải\n")

    monkeypatch.setattr(inbox_job.time, "sleep", appending)
    ready, left = inbox_job.settled([growing])
    assert (ready, left) == ([], [growing])
    monkeypatch.undo()
    monkeypatch.setenv("IOC_INBOX_DIR", str(root))
    monkeypatch.setattr(inbox_job, "SECOND_LOOK_SECONDS", 0.05)
    growing.write_text(GOOD_CSV, encoding="utf-8")

    # Once it has settled it goes in on the next run; the same name again lands beside the first in done/.
    stamp = time.time() - 60
    os.utime(growing, (stamp, stamp))
    _drop(root / "feedback", "phan_anh_2026-11-20.csv", GOOD_CSV, 60)
    outcome = inbox_job.inbox(JobContext(db_url, NOW_1))
    assert [(f["file"], f["status"], f["inserted"], f["unchanged"]) for f in outcome.details["files"]] == [
        ("dang_ghi.csv", "done", 3, 0),
        ("phan_anh_2026-11-20.csv", "done", 0, 3),
    ]
    done = sorted(p.name for p in (root / "feedback/done").iterdir() if not p.name.endswith(".rejects.csv"))
    assert len(done) == 3 and done[0] == "dang_ghi.csv" and done[1] == "phan_anh_2026-11-20.csv"
    assert done[2].startswith("phan_anh_2026-11-20_") and done[2].endswith(".csv")
    assert len(_feedback(db_url, "phan_anh")) == 3
