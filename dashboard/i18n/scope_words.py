"""A user's scope in words, the one wording for the sidebar, the accounts page, the overview and the PDF's cover:
"toàn thành phố", or "Đơn vị: A, B; Phường/xã: X, Y" (wards by name)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dashboard.i18n import t

if TYPE_CHECKING:
    from dashboard.access.scope import Scope


def scope_words(scope: Scope, lang: str, area_names: Mapping[str, str]) -> str:
    """`scope` in words; `area_names` maps ward codes to names (a code without a name is shown as the code)."""
    if scope.whole_city:
        return t("auth.scope_whole", lang)
    parts = []
    if scope.agencies:
        parts.append(t("briefing.scope.agencies", lang, names=", ".join(scope.agencies)))
    if scope.areas:
        parts.append(t("briefing.scope.areas", lang, names=", ".join(area_names.get(a, a) for a in scope.areas)))
    return "; ".join(parts)
