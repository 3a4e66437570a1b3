"""Kiosk tokens: a wall PC opens /wall?token=… without a password (tokens made and revoked by the admin).

The table `kiosk_tokens` is declared with the other account tables (dashboard.db.accounts); only the token's SHA-256
is stored, so the token is shown once, when it is made.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from dashboard.access.identity import User
from dashboard.db.accounts import (
    SEEN_EVERY,
    AccountError,
    check_name,
    kiosk_tokens,
    new_token,
    normalise_name,
    token_digest,
)


def add_kiosk_token(engine: Engine, label: str, *, created_by: str = "", now: datetime | None = None) -> str:
    """A new wall token under `label`; returns the token (shown once: only its SHA-256 is stored)."""
    label = check_name(label)
    token = new_token()
    with engine.begin() as connection:
        connection.execute(  # a revoked token's label can be given again
            delete(kiosk_tokens).where(kiosk_tokens.c.label == label, kiosk_tokens.c.revoked_at.is_not(None))
        )
        if connection.execute(select(kiosk_tokens.c.label).where(kiosk_tokens.c.label == label)).first():
            raise AccountError(f"kiosk token {label!r} already exists (revoke it first, or choose another label)")
        connection.execute(
            insert(kiosk_tokens).values(
                label=label,
                token_sha256=token_digest(token),
                created_by=created_by or None,
                created_at=now or datetime.now(),
            )
        )
    return token


def list_kiosk_tokens(engine: Engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(kiosk_tokens).order_by(kiosk_tokens.c.label)).mappings().all()
    return [{k: v for k, v in row.items() if k != "token_sha256"} for row in rows]


def revoke_kiosk_token(engine: Engine, label: str, *, now: datetime | None = None) -> None:
    """Revoke the token at once (kept in the list as revoked). AccountError when there is no live one."""
    with engine.begin() as connection:
        result = connection.execute(
            update(kiosk_tokens)
            .where(kiosk_tokens.c.label == normalise_name(label), kiosk_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now or datetime.now())
        )
        if not result.rowcount:
            raise AccountError(f"no live kiosk token labelled {normalise_name(label)!r}")


def kiosk_user(engine: Engine, token: str, *, now: datetime | None = None) -> User | None:
    """The wall user of a valid kiosk token (None: unknown or revoked)."""
    if not token:
        return None
    digest = token_digest(token)
    now = now or datetime.now()
    with engine.connect() as connection:
        row = connection.execute(select(kiosk_tokens).where(kiosk_tokens.c.token_sha256 == digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= SEEN_EVERY:
        with engine.begin() as connection:
            connection.execute(update(kiosk_tokens).where(kiosk_tokens.c.label == row.label).values(last_used_at=now))
    return User.kiosk(row.label)
