"""Citizens' personal details (PII) masked before records leave the query layer, in one function.

Reports and dossiers may carry the citizen's name, phone, e-mail and exact address (when a source file has them).
Only the roles of the setting IOC_PII_ROLES (default `admin`) see them as stored (`User.sees_pii`); everyone else gets

* name → initials: "Nguyễn Văn An" → "N. V. A."
* phone → its last three digits: "0900 555 123" → "•••••••123"
* e-mail → first letter and domain: "an.nguyen@example.com" → "a•••@example.com"
* address → "•••" (the ward stays in its own column, area_code / area_name)

and, for roles without the right to exact locations (`viewer`, `public`), report coordinates rounded to 2 decimals
(about 1 km). `mask_records` is applied to the final frame of every records query (dashboard/db/records_queries.py),
so the record tables, their CSV downloads, the CLI `records` and everything built from them hold the masked values.
Pure pandas: no database, no Streamlit.
"""

from __future__ import annotations

import re

import pandas as pd

PII_COLUMNS = ("citizen_name", "citizen_phone", "citizen_email", "citizen_address")
LOCATION_COLUMNS = ("lat", "lon")
LOCATION_DECIMALS = 2
DOT = "•"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA or str(value).strip() == ""


def mask_name(value: object) -> object:
    """Initials of every word: "Nguyễn Văn An" → "N. V. A."."""
    if _blank(value):
        return None
    words = [w for w in re.split(r"[\s,]+", str(value)) if w]
    initials = [next((c for c in w if c.isalnum()), "") for w in words]
    return " ".join(f"{c.upper()}." for c in initials if c) or DOT * 3


def mask_phone(value: object) -> object:
    """Every digit but the last three hidden: "0900 555 123" → "•••••••123"."""
    if _blank(value):
        return None
    digits = re.sub(r"\D", "", str(value))
    if len(digits) <= 3:
        return DOT * 3
    return DOT * (len(digits) - 3) + digits[-3:]


def mask_email(value: object) -> object:
    """First letter and domain: "an.nguyen@example.com" → "a•••@example.com"."""
    if _blank(value):
        return None
    local, at, domain = str(value).strip().rpartition("@")
    if not at or not local or not domain:
        return DOT * 3
    return f"{local[0]}{DOT * 3}@{domain}"


def mask_address(value: object) -> object:
    if _blank(value):
        return None
    return DOT * 3


_MASKS = {
    "citizen_name": mask_name,
    "citizen_phone": mask_phone,
    "citizen_email": mask_email,
    "citizen_address": mask_address,
}


def mask_records(frame: pd.DataFrame, *, sees_pii: bool, exact_locations: bool) -> pd.DataFrame:
    """`frame` with the personal details masked (unless `sees_pii`) and lat/lon rounded to 2 decimals (unless
    `exact_locations`). Columns it does not know are left as they are; the input frame is never changed."""
    masked = [c for c in PII_COLUMNS if c in frame.columns] if not sees_pii else []
    rounded = [c for c in LOCATION_COLUMNS if c in frame.columns] if not exact_locations else []
    if not masked and not rounded:
        return frame
    out = frame.copy()
    for column in masked:
        mask = _MASKS[column]
        out[column] = pd.Series([mask(value) for value in out[column]], index=out.index, dtype=object)
    for column in rounded:
        out[column] = pd.to_numeric(out[column], errors="coerce").astype(float).round(LOCATION_DECIMALS)
    return out


def sees_pii(role: str, pii_roles: frozenset[str] | set[str] | tuple[str, ...]) -> bool:
    """Whether `role` is one of the roles that see personal details (the IOC_PII_ROLES setting)."""
    return str(role) in {str(r) for r in pii_roles}
