"""Answer tables: CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX read in chunks; CSV written for Excel."""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

CHUNK_ROWS = 100_000


class TableError(ValueError):
    """A table that cannot be read as asked; the message names the file."""


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8 or gb18030 (a superset of GBK), checked over the whole file."""
    with path.open("rb") as handle:
        head = handle.read(3)
        if head == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        for encoding in ("utf-8", "gb18030"):
            decoder = codecs.getincrementaldecoder(encoding)()
            handle.seek(0)
            try:
                while block := handle.read(1 << 20):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
                return encoding
            except UnicodeDecodeError:
                continue
    raise TableError(f"{path}: the text encoding is not UTF-8 or GBK")


def read_chunks(path: str | Path, columns: Sequence[str], chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The requested columns as text, chunk by chunk; a missing column is refused up front."""
    file = Path(path)
    if not file.is_file():
        raise TableError(f"{file}: no such file")
    suffix = file.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        yield from _xlsx_chunks(file, columns, chunk_rows)
    elif suffix in (".csv", ".txt", ".tsv"):
        yield from _csv_chunks(file, columns, chunk_rows)
    else:
        raise TableError(f"{file}: read CSV or XLSX files (this one ends in {suffix or 'nothing'})")


def _check(file: Path, found: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [column for column in wanted if column not in found]
    if missing:
        names = ", ".join(repr(m) for m in missing)
        raise TableError(f"{file}: no column {names}; the columns are: {', '.join(map(str, found))}")


def _csv_chunks(file: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    encoding = detect_encoding(file)
    with file.open(encoding=encoding, newline="") as handle:
        sample = handle.read(65536)
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    try:
        reader = pd.read_csv(
            file,
            encoding=encoding,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            chunksize=chunk_rows,
            on_bad_lines="error",
        )
        first = True
        for chunk in reader:
            if first:
                _check(file, list(chunk.columns), columns)
                first = False
            yield chunk[list(columns)]
        if first:
            header = sample.split("\n", 1)[0].strip()
            _check(file, header.split(delimiter) if header else [], columns)
    except pd.errors.ParserError as error:
        raise TableError(f"{file}: not a well-formed CSV ({str(error).strip()})") from error
    except pd.errors.EmptyDataError as error:
        raise TableError(f"{file}: the file is empty") from error


def _xlsx_chunks(file: Path, columns: Sequence[str], chunk_rows: int) -> Iterator[pd.DataFrame]:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as error:
        raise TableError(f"{file}: not a readable XLSX workbook ({error})") from error
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        header = [("" if cell is None else str(cell).strip()) for cell in next(rows, ())]
        _check(file, header, columns)
        positions = [header.index(column) for column in columns]
        batch: list[list[str]] = []
        for row in rows:
            batch.append([_cell(row[p]) if p < len(row) else "" for p in positions])
            if len(batch) >= chunk_rows:
                yield pd.DataFrame(batch, columns=list(columns))
                batch = []
        if batch:
            yield pd.DataFrame(batch, columns=list(columns))
    finally:
        book.close()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# Text that Excel, WPS and LibreOffice read as a formula when a cell starts with it (a tab or a
# carriage return first, too). An answer or a call-list cell such as =HYPERLINK("http://…") must
# stay text in every spreadsheet a researcher opens.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise_formula(value: Any) -> Any:
    """A leading apostrophe, the spreadsheets' own mark for "this is text" (OWASP's advice for CSV)."""
    return "'" + value if is_formula_like(value) else value


def neutralise_frame(frame: pd.DataFrame, *, index: bool = False) -> pd.DataFrame:
    """The frame with every formula-like text cell (and header, and with `index` the index) neutralised."""
    result = frame.copy()
    for position in range(result.shape[1]):
        column = result.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            result.isetitem(position, _neutralise_column(column))
    result.columns = [neutralise_formula(name) for name in result.columns]
    if index:
        result.index = result.index.map(neutralise_formula)
    return result


def _neutralise_column(column: pd.Series) -> pd.Series:
    # Vectorised: a million coded answers are written in seconds, and nearly none is formula-like.
    try:
        risky = column.str.startswith(FORMULA_STARTS, na=False)
    except AttributeError:  # no text in the column at all
        return column
    if not risky.any():
        return column
    return column.mask(risky, "'" + column[risky].astype(str))


class CsvForExcel:
    """Appends DataFrames to a CSV that Excel opens with Chinese intact (UTF-8 with BOM), formulas
    neutralised. The file is owner-only and appears under its name only once complete: a run that
    fails leaves the previous file, or none, never half a table."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.rows = 0
        self._header_written = False
        if not self.path.parent.is_dir():
            raise TableError(f"{self.path}: the folder {self.path.parent} does not exist")
        descriptor, name = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part")
        self._temporary = Path(name)
        self._handle = os.fdopen(descriptor, "w", encoding="utf-8-sig", newline="")

    def write(self, frame: pd.DataFrame) -> None:
        neutralise_frame(frame).to_csv(self._handle, index=False, header=not self._header_written, lineterminator="\n")
        self._header_written = True
        self.rows += len(frame)

    def close(self) -> None:
        """Finish the file: synced, then moved onto its name."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self._temporary, self.path)

    def abandon(self) -> None:
        self._handle.close()
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> CsvForExcel:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()
