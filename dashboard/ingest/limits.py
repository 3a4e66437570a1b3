"""Import limits: how big a file may be in columns, cells, rows, line and cell length, and how far an .xlsx expands.

Every check here runs before the file is parsed (or while it is streamed), in time proportional to the file and in
a few megabytes of memory, so a hostile file is refused before it can cost minutes or gigabytes. A breach raises
`InputError` with a one-line message naming the file, the limit, its setting and where in the file it was hit.
The defaults (dashboard/config.py) are far above any real export; see the README, "Importing real data".
"""

from __future__ import annotations

import codecs
import hashlib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from dashboard import config
from dashboard.ingest.messages import Localized

BLOCK = 1 << 20
EXCEL_MAX_ROWS = 1_048_576  # rows of one Excel sheet (header included): no Excel file has more
RATIO_FROM_BYTES = 1 << 20  # parts smaller than this are not checked for their expansion ratio


class InputError(Localized, ValueError):
    """The file cannot be imported as it is; the message (an i18n key with parameters) says what and where."""

    def __init__(self, key: str, **params: object) -> None:
        ValueError.__init__(self, self._localize(key, params))


@dataclass(frozen=True)
class Limits:
    columns: int
    field_chars: int
    line_bytes: int
    rows: int
    cells: int
    xlsx_ratio: float
    xlsx_part_bytes: int

    @classmethod
    def current(cls) -> Limits:
        """The limits of the settings IOC_IMPORT_MAX_* (read anew each time: a change needs no restart)."""
        get = config.value
        return cls(
            columns=get("IOC_IMPORT_MAX_COLUMNS"),
            field_chars=get("IOC_IMPORT_MAX_FIELD_CHARS"),
            line_bytes=get("IOC_IMPORT_MAX_LINE_BYTES"),
            rows=get("IOC_IMPORT_MAX_ROWS"),
            cells=get("IOC_IMPORT_MAX_CELLS"),
            xlsx_ratio=get("IOC_IMPORT_MAX_XLSX_RATIO"),
            xlsx_part_bytes=get("IOC_IMPORT_MAX_XLSX_PART_MB") << 20,
        )


# ---------------------------------------------------------------- text files
def hash_and_check_lines(path: Path, max_line: int | None) -> str:
    """The file's SHA-256; with `max_line`, InputError at the first line longer than that many bytes.

    One pass in 1 MiB blocks: only the run of bytes since the last line end is tracked, so a file that is one
    endless line costs no more memory than any other."""
    digest = hashlib.sha256()
    run = line_start = offset = 0
    lines = 1
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            digest.update(block)
            if max_line is not None:
                first = block.find(b"\n")
                if first < 0:
                    run += len(block)
                else:
                    if run + first > max_line:
                        break
                    newlines = block.count(b"\n")
                    last = block.rfind(b"\n")
                    if last - first > max_line:  # a long line inside one block (limits under 1 MiB)
                        _long_line_in_block(path, block, offset, lines, max_line)
                    lines += newlines
                    line_start, run = offset + last + 1, len(block) - last - 1
                if run > max_line:
                    break
            offset += len(block)
        else:
            return digest.hexdigest()
    raise InputError(
        "ingest.msg.line_too_long",
        file=path.name,
        line=lines,
        byte=line_start,
        limit=max_line,
        setting="IOC_IMPORT_MAX_LINE_BYTES",
    )


def _long_line_in_block(path: Path, block: bytes, offset: int, lines: int, max_line: int) -> None:
    start = 0
    for number, line in enumerate(block.split(b"\n")[:-1]):
        if len(line) > max_line and number > 0:
            raise InputError(
                "ingest.msg.line_too_long",
                file=path.name,
                line=lines + number,
                byte=offset + start,
                limit=max_line,
                setting="IOC_IMPORT_MAX_LINE_BYTES",
            )
        start += len(line) + 1


def first_bad_byte(path: Path, encoding: str) -> tuple[int, int] | None:
    """(byte offset, line) of the first byte that cannot be read as `encoding`; None when the whole file can."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset, lines = 0, 1
    with path.open("rb") as handle:
        while block := handle.read(BLOCK):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                bad = offset - pending + error.start
                with path.open("rb") as again:
                    again.seek(offset)
                    lines += again.read(max(bad - offset, 0)).count(b"\n")
                return bad, lines
            lines += block.count(b"\n")
            offset += len(block)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - len(decoder.getstate()[0]), lines
    return None


# ---------------------------------------------------------------- Excel
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"", re.DOTALL)


def check_xlsx(path: Path, limits: Limits) -> None:
    """Refuse a zip bomb from the archive's own directory, then count the first sheet's rows and cells.

    Python's zipfile never inflates a part beyond the size its directory declares, so checking the declared
    sizes bounds what openpyxl can be made to read; the count streams the sheet without parsing it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise InputError("ingest.msg.unreadable", file=path.name, format="EXCEL", detail=str(error)[:160]) from None
    with archive:
        for part in archive.infolist():
            ratio = part.file_size / max(part.compress_size, 1)
            if part.file_size > RATIO_FROM_BYTES and ratio > limits.xlsx_ratio:
                raise InputError(
                    "ingest.msg.xlsx_ratio",
                    file=path.name,
                    part=part.filename,
                    size=part.file_size,
                    compressed=part.compress_size,
                    ratio=int(ratio),
                    limit=int(limits.xlsx_ratio),
                    setting="IOC_IMPORT_MAX_XLSX_RATIO",
                )
            if part.file_size > limits.xlsx_part_bytes:
                raise InputError(
                    "ingest.msg.xlsx_part_too_big",
                    file=path.name,
                    part=part.filename,
                    size=part.file_size,
                    limit=limits.xlsx_part_bytes >> 20,
                    setting="IOC_IMPORT_MAX_XLSX_PART_MB",
                )
        sheet = _first_sheet(archive)
        if sheet is not None:
            _count_sheet(archive, sheet, path.name, limits)


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The archive member of the workbook's first sheet (the one the importer reads)."""
    names = set(archive.namelist())
    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
        return sheets[0] if sheets else None
    found = _SHEET.search(workbook)
    if found:
        relation = re.search(
            rb"<(?:\w+:)?Relationship\b[^>]*?\bId=\"" + re.escape(found.group(1)) + rb"\"[^>]*>", relations
        )
        target = re.search(rb"\bTarget=\"([^\"]+)\"", relation.group(0)) if relation else None
        if target:
            name = target.group(1).decode("utf-8", "replace")
            name = name.lstrip("/") if name.startswith("/") else "xl/" + name
            if name in names:
                return name
    sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    return sheets[0] if sheets else None


_ROW_TAGS = (b"<row ", b"<row>", b":row ", b":row>")
_CELL_TAGS = (b"<c ", b"<c>", b":c ", b":c>")


def _count_sheet(archive: zipfile.ZipFile, member: str, file: str, limits: Limits) -> None:
    """Rows and cells of a sheet by their tags, streamed in 1 MiB blocks (about 1 s per 250 MB of XML)."""
    rows = cells = 0
    tail = b""
    max_rows = min(limits.rows + 1, EXCEL_MAX_ROWS)  # +1: the header row
    with archive.open(member) as stream:
        while block := stream.read(BLOCK):
            data = tail + block
            rows += sum(data.count(tag) - tail.count(tag) for tag in _ROW_TAGS)
            cells += sum(data.count(tag) - tail.count(tag) for tag in _CELL_TAGS)
            tail = data[-8:]
            if rows > max_rows:
                if limits.rows + 1 > EXCEL_MAX_ROWS:
                    raise InputError("ingest.msg.excel_rows", file=file, limit=EXCEL_MAX_ROWS)
                raise InputError(
                    "ingest.msg.too_many_rows",
                    file=file,
                    row=limits.rows + 1,
                    limit=limits.rows,
                    setting="IOC_IMPORT_MAX_ROWS",
                )
            if cells > limits.cells:  # by the end of this block: the data row named is at most this far off
                raise InputError(
                    "ingest.msg.too_many_cells",
                    file=file,
                    row=max(rows - 1, 1),
                    limit=limits.cells,
                    setting="IOC_IMPORT_MAX_CELLS",
                )


# ---------------------------------------------------------------- while reading
def check_columns(file: str, count: int, limits: Limits, *, at_least: bool = False) -> None:
    if count > limits.columns:
        raise InputError(
            "ingest.msg.too_many_columns",
            file=file,
            columns=count,
            at_least="≥ " if at_least else "",
            limit=limits.columns,
            setting="IOC_IMPORT_MAX_COLUMNS",
        )


def check_rows(file: str, last_row: int, columns: int, limits: Limits) -> None:
    """After reading data rows up to `last_row` (1 = the first after the header) of `columns` columns."""
    if last_row > limits.rows:
        raise InputError(
            "ingest.msg.too_many_rows", file=file, row=limits.rows + 1, limit=limits.rows, setting="IOC_IMPORT_MAX_ROWS"
        )
    if last_row * max(columns, 1) > limits.cells:
        raise InputError(
            "ingest.msg.too_many_cells",
            file=file,
            row=limits.cells // max(columns, 1) + 1,
            limit=limits.cells,
            setting="IOC_IMPORT_MAX_CELLS",
        )
