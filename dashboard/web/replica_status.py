"""The data-quality page's line about the read replica (IOC_DATABASE_READ_URL): its measured lag
(`cache.replica_lag`, reused for a few seconds), or why there is none."""

from __future__ import annotations

from urllib.parse import urlsplit

from dashboard.db import replica
from dashboard.db.engine import DatabaseError, redact_url
from dashboard.i18n import format_number, t
from dashboard.safe_text import markdown_text
from dashboard.web import cache

UNDER_SECONDS = 0.1  # a lag below this is shown as "< 0,1 s" (the measurement's own round trips are about that)
MEGABYTE = 1024 * 1024


def _seconds(value: float, lang: str) -> str:
    if value < UNDER_SECONDS:
        return f"< {format_number(UNDER_SECONDS, lang, 1)}"
    return format_number(value, lang, 1)


def server_name(url: str) -> str:
    """host:port/database of a URL — no user or password (the page is read by every role)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.hostname or ''}{port}/{parts.path.strip('/')}".replace("`", "")


def _without_url(reason: str, url: str) -> str:
    """The driver's words of an error whose message starts with "… at <url>: " (the URL is shown beside it)."""
    marker = f"{redact_url(url)}: "
    return reason.split(marker, 1)[1] if marker in reason else reason


def line(lang: str) -> tuple[str, str]:
    """("caption" | "warning", the sentence) for the replica: not set ("chưa đo"), set aside, not measurable, not
    a replica, current, or behind."""
    read = cache.replica_url()
    if not read:
        return "caption", t("quality.replica.none", lang)
    where = f"`{server_name(read)}`"  # a code span: read as typed, never as a link
    if (reason := replica.set_aside_reason(read)) is not None:
        return "warning", t(
            "quality.replica.set_aside",
            lang,
            url=where,
            seconds=f"{replica.SET_ASIDE_SECONDS:.0f}",
            reason=markdown_text(_without_url(reason, read)),
        )
    try:
        lag = cache.replica_lag()
    except DatabaseError as error:
        return "warning", t(
            "quality.replica.unmeasured", lang, url=where, reason=markdown_text(_without_url(str(error), read))
        )
    if not lag.in_recovery:
        return "warning", t("quality.replica.not_replica", lang, url=where)
    if lag.caught_up:
        return "caption", t("quality.replica.lag", lang, seconds=_seconds(lag.seconds, lang), url=where)
    return "warning", t(
        "quality.replica.behind",
        lang,
        seconds=_seconds(lag.seconds, lang),
        mb=format_number((lag.behind_bytes or 0) / MEGABYTE, lang, 1),
        url=where,
    )
