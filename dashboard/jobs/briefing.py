"""The weekly_briefing job: Mondays 07:00, the previous ISO week's PDF archived and e-mailed to the leader list.

The PDF is `render_briefing(engine, week, None, lang, ctx.now)` — the same function as `python -m dashboard brief`
and the "Báo cáo tuần" download — written to data/briefings/<week>-<lang>.pdf with a `briefings` row (week, lang,
path, sha256, pages). A week already archived is not rendered again (unless `force`); its e-mail goes out once
(`briefings.emailed`), one message per leader address with the PDF attached, each a `deliveries` row.
"""

from __future__ import annotations

import hashlib
import html
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select, update

from dashboard import config
from dashboard.briefing.render import render_briefing
from dashboard.briefing.weeks import last_complete_week, week_code
from dashboard.db.engine import make_engine
from dashboard.db.ops import briefings, ops_engine
from dashboard.i18n import t
from dashboard.jobs.channels import Attachment, Email, SmtpSettings, deliver, send_email
from dashboard.jobs.recipients import Recipients, load_recipients
from dashboard.jobs.registry import JobContext, JobOutcome, job

BRIEFINGS_DIR = config.DATA_DIR / "briefings"
_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.DOTALL)


def count_pages(pdf: bytes) -> int:
    """Page objects in a PDF, also inside the compressed object streams WeasyPrint writes."""
    found = len(_PAGE.findall(pdf))
    for stream in _STREAM.findall(pdf):
        try:
            found += len(_PAGE.findall(zlib.decompress(stream)))
        except zlib.error:
            continue
    return found


def briefing_file_name(week: str, lang: str) -> str:
    return f"{week}-{lang}.pdf"


def _stored_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(config.PROJECT_ROOT))
    except ValueError:
        return str(path.resolve())


def archived_path(stored: str) -> Path:
    """The file of a `briefings.path` value (relative to the project root, or absolute)."""
    path = Path(stored)
    return path if path.is_absolute() else config.PROJECT_ROOT / path


def briefing_email(week: str, start: str, end: str, pages: int, filename: str, pdf: bytes) -> Email:
    subject = t("delivery.briefing.subject", "vi", week=week, start=start, end=end)
    paragraphs = [
        t("delivery.briefing.greeting", "vi"),
        t("delivery.briefing.body", "vi", week=week, start=start, end=end, pages=pages),
        t("delivery.briefing.footer", "vi"),
    ]
    body = "".join(f"<p>{html.escape(paragraph)}</p>" for paragraph in paragraphs)
    return Email(
        subject=subject,
        text="\n\n".join(paragraphs) + "\n",
        html=f"<!doctype html><html lang='vi'><head><meta charset='utf-8'></head><body>{body}</body></html>",
        attachments=(Attachment(filename, pdf),),
    )


def run_briefing(
    ctx: JobContext,
    *,
    lang: str = "vi",
    force: bool = False,
    folder: Path | None = None,
    recipients: Recipients | None = None,
    smtp: SmtpSettings | None = None,
) -> JobOutcome:
    """Archive the previous ISO week's briefing (unless already there) and e-mail it to the leaders once."""
    period = last_complete_week(ctx.now.date())
    week = week_code(period)
    folder = BRIEFINGS_DIR if folder is None else folder
    ops = ops_engine(ctx.url)
    with ops.connect() as connection:
        row = connection.execute(
            select(briefings).where(briefings.c.week == week, briefings.c.lang == lang)
        ).one_or_none()
    rendered = False
    if row is not None and not force and archived_path(row.path).is_file():
        path = archived_path(row.path)
        pdf = path.read_bytes()
        pages, emailed = row.pages, row.emailed
    else:
        engine = make_engine(ctx.url, read_only=True)
        try:
            pdf = render_briefing(engine, period, None, lang, ctx.now)
        finally:
            engine.dispose()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / briefing_file_name(week, lang)
        partial = path.with_suffix(".pdf.part")
        partial.write_bytes(pdf)
        partial.replace(path)
        pages, emailed, rendered = count_pages(pdf), False, True
        values = {
            "path": _stored_path(path),
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "pages": pages,
            "created_at": ctx.now,
            "emailed": False,
        }
        with ops.begin() as connection:
            if row is None:
                connection.execute(briefings.insert().values(week=week, lang=lang, **values))
            else:
                connection.execute(
                    update(briefings).where(briefings.c.week == week, briefings.c.lang == lang).values(**values)
                )

    sent = failed = 0
    if not emailed:
        recipients = load_recipients() if recipients is None else recipients
        smtp = SmtpSettings.from_config() if smtp is None else smtp
        email = briefing_email(
            week,
            period.start.strftime("%d/%m/%Y"),
            period.end.strftime("%d/%m/%Y"),
            pages or 0,
            f"bao-cao-tuan-{week}-{lang}.pdf",
            pdf,
        )
        addresses: Sequence[str] = recipients.leaders.emails
        for address in addresses:
            ok = deliver(
                ops,
                kind="briefing",
                channel="email",
                recipient=address,
                send=lambda address=address: send_email(smtp, address, email),
                now=ctx.now,
                briefing_week=week,
            )
            sent, failed = sent + ok, failed + (not ok)
        if sent:  # every message failed, or no leader yet: tried again on the next run
            with ops.begin() as connection:
                connection.execute(
                    update(briefings).where(briefings.c.week == week, briefings.c.lang == lang).values(emailed=True)
                )
    return JobOutcome(
        rows=int(rendered) + sent,
        details={
            "week": week,
            "lang": lang,
            "path": _stored_path(path),
            "rendered": rendered,
            "pages": pages,
            "deliveries": {"sent": sent, "failed": failed},
        },
    )


@job("weekly_briefing", "0 7 * * 1", "The previous ISO week's PDF briefing: archived and e-mailed to the leaders")
def weekly_briefing(ctx: JobContext) -> JobOutcome:
    return run_briefing(ctx)


def archived_briefings(url: str) -> list[dict]:
    """The archived briefings, newest week first, each with `file` (its Path) and `exists`."""
    with ops_engine(url).connect() as connection:
        rows = connection.execute(select(briefings).order_by(briefings.c.week.desc(), briefings.c.lang)).all()
    found = []
    for row in rows:
        entry = dict(row._mapping)
        entry["file"] = archived_path(row.path)
        entry["exists"] = entry["file"].is_file()
        found.append(entry)
    return found
