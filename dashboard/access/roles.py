"""Roles and what each may do: the one table the router, the pages, the CLI and the tests read.

| role | pages | records (case lists, drill-down, record downloads) | acts |
|---|---|---|---|
| `public` (no account; only when IOC_VISITOR_ACCESS=public) | city figures: overview, traffic, map, forecast | no | – |
| `viewer` | city figures and reports, agency ranking, PDF | no (coordinates rounded) | – |
| `agency_officer` | viewer's pages + alerts and directives, all of it limited to the scope | own cases | – |
| `analyst` | every page except the admin pages | all | – |
| `operator` | analyst's pages | all | acknowledges alerts, manages events and directives |
| `admin` | every page, including imports, users and the access log | all | everything |

Seeing citizens' personal details (name, phone, e-mail, exact address) is not a role's right but a setting
(IOC_PII_ROLES, default `admin`): see `dashboard.access.pii`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PUBLIC = "public"
    VIEWER = "viewer"
    AGENCY_OFFICER = "agency_officer"
    ANALYST = "analyst"
    OPERATOR = "operator"
    ADMIN = "admin"


ACCOUNT_ROLES: tuple[Role, ...] = (Role.VIEWER, Role.AGENCY_OFFICER, Role.ANALYST, Role.OPERATOR, Role.ADMIN)


class Can(StrEnum):
    RECORDS = "records"  # case lists, drill-down dialogs, record CSV downloads
    DOWNLOAD = "download"  # CSV of figures, the PDF
    ACK_ALERTS = "ack_alerts"
    MANAGE_EVENTS = "manage_events"
    MANAGE_DIRECTIVES = "manage_directives"
    IMPORT = "import"
    MANAGE_USERS = "manage_users"  # users, kiosk tokens
    READ_AUDIT = "read_audit"
    EXACT_LOCATIONS = "exact_locations"  # report coordinates unrounded


_CITY_PAGES = frozenset({"overview", "traffic", "map", "forecast"})
_VIEWER_PAGES = _CITY_PAGES | {"feedback", "procedures", "ranking", "briefing", "quality", "events"}
_OFFICER_PAGES = _VIEWER_PAGES | {"alerts", "directives"}
_ANALYST_PAGES = _OFFICER_PAGES
_ADMIN_ONLY_PAGES = frozenset({"data_import", "users", "audit"})

PAGES: dict[Role, frozenset[str]] = {
    Role.PUBLIC: _CITY_PAGES,
    Role.VIEWER: _VIEWER_PAGES,
    Role.AGENCY_OFFICER: _OFFICER_PAGES,
    Role.ANALYST: _ANALYST_PAGES,
    Role.OPERATOR: _ANALYST_PAGES,
    Role.ADMIN: _ANALYST_PAGES | _ADMIN_ONLY_PAGES,
}

_READERS = {Can.RECORDS, Can.DOWNLOAD, Can.EXACT_LOCATIONS}
RIGHTS: dict[Role, frozenset[Can]] = {
    Role.PUBLIC: frozenset(),
    Role.VIEWER: frozenset({Can.DOWNLOAD}),
    Role.AGENCY_OFFICER: frozenset(_READERS),
    Role.ANALYST: frozenset(_READERS),
    Role.OPERATOR: frozenset(_READERS | {Can.ACK_ALERTS, Can.MANAGE_EVENTS, Can.MANAGE_DIRECTIVES}),
    Role.ADMIN: frozenset(Can),
}

# Pages every role reaches whatever the table says: the wall is opened by a kiosk token or by any signed-in user.
KIOSK_PAGES = frozenset({"wall"})


def parse_role(text: str) -> Role:
    """A role from its name; ValueError listing the valid names otherwise."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {text!r}; expected one of: {', '.join(ACCOUNT_ROLES)}") from None


def may_open(role: Role, page_key: str) -> bool:
    return page_key in PAGES[role] or page_key in KIOSK_PAGES and role is not Role.PUBLIC


def can(role: Role, right: Can) -> bool:
    return right in RIGHTS[role]
