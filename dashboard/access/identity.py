"""The person a page, a download or a CLI command runs for: name, role and scope (hashable, cache-safe)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.access.roles import Can, Role, can, may_open
from dashboard.access.scope import WHOLE_CITY, Scope


@dataclass(frozen=True)
class User:
    name: str  # "" for a visitor without an account
    role: Role
    scope: Scope = WHOLE_CITY
    display_name: str = ""
    sees_pii: bool = False  # from the IOC_PII_ROLES setting, resolved when the user is loaded

    @classmethod
    def visitor(cls) -> User:
        """A visitor without an account (only ever given the `public` pages)."""
        return cls("", Role.PUBLIC)

    @classmethod
    def kiosk(cls, label: str) -> User:
        """A wall screen opened with a kiosk token: city figures only, named after its token for the log."""
        return cls(f"kiosk:{label}", Role.VIEWER)

    @property
    def signed_in(self) -> bool:
        return bool(self.name) and not self.name.startswith("kiosk:")

    def can(self, right: Can) -> bool:
        return can(self.role, right)

    def may_open(self, page_key: str) -> bool:
        return may_open(self.role, page_key)
