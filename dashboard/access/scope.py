"""The rows a user may see: a `Scope` of agencies and/or wards, applied by the query layer to every case query.

* `Scope.everything()` — the whole city (analysts, operators, admins, viewers' city figures).
* `Scope.of(agencies=…, areas=…)` — an agency officer: the cases handled by one of `agencies` OR located in one of
  `areas` (a ward officer sees every case of the ward, an agency officer every case the agency handles; an officer
  given both sees both). An officer's scope is never empty: `users add` refuses it.

A scope is a frozen, hashable value, so it travels inside a `QueryFilter` and is part of every cache key: two users
with different scopes never share a cached result.

A request (a URL parameter, a sidebar choice, a CLI flag) can only NARROW a scope: `narrow_agencies` and
`narrow_areas` keep the requested values that the scope allows and say whether anything was dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Scope:
    agencies: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    whole_city: bool = False

    @classmethod
    def everything(cls) -> Scope:
        return cls(whole_city=True)

    @classmethod
    def of(cls, agencies: Iterable[str] = (), areas: Iterable[str] = ()) -> Scope:
        agencies = tuple(sorted({a.strip() for a in agencies if a and a.strip()}))
        areas = tuple(sorted({a.strip() for a in areas if a and a.strip()}))
        if not agencies and not areas:
            raise ValueError("a restricted scope needs at least one agency or area")
        return cls(agencies, areas, False)

    @property
    def restricted(self) -> bool:
        return not self.whole_city

    def allows(self, agency: str | None, area: str | None) -> bool:
        """Whether a case handled by `agency` in `area` is inside the scope (the same rule as the SQL predicate)."""
        return self.whole_city or (agency in self.agencies) or (area in self.areas)

    def narrow_agencies(self, requested: Iterable[str]) -> tuple[tuple[str, ...], bool]:
        """The requested agencies this scope allows, and whether some were dropped (to tell the user).

        An officer scoped by area only may filter on any agency (the rows stay inside the area anyway)."""
        requested = tuple(requested)
        if self.whole_city or not self.agencies or self.areas:
            return requested, False
        kept = tuple(a for a in requested if a in self.agencies)
        return kept, len(kept) != len(requested)

    def narrow_areas(self, requested: Iterable[str]) -> tuple[tuple[str, ...], bool]:
        """The requested areas this scope allows, and whether some were dropped (same rule as agencies)."""
        requested = tuple(requested)
        if self.whole_city or not self.areas or self.agencies:
            return requested, False
        kept = tuple(a for a in requested if a in self.areas)
        return kept, len(kept) != len(requested)

    def describe(self) -> str:
        """Plain text for logs and the audit trail."""
        if self.whole_city:
            return "whole city"
        parts = []
        if self.agencies:
            parts.append("agencies: " + ", ".join(self.agencies))
        if self.areas:
            parts.append("areas: " + ", ".join(self.areas))
        return "; ".join(parts)


WHOLE_CITY = Scope.everything()
