"""The "Cảnh báo" page's reads and its one write: the alerts live in the operational store (dashboard.db.ops), not in
the served data file, so the page reaches them through `ops_engine(url)`; `cache.query` passes the data engine first,
which these functions ignore."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import alert_queries
from dashboard.db.ops import ops_engine
from dashboard.web import audit


def alert_list(
    _engine, url: str, open_only: bool, start_at=None, end_before=None, *, scope: Scope = WHOLE_CITY
) -> pd.DataFrame:
    """Alerts of the ops store of `url` (open ones, or those opened in [start_at, end_before)) within the user's
    `scope` (given by cache.query)."""
    return alert_queries.list_alerts(
        ops_engine(url), open_only=open_only, opened_from=start_at, opened_before=end_before, scope=scope
    )


def acknowledge(url: str, alert_id: int, who: str, note: str, now: datetime) -> bool:
    """Acknowledge one open alert; the page clears its cached reads afterwards."""
    done = alert_queries.acknowledge(ops_engine(url), alert_id, who, note, now)
    if done:
        audit.log("alert_ack", str(alert_id), note=note)
    return done
