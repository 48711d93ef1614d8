"""Call lists of cancelled broadband customers (拆机用户): read from CSV or XLSX files, imported into the store."""

from __future__ import annotations

import csv
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from coding.normalize import mask_phone
from coding.textio import EncodingError, check_file_kind, detect_encoding
from survey_tui.store import CallListRow, SkippedRow, Store

__all__ = [
    "FIELD_ALIASES",
    "CallList",
    "CallListError",
    "CallListRow",
    "ImportReport",
    "SkippedRow",
    "import_call_list",
    "normalize_phone",
    "parse_date",
    "read_call_list",
]

CSV_EXTENSIONS = frozenset({".csv", ".txt"})
XLSX_EXTENSIONS = frozenset({".xlsx", ".xlsm"})

# Header names accepted for each canonical field. Matching ignores case, whitespace, brackets,
# "_"/"-" and a leading "*" (templates mark required columns that way), so "Phone Number",
# "phone_number" and "【手机号】" all match.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "手机号",
        "手机号码",
        "手机",
        "电话",
        "电话号码",
        "联系电话",
        "联系方式",
        "联系号码",
        "客户电话",
        "号码",
        "phone",
        "mobile",
        "phone_number",
        "mobile_phone",
        "tel",
        "telephone",
    ),
    "account": (
        "账号",
        "宽带账号",
        "宽带帐号",
        "帐号",
        "用户账号",
        "宽带号码",
        "接入号",
        "account",
        "account_id",
        "broadband_account",
    ),
    "name": ("姓名", "客户姓名", "用户姓名", "客户名称", "联系人", "name", "customer_name"),
    "branch": ("支局", "所属支局", "营业部", "网格", "分局", "branch"),
    "disconnect_date": (
        "拆机日期",
        "拆机时间",
        "离网日期",
        "离网时间",
        "销户日期",
        "退网日期",
        "disconnect_date",
        "cancel_date",
        "churn_date",
    ),
    "package": ("套餐", "套餐名称", "资费套餐", "产品", "产品名称", "package", "plan"),
}

# A header row is looked for among the first few rows because exports from billing systems
# often put a title such as "2021年2月拆机清单" above it.
_HEADER_SEARCH_ROWS = 10
_SNIFF_CHARS = 8192

_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{9,11}")
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015()\[\].]")
_SCIENTIFIC = re.compile(r"\d(?:\.\d+)?[eE]\+?\d+")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[T\s]+\d{1,2}:\d{1,2}(?::\d{1,2}(?:\.\d+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_BRACKETED = re.compile(r"[(\[【<《].*?[)\]】>》]")
_HEADER_NOISE = re.compile(r"[\s_\-*:：()\[\]【】<>《》\ufeff\u200b]")


@dataclass
class CallList:
    path: Path
    encoding: str | None
    columns: dict[str, str]
    rows: list[CallListRow]
    skipped: list[SkippedRow]


class CallListError(Exception):
    """A file that cannot be used at all; str(e) is a user-facing message naming the file."""


def _header_key(header: str) -> str:
    return _HEADER_NOISE.sub("", unicodedata.normalize("NFKC", header).casefold())


_ALIAS_TO_FIELD: dict[str, str] = {
    _header_key(alias): name for name, aliases in FIELD_ALIASES.items() for alias in aliases
}


def _field_for_header(header: str) -> str | None:
    folded = unicodedata.normalize("NFKC", header).casefold()
    # Try the bracket characters dropped first ("【手机号】"), then the bracketed words too
    # ("手机号(必填)", "拆机日期（YYYY-MM-DD）").
    for candidate in (folded, _BRACKETED.sub("", folded)):
        found = _ALIAS_TO_FIELD.get(_HEADER_NOISE.sub("", candidate))
        if found:
            return found
    return None


def _digits_of_number(raw: object) -> str | None:
    """Digits of a numeric cell, or None when it is not a whole number."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else None
    if isinstance(raw, Decimal):
        return str(int(raw)) if raw.is_finite() and raw == raw.to_integral_value() else None
    return None


def _unscientific(text: str) -> str | None:
    """Expand "1.5400001234E+10" only if every digit survived; Excel's "1.54E+10" lost them."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value():
        return None
    whole = str(int(value))
    return whole if len(value.as_tuple().digits) >= len(whole) else None


def normalize_phone(raw: object) -> str | None:
    """Return the digits of a Chinese mobile or landline number, or None if ``raw`` is not one.

    Mobiles come back as 11 digits ("15400001234"), landlines with their area code
    ("07395551234"). Numbers read from spreadsheets (15400001234 or 15400001234.0), separators
    (spaces, dashes, brackets, dots), a country prefix (+86, 0086, 86) and the ="..." and
    leading-apostrophe tricks used to keep Excel from reformatting numbers are all accepted.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        return _check_phone_digits(_digits_of_number(raw) or "", international=False)
    text = unicodedata.normalize("NFKC", raw).strip()
    wrapped = re.fullmatch(r'=\s*"(.*)"', text)
    if wrapped:
        text = wrapped.group(1).strip()
    text = text.lstrip("'")
    if re.fullmatch(r"\+?\d+\.0+", text):
        text = text.split(".", 1)[0]
    elif _SCIENTIFIC.fullmatch(text):
        text = _unscientific(text) or ""
    text = _SEPARATORS.sub("", text)

    international = False
    if text.startswith("+"):
        if not text.startswith("+86"):
            return None
        text, international = text[3:], True
    elif text.startswith("0086"):
        text, international = text[4:], True
    elif len(text) == 13 and text.startswith("86") and _MOBILE.fullmatch(text[2:]):
        text = text[2:]
    return _check_phone_digits(text, international=international)


def _check_phone_digits(digits: str, *, international: bool) -> str | None:
    if not digits.isascii() or not digits.isdigit():
        return None
    if _MOBILE.fullmatch(digits):
        return digits
    # Dialled from abroad the area code loses its trunk 0: +86 739 5551234.
    if international and not digits.startswith("0") and _LANDLINE.fullmatch("0" + digits):
        return "0" + digits
    # A trunk 0 before a mobile ("015400001234") is a dialling habit; no area code starts 01[3-9].
    if len(digits) == 12 and digits.startswith("0") and _MOBILE.fullmatch(digits[1:]):
        return digits[1:]
    if _LANDLINE.fullmatch(digits):
        return digits
    return None


def parse_date(raw: object) -> str | None:
    """Return an ISO date "YYYY-MM-DD" for a date cell, None for an empty one.

    Accepts date/datetime values and the text forms 2021-02-03, 2021/2/3, 2021.2.3, 20210203 and
    2021年2月3日, optionally followed by a time of day. Raises ValueError for anything else,
    including impossible dates such as 2021-02-30 and Excel serial numbers.
    """
    if raw is None:
        return None
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    if isinstance(raw, bool):
        raise ValueError(f"not a date: {raw!r}")
    number = _digits_of_number(raw)
    if number is not None:
        text = number
    elif isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
    else:
        raise ValueError(f"not a date: {raw!r}")
    if not text:
        return None
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not match:
        raise ValueError(f"unrecognised date: {text!r}")
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day).isoformat()


def _cell_text(value: object) -> str | None:
    """Render a cell as the text a user saw in the spreadsheet; None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, bool):
        text = "TRUE" if value else "FALSE"
    elif isinstance(value, datetime):
        text = value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    elif isinstance(value, (date, time)):
        text = value.isoformat()
    else:
        whole = _digits_of_number(value)
        text = whole if whole is not None else str(value).strip()
    return text or None


def _describe_bad_phone(raw: object) -> str:
    text = _cell_text(raw) or ""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text))
    if not digits:
        shown = text if len(text) <= 20 else text[:20] + "…"
        return f"{shown!r} is not a phone number"
    hint = ""
    if _SCIENTIFIC.fullmatch(text):
        hint = (
            "; the spreadsheet turned it into scientific notation and lost digits,"
            " format the phone column as text and export again"
        )
    elif 7 <= len(digits) <= 8:
        hint = "; a landline number needs its area code, e.g. 0739"
    return (
        f"{mask_phone(digits)} ({len(digits)} digits) is not a valid phone number: expected an"
        f" 11-digit mobile number starting with 1 or a landline number with area code{hint}"
    )


def _opening_error(path: Path, exc: OSError) -> CallListError:
    if isinstance(exc, FileNotFoundError):
        return CallListError(f"{path}: file not found")
    if isinstance(exc, IsADirectoryError):
        return CallListError(f"{path}: is a folder, not a call-list file")
    if isinstance(exc, PermissionError):
        return CallListError(f"{path}: cannot read the file (permission denied)")
    return CallListError(f"{path}: cannot read the file ({exc.strerror or exc})")


_XLS_ADVICE = "open it in Excel or WPS and save it as .xlsx or as CSV (UTF-8)"


def _check_magic(path: Path, head: bytes, expected_zip: bool) -> None:
    try:
        check_file_kind(path, head, workbook=expected_zip)
    except EncodingError as error:
        raise CallListError(str(error)) from error


def read_call_list(path: str | Path) -> CallList:
    """Read a call list from a .csv/.txt or .xlsx/.xlsm file.

    The first row that names a phone column (within the first ten rows) is the header; rows
    above it, such as a title, are ignored. Every later row either becomes a CallListRow or is
    reported in ``skipped``: "bad_phone" (missing or invalid number) or "duplicate_in_file"
    (same number as an earlier row, which is kept). Rows whose cells are all empty are ignored
    silently, because spreadsheets often carry many formatted but blank rows at the end.

    A disconnect date that cannot be parsed does not cost the customer a call: the row is kept
    with ``disconnect_date=None`` and the original text under the column's header in ``extra``,
    so that it is still shown to the agent.

    ``line`` is the row number a spreadsheet program would show (the header of a plain file is
    line 1); in a CSV file with line breaks inside quoted cells it counts records, not lines.

    Raises CallListError for a file that cannot be used at all: missing or unreadable, wrong or
    unsupported type, corrupt, unknown text encoding, empty (no header row) or without a phone
    column. A header row with no data under it gives an empty list.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_EXTENSIONS:
        return _read_csv(path)
    if suffix in XLSX_EXTENSIONS:
        return _read_xlsx(path)
    if suffix == ".xls":
        raise CallListError(f"{path}: old Excel .xls files are not supported; {_XLS_ADVICE}")
    raise CallListError(
        f"{path}: unsupported file type {suffix or '(no extension)'!r}; use a CSV (.csv, .txt) or Excel (.xlsx) file"
    )


def _detect_encoding(path: Path) -> str:
    """The file's encoding (coding.textio.detect_encoding, shared with the coding commands)."""
    try:
        return detect_encoding(path)
    except EncodingError as error:
        raise CallListError(str(error)) from error
    except OSError as exc:
        raise _opening_error(path, exc) from exc


def _sniff_delimiter(sample: str) -> str:
    # A cut-off last line would look inconsistent to the sniffer.
    if "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(path: Path) -> CallList:
    encoding = _detect_encoding(path)
    try:
        with path.open(encoding=encoding, newline="") as handle:
            delimiter = _sniff_delimiter(handle.read(_SNIFF_CHARS))
            handle.seek(0)
            # strict: a quote never closed is an error, not a cell that swallows the rest of the file.
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            return _build(path, encoding, _guard_csv(path, reader))
    except OSError as exc:
        raise _opening_error(path, exc) from exc


def _guard_csv(path: Path, reader: Iterator[list[str]]) -> Iterator[tuple[int, Sequence[object]]]:
    line = 0
    try:
        for line, record in enumerate(reader, start=1):
            yield line, record
    except csv.Error as exc:
        hint = '; a quote (") opened there is never closed' if "end of data" in str(exc) else ""
        raise CallListError(f"{path}: line {line + 1}: malformed CSV ({exc}){hint}") from exc


def _read_xlsx(path: Path) -> CallList:
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError as exc:
        raise _opening_error(path, exc) from exc
    _check_magic(path, head, expected_zip=True)
    from openpyxl import load_workbook  # deferred: only XLSX users pay for the import

    # openpyxl warns about workbook features it ignores (data validation, default styles);
    # those warnings mean nothing to an agent and would spill over the terminal UI.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except OSError as exc:
            raise _opening_error(path, exc) from exc
        except Exception as exc:  # openpyxl reports corrupt files with many exception types
            raise CallListError(_corrupt_xlsx_message(path, exc)) from exc
        try:
            if not workbook.worksheets:
                raise CallListError(f"{path}: the workbook has no worksheet")
            sheet = workbook.worksheets[0]
            # Some exporters write a wrong size into the sheet, which would cut columns off.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(min_row=1, values_only=True)
            return _build(path, None, _guard_xlsx(path, rows))
        finally:
            workbook.close()


def _corrupt_xlsx_message(path: Path, exc: Exception) -> str:
    return (
        f"{path}: cannot be opened as an Excel .xlsx workbook; the file is damaged or is not"
        f" really an .xlsx file ({type(exc).__name__}: {exc})"
    )


def _guard_xlsx(path: Path, rows: Iterable[Sequence[object]]) -> Iterator[tuple[int, Sequence[object]]]:
    try:
        yield from enumerate(rows, start=1)
    except Exception as exc:  # damaged sheet XML surfaces only while rows are read
        raise CallListError(_corrupt_xlsx_message(path, exc)) from exc


def _unique_names(headers: Sequence[str | None]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, header in enumerate(headers, start=1):
        base = header or f"column {index}"
        name, copy = base, 1
        while name in seen:
            copy += 1
            name = f"{base} ({copy})"
        seen.add(name)
        names.append(name)
    return names


def _find_header(path: Path, rows: Iterator[tuple[int, Sequence[object]]]) -> list[str | None]:
    first: list[str | None] | None = None
    examined = 0
    for _line, cells in rows:
        texts = [_cell_text(cell) for cell in cells]
        if not any(texts):
            continue
        if first is None:
            first = texts
        if any(text and _field_for_header(text) == "phone" for text in texts):
            return texts
        examined += 1
        if examined >= _HEADER_SEARCH_ROWS:
            break
    if first is None:
        raise CallListError(f"{path}: the file is empty (no header row)")
    if any(normalize_phone(cell) for cell in first if cell):
        # Never echo that row: it holds a customer's phone number.
        raise CallListError(
            f"{path}: the first row contains a phone number, so the file has no header row;"
            " add a first row with column names such as 手机号, 姓名, 拆机日期"
        )
    found = ", ".join(text or "(empty)" for text in first)
    accepted = ", ".join(FIELD_ALIASES["phone"])
    raise CallListError(f"{path}: no phone column. Found columns: {found}. A phone column is named one of: {accepted}")


def _build(path: Path, encoding: str | None, rows: Iterator[tuple[int, Sequence[object]]]) -> CallList:
    headers = _find_header(path, rows)
    names = _unique_names(headers)
    columns: dict[str, str] = {}
    index_of: dict[str, int] = {}
    for index, header in enumerate(headers):
        canonical = _field_for_header(header) if header else None
        if canonical and canonical not in index_of:
            index_of[canonical] = index
            columns[canonical] = header or ""
    mapped = set(index_of.values())
    phone_at = index_of["phone"]
    date_at = index_of.get("disconnect_date")

    result: list[CallListRow] = []
    skipped: list[SkippedRow] = []
    first_line_of: dict[str, int] = {}

    def text_at(cells: Sequence[object], canonical: str) -> str | None:
        index = index_of.get(canonical)
        if index is None or index >= len(cells):
            return None
        return _cell_text(cells[index])

    for line, cells in rows:
        texts = [_cell_text(cell) for cell in cells]
        if not any(texts):
            continue
        raw_phone = cells[phone_at] if phone_at < len(cells) else None
        if _cell_text(raw_phone) is None:
            skipped.append(SkippedRow(line, "bad_phone", f"line {line}: no phone number"))
            continue
        phone = normalize_phone(raw_phone)
        if phone is None:
            detail = f"line {line}: {_describe_bad_phone(raw_phone)}"
            skipped.append(SkippedRow(line, "bad_phone", detail))
            continue
        if phone in first_line_of:
            detail = (
                f"line {line}: {mask_phone(phone)} is already on line {first_line_of[phone]}; only the first is kept"
            )
            skipped.append(SkippedRow(line, "duplicate_in_file", detail))
            continue
        first_line_of[phone] = line

        extra: dict[str, str] = {}
        for index, text in enumerate(texts):
            if text is not None and index not in mapped:
                name = names[index] if index < len(names) else f"column {index + 1}"
                extra[name] = text
        disconnect_date = None
        if date_at is not None and date_at < len(cells):
            try:
                disconnect_date = parse_date(cells[date_at])
            except ValueError:
                extra[names[date_at]] = texts[date_at] or ""

        result.append(
            CallListRow(
                line=line,
                phone=phone,
                account=text_at(cells, "account"),
                name=text_at(cells, "name"),
                branch=text_at(cells, "branch"),
                disconnect_date=disconnect_date,
                package=text_at(cells, "package"),
                extra=extra,
            )
        )
    return CallList(path, encoding, columns, result, skipped)


# -- importing into the store ------------------------------------------------------------------

SKIP_REASONS = {
    "bad_phone": "bad phone number",
    "duplicate_in_file": "duplicate in the file",
    "already_listed": "already on the call list",
    "empty_row": "empty row",
    "field_too_long": "a field too long",
}


@dataclass
class ImportReport:
    """What `import_call_list` did, for the person who ran it."""

    path: Path
    encoding: str | None
    columns: dict[str, str]
    imported: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(row.reason for row in self.skipped))

    @property
    def unusable(self) -> bool:
        """Rows were there but not one can be called (a re-import of a known list is fine)."""
        return self.imported == 0 and bool(self.skipped) and all(row.reason != "already_listed" for row in self.skipped)

    def summary(self) -> str:
        parts = [f"imported {self.imported} case(s) from {self.path.name}"]
        if self.skipped:
            reasons = ", ".join(
                f"{n} {SKIP_REASONS.get(reason, reason)}" for reason, n in sorted(self.skipped_by_reason().items())
            )
            parts.append(f"skipped {len(self.skipped)} ({reasons})")
        else:
            parts.append("skipped 0")
        return "; ".join(parts)


def import_call_list(store: Store, path: str | Path) -> ImportReport:
    """Read `path` (CSV or XLSX) and add its new customers; an unreadable file changes nothing."""
    call_list = read_call_list(path)
    result = store.import_cases(call_list.rows, source_file=Path(path).name)
    return ImportReport(
        path=Path(path),
        encoding=call_list.encoding,
        columns=dict(call_list.columns),
        imported=result.imported,
        skipped=sorted([*call_list.skipped, *result.skipped], key=lambda row: row.line),
    )
