"""The pages' way to the access log (dashboard.db.audit): `log(action, target, **details)` records what the signed-in
user of this browser session did. It never raises: a log that cannot be written is a warning in the server's log,
never an error on the page."""

from __future__ import annotations

import logging

from dashboard.db import audit
from dashboard.db.ops import ops_engine
from dashboard.web import cache

_log = logging.getLogger(__name__)


def _who() -> tuple[str, str]:
    """(actor, role) of this session: the signed-in user, the kiosk, or a visitor ("", "public")."""
    try:
        from dashboard.web import auth  # S19a's module; imported here so the log works before and without it

        user = auth.current_user()
        return user.name, str(user.role)
    except Exception:  # noqa: BLE001 — no session machinery (yet): a visitor
        return "", "public"


def log(action: str, target: str = "", **details) -> None:
    """Append `action` on `target` with `details` (filters, rows, format …) for the current user. Never raises."""
    try:
        actor, role = _who()
        clean = {key: value for key, value in details.items() if value not in (None, "", (), [])}
        audit.record(
            ops_engine(cache.current_url()), actor=actor, role=role, action=action, target=target, details=clean
        )
    except Exception as error:  # noqa: BLE001
        _log.warning("access log: could not record %s: %s", action, error)
