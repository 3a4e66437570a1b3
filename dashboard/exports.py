"""Tables as files a person downloads (CSV and Excel), written so no cell is ever a live formula.

Names in the data come from imported files, so an agency called `=HYPERLINK("http://…","click")` must reach a
spreadsheet as the text it is. A cell is *risky* when it is text starting with one of `= + - @`, a tab or a carriage
return (what Excel, LibreOffice and Google Sheets read as the start of a formula). Every download goes through
`table_bytes` (the pages' CSV/Excel buttons, the records lists included):

* CSV: a risky cell gets a leading apostrophe (`'=HYPERLINK(…)`), the usual defence (OWASP "CSV injection"): a
  spreadsheet shows the text, the apostrophe visible, and never evaluates it.
* Excel: a risky cell is written as a string cell (`t="inlineStr"`, never `<f>`) carrying the cell style's
  `quotePrefix`, so the visible value is the original text, and editing the cell keeps it text. Characters XML cannot
  hold (control characters other than tab, line feed and carriage return) are removed from text cells, and a
  spreadsheet reads a carriage return as a line feed (XML line-end normalisation).

Numbers stay numbers (a negative count is `-3`, not text), dates stay dates; only text is ever changed. The weekly
PDF is not a spreadsheet: its data text is HTML-escaped by the template (Jinja autoescape) and printed unchanged.
"""

from __future__ import annotations

import io

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_risky(value: object) -> bool:
    """True for text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def safe_cell(value: object) -> object:
    """The value for a CSV cell: risky text with a leading apostrophe, everything else unchanged."""
    return "'" + value if is_risky(value) else value


def _is_text(dtype) -> bool:
    return (
        pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
        or isinstance(dtype, pd.CategoricalDtype)
    )


def _map_text(frame: pd.DataFrame, function) -> pd.DataFrame:
    """A copy of `frame` with `function` applied to every text cell and header (numbers and dates untouched)."""
    table = frame.copy()
    for position, dtype in enumerate(frame.dtypes):
        if _is_text(dtype):
            series = table.iloc[:, position]
            series = series.astype(object) if isinstance(dtype, pd.CategoricalDtype) else series
            table.isetitem(position, series.map(lambda v: function(v) if isinstance(v, str) else v))
    table.columns = [function(c) if isinstance(c, str) else c for c in frame.columns]
    return table


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and headers went through `safe_cell` (what the CSV holds)."""
    return _map_text(frame, safe_cell)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV, UTF-8 with BOM (so Excel shows Vietnamese correctly), risky text apostrophe-prefixed.

    Lines end in CRLF (RFC 4180), so a field holding a carriage return or a line feed is always quoted."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def _xml_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def xlsx_bytes(frame: pd.DataFrame, sheet_name: str = "data") -> bytes:
    """An .xlsx workbook of `frame`: one sheet, a header row, risky text as quote-prefixed string cells."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        _map_text(frame, _xml_text).to_excel(writer, index=False, sheet_name=sheet_name)
        for row in writer.sheets[sheet_name].iter_rows():
            for cell in row:
                if cell.data_type == "f" or is_risky(cell.value):  # openpyxl makes any text starting '=' a formula
                    cell.data_type = "s"
                    cell.quotePrefix = True
    return buffer.getvalue()


def table_bytes(frame: pd.DataFrame, kind: str) -> bytes:
    """`frame` as a "csv" or an "xlsx" file (the one writer behind every download)."""
    if kind == "csv":
        return csv_bytes(frame)
    if kind == "xlsx":
        return xlsx_bytes(frame)
    raise ValueError(f"unknown table file kind {kind!r}")
