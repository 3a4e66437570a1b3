"""The two delivery channels: e-mail over SMTP and a JSON webhook, and the `deliveries` row every attempt leaves.

E-mail: one SMTP session per message (settings IOC_SMTP_*), HTML with a plain-text alternative, optional PDF
attachments, one try with a timeout. Webhook: an HTTP POST of a JSON body (for a Zalo OA, Telegram or Teams
gateway), tried `len(delays) + 1` times — by default 3 attempts, waiting 0.5 s then 1 s — with a timeout per try;
any 2xx answer is success. `deliver(...)` runs one send and records it; a failing channel raises nothing, so the
next recipient and channel go on.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy.engine import Engine

from dashboard import config
from dashboard.db.ops import deliveries

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 20.0
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_DELAYS = (0.5, 1.0)  # waits between the 3 attempts


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"  # none, starttls, ssl
    user: str = ""
    password: str = ""
    sender: str = "ioc@localhost"
    timeout: float = SMTP_TIMEOUT_SECONDS

    @classmethod
    def from_config(cls) -> SmtpSettings:
        return cls(
            host=config.get("IOC_SMTP_HOST").strip(),
            port=config.value("IOC_SMTP_PORT"),
            security=config.value("IOC_SMTP_SECURITY"),
            user=config.get("IOC_SMTP_USER"),
            password=config.get("IOC_SMTP_PASSWORD"),
            sender=config.get("IOC_SMTP_FROM").strip(),
        )


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    mime: str = "application/pdf"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)


class DeliveryFailed(RuntimeError):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


def build_message(settings: SmtpSettings, to: str, email: Email) -> Message:
    """HTML with its plain-text alternative, then the attachments. Built with the compat32 MIME classes: their
    `Header` encodes a long Vietnamese subject in whole encoded words (the newer EmailMessage folding drops a space
    between two encoded words)."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(email.text, "plain", "utf-8"))
    alternative.attach(MIMEText(email.html, "html", "utf-8"))
    if email.attachments:
        message: Message = MIMEMultipart("mixed")
        message.attach(alternative)
        for attachment in email.attachments:
            part = MIMEApplication(attachment.data, _subtype=attachment.mime.partition("/")[2] or "octet-stream")
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)
    else:
        message = alternative
    message["Subject"] = Header(email.subject, "utf-8")
    message["From"] = settings.sender
    message["To"] = to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or "localhost")
    return message


def send_email(settings: SmtpSettings, to: str, email: Email) -> int:
    """Send one message to `to`; 1 (the attempts made) or DeliveryFailed."""
    if not settings.host:
        raise DeliveryFailed("IOC_SMTP_HOST is not set", 0)
    message = build_message(settings, to, email)
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password)
            client.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}", 1) from None
    return 1


def post_webhook(
    url: str, payload: Any, *, timeout: float = WEBHOOK_TIMEOUT_SECONDS, delays: Sequence[float] = WEBHOOK_DELAYS
) -> int:
    """POST `payload` as JSON to `url`, retrying after each wait in `delays`; the attempts made, or DeliveryFailed."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
    error_text = ""
    attempts = 0
    for attempt, wait in enumerate([0.0, *delays], start=1):
        if wait:
            time.sleep(wait)
        attempts = attempt
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 — http(s) checked at load
                if 200 <= response.status < 300:
                    return attempts
                error_text = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            error_text = f"HTTP {error.code}"
        except (OSError, ValueError) as error:
            error_text = f"{type(error).__name__}: {error}"
        log.warning("webhook %s attempt %d failed: %s", url, attempt, error_text)
    raise DeliveryFailed(error_text, attempts)


def deliver(
    ops: Engine,
    *,
    kind: str,
    channel: str,
    recipient: str,
    send: Callable[[], int],
    now: datetime,
    alert_ids: Sequence[int] | None = None,
    briefing_week: str | None = None,
) -> bool:
    """Run `send` (returns its attempts or raises DeliveryFailed) and record one `deliveries` row; True when sent."""
    try:
        attempts = send()
        status, error = "sent", None
    except DeliveryFailed as failure:
        attempts, status, error = failure.attempts, "failed", str(failure)
    except Exception as failure:  # noqa: BLE001 — one broken channel must not stop the others
        attempts, status, error = 1, "failed", f"{type(failure).__name__}: {failure}"
    if error:
        log.warning("%s to %s via %s failed: %s", kind, recipient, channel, error)
    with ops.begin() as connection:
        connection.execute(
            deliveries.insert().values(
                kind=kind,
                alert_ids=json.dumps(list(alert_ids)) if alert_ids is not None else None,
                briefing_week=briefing_week,
                channel=channel,
                recipient=recipient,
                status=status,
                attempts=attempts,
                error=error,
                created_at=now,
                sent_at=now if status == "sent" else None,
            )
        )
    return status == "sent"
