"""Deliveries: the recipients file, e-mail over SMTP (a real aiosmtpd server in this process), JSON webhooks (a local
http.server), alert digests and the weekly_briefing job."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select

from dashboard.config import PROJECT_ROOT
from dashboard.db.engine import make_engine
from dashboard.db.ops import alerts, briefings, deliveries, ops_engine
from dashboard.jobs.channels import SmtpSettings
from dashboard.jobs.delivery import deliver_alerts
from dashboard.jobs.recipients import Recipients, RecipientsError, Targets, load_recipients, parse_recipients
from dashboard.jobs.registry import JobContext

NOW = datetime(2026, 11, 20, 14, 37)
NO_WAIT = (0.0, 0.0)


# ------------------------------------------------------------------------------------------------ local servers
class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, SmtpSettings]]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield (
            inbox,
            SmtpSettings(host="127.0.0.1", port=controller.port, security="none", sender="ioc@hue.gov.vn", timeout=5),
        )
    finally:
        controller.stop()


class Hooks:
    """A webhook receiver that answers 500 to its first `failures` requests."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.requests = 0
        self.received: list[dict] = []
        self.lock = threading.Lock()


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, str]]:
    state = Hooks()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                state.requests += 1
                fail = state.requests <= state.failures
                if not fail:
                    state.received.append(json.loads(body))
            self.send_response(500 if fail else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def ops_for(url: str):
    ops = ops_engine(url)
    with ops.begin() as connection:  # on PostgreSQL the ops tables outlive each test
        for table in (deliveries, alerts, briefings):
            connection.execute(delete(table))
    return ops


def add_alerts(ops, rows: list[dict]) -> list[int]:
    ids = []
    with ops.begin() as connection:
        for row in rows:
            values = {
                "rule": "feedback_due_soon",
                "subject_kind": "feedback",
                "severity": "warning",
                "opened_at": NOW - timedelta(minutes=5),
                **row,
            }
            ids.append(connection.execute(alerts.insert().values(**values)).inserted_primary_key[0])
    return ids


def delivery_rows(ops) -> list[dict]:
    with ops.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(select(deliveries).order_by(deliveries.c.id))]


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


# ------------------------------------------------------------------------------------------------ recipients file
GOOD = """\
leaders:
  emails: [lanhdao@hue.gov.vn]
  webhooks: [https://gateway.example/zalo]
default:
  emails: [ioc@hue.gov.vn]
agencies:
  "Sở Xây dựng":
    emails:
      - sxd@hue.gov.vn
    webhooks: []
"""


def test_a_recipients_file_parses_into_lists():
    recipients = parse_recipients(GOOD)
    assert recipients.leaders == Targets(("lanhdao@hue.gov.vn",), ("https://gateway.example/zalo",))
    assert recipients.for_agency("Sở Xây dựng") == Targets(("sxd@hue.gov.vn",), ())
    assert recipients.for_agency("Sở Y tế") == Targets(("ioc@hue.gov.vn",), ())
    assert recipients.for_agency(None) == Targets()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (GOOD.replace("ioc@hue.gov.vn", "ioc@@hue"), "recipients line 5: malformed e-mail address 'ioc@@hue'"),
        (GOOD.replace("https://gateway.example/zalo", "ftp://x"), "recipients line 3: malformed webhook URL 'ftp://x'"),
        (GOOD.replace("  emails: [ioc", "  email: [ioc"), "recipients line 5: unknown key 'email' in default"),
        (GOOD + "leader:\n  emails: []\n", "recipients line 11: unknown key 'leader'"),
        (GOOD.replace("emails: [lanhdao", "emails: [{a: b}, lanhdao"), "recipients line 2: an entry of leaders.emails"),
        ("leaders: [a\n", "recipients line 2: not valid YAML"),
    ],
)
def test_a_bad_recipients_file_names_the_line(source, message):
    with pytest.raises(RecipientsError) as caught:
        parse_recipients(source)
    assert str(caught.value).startswith(message)


def test_agencies_are_checked_against_the_data(demo_db_url, tmp_path):
    engine = make_engine(demo_db_url, read_only=True)
    try:
        from dashboard.jobs.recipients import known_agencies

        agencies = sorted(known_agencies(engine))
        path = tmp_path / "recipients.yaml"
        path.write_text(
            f'agencies:\n  "{agencies[0]}":\n    emails: [a@hue.gov.vn]\n  "Sở Không Có":\n    emails: []\n'
        )
        with pytest.raises(RecipientsError, match=rf"^{path} line 4: unknown agency 'Sở Không Có'"):
            load_recipients(path, engine)
        path.write_text(f'agencies:\n  "{agencies[0]}":\n    emails: [a@hue.gov.vn]\n')
        assert load_recipients(path, engine).for_agency(agencies[0]).emails == ("a@hue.gov.vn",)
        example = load_recipients(PROJECT_ROOT / "data" / "recipients.example.yaml", engine)  # the committed example
        assert example.for_agency("Sở Xây dựng").emails == ("soxaydung@hue.gov.vn",)
    finally:
        engine.dispose()
    assert load_recipients(tmp_path / "absent.yaml") == Recipients()


# ------------------------------------------------------------------------------------------------ alert deliveries
def test_one_digest_per_agency_and_a_webhook_per_alert(any_db_url, smtp, hooks):
    inbox, settings = smtp
    state, url = hooks
    ops = ops_for(any_db_url)
    ids = add_alerts(
        ops,
        [{"subject": f"PA-{n}", "agency": "Sở Xây dựng", "title": f"Phản ánh PA-{n} sắp quá hạn"} for n in range(4)]
        + [{"subject": "PA-9", "agency": "Sở Y tế", "title": "Phản ánh PA-9 quá hạn", "severity": "critical"}],
    )
    recipients = Recipients(
        leaders=Targets(("lanhdao@hue.gov.vn",)),
        default=Targets(("ioc@hue.gov.vn",)),
        agencies={"Sở Xây dựng": Targets(("sxd@hue.gov.vn",), (url,))},
    )
    ctx = JobContext(any_db_url, NOW)
    counts = deliver_alerts(ctx, ids, recipients=recipients, smtp=settings, webhook_delays=NO_WAIT)
    assert counts == {"sent": 3 + 4, "failed": 0}  # 3 digests (agency, default, leaders), 4 webhooks
    by_rcpt = {tuple(rcpt): message for rcpt, message in inbox.messages}
    assert sorted(by_rcpt) == [("ioc@hue.gov.vn",), ("lanhdao@hue.gov.vn",), ("sxd@hue.gov.vn",)]
    digest = by_rcpt[("sxd@hue.gov.vn",)]
    assert digest["Subject"] == "[IOC Huế] 4 cảnh báo mới — Sở Xây dựng"
    body = parts(digest)
    assert set(body) == {"text/plain", "text/html"}
    text = body["text/plain"].get_content()
    assert [f"Phản ánh PA-{n} sắp quá hạn" in text for n in range(4)] == [True] * 4
    assert body["text/html"].get_content().count("<tr>") == 1 + 4
    assert by_rcpt[("lanhdao@hue.gov.vn",)]["Subject"] == "[IOC Huế] 1 cảnh báo cần lãnh đạo chú ý"
    assert sorted(message["alert"]["subject"] for message in state.received) == ["PA-0", "PA-1", "PA-2", "PA-3"]
    # cooldown: notified alerts are not sent again within it
    assert deliver_alerts(ctx, ids, recipients=recipients, smtp=settings, webhook_delays=NO_WAIT) == {
        "sent": 0,
        "failed": 0,
    }
    with ops.connect() as connection:
        notified = connection.execute(select(alerts.c.last_notified_at)).scalars().all()
    assert notified == [NOW] * 5
    assert len(inbox.messages) == 3


def test_a_webhook_failing_twice_is_delivered_once_on_the_third_attempt(any_db_url, hooks):
    state, url = hooks
    state.failures = 2
    ops = ops_for(any_db_url)
    ids = add_alerts(ops, [{"subject": "PA-1", "agency": "Sở Xây dựng", "title": "Phản ánh PA-1 sắp quá hạn"}])
    recipients = Recipients(agencies={"Sở Xây dựng": Targets((), (url,))})
    counts = deliver_alerts(JobContext(any_db_url, NOW), ids, recipients=recipients, webhook_delays=NO_WAIT)
    assert counts == {"sent": 1, "failed": 0}
    assert state.requests == 3
    assert len(state.received) == 1
    assert state.received[0]["alert"]["id"] == ids[0]
    row = delivery_rows(ops)[0]
    assert (row["kind"], row["channel"], row["recipient"], row["status"], row["attempts"]) == (
        "alert",
        "webhook",
        url,
        "sent",
        3,
    )
    assert json.loads(row["alert_ids"]) == ids


def test_a_dead_smtp_server_does_not_stop_the_webhook(any_db_url, hooks):
    state, url = hooks
    ops = ops_for(any_db_url)
    ids = add_alerts(ops, [{"subject": "PA-1", "agency": "Sở Xây dựng", "title": "Phản ánh PA-1 sắp quá hạn"}])
    dead = SmtpSettings(host="127.0.0.1", port=free_port(), security="none", timeout=2)
    recipients = Recipients(agencies={"Sở Xây dựng": Targets(("sxd@hue.gov.vn",), (url,))})
    counts = deliver_alerts(JobContext(any_db_url, NOW), ids, recipients=recipients, smtp=dead, webhook_delays=NO_WAIT)
    assert counts == {"sent": 1, "failed": 1}
    rows = {row["channel"]: row for row in delivery_rows(ops)}
    assert (rows["email"]["status"], rows["email"]["attempts"]) == ("failed", 1)
    assert "ConnectionRefusedError" in rows["email"]["error"]
    assert (rows["webhook"]["status"], rows["webhook"]["attempts"]) == ("sent", 1)
    assert len(state.received) == 1


# ------------------------------------------------------------------------------------------------ weekly briefing
def test_the_weekly_briefing_is_archived_and_mailed_to_the_leaders(
    demo_db_url, demo_copy_url, demo_now, smtp, tmp_path
):
    from dashboard.briefing.render import render_briefing
    from dashboard.jobs.briefing import run_briefing

    inbox, settings = smtp
    ops = ops_for(demo_copy_url)
    recipients = Recipients(leaders=Targets(("lanhdao@hue.gov.vn", "chutich@hue.gov.vn")))
    ctx = JobContext(demo_copy_url, demo_now)
    folder = tmp_path / "briefings"
    outcome = run_briefing(ctx, folder=folder, recipients=recipients, smtp=settings)
    assert outcome.details["week"] == "2026-W46"  # the ISO week before Friday 20/11/2026
    assert outcome.details["rendered"] is True
    assert outcome.details["deliveries"] == {"sent": 2, "failed": 0}

    engine = make_engine(demo_db_url, read_only=True)
    try:
        expected = render_briefing(engine, "2026-W46", None, "vi", demo_now)
    finally:
        engine.dispose()
    archived = folder / "2026-W46-vi.pdf"
    assert archived.read_bytes() == expected
    assert sorted(rcpt[0] for rcpt, _ in inbox.messages) == ["chutich@hue.gov.vn", "lanhdao@hue.gov.vn"]
    message = inbox.messages[0][1]
    assert message["Subject"] == "[IOC Huế] Báo cáo tuần 2026-W46 (09/11/2026 – 15/11/2026)"
    body = parts(message)
    assert set(body) == {"text/plain", "text/html", "application/pdf"}
    assert "Kính gửi lãnh đạo" in body["text/plain"].get_content()
    assert body["application/pdf"].get_filename() == "bao-cao-tuan-2026-W46-vi.pdf"
    assert body["application/pdf"].get_content() == expected

    with ops.connect() as connection:
        row = connection.execute(select(briefings)).one()
    assert (row.week, row.lang, row.emailed, row.path) == ("2026-W46", "vi", True, str(archived))
    assert row.sha256 == __import__("hashlib").sha256(expected).hexdigest()
    assert row.pages == outcome.details["pages"] == 10  # pdfinfo counts 10 too (chapter 7: directives)

    again = run_briefing(ctx, folder=folder, recipients=recipients, smtp=settings)  # idempotent
    assert (again.details["rendered"], again.details["deliveries"]) == (False, {"sent": 0, "failed": 0})
    assert len(inbox.messages) == 2
    assert [(r["kind"], r["status"], r["briefing_week"]) for r in delivery_rows(ops)] == [
        ("briefing", "sent", "2026-W46")
    ] * 2


def test_the_job_is_registered():
    import dashboard.jobs.briefing  # noqa: F401 — registers the job
    from dashboard.jobs.registry import JOBS

    job = JOBS["weekly_briefing"]
    assert job.default_cron == "0 7 * * 1"


def test_the_briefing_page_lists_the_archive(monkeypatch, demo_copy_url, demo_now, tmp_path):
    from page_support import run_app

    from dashboard.i18n import t
    from dashboard.navigation import PAGES

    ops = ops_for(demo_copy_url)
    pdf = tmp_path / "2026-W46-vi.pdf"
    pdf.write_bytes(b"%PDF-1.7 test")
    with ops.begin() as connection:
        connection.execute(
            briefings.insert().values(
                week="2026-W46", lang="vi", path=str(pdf), sha256="0" * 64, pages=8, created_at=demo_now, emailed=True
            )
        )
    app = run_app(monkeypatch, demo_copy_url, page=str(PAGES[0].path.parent / "briefing.py"))
    assert not app.exception, [e.message for e in app.exception]
    assert app.expander[0].label == t("briefing.archive.heading")
    assert "**2026-W46** · vi · 8 trang · lập lúc 14:37 20/11/2026 · đã gửi thư" in [m.value for m in app.markdown]
