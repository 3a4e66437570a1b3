"""Leader directives ("ý kiến chỉ đạo") in the operational store (dashboard.db.ops): a directive about a figure, a
ward, an agency or a case, its assignee agency and due date, and every status change with who and when.

Stored statuses: new (mới), in_progress (đang thực hiện), done (xong). "Quá hạn" (overdue) is derived, never stored:
a directive not done whose due date is before the day of `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from dashboard.access.scope import WHOLE_CITY, Scope
from dashboard.db import ops
from dashboard.db.engine import fetch_frame, translating_errors

D = ops.directives.c
H = ops.directive_history.c
STATUSES = ("new", "in_progress", "done")
SHOWN_STATUSES = ("new", "in_progress", "overdue", "done")
SUBJECT_KINDS = ("figure", "ward", "agency", "case")
TEXT_MAX = 4000
COLUMNS = [
    "id",
    "text",
    "subject_kind",
    "subject_key",
    "assignee",
    "due_date",
    "status",
    "created_by",
    "created_at",
    "closed_at",
    "shown_status",
]


class DirectiveError(ValueError):
    """A directive or a status change that cannot be stored; the message says why."""


def _ops(engine_or_url: Engine | str | None) -> Engine:
    return engine_or_url if isinstance(engine_or_url, Engine) else ops.ops_engine(engine_or_url)


def add_directive(
    engine_or_url: Engine | str | None,
    text: str,
    subject_kind: str,
    subject_key: str,
    *,
    assignee: str | None = None,
    due_date: date | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> int:
    """Store a new directive (status new) and its first history row; its id."""
    text = (text or "").strip()
    if not text:
        raise DirectiveError("the directive's text is empty")
    if len(text) > TEXT_MAX:
        raise DirectiveError(f"the directive's text has {len(text)} characters (at most {TEXT_MAX})")
    if subject_kind not in SUBJECT_KINDS:
        raise DirectiveError(f"subject kind {subject_kind!r} is not one of {', '.join(SUBJECT_KINDS)}")
    subject_key = (subject_key or "").strip()
    if not subject_key:
        raise DirectiveError("the directive names no subject")
    now = now or datetime.now().replace(microsecond=0)
    engine = _ops(engine_or_url)
    row = {
        "text": text,
        "subject_kind": subject_kind,
        "subject_key": subject_key[:255],
        "assignee": (assignee or "").strip() or None,
        "due_date": due_date,
        "status": "new",
        "created_by": created_by,
        "created_at": now,
        "closed_at": None,
    }
    with translating_errors(engine), engine.begin() as connection:
        new_id = int(connection.execute(ops.directives.insert().returning(D.id), row).scalar_one())
        connection.execute(
            ops.directive_history.insert(),
            {"directive_id": new_id, "status": "new", "changed_by": created_by, "changed_at": now},
        )
    return new_id


def set_status(
    engine_or_url: Engine | str | None,
    directive_id: int,
    status: str,
    who: str | None,
    now: datetime | None = None,
    note: str | None = None,
) -> bool:
    """Change a directive's status and record it in its history; False when there is no such directive or the status
    is already that one."""
    if status not in STATUSES:
        raise DirectiveError(f"status {status!r} is not one of {', '.join(STATUSES)} (overdue is derived)")
    now = now or datetime.now().replace(microsecond=0)
    engine = _ops(engine_or_url)
    with translating_errors(engine), engine.begin() as connection:
        changed = connection.execute(
            update(ops.directives)
            .where(D.id == directive_id, D.status != status)
            .values(status=status, closed_at=now if status == "done" else None)
        ).rowcount
        if changed != 1:
            return False
        connection.execute(
            ops.directive_history.insert(),
            {
                "directive_id": directive_id,
                "status": status,
                "changed_by": who,
                "changed_at": now,
                "note": (note or "").strip() or None,
            },
        )
    return True


def shown_status(status: str, due_date, today: date) -> str:
    """The status a person sees: overdue for a directive not done whose due date has passed."""
    if status != "done" and due_date is not None and not pd.isna(due_date) and pd.Timestamp(due_date).date() < today:
        return "overdue"
    return status


def _in_scope(scope: Scope):
    """Directives of a restricted scope: assigned to one of its agencies, or about one of its agencies or wards."""
    clauses = []
    if scope.agencies:
        agencies = list(scope.agencies)
        clauses += [D.assignee.in_(agencies), and_(D.subject_kind == "agency", D.subject_key.in_(agencies))]
    if scope.areas:
        clauses.append(and_(D.subject_kind == "ward", D.subject_key.in_(list(scope.areas))))
    return or_(*clauses)


def list_directives(
    engine_or_url: Engine | str | None,
    now: datetime,
    *,
    open_only: bool = False,
    statuses: Sequence[str] = (),
    assignees: Sequence[str] = (),
    created_from: date | None = None,
    created_to: date | None = None,
    closed_from: date | None = None,
    closed_to: date | None = None,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """Directives, newest first, with `shown_status` (new / in_progress / overdue / done at `now`). `statuses` filters
    on the shown status; created_/closed_ bounds are whole days. A restricted `scope` keeps the directives assigned
    to one of its agencies or about one of its agencies or wards."""
    conditions = [] if not scope.restricted else [_in_scope(scope)]
    if open_only:
        conditions.append(D.status != "done")
    if assignees:
        conditions.append(D.assignee.in_(list(assignees)))
    if created_from is not None:
        conditions.append(D.created_at >= datetime.combine(created_from, datetime.min.time()))
    if created_to is not None:
        conditions.append(D.created_at < datetime.combine(created_to + timedelta(days=1), datetime.min.time()))
    if closed_from is not None:
        conditions.append(D.closed_at >= datetime.combine(closed_from, datetime.min.time()))
    if closed_to is not None:
        conditions.append(D.closed_at < datetime.combine(closed_to + timedelta(days=1), datetime.min.time()))
    statement = select(ops.directives).where(*conditions).order_by(D.created_at.desc(), D.id.desc())
    frame = fetch_frame(_ops(engine_or_url), statement)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["due_date"] = pd.to_datetime(frame["due_date"]).dt.date
    today = now.date()
    frame["shown_status"] = [shown_status(s, d, today) for s, d in zip(frame["status"], frame["due_date"], strict=True)]
    if statuses:
        frame = frame[frame["shown_status"].isin(list(statuses))]
    return frame[COLUMNS].reset_index(drop=True)


def history(engine_or_url: Engine | str | None, directive_id: int | None = None) -> pd.DataFrame:
    """Status changes, oldest first (of one directive, or all): directive_id, status, changed_by, changed_at, note."""
    statement = select(H.directive_id, H.status, H.changed_by, H.changed_at, H.note).order_by(H.changed_at, H.id)
    if directive_id is not None:
        statement = statement.where(H.directive_id == directive_id)
    return fetch_frame(_ops(engine_or_url), statement)


def for_briefing(
    engine_or_url: Engine | str | None,
    week_start: date,
    week_end: date,
    now: datetime,
    *,
    scope: Scope = WHOLE_CITY,
) -> pd.DataFrame:
    """What the weekly briefing lists: every directive open at `now` (created by the end of the week) and those
    closed during the week (Monday to Sunday), within `scope`. Oldest first."""
    frame = list_directives(engine_or_url, now, created_to=week_end, scope=scope)
    if frame.empty:
        return frame
    closed = pd.to_datetime(frame["closed_at"])
    in_week = (closed >= pd.Timestamp(week_start)) & (closed < pd.Timestamp(week_end + timedelta(days=1)))
    keep = (frame["status"] != "done") | in_week
    return frame[keep].sort_values(["created_at", "id"]).reset_index(drop=True)


def overdue(engine_or_url: Engine | str | None, now: datetime) -> pd.DataFrame:
    """Directives overdue at `now` (for the alert rule directive_overdue)."""
    return list_directives(engine_or_url, now, statuses=("overdue",))
