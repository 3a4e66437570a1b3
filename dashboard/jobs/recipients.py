"""Who receives alerts and the weekly briefing: a YAML file (setting `IOC_RECIPIENTS_FILE`), checked when loaded.

    leaders:            # escalated and critical alerts, the weekly briefing
      emails: [lanhdao@hue.gov.vn]
      webhooks: [https://gateway.example/zalo/leaders]
    default:            # agencies without an entry of their own
      emails: [ioc@hue.gov.vn]
    agencies:           # the agency exactly as stored in the data (feedback.agency, dossiers.agency)
      "Sở Xây dựng":
        emails: [sxd@hue.gov.vn]
        webhooks: []

A missing file means nobody receives anything. A malformed address or URL, an unknown key or (given an engine) an
agency the data does not know raises RecipientsError naming the file and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from sqlalchemy import text
from sqlalchemy.engine import Engine

from dashboard import config

TARGET_KEYS = ("emails", "webhooks")
TOP_KEYS = ("leaders", "default", "agencies")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL = re.compile(rf"^[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]+@{_LABEL}(?:\.{_LABEL})+$")


class RecipientsError(ValueError):
    """The recipients file cannot be used; the message names the file and the line."""


@dataclass(frozen=True)
class Targets:
    emails: tuple[str, ...] = ()
    webhooks: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.emails or self.webhooks)


@dataclass(frozen=True)
class Recipients:
    leaders: Targets = Targets()
    default: Targets = Targets()
    agencies: dict[str, Targets] = field(default_factory=dict)

    def for_agency(self, agency: str | None) -> Targets:
        """The agency's own list, or `default` for an agency without one (None: nobody, leaders aside)."""
        if agency is None:
            return Targets()
        return self.agencies.get(agency, self.default)


def recipients_path() -> Path:
    path = Path(config.get("IOC_RECIPIENTS_FILE")).expanduser()
    return path if path.is_absolute() else config.PROJECT_ROOT / path


def known_agencies(engine: Engine) -> set[str]:
    """Every agency the data names (feedback and dossiers)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT agency FROM feedback WHERE agency IS NOT NULL "
                "UNION SELECT agency FROM dossiers WHERE agency IS NOT NULL"
            )
        )
        return {row[0] for row in rows}


def load_recipients(path: Path | str | None = None, engine: Engine | None = None) -> Recipients:
    """The recipients of the file `path` (default: IOC_RECIPIENTS_FILE); no file: no recipients."""
    path = Path(path) if path is not None else recipients_path()
    if not path.exists():
        return Recipients()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecipientsError(f"{path}: cannot read the recipients file: {error}") from None
    return parse_recipients(source, str(path), known_agencies(engine) if engine is not None else None)


def check_at_start(url: str) -> str:
    """The worker's check when it starts: the file parses and every agency it names is one the data knows.

    Returns the line the worker prints; raises RecipientsError (naming the file and line) when the file cannot be
    used. Agencies are checked only when the database answers and names some (a fresh database has none yet)."""
    from sqlalchemy.exc import SQLAlchemyError

    from dashboard.db.engine import DatabaseError, make_engine

    path = recipients_path()
    if not path.exists():
        return f"recipients: no file {path} (IOC_RECIPIENTS_FILE): nobody receives alerts or the weekly briefing"
    note = ""
    engine = make_engine(url, read_only=True)
    try:
        agencies: set[str] | None = known_agencies(engine)
    except (SQLAlchemyError, DatabaseError):
        agencies, note = None, " (agency names not checked: the database does not answer)"
    finally:
        engine.dispose()
    if agencies is not None and not agencies:
        agencies, note = None, " (agency names not checked: the data names no agency yet)"
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RecipientsError(f"{path}: cannot read the recipients file: {error}") from None
    recipients = parse_recipients(source, str(path), agencies)
    leaders = len(recipients.leaders.emails) + len(recipients.leaders.webhooks)
    return f"recipients: {path}: {len(recipients.agencies)} agencies, {leaders} leader addresses{note}"


def parse_recipients(source: str, name: str = "recipients", agencies: set[str] | None = None) -> Recipients:
    """Parse and check the YAML text `source` (`name` is used in messages; `agencies`: the ones the data knows)."""

    def fail(node: yaml.Node | None, message: str) -> RecipientsError:
        line = f" line {node.start_mark.line + 1}" if node is not None else ""
        return RecipientsError(f"{name}{line}: {message}")

    try:
        root = yaml.compose(source, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RecipientsError(f"{name}{where}: not valid YAML: {problem}") from None
    if root is None:
        return Recipients()
    if not isinstance(root, yaml.MappingNode):
        raise fail(root, "the file must be a mapping with the keys leaders, default, agencies")

    def scalar(node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or not node.value.strip():
            raise fail(node, f"{what} must be a text")
        return node.value.strip()

    def targets(node: yaml.Node, where: str) -> Targets:
        if isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null"):
            return Targets()
        if not isinstance(node, yaml.MappingNode):
            raise fail(node, f"{where} must be a mapping with the keys emails, webhooks")
        found: dict[str, list[str]] = {"emails": [], "webhooks": []}
        for key_node, value_node in node.value:
            key = scalar(key_node, "a key")
            if key not in TARGET_KEYS:
                raise fail(key_node, f"unknown key {key!r} in {where} (allowed: emails, webhooks)")
            if isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null"):
                continue
            if not isinstance(value_node, yaml.SequenceNode):
                raise fail(value_node, f"{where}.{key} must be a list")
            for item in value_node.value:
                value = scalar(item, f"an entry of {where}.{key}")
                if key == "emails" and not EMAIL.match(value):
                    raise fail(item, f"malformed e-mail address {value!r} in {where}.emails")
                if key == "webhooks" and not _is_url(value):
                    raise fail(item, f"malformed webhook URL {value!r} in {where}.webhooks (http:// or https://)")
                found[key].append(value)
        return Targets(tuple(found["emails"]), tuple(found["webhooks"]))

    sections: dict[str, object] = {}
    for key_node, value_node in root.value:
        key = scalar(key_node, "a key")
        if key not in TOP_KEYS:
            raise fail(key_node, f"unknown key {key!r} (allowed: leaders, default, agencies)")
        if key == "agencies":
            by_agency: dict[str, Targets] = {}
            if not (isinstance(value_node, yaml.ScalarNode) and value_node.value in ("", "~", "null")):
                if not isinstance(value_node, yaml.MappingNode):
                    raise fail(value_node, "agencies must be a mapping of agency → {emails, webhooks}")
                for agency_node, agency_value in value_node.value:
                    agency = scalar(agency_node, "an agency name")
                    if agencies is not None and agency not in agencies:
                        raise fail(agency_node, f"unknown agency {agency!r}: no feedback or dossier names it")
                    by_agency[agency] = targets(agency_value, f"agencies.{agency}")
            sections[key] = by_agency
        else:
            sections[key] = targets(value_node, key)
    return Recipients(**sections)  # type: ignore[arg-type]


def _is_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value
