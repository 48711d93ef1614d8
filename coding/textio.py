"""Text files in and out: the one encoding detector, and CSV written for Excel (UTF-8 with BOM, formula-safe)."""

from __future__ import annotations

import codecs
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

# Files are decoded in chunks of this size, so that a large one is never held whole.
_CHUNK = 1 << 20

# Text that Excel, WPS and LibreOffice read as a formula when a cell starts with it (a tab or a
# carriage return first, too). An answer or a call-list cell such as =HYPERLINK("http://…") must
# stay text in every spreadsheet a researcher opens.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Two or more Chinese characters in UTF-8 (3 bytes each, lead E3-E9), which GBK text does not
# produce by chance: a line that has them in a file that is not UTF-8 was pasted from elsewhere.
_UTF8_CJK = re.compile(rb"(?:[\xe3-\xe9][\x80-\xbf]{2}){2,}")
_XLS_ADVICE = "open it in Excel or WPS and save it as .xlsx or as CSV (UTF-8)"


class EncodingError(ValueError):
    """A text file whose encoding cannot be told or is not kept to; the message names the file."""


# -- reading ---------------------------------------------------------------------------------


def detect_encoding(path: str | Path) -> str:
    """The encoding of a text (CSV) file: utf-8-sig, utf-16 (Excel's "Unicode Text"), utf-8 or
    gb18030 (a superset of GBK), checked over the whole file in chunks.

    Refused with EncodingError, saying what to do: an Excel workbook under a text name, a file
    that is not text, one that breaks the encoding its byte-order mark announces, one that mixes
    UTF-8 and GBK lines (GB18030 decodes nearly any bytes, so they would become silent mojibake),
    and one in none of these encodings. OSError is left to the caller, who knows what the file is.
    """
    path = Path(path)
    with path.open("rb") as handle:
        head = handle.read(4)
        check_file_kind(path, head)
        if head.startswith(codecs.BOM_UTF8):
            _check_decodes(path, handle, "utf-8-sig")
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            _check_decodes(path, handle, "utf-16")
            return "utf-16"
        for encoding in ("utf-8", "gb18030"):
            handle.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)("strict")
            try:
                while chunk := handle.read(_CHUNK):
                    if b"\x00" in chunk:
                        raise EncodingError(f"{path}: does not look like a text (CSV) file")
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                continue
            if encoding == "gb18030":
                _refuse_mixed(path, handle)
            return encoding
        _refuse_mixed(path, handle)
    raise EncodingError(f"{path}: the text encoding is not recognised; save the file as UTF-8 or GBK (GB18030)")


def check_file_kind(path: str | Path, head: bytes, *, workbook: bool = False) -> None:
    """Catch the common mix-ups of file type and extension (from the first bytes, `head`) with a
    message that says what to do; `workbook` when the file is meant to be an .xlsx (a zip)."""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise EncodingError(
            f"{path}: this is an old Excel .xls workbook or a password-protected one;"
            f" {_XLS_ADVICE} (without a password)"
        )
    if not workbook and head.startswith(b"PK\x03\x04"):
        raise EncodingError(f"{path}: this is an Excel workbook, not a CSV file; rename it to .xlsx")


def _check_decodes(path: Path, handle: BinaryIO, encoding: str) -> None:
    """A file that announces its encoding with a byte-order mark must keep to it to the end."""
    handle.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    line = 1
    try:
        while chunk := handle.read(_CHUNK):
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                line += chunk[: exc.start].decode(encoding, errors="replace").count("\n")
                raise
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise EncodingError(
            f"{path}: starts as {encoding.upper().replace('-SIG', '')} text but has bytes that are not "
            f"(near line {line}, {exc.reason}); save the whole file again in one encoding"
        ) from exc


def _refuse_mixed(path: Path, handle: BinaryIO) -> None:
    handle.seek(0)
    utf8_line = gbk_line = None
    for number, raw in enumerate(handle, start=1):
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            gbk_line = gbk_line or number
        else:
            if _UTF8_CJK.search(raw):
                utf8_line = utf8_line or number
        if utf8_line and gbk_line:
            raise EncodingError(
                f"{path}: mixes two text encodings: line {utf8_line} is UTF-8 and line {gbk_line} is GBK; "
                "open it in Excel or WPS, check the Chinese text and save it again as CSV UTF-8"
            )


# -- formulas --------------------------------------------------------------------------------


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


# -- CSV for Excel ---------------------------------------------------------------------------


def excel_csv_text(frame: pd.DataFrame, *, index: bool = False, bom: bool = True) -> str:
    """The frame as CSV text for a spreadsheet, formulas neutralised; with `bom` it starts with the
    byte-order mark Excel needs to read UTF-8 (Chinese) correctly."""
    buffer = io.StringIO()
    neutralise_frame(frame, index=index).to_csv(buffer, index=index, lineterminator="\n")
    return ("\ufeff" if bom else "") + buffer.getvalue()


class ExcelCsvWriter:
    """Appends DataFrames to a CSV that Excel opens with Chinese intact (UTF-8 with BOM), formulas
    neutralised. The file is owner-only and appears under its name only once complete: a run that
    fails leaves the previous file, or none, never half a table.

    `missing_folder` is the exception raised (with the message) when the folder does not exist.
    """

    def __init__(self, path: str | Path, *, missing_folder: type[Exception] = FileNotFoundError) -> None:
        self.path = Path(path)
        self.rows = 0
        self._header_written = False
        if not self.path.parent.is_dir():
            raise missing_folder(f"{self.path}: the folder {self.path.parent} does not exist")
        # mkstemp creates the file readable by its owner only, whatever the umask.
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
        os.chmod(self._temporary, 0o600)
        os.replace(self._temporary, self.path)

    def abandon(self) -> None:
        self._handle.close()
        self._temporary.unlink(missing_ok=True)

    def __enter__(self) -> ExcelCsvWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


def write_excel_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """One table as a whole CSV for Excel (see ExcelCsvWriter)."""
    with ExcelCsvWriter(path) as writer:
        writer.write(frame)
    return writer.path
