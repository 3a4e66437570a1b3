"""Events operators recorded (the ops table `events`: a storm, a flood, the Huế Festival, a road closure) as extra
Prophet holidays, so a past storm's surge is explained by the storm instead of bending the season or the trend.

Only city-wide events (no wards named) of the kinds that come and go — holiday, festival, weather, incident — and only
those an operator entered: the public holidays the events table also holds are already in models.calendar. Each day
of an event's span is one row of an effect named after the event. Without an operational store beside the data (or
when it cannot be read) there are none: the forecast never fails for want of events.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

KINDS = ("holiday", "festival", "weather", "incident")
Events = tuple[tuple[str, str], ...]  # (effect name, ISO day), picklable for the worker processes


def operator_events(engine: Engine) -> Events:
    """The recorded events of the operational store beside `engine`'s database, as (name, day) pairs."""
    from dashboard.db import event_queries, ops

    url = engine.url.render_as_string(hide_password=False)
    target = ops.ops_url(url)
    if target == "sqlite://" or (target.startswith("sqlite:///") and not Path(target[len("sqlite:///") :]).exists()):
        return ()  # no store yet: do not create one just to read nothing
    try:
        frame = event_queries.list_events(url, kinds=KINDS)
    except Exception:  # an unreadable store must not stop the forecast
        return ()
    rows: list[tuple[str, str]] = []
    for row in frame.itertuples(index=False):
        if row.source != "operator" or event_queries.split_wards(row.wards):
            continue
        for day in pd.date_range(row.start_date, row.end_date, freq="D"):
            rows.append((f"event:{row.kind}:{row.title}"[:120], day.date().isoformat()))
    return tuple(rows)


def holiday_rows(events: Events) -> pd.DataFrame:
    """Prophet's holiday rows (holiday, ds, lower_window, upper_window) of the events."""
    frame = pd.DataFrame(list(events), columns=["holiday", "ds"])
    return frame.assign(ds=pd.to_datetime(frame["ds"]), lower_window=0, upper_window=0)
