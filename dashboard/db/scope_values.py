"""The agencies and area codes the data knows: what `users add --agency/--area` and the users page may choose."""

from __future__ import annotations

from sqlalchemy import select, union
from sqlalchemy.engine import Engine

from dashboard.db import schema


def known_agencies(engine: Engine) -> list[str]:
    """Every handling agency named by a feedback report or a dossier, sorted."""
    query = union(
        select(schema.feedback.c.agency).where(schema.feedback.c.agency.is_not(None)),
        select(schema.dossiers.c.agency).where(schema.dossiers.c.agency.is_not(None)),
    )
    with engine.connect() as connection:
        return sorted({row[0] for row in connection.execute(query) if str(row[0]).strip()})


def known_areas(engine: Engine) -> dict[str, str]:
    """Area code -> name of every area (ward) of the city."""
    with engine.connect() as connection:
        rows = connection.execute(select(schema.areas.c.code, schema.areas.c.name).order_by(schema.areas.c.code))
        return {code: name for code, name in rows}
