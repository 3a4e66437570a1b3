"""Reading import files in chunks of text: CSV/TSV (any common encoding and delimiter), Excel, Parquet, JSON.

Every reader yields DataFrames of strings (None where a cell is empty) indexed by the data row number
(1 = the first row after the header), so the importer treats every format alike and the reject report can
point at a row. Garbage (binary, empty, truncated, unreadable) raises `InputError` with a one-line message.
Nothing is decided from more than a bounded sample, and the limits of dashboard/ingest/limits.py (columns, line and
cell length, rows, cells, the expansion of an .xlsx) are checked before or while the file is read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from dashboard.ingest import limits as bounds
from dashboard.ingest.limits import InputError, Limits

CHUNK_ROWS = 100_000
CHUNK_CELLS = 2_000_000  # a wide file is read in fewer rows at a time: chunk memory stays bounded
_SNIFF_CHARS = 65_536  # the delimiter is guessed from the first 64 K characters
_HEAD_BYTES = 1 << 20
NULL_TOKENS = ("NaN", "nan", "NULL", "null", "None", "N/A", "#N/A", "<undefined>")
_VIETNAMESE_MARKS = set("ăâđêôơưĂÂĐÊÔƠƯ\u0300\u0301\u0303\u0309\u0323")


@dataclass
class SourceFile:
    path: Path
    format: str  # csv, excel, parquet, json, jsonl
    encoding: str | None = None
    delimiter: str | None = None
    headers: list[str] = field(default_factory=list)
    size_bytes: int = 0
    sha256: str = ""
    progress: float = 0.0  # share of the file read so far, 0..1
    limits: Limits = field(default_factory=Limits.current)
    header_fields: int = 0  # CSV: fields of the header record

    @property
    def name(self) -> str:
        return self.path.name


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _format_of(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PAR1") or suffix == ".parquet":
        return "parquet"
    if head.startswith(b"PK\x03\x04") or suffix in (".xlsx", ".xlsm"):
        return "excel"
    if suffix == ".jsonl" or suffix == ".ndjson":
        return "jsonl"
    stripped = head.lstrip(b"\xef\xbb\xbf \r\n\t")
    if suffix in (".json", ".geojson") or stripped[:1] in (b"[", b"{"):
        return "json"
    return "csv"


def _encoding_of(path: Path, head: bytes) -> str:
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head[:200].count(b"\x00") > len(head[:200]) // 4:  # UTF-16 without a byte-order mark
        return "utf-16-le" if head[1:2] == b"\x00" else "utf-16-be"
    if b"\x00" in head:
        raise InputError("ingest.msg.binary_file", file=path.name)
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 4 and len(head) == _HEAD_BYTES:  # a character cut by the 1 MB boundary
            return "utf-8"
    try:
        if set(head.decode("cp1258")) & _VIETNAMESE_MARKS:
            return "cp1258"
    except UnicodeDecodeError:
        pass
    return "latin-1"


def _delimiter_of(text: str) -> str:
    lines = [line for line in text[:_SNIFF_CHARS].splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in ",;\t|"}
        return max(counts, key=counts.get)


def _csv_records(text: str, delimiter: str) -> Iterator[list[str]]:
    csv.field_size_limit(max(len(text) + 1, 131_072))  # the text is bounded by the caller
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _check_header(source: SourceFile) -> None:
    """Count the header's fields from at most one line's worth of bytes: a million columns never reach pandas."""
    with source.path.open("rb") as handle:
        prefix = handle.read(source.limits.line_bytes + 1)
    text = prefix.decode(source.encoding or "utf-8", errors="ignore").lstrip("\ufeff")
    try:
        header = next(_csv_records(text, source.delimiter or ","), [])
    except csv.Error as error:
        raise InputError("ingest.msg.unreadable", file=source.name, format="CSV", detail=str(error)[:160]) from None
    complete = len(prefix) <= source.limits.line_bytes or b"\n" in prefix
    bounds.check_columns(source.name, len(header), source.limits, at_least=not complete)
    source.header_fields = len(header)


def open_source(path: Path | str, limits: Limits | None = None) -> SourceFile:
    """Look at the file and say how to read it; InputError when it cannot be read at all or breaks a limit."""
    path = Path(path)
    if not path.exists():
        raise InputError("ingest.msg.no_such_file", file=str(path))
    if path.is_dir():
        raise InputError("ingest.msg.folder", file=str(path))
    size = path.stat().st_size
    if size == 0:
        raise InputError("ingest.msg.empty_file", file=path.name)
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    source = SourceFile(path, _format_of(path, head), size_bytes=size, limits=limits or Limits.current())
    if source.format == "csv":
        source.encoding = _encoding_of(path, head)
        text = head[: _SNIFF_CHARS * 4].decode(source.encoding, errors="ignore")
        source.delimiter = _delimiter_of(text)
        _check_header(source)
    elif source.format == "excel":
        bounds.check_xlsx(path, source.limits)
    elif source.format == "parquet":
        _check_parquet(source)
    lines = source.format in ("csv", "jsonl")
    source.sha256 = bounds.hash_and_check_lines(path, source.limits.line_bytes if lines else None)
    if source.format == "csv":
        _check_not_truncated(source)
    source.headers = [str(h) for h in preview(source, rows=0).columns]
    if not source.headers:
        raise InputError("ingest.msg.no_header", file=path.name)
    return source


def _check_parquet(source: SourceFile) -> None:
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(source.path).metadata
    except Exception as error:  # noqa: BLE001 - pyarrow raises its own types for corrupt files
        raise _read_error(source, error) from None
    bounds.check_columns(source.name, metadata.num_columns, source.limits)
    bounds.check_rows(source.name, metadata.num_rows, metadata.num_columns, source.limits)


def _check_not_truncated(source: SourceFile) -> None:
    """A CSV cut off in the middle of a row ends without a line end and with too few fields."""
    with source.path.open("rb") as handle:
        handle.seek(max(0, source.size_bytes - 65536))
        tail = handle.read()
    if tail.rstrip(b"\x00").endswith((b"\n", b"\r")):
        return
    lines = tail.decode(source.encoding or "utf-8", errors="ignore").splitlines()
    if len(lines) < 2 and source.size_bytes <= 65536:
        return  # a header alone: reported as "no data rows" later
    expected = source.header_fields
    last = lines[-1] if lines else ""
    try:
        fields = len(next(_csv_records(last, source.delimiter or ","), []))
    except csv.Error as error:
        raise InputError("ingest.msg.unreadable", file=source.name, format="CSV", detail=str(error)[:160]) from None
    if last.count('"') % 2 == 1 or fields < expected:
        raise InputError(
            "ingest.msg.truncated", file=source.name, fields=fields, expected=expected, line=repr(last[:60])
        )


def _as_text(
    frame: pd.DataFrame, first_row: int, all_text: bool = False, source: SourceFile | None = None
) -> pd.DataFrame:
    """Every cell as a stripped string or None; index = data row numbers. `all_text`: cells are str or NaN.

    With `source`, a cell longer than its IOC_IMPORT_MAX_FIELD_CHARS raises InputError naming row and column."""
    out = pd.DataFrame(index=pd.RangeIndex(first_row, first_row + len(frame)))
    for column in frame.columns:
        values = frame[column]
        if all_text:
            text = values.str.strip().astype(object)
            text = text.where(text.notna(), None)
        elif pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d %H:%M:%S")
        else:
            text = values.astype(object).where(values.notna(), None)
            text = text.map(
                lambda v: (
                    v
                    if v is None
                    else (str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v)))
                )
            )
        text = text.where((text != "") & ~text.isin(NULL_TOKENS), None)
        if source is not None:
            _check_field_length(source, text, first_row, column)
        out[str(column)] = text.to_numpy()
    return out


def _check_field_length(source: SourceFile, text: pd.Series, first_row: int, column: object) -> None:
    lengths = text.map(len, na_action="ignore")
    if len(lengths) and lengths.max() > source.limits.field_chars:
        position = int((lengths > source.limits.field_chars).to_numpy().argmax())
        raise InputError(
            "ingest.msg.field_too_long",
            file=source.name,
            row=first_row + position,
            column=str(column),
            chars=int(lengths.iloc[position]),
            limit=source.limits.field_chars,
            setting="IOC_IMPORT_MAX_FIELD_CHARS",
        )


def _csv_reader(source: SourceFile, rows: int | None, chunk_rows: int | None, handle=None):
    return pd.read_csv(
        handle or source.path,
        sep=source.delimiter,
        encoding=source.encoding,
        dtype=str,
        keep_default_na=False,
        na_values=[""],
        skipinitialspace=True,
        nrows=rows,
        chunksize=chunk_rows,
        on_bad_lines="error",
        engine="c",
        encoding_errors="strict",
    )


def _normalise(frame: pd.DataFrame, source: SourceFile) -> pd.DataFrame:
    frame.columns = [unicodedata.normalize("NFC", str(c)).lstrip("\ufeff").strip() for c in frame.columns]
    if source.encoding == "cp1258":  # Windows-1258 writes tone marks as separate combining characters
        for column in frame.columns:
            frame[column] = frame[column].map(lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v)
    return frame


def _read_error(source: SourceFile, error: Exception) -> InputError:
    if isinstance(error, InputError):
        return error
    if isinstance(error, UnicodeDecodeError):  # error.start counts from pandas' buffer: find the real place
        where = bounds.first_bad_byte(source.path, source.encoding or "utf-8") or (error.start, 1)
        return InputError(
            "ingest.msg.encoding", file=source.name, byte=where[0], line=where[1], encoding=source.encoding
        )
    detail = " ".join(str(error).split())[:160]
    return InputError("ingest.msg.unreadable", file=source.name, format=source.format.upper(), detail=detail)


def _excel_chunks(source: SourceFile, chunk_rows: int, limit: int | None) -> Iterator[pd.DataFrame]:
    from openpyxl import load_workbook

    workbook = load_workbook(source.path, read_only=True, data_only=True)
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        first = list(next(rows, ()))
        while first and (first[-1] is None or str(first[-1]).strip() == ""):  # formatted but empty cells
            first.pop()
        bounds.check_columns(source.name, len(first), source.limits)
        headers = [str(h).strip() if h is not None else f"column_{i + 1}" for i, h in enumerate(first)]
        batch: list[tuple] = []
        for number, row in enumerate(rows, start=1):
            if limit is not None and number > limit:
                break
            batch.append(tuple(row[: len(headers)]) + (None,) * (len(headers) - len(row)))
            if len(batch) >= chunk_rows:
                yield pd.DataFrame(batch, columns=headers)
                batch = []
        if batch or limit == 0 or not headers:
            yield pd.DataFrame(batch, columns=headers)
    finally:
        workbook.close()


def _json_records(source: SourceFile, limit: int | None = None) -> list[dict]:
    """The records; JSONL with `limit`: only the first lines (at least 1,000, whose keys make the header), while a
    JSON document is read whole."""
    if source.format == "jsonl":
        with source.path.open(encoding="utf-8-sig") as handle:
            lines = (line for line in handle if line.strip())
            if limit is not None:
                lines = itertools.islice(lines, max(limit, 1000))
            return [json.loads(line) for line in lines]
    with source.path.open(encoding="utf-8-sig") as handle:
        document = json.load(handle)
    if isinstance(document, dict):  # {"service_requests": [...]} or a GeoJSON FeatureCollection
        lists = [v for v in document.values() if isinstance(v, list)]
        document = lists[0] if lists else [document]
    return [r.get("properties", r) if isinstance(r, dict) and "properties" in r else r for r in document]


def _check_records(source: SourceFile, records: list[dict]) -> None:
    """JSON: the union of the records' keys (the columns) and their number, before a frame is built."""
    keys: set = set()
    for record in records:
        keys.update(record)
        if len(keys) > source.limits.columns:
            bounds.check_columns(source.name, len(keys), source.limits, at_least=True)
    bounds.check_rows(source.name, len(records), len(keys), source.limits)


def _frames(source: SourceFile, chunk_rows: int, limit: int | None) -> Iterator[pd.DataFrame]:
    if source.format == "csv":
        if limit is not None:
            yield _csv_reader(source, max(limit, 0) or 1, None).head(limit)
            return
        with source.path.open("rb") as handle:
            for frame in _csv_reader(source, None, chunk_rows, handle):
                source.progress = min(handle.tell() / max(source.size_bytes, 1), 1.0)
                yield frame
    elif source.format == "excel":
        yield from _excel_chunks(source, chunk_rows, limit)
    elif source.format == "parquet":
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(source.path)
        done = 0
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            done += len(frame)
            source.progress = done / max(parquet.metadata.num_rows, 1)
            yield frame if limit is None else frame.head(limit)
            if limit is not None:
                return
    else:
        records = _json_records(source, limit)
        if not all(isinstance(r, dict) for r in records):
            raise InputError("ingest.msg.json_records", file=source.name)
        _check_records(source, records)
        frame = pd.DataFrame.from_records(records)
        for column in frame.columns:
            frame[column] = frame[column].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v
            )
        if limit is not None:
            yield frame.head(limit)
            return
        for start in range(0, max(len(frame), 1), chunk_rows):
            source.progress = min((start + chunk_rows) / max(len(frame), 1), 1.0)
            yield frame.iloc[start : start + chunk_rows]


def iter_chunks(source: SourceFile, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The file's data rows as text frames of at most `chunk_rows` rows, index = data row number."""
    first_row = 1
    chunk_rows = max(1, min(chunk_rows, CHUNK_CELLS // max(len(source.headers), 1)))
    frames = _frames(source, chunk_rows, None)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except MemoryError:
            raise
        except Exception as error:  # noqa: BLE001 - every reader has its own error types (pandas, openpyxl, pyarrow)
            raise _read_error(source, error) from None
        bounds.check_rows(source.name, first_row + len(frame) - 1, frame.shape[1], source.limits)
        frame = _as_text(_normalise(frame, source), first_row, all_text=source.format == "csv", source=source)
        first_row += len(frame)
        yield frame


def preview(source: SourceFile, rows: int = 20) -> pd.DataFrame:
    """The first `rows` data rows (only the header with rows=0)."""
    try:
        frame = next(_frames(source, max(rows, 1), rows), pd.DataFrame())
    except StopIteration:
        frame = pd.DataFrame()
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        ValueError,
        OSError,
        json.JSONDecodeError,
        KeyError,
        io.UnsupportedOperation,
    ) as error:
        raise _read_error(source, error) from None
    except MemoryError:
        raise
    except Exception as error:  # noqa: BLE001 - openpyxl / pyarrow raise their own types for corrupt files
        raise _read_error(source, error) from None
    return _as_text(_normalise(frame.head(rows), source), 1, all_text=source.format == "csv", source=source)
