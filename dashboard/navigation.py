"""The registry of pages the app lists. Only pages that work are registered.

The router (dashboard/app.py), the AppTest smoke test and the browser tests all read
this one list, so a new page is tested the moment it is registered. Which pages a session gets is the roles table
(`dashboard.access.roles.PAGES`): the router registers only those, so another page's URL leads nowhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dashboard.access.roles import PAGES as ROLE_PAGES
from dashboard.access.roles import Role
from dashboard.config import PROJECT_ROOT

PAGES_DIR = PROJECT_ROOT / "pages"


@dataclass(frozen=True)
class PageSpec:
    key: str  # i18n key of the page title is f"page.{key}"
    file: str  # file name under pages/
    url_path: str  # "" for the default page
    icon: str
    kiosk: bool = False  # a screen for a wall: no navigation, sidebar or filters; only reached by its URL

    @property
    def path(self) -> Path:
        return PAGES_DIR / self.file

    @property
    def admin(self) -> bool:
        """Opened by the admin role only (users, imports, the access log), from the roles table."""
        return not self.kiosk and self.key not in ROLE_PAGES[Role.OPERATOR]


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview", "overview.py", "", ":material/dashboard:"),
    PageSpec("feedback", "feedback.py", "phan-anh", ":material/campaign:"),
    PageSpec("procedures", "procedures.py", "thu-tuc", ":material/description:"),
    PageSpec("ranking", "xep_hang.py", "xep-hang", ":material/leaderboard:"),
    PageSpec("traffic", "traffic.py", "giao-thong", ":material/traffic:"),
    PageSpec("map", "map.py", "ban-do", ":material/map:"),
    PageSpec("forecast", "forecast.py", "du-bao", ":material/insights:"),
    PageSpec("wall", "wall.py", "wall", ":material/tv:", kiosk=True),
    PageSpec("briefing", "briefing.py", "bao-cao-tuan", ":material/picture_as_pdf:"),
    PageSpec("quality", "quality.py", "chat-luong-du-lieu", ":material/fact_check:"),
    PageSpec("alerts", "alerts.py", "canh-bao", ":material/notifications:"),
    PageSpec("directives", "directives.py", "chi-dao", ":material/gavel:"),
    PageSpec("events", "events.py", "su-kien", ":material/event:"),
    PageSpec("data_import", "data_import.py", "nhap-du-lieu", ":material/upload:"),
    PageSpec("users", "users.py", "tai-khoan", ":material/manage_accounts:"),
    PageSpec("audit", "audit.py", "nhat-ky-truy-cap", ":material/policy:"),
)

# The sign-in page: not in the roles table; registered for a visitor (the only page when IOC_VISITOR_ACCESS=login).
LOGIN = PageSpec("login", "login.py", "dang-nhap", ":material/login:")

PAGES_BY_KEY = {spec.key: spec for spec in (*PAGES, LOGIN)}
