"""Answer tables: CSV (UTF-8, UTF-8 with BOM, GBK, UTF-16) or XLSX read in chunks; CSV written for Excel."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import pandas as pd

from coding.textio import (
    EncodingError,
    ExcelCsvWriter,
    detect_encoding,
    is_formula_like,
    neutralise_formula,
    neutralise_frame,
)

CHUNK_ROWS = 100_000


class TableError(ValueError):
    """A table that cannot be read as asked; the message names the file."""


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
    try:
        encoding = detect_encoding(file)
    except EncodingError as error:
        raise TableError(str(error)) from error
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


class CsvForExcel(ExcelCsvWriter):
    """The coding commands' CSV for Excel (coding.textio.ExcelCsvWriter); a missing folder is a TableError."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, missing_folder=TableError)


__all__ = [
    "CHUNK_ROWS",
    "CsvForExcel",
    "TableError",
    "is_formula_like",
    "neutralise_formula",
    "neutralise_frame",
    "read_chunks",
]
