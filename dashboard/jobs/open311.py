"""`open311_pull`: every 15 minutes, new and changed service requests from each Open311 GeoReport v2 endpoint of
`IOC_OPEN311_ENDPOINTS`, through the same importer as `python -m dashboard import feedback FILE --source SOURCE`.

Per endpoint and pull:
- **Window.** `requests.json?start_date=…&end_date=…` from the end of the last successful pull minus an hour of
  overlap (a request the server saved late is still seen) to the run's time; the first pull goes back 90 days (the
  spec's default range). Times are sent as ISO 8601 with the city's UTC offset.
- **Paging.** GeoReport v2 servers cap the requests per response (often 1,000) and say nothing about it. A window
  whose response holds as many requests as the largest response seen from that endpoint may have been cut: it is
  split in two halves, each asked again, down to one second. This needs no server-specific `page` parameter and
  works whatever order the server returns. Requests seen twice (window edges) are kept once.
- **Updates.** Per the spec `start_date`/`end_date` select on `requested_datetime`, so a request opened before the
  window and closed during it would not be in the window: the ids still open after the last pull (kept in
  `pull_state.details`, newest 1,000) are asked again by `service_request_id=id1,id2,…` (50 per call).
- **Import.** The rows go to a temporary JSON file imported with `--source SOURCE`: same rejects, `import_log` and
  upsert on (source, source_id), so a changed request is updated in place. Unlike a file an operator imports, a
  feed is not refused for its share of rejects (one bad request would otherwise block the endpoint for good): the
  rejected requests are in `import_rejects` and counted in the run's details, the others are imported.
- **Failures.** A timeout, an HTTP error or a response that is not a GeoReport JSON list fails that endpoint only
  (its message is in the outcome's details, the watermark stays where it was, so the next pull covers the gap).
  The job raises (and the run is marked failed) only when every endpoint failed.
"""

from __future__ import annotations

import json
import tempfile
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select

from dashboard import config
from dashboard.db import audit, ops
from dashboard.ingest.importer import ImportOptions
from dashboard.jobs.importing import import_file
from dashboard.jobs.registry import JobContext, JobOutcome, job

OVERLAP = timedelta(hours=1)
FIRST_PULL = timedelta(days=90)
TIMEOUT_SECONDS = 30
IDS_PER_CALL = 50
OPEN_IDS_KEPT = 1000
SMALLEST_WINDOW = timedelta(seconds=1)
NO_ID = "\0no-id:"  # keys of requests without a service_request_id in one pull
MAX_CALLS = 500  # per endpoint and pull: a server that never stops capping cannot keep the worker busy


class PullError(RuntimeError):
    """One endpoint could not be read (timeout, HTTP error, not GeoReport JSON)."""


def requests_url(base: str) -> str:
    """The `requests.json` URL of an endpoint given as its v2 base or as the requests URL itself."""
    parts = urlsplit(base)
    path = parts.path
    if not path.endswith(".json"):
        path = path.rstrip("/") + "/requests.json"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _stamp(moment: datetime) -> str:
    return moment.replace(tzinfo=ZoneInfo(config.timezone()), microsecond=0).isoformat()


def fetch(url: str, params: dict[str, str], timeout: float | None = None) -> list[dict]:
    """One GET of requests.json; the list of request objects or PullError."""
    query = urlencode(params)
    full = url + ("&" if urlsplit(url).query else "?") + query
    request = urllib.request.Request(full, headers={"Accept": "application/json", "User-Agent": "hue-ioc/1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout or TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only: the setting checks)
            body = response.read()
    except urllib.error.HTTPError as error:
        raise PullError(f"HTTP {error.code} {error.reason} from {url}") from None
    except (TimeoutError, urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise PullError(f"no answer from {url}: {reason}") from None
    try:
        document = json.loads(body)
    except ValueError as error:
        raise PullError(f"{url} did not return JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("service_requests"), list):
        document = document["service_requests"]  # some servers wrap the list
    if not isinstance(document, list) or not all(isinstance(row, dict) for row in document):
        raise PullError(f"{url} did not return a list of service requests")
    return document


class _Pull:
    """The requests of one endpoint for one pull, each kept once (by service_request_id)."""

    def __init__(self, url: str, cap: int) -> None:
        self.url, self.cap, self.calls = url, cap, 0
        self.rows: dict[str, dict] = {}

    def _get(self, params: dict[str, str]) -> list[dict]:
        if self.calls >= MAX_CALLS:
            raise PullError(f"{self.url}: more than {MAX_CALLS} calls in one pull; stopped")
        self.calls += 1
        found = fetch(self.url, params)
        for row in found:
            key = str(row.get("service_request_id") or "").strip()
            # a request without an id still goes to the importer, which rejects it (once, however often it came)
            self.rows[key or NO_ID + json.dumps(row, sort_keys=True, default=str)] = row
        return found

    def window(self, start: datetime, end: datetime) -> None:
        found = self._get({"start_date": _stamp(start), "end_date": _stamp(end)})
        cut = bool(found) and len(found) >= self.cap  # as many as the most the server ever gave: maybe cut off
        self.cap = max(self.cap, len(found))
        if cut and end - start > SMALLEST_WINDOW:
            middle = start + (end - start) / 2
            self.window(start, middle)
            self.window(middle, end)

    def ids(self, ids: list[str]) -> None:
        for first in range(0, len(ids), IDS_PER_CALL):
            self._get({"service_request_id": ",".join(ids[first : first + IDS_PER_CALL])})


def _state(url: str, source: str) -> dict[str, Any]:
    key = f"open311:{source}"
    with ops.ops_engine(url).connect() as connection:
        row = connection.execute(select(ops.pull_state).where(ops.pull_state.c.source == key)).mappings().first()
    if row is None:
        return {"key": key, "last_success_at": None, "watermark": None, "details": {}}
    return {**row, "key": key, "details": json.loads(row["details"] or "{}")}


def _save_state(url: str, key: str, values: dict[str, Any]) -> None:
    table = ops.pull_state
    values = {**values, "details": json.dumps(values["details"], ensure_ascii=False)}
    with ops.ops_engine(url).begin() as connection:
        if connection.execute(select(table.c.source).where(table.c.source == key)).first():
            connection.execute(table.update().where(table.c.source == key).values(**values))
        else:
            connection.execute(table.insert().values(source=key, **values))


def _time(value: Any) -> datetime | None:
    """A GeoReport timestamp as naive city time (None when unreadable)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(config.timezone())).replace(tzinfo=None)
    return moment


def pull_endpoint(url: str, source: str, endpoint: str, now: datetime) -> dict[str, Any]:
    """Pull one endpoint and import what it returned; the summary for the job's details (PullError on failure)."""
    state = _state(url, source)
    details = state["details"]
    start = (state["last_success_at"] - OVERLAP) if state["last_success_at"] else now - FIRST_PULL
    pull = _Pull(requests_url(endpoint), int(details.get("cap") or 0))
    pull.window(start, now)
    known_open = [i for i in details.get("open_ids", []) if i not in pull.rows]
    pull.ids(known_open)
    summary: dict[str, Any] = {
        "status": "done",
        "from": start.isoformat(timespec="seconds"),
        "to": now.isoformat(timespec="seconds"),
        "calls": pull.calls,
        "requests": len(pull.rows),
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
    }
    if pull.rows:
        with tempfile.TemporaryDirectory(prefix="open311-") as folder:
            path = Path(folder) / f"{source}_{now:%Y%m%dT%H%M}.json"
            path.write_text(json.dumps(list(pull.rows.values()), ensure_ascii=False), encoding="utf-8")
            result = import_file(url, ImportOptions("feedback", path, source=source, now=now, max_reject_rate=1.0))
        summary.update(
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            rejected=result.rejected,
            import_id=result.import_id,
        )
        audit.record_for(url, actor="worker", role="worker", action="import", target=source, **summary)
    still_open = {**{i: "" for i in details.get("open_ids", [])}}
    for key, row in pull.rows.items():
        if key.startswith(NO_ID):
            continue
        if str(row.get("status") or "").strip().lower() == "closed":
            still_open.pop(key, None)
        else:
            still_open[key] = str(row.get("requested_datetime") or "")
    open_ids = sorted(still_open, key=lambda i: (still_open[i], i))[-OPEN_IDS_KEPT:]
    seen = [
        t for t in (_time(r.get("updated_datetime") or r.get("requested_datetime")) for r in pull.rows.values()) if t
    ]
    watermark = max([state["watermark"], *seen] if state["watermark"] else seen, default=None)
    _save_state(
        url,
        state["key"],
        {"last_success_at": now, "watermark": watermark, "details": {"cap": pull.cap, "open_ids": open_ids}},
    )
    return summary


@job("open311_pull", "*/15 * * * *", "Pull new and changed requests from the Open311 endpoints (IOC_OPEN311_ENDPOINTS)")
def open311_pull(ctx: JobContext) -> JobOutcome:
    endpoints = config.value("IOC_OPEN311_ENDPOINTS")
    results: dict[str, dict[str, Any]] = {}
    rows = 0
    for source, endpoint in endpoints:
        try:
            results[source] = pull_endpoint(ctx.url, source, endpoint, ctx.now)
        except Exception as error:  # one endpoint's failure never stops the others
            results[source] = {"status": "failed", "error": str(error) or type(error).__name__}
            continue
        rows += results[source]["inserted"] + results[source]["updated"]
    failed = {s: r["error"] for s, r in results.items() if r["status"] == "failed"}
    if endpoints and len(failed) == len(endpoints):
        raise PullError("every Open311 endpoint failed: " + "; ".join(f"{s}: {e}" for s, e in failed.items()))
    return JobOutcome(rows=rows, details={"endpoints": results, "failed": sorted(failed)})
