"""Alerts to people: one digest e-mail per agency per run, one webhook message per alert and recipient.

`deliver_alerts(ctx, new_alert_ids)` reads the alerts from the operational store, skips resolved ones and those
notified less than `cooldown` ago (`last_notified_at`), and sends:
  * e-mail — ONE digest per agency (to each address of the agency's entry, or of `default`), listing every case of
    the run; escalated (`escalated_at` set) and critical alerts also go in ONE digest to each leader address;
  * webhook — one JSON message per alert to each webhook URL of the same lists (chat gateways show one case per
    message): `{"kind": "alert", "text": …, "alert": {id, rule, subject, agency, severity, title, opened_at, …}}`.
Every message leaves one `deliveries` row (channel, recipient, status, attempts, error). An alert with at least one
message sent, or with nobody to tell, gets `last_notified_at = ctx.now`; one whose every message failed is tried
again on the next run.
"""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from dashboard.db.ops import alerts, ops_engine
from dashboard.i18n import format_datetime, t
from dashboard.jobs.channels import (
    WEBHOOK_DELAYS,
    Email,
    SmtpSettings,
    deliver,
    post_webhook,
    send_email,
)
from dashboard.jobs.recipients import Recipients, load_recipients
from dashboard.jobs.registry import JobContext

COOLDOWN = timedelta(hours=12)
LANG = "vi"  # messages are in Vietnamese
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


def deliver_alerts(
    ctx: JobContext,
    new_alert_ids: Sequence[int],
    *,
    recipients: Recipients | None = None,
    smtp: SmtpSettings | None = None,
    webhook_delays: Sequence[float] = WEBHOOK_DELAYS,
    cooldown: timedelta = COOLDOWN,
) -> dict[str, int]:
    """Send the alerts `new_alert_ids`; {"sent": n, "failed": n} counts `deliveries` rows."""
    counts = {"sent": 0, "failed": 0}
    if not new_alert_ids:
        return counts
    ops = ops_engine(ctx.url)
    with ops.connect() as connection:
        rows = [
            dict(row._mapping) for row in connection.execute(select(alerts).where(alerts.c.id.in_(list(new_alert_ids))))
        ]
    due = [
        row
        for row in rows
        if row["resolved_at"] is None
        and (row["last_notified_at"] is None or row["last_notified_at"] <= ctx.now - cooldown)
    ]
    if not due:
        return counts
    due.sort(key=lambda row: (SEVERITY_ORDER.get(row["severity"], 9), row["opened_at"], row["id"]))
    recipients = load_recipients() if recipients is None else recipients
    smtp = SmtpSettings.from_config() if smtp is None else smtp

    by_agency: dict[str, list[dict]] = defaultdict(list)
    for row in due:
        if row["agency"] is not None:
            by_agency[row["agency"]].append(row)
    for_leaders = [row for row in due if row["severity"] == "critical" or row["escalated_at"] is not None]

    told: set[int] = set()  # alerts with at least one message sent
    targeted: set[int] = set()  # alerts someone was meant to receive

    def record(ok: bool, ids: list[int]) -> None:
        counts["sent" if ok else "failed"] += 1
        targeted.update(ids)
        if ok:
            told.update(ids)

    digests = [(agency, rows_, recipients.for_agency(agency), False) for agency, rows_ in by_agency.items()]
    if for_leaders:
        digests.append((None, for_leaders, recipients.leaders, True))
    for agency, cases, targets, leaders in digests:
        ids = [row["id"] for row in cases]
        if targets.emails:
            email = digest_email(cases, agency, leaders=leaders)
            for address in targets.emails:
                ok = deliver(
                    ops,
                    kind="alert_digest",
                    channel="email",
                    recipient=address,
                    send=lambda address=address, email=email: send_email(smtp, address, email),
                    now=ctx.now,
                    alert_ids=ids,
                )
                record(ok, ids)
        for url in targets.webhooks:
            for row in cases:
                ok = deliver(
                    ops,
                    kind="alert",
                    channel="webhook",
                    recipient=url,
                    send=lambda url=url, row=row: post_webhook(url, webhook_payload(row), delays=webhook_delays),
                    now=ctx.now,
                    alert_ids=[row["id"]],
                )
                record(ok, [row["id"]])

    settled = [row["id"] for row in due if row["id"] in told or row["id"] not in targeted]
    if settled:
        with ops.begin() as connection:
            connection.execute(update(alerts).where(alerts.c.id.in_(settled)).values(last_notified_at=ctx.now))
    return counts


def _case(row: dict) -> dict[str, str]:
    return {
        "severity": t(f"delivery.severity.{row['severity']}", LANG)
        if row["severity"] in SEVERITY_ORDER
        else str(row["severity"]),
        "subject": str(row["subject"]),
        "title": str(row["title"]),
        "agency": row["agency"] or "–",
        "opened": format_datetime(row["opened_at"], LANG),
    }


def digest_email(cases: list[dict], agency: str | None, *, leaders: bool = False) -> Email:
    """The digest listing every case: a Vietnamese subject, plain text and the same as an HTML table."""
    count = len(cases)
    if leaders:
        subject = t("delivery.digest.leaders_subject", LANG, count=count)
        intro = t("delivery.digest.leaders_intro", LANG, count=count)
    else:
        subject = t("delivery.digest.subject", LANG, count=count, agency=agency)
        intro = t("delivery.digest.intro", LANG, count=count, agency=agency)
    footer = t("delivery.digest.footer", LANG)
    columns = ("severity", "subject", "title", "agency", "opened")
    headers = [t(f"delivery.column.{name}", LANG) for name in columns]
    lines = [intro, ""]
    for number, row in enumerate(cases, start=1):
        case = _case(row)
        lines.append(
            f"{number}. [{case['severity']}] {case['title']} — {case['subject']} "
            f"({case['agency']}, {headers[4].lower()} {case['opened']})"
        )
    lines += ["", footer]
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_case(row)[name])}</td>" for name in columns) + "</tr>" for row in cases
    )
    head = "".join(f"<th align='left'>{html.escape(header)}</th>" for header in headers)
    body = (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'></head><body>"
        f"<p>{html.escape(intro)}</p>"
        f"<table border='1' cellpadding='4' cellspacing='0'><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table>"
        f"<p>{html.escape(footer)}</p></body></html>"
    )
    return Email(subject=subject, text="\n".join(lines) + "\n", html=body)


def webhook_payload(row: dict) -> dict[str, Any]:
    case = _case(row)
    return {
        "kind": "alert",
        "text": t("delivery.webhook.text", LANG, severity=case["severity"], title=case["title"], agency=case["agency"]),
        "alert": {
            "id": row["id"],
            "rule": row["rule"],
            "subject": row["subject"],
            "subject_kind": row["subject_kind"],
            "agency": row["agency"],
            "area_code": row["area_code"],
            "severity": row["severity"],
            "title": row["title"],
            "params": json.loads(row["params"]) if row["params"] else None,
            "opened_at": row["opened_at"].isoformat(timespec="minutes"),
            "escalated": row["escalated_at"] is not None,
        },
    }
