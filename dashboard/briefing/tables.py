"""A table of the briefing exactly as printed (the PDF, the page "Báo cáo tuần"): translated headers, formatted
cells, which columns are numbers."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Table:
    """A table exactly as printed: translated headers, formatted cells, which columns are numbers."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.rows), columns=list(self.columns))

    def __bool__(self) -> bool:
        return bool(self.rows)


def table(columns: list[tuple[str, bool]], rows: list[list[str]]) -> Table:
    return Table(tuple(name for name, _ in columns), tuple(tuple(row) for row in rows), tuple(n for _, n in columns))
