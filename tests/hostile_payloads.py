"""Hostile import files written by the tests: each builder streams its payload to disk in small blocks, so the
test process itself stays small even when the file expands to gigabytes.

The sizes are the ones that once broke the importer unless a test scales them down (and the matching limit with them).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

BLOCK = 1 << 20

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = b"</sheetData></worksheet>"
# The header row: two shared strings (0 = the huge one or "id", 1 = "created_date").
_HEADER_ROW = b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'


def _write_streamed(
    archive: zipfile.ZipFile, name: str, head: bytes, body_block: bytes, blocks: int, tail: bytes
) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        member.write(head)
        for _ in range(blocks):
            member.write(body_block)
        member.write(tail)


def _xlsx(path: Path, sheet: tuple[bytes, bytes, int], shared: tuple[bytes, bytes, int]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        body, tail, blocks = shared
        _write_streamed(
            archive,
            "xl/sharedStrings.xml",
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="2" '
            b'uniqueCount="2"><si><t>',
            body,
            blocks,
            tail,
        )
        body, rows_tail, blocks = sheet
        _write_streamed(
            archive, "xl/worksheets/sheet1.xml", _SHEET_HEAD + _HEADER_ROW, body, blocks, rows_tail + _SHEET_TAIL
        )
    return path


def huge_shared_string_xlsx(path: Path, mebibytes: int = 1024) -> Path:
    """An .xlsx of about 1 MB whose first shared string (the first header) is `mebibytes` MiB of "A"."""
    return _xlsx(
        path,
        sheet=(b"", b'<row r="2"><c r="A2"><v>1</v></c></row>', 0),
        shared=(b"A" * BLOCK, b"</t></si><si><t>created_date</t></si></sst>", mebibytes),
    )


def many_rows_xlsx(path: Path, rows: int = 10_000_000) -> Path:
    """An .xlsx with the header (id, created_date) and `rows` data rows `<row><c><v>1</v></c></row>`."""
    row = b"<row><c><v>1</v></c></row>"
    per_block = 40_000
    blocks, rest = divmod(rows, per_block)
    return _xlsx(
        path,
        sheet=(row * per_block, row * rest, blocks),
        shared=(b"id", b"</t></si><si><t>created_date</t></si></sst>", 1),
    )


def million_columns_csv(path: Path, columns: int = 1_000_000) -> Path:
    """A CSV of about 9.9 MB: a header of `columns` names c0..c999999 and one data row of 1s."""
    with path.open("wb") as handle:
        for start in range(0, columns, 100_000):
            names = ",".join(f"c{i}" for i in range(start, min(start + 100_000, columns)))
            handle.write((names + ("," if start + 100_000 < columns else "\n")).encode())
        for start in range(0, columns, 100_000):
            count = min(100_000, columns - start)
            handle.write(b",".join([b"1"] * count) + (b"," if start + 100_000 < columns else b"\n"))
    return path


def long_field_without_line_end(path: Path, field_bytes: int = 200_000) -> Path:
    """A feedback CSV whose second data row is one `field_bytes`-long field and the file ends without a line end."""
    path.write_bytes(b"id,created_date\nA-1,2026-11-01 08:00\n" + b"x" * field_bytes)
    return path


def bad_byte_after(path: Path, rows: int = 40_000) -> tuple[Path, int, int]:
    """A UTF-8 feedback CSV of more than 1 MB with one invalid byte (0xff) in its last row.

    Returns the path, the byte offset of the bad byte from the start of the file and its line (1 = header)."""
    header = b"id,created_date,description\n"
    body = b"".join(f"R-{i:06d},2026-11-01 08:00,Đường Lê Lợi số {i}\n".encode() for i in range(rows))
    bad_line = b"R-BAD,2026-11-02 09:00,ab\xffcd\n"
    path.write_bytes(header + body + bad_line)
    return path, len(header) + len(body) + bad_line.index(b"\xff"), rows + 2
