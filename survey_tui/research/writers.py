"""Write labelled survey tables as CSV, XLSX, JSON, SPSS (.sav) and Stata (.dta) files for researchers."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyreadstat
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from coding.textio import is_formula_like, write_excel_csv

FORMATS = ("csv", "xlsx", "sav", "dta", "json")
# JSON records are made this many at a time, so that memory stays bounded on any table.
JSON_CHUNK_ROWS = 10_000
VARIABLES_SHEET = "variables"

# Excel's own limits on sheet names; "History" is reserved by Excel for change tracking.
SHEET_NAME_MAX = 31
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
RESERVED_SHEETS = {VARIABLES_SHEET, "history"}

# Fitted widths stop here so that a long free-text answer does not make a column screens wide.
MIN_WIDTH = 6
MAX_WIDTH = 60

# SPSS stores labels in bytes (variable labels 255, value labels 120, file label 64); cutting them
# ourselves on a character boundary keeps a Chinese label from ending in half a UTF-8 character.
SAV_VARIABLE_LABEL_BYTES = 255
SAV_VALUE_LABEL_BYTES = 120
SAV_FILE_LABEL_BYTES = 64
# Stata 14+ counts characters: 80 for variable and data labels.
DTA_LABEL_CHARS = 80
DTA_VERSION = 15
# Stata's long type; larger integers in it would collide with Stata's extended missing values.
DTA_LONG_MIN = -2_147_483_647
DTA_LONG_MAX = 2_147_483_620


@dataclass(frozen=True)
class Variable:
    """Labels of one column: the variable label (question text) and the value labels of its codes."""

    name: str
    label: str
    values: Mapping[Any, str] = field(default_factory=dict)


# eq=False: comparing two frames field by field has no single truth value, so identity is used.
@dataclass(frozen=True, eq=False)
class Dataset:
    """One table to export (a sheet, a file or a JSON key) with labels for some or all of its columns."""

    name: str
    frame: pd.DataFrame
    variables: Sequence[Variable] = ()


def write_csv(dataset: Dataset, path: Path) -> Path:
    """UTF-8 with a byte-order mark, which Excel needs to open Chinese text correctly; no index column."""
    _check(dataset)
    # =HYPERLINK(...) typed by a customer or found in a call list stays text in Excel.
    return write_excel_csv(dataset.frame, path)


def write_json(datasets: Sequence[Dataset], path: Path) -> Path:
    """One object {dataset name: [records]}; missing cells are null, dates and times ISO 8601.

    Written record by record (the same text as dumping the whole object with an indent of 2), so
    that a million interviews never sit in memory as one document.
    """
    _check_all(datasets)
    with _private_file(path) as temporary, temporary.open("w", encoding="utf-8") as handle:
        handle.write("{")
        for number, dataset in enumerate(datasets):
            handle.write(("," if number else "") + "\n  " + json.dumps(dataset.name, ensure_ascii=False) + ": ")
            opened = False
            for start in range(0, len(dataset.frame), JSON_CHUNK_ROWS):
                for record in _json_records(dataset.frame.iloc[start : start + JSON_CHUNK_ROWS]):
                    # allow_nan=False: NaN is not JSON and would break strict readers; missing cells are null already.
                    text = json.dumps(record, ensure_ascii=False, indent=2, allow_nan=False)
                    handle.write(("," if opened else "[") + "\n    " + text.replace("\n", "\n    "))
                    opened = True
            handle.write("\n  ]" if opened else "[]")
        handle.write("\n}\n")
    return path


def write_xlsx(datasets: Sequence[Dataset], path: Path) -> Path:
    """One sheet per dataset (bold frozen header, fitted widths) and a final sheet documenting the variables.

    The workbook is written row by row (openpyxl's write-only mode): a million interviews take
    the memory of one row, not of every cell.
    """
    _check_all(datasets)
    workbook = Workbook(write_only=True)
    sheet_names = _sheet_names([dataset.name for dataset in datasets])
    documentation: list[list[Any]] = []
    for dataset, sheet_name in zip(datasets, sheet_names, strict=True):
        frame = dataset.frame
        header = [str(column) for column in frame.columns]
        columns = [_native_column(frame.iloc[:, position], keep_timezone=False) for position in range(frame.shape[1])]
        _fill_sheet(workbook.create_sheet(sheet_name), header, columns)
        del columns
        labels = _variables_by_name(dataset)
        for name in header:
            variable = labels.get(name)
            value_labels = "\n".join(f"{code} = {text}" for code, text in variable.values.items()) if variable else ""
            documentation.append([sheet_name, name, variable.label if variable else "", value_labels])
    _fill_sheet(
        workbook.create_sheet(VARIABLES_SHEET),
        ["dataset", "variable", "label", "value_labels"],
        [list(column) for column in zip(*documentation, strict=True)] if documentation else [[], [], [], []],
    )
    with _private_file(path) as temporary:
        workbook.save(temporary)
    return path


def write_sav(dataset: Dataset, path: Path) -> Path:
    """SPSS with variable and value labels; text codes become 1..n in the order of their value labels."""
    _write_stat(_stat_table(dataset, stata=False), path)
    return path


def write_dta(dataset: Dataset, path: Path) -> Path:
    """Stata 15 (UTF-8) with variable and value labels; text codes become 1..n as for SPSS."""
    _write_stat(_stat_table(dataset, stata=True), path)
    return path


def write(format: str, datasets: Sequence[Dataset], path: Path) -> list[Path]:
    """Write in one format: xlsx/json as one file; csv/sav/dta as path plus a `<stem>_<name><suffix>` per extra."""
    kind = format.lower()
    if kind not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; expected one of {', '.join(FORMATS)}")
    _check_all(datasets)
    if kind == "xlsx":
        return [write_xlsx(datasets, path)]
    if kind == "json":
        return [write_json(datasets, path)]
    targets = _sibling_paths(path, [dataset.name for dataset in datasets])
    if kind == "csv":
        return [write_csv(dataset, target) for dataset, target in zip(datasets, targets, strict=True)]
    # Convert every dataset before writing any, so a bad code in the third table leaves no half export behind.
    tables = [_stat_table(dataset, stata=kind == "dta") for dataset in datasets]
    for table, target in zip(tables, targets, strict=True):
        _write_stat(table, target)
    return targets


# --- checks and file handling ---


def _check(dataset: Dataset) -> None:
    columns = [str(column) for column in dataset.frame.columns]
    duplicates = sorted({column for column in columns if columns.count(column) > 1})
    if duplicates:
        raise ValueError(f"dataset {dataset.name!r}: duplicate columns {', '.join(duplicates)}")
    names = [variable.name for variable in dataset.variables]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"dataset {dataset.name!r}: variables labelled twice: {', '.join(twice)}")
    # A label for a column that is not there is almost always a misspelt name; failing shows it.
    unknown = [name for name in names if name not in columns]
    if unknown:
        raise ValueError(f"dataset {dataset.name!r}: labels for columns not in the table: {', '.join(unknown)}")


def _check_all(datasets: Sequence[Dataset]) -> None:
    if not datasets:
        raise ValueError("nothing to export: no datasets given")
    names = [dataset.name for dataset in datasets]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"dataset names must be unique: {', '.join(twice)}")
    for dataset in datasets:
        _check(dataset)


def _sibling_paths(path: Path, names: Sequence[str]) -> list[Path]:
    targets = [path] + [path.with_name(f"{path.stem}_{_file_part(name)}{path.suffix}") for name in names[1:]]
    if len(set(targets)) != len(targets):
        raise ValueError(f"dataset names {', '.join(names)} give the same file name next to {path.name}")
    return targets


def _file_part(name: str) -> str:
    # Letters of any script stay (a Chinese table name is fine in a file name); separators do not.
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "dataset"


@contextmanager
def _private_file(path: Path) -> Iterator[Path]:
    """A temporary file beside path, owner-only from creation, moved onto path once fully written."""
    # mkstemp creates the file 0o600, so the personal data is never readable by others, not even while
    # being written; the rename means a failed export never leaves a truncated file under the real name.
    descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _variables_by_name(dataset: Dataset) -> dict[str, Variable]:
    return {variable.name: variable for variable in dataset.variables}


# --- cell values ---


def _is_missing(value: Any) -> bool:
    # pd.isna on a list or array answers element-wise; only scalars can be a missing cell.
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _date_only(series: pd.Series) -> bool:
    """True for a datetime column without time zone whose every value is at midnight: a column of dates."""
    if not pd.api.types.is_datetime64_any_dtype(series) or getattr(series.dt, "tz", None) is not None:
        return False
    present = series.dropna()
    return bool((present == present.dt.normalize()).all())


def _native_column(series: pd.Series, *, keep_timezone: bool) -> list[Any]:
    """Plain Python values of a column: None for missing, date for date-only columns, no numpy scalars."""
    if pd.api.types.is_datetime64_any_dtype(series):
        if not keep_timezone and getattr(series.dt, "tz", None) is not None:
            # Excel and SPSS have no time zones; the wall-clock time of the frame's own zone is what a reader expects.
            series = series.dt.tz_localize(None)
        as_dates = _date_only(series)
        return [
            None if _is_missing(value) else (value.date() if as_dates else value.to_pydatetime()) for value in series
        ]
    return [_native(value) for value in series]


def _native(value: Any) -> Any:
    if _is_missing(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Timedelta):
        return value.to_pytimedelta()
    if isinstance(value, np.ndarray):
        return [_native(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_native(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _native(item) for key, item in value.items()}
    return value


# --- JSON ---


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    header = [str(column) for column in frame.columns]
    columns = [
        [_json_value(value) for value in _native_column(frame.iloc[:, position], keep_timezone=True)]
        for position in range(frame.shape[1])
    ]
    return [dict(zip(header, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return pd.Timedelta(value).isoformat()
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_value(item) for key, item in value.items()}
    return value


# --- XLSX ---


def _sheet_names(names: Sequence[str]) -> list[str]:
    """Valid, unique (Excel ignores case) sheet names of at most 31 characters, "variables" kept free."""
    taken = set(RESERVED_SHEETS)
    result = []
    for name in names:
        base = SHEET_NAME_BAD.sub("_", name).strip("'") or "sheet"
        candidate = base[:SHEET_NAME_MAX]
        number = 1
        while candidate.lower() in taken:
            number += 1
            suffix = f"_{number}"
            candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        taken.add(candidate.lower())
        result.append(candidate)
    return result


def _fill_sheet(sheet: Any, header: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
    """Header and rows into a write-only sheet; widths first, as the file has them before the rows."""
    widths = [max([_text_width(name), *_value_widths(values)]) for name, values in zip(header, columns, strict=True)]
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    heading = []
    for name in header:
        cell = WriteOnlyCell(sheet)
        _set_cell(cell, name)
        cell.font = bold
        heading.append(cell)
    sheet.append(heading)
    wrap = Alignment(wrap_text=True, vertical="top")
    for row in zip(*columns, strict=True):
        sheet.append([_write_only_cell(sheet, value, wrap) for value in row])


def _write_only_cell(sheet: Any, value: Any, wrap: Alignment) -> Any:
    """What to append for a value: numbers and dates as they are, text as a cell kept text."""
    if (
        value is None
        or isinstance(value, bool | int | float | dt.date | dt.time | dt.timedelta)
        and not (isinstance(value, dt.datetime) and value.tzinfo is not None)
    ):
        return value
    cell = WriteOnlyCell(sheet)
    _set_cell(cell, value)
    if isinstance(cell.value, str) and "\n" in cell.value:
        cell.alignment = wrap
    return cell


def _value_widths(values: Sequence[Any]) -> Iterator[int]:
    """The display width of each distinct value of a column, as its cell shows it."""
    seen: set[Any] = set()
    for value in values:
        try:
            if value in seen:
                continue
            seen.add(value)
        except TypeError:  # a list or dict: shown as its JSON text
            pass
        yield _text_width(_display(_cell_value(value)))


def _set_cell(cell: Any, value: Any) -> None:
    value = _cell_value(value)
    if value is None:
        return
    if isinstance(value, str):
        cell.value = value
        # openpyxl turns text starting with "=" into a formula; an answer must stay text, never run in Excel.
        cell.data_type = "s"
        if is_formula_like(value):
            # Excel's own "this is text" mark: the text is shown as typed and stays text when edited.
            cell.quotePrefix = True
        return
    cell.value = value


def _cell_value(value: Any) -> Any:
    """The value a cell holds: naive datetimes, JSON for lists and dicts, text without control characters."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    elif not isinstance(value, str | int | float | bool | dt.date | dt.time | dt.timedelta):
        value = str(value)
    if isinstance(value, str):
        # openpyxl refuses control characters (pasted answers can carry them); dropping them keeps the export going.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _text_width(text: str) -> int:
    """Width in Excel columns of the longest line; wide (CJK) characters take two."""
    return max(
        (sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line) for line in text.split("\n")),
        default=0,
    )


# --- SPSS and Stata ---


@dataclass(frozen=True, eq=False)
class _StatTable:
    name: str
    frame: pd.DataFrame
    writer: Callable[..., None]
    options: dict[str, Any]


def _stat_table(dataset: Dataset, *, stata: bool) -> _StatTable:
    """The frame converted to what pyreadstat writes well, with labels cut to the target's limits."""
    _check(dataset)
    labels = _variables_by_name(dataset)
    columns: dict[str, pd.Series] = {}
    column_labels: dict[str, str | None] = {}
    value_labels: dict[str, dict[int | float, str]] = {}
    formats: dict[str, str] = {}
    measures: dict[str, str] = {}
    for position in range(dataset.frame.shape[1]):
        name = str(dataset.frame.columns[position])
        variable = labels.get(name)
        series = _plain_series(dataset.frame.iloc[:, position].reset_index(drop=True), dataset.name, name)
        if variable is not None and variable.values:
            series, codes, categorical = _labelled(series, variable, dataset.name, stata=stata)
            value_labels[name] = {
                code: text if stata else _cut_bytes(text, SAV_VALUE_LABEL_BYTES) for code, text in codes.items()
            }
            if categorical:
                measures[name] = "nominal"
        if stata and pd.api.types.is_integer_dtype(series) and _fits_long(series):
            # pyreadstat writes int64 as double; a Stata long keeps codes and counts integer-typed.
            series = series.astype("int32")
        if not stata and _integral(series):
            # Without a format SPSS shows every number with two decimals, "1.00" for a code.
            formats[name] = f"F{_digits(series)}.0"
        columns[name] = series
        if variable is not None and variable.label:
            column_labels[name] = (
                variable.label[:DTA_LABEL_CHARS] if stata else _cut_bytes(variable.label, SAV_VARIABLE_LABEL_BYTES)
            )
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(dataset.frame)))
    options: dict[str, Any] = {"column_labels": column_labels, "variable_value_labels": value_labels}
    if stata:
        options |= {"file_label": dataset.name[:DTA_LABEL_CHARS], "version": DTA_VERSION}
        return _StatTable(dataset.name, frame, pyreadstat.write_dta, options)
    options |= {
        "file_label": _cut_bytes(dataset.name, SAV_FILE_LABEL_BYTES),
        "variable_format": formats,
        "variable_measure": measures,
    }
    return _StatTable(dataset.name, frame, pyreadstat.write_sav, options)


def _write_stat(table: _StatTable, path: Path) -> None:
    with _private_file(path) as temporary:
        try:
            table.writer(table.frame, temporary, **table.options)
        except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as error:
            # readstat's messages (bad variable name, value too long) say what but not where.
            raise ValueError(f"dataset {table.name!r}: cannot write {path.suffix or 'file'}: {error}") from error


def _plain_series(series: pd.Series, dataset: str, name: str) -> pd.Series:
    """Column types pyreadstat understands: no categories, booleans as 0/1, naive datetimes, dates as dates."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object).where(series.notna(), None)
    if pd.api.types.is_bool_dtype(series):
        # SPSS and Stata have no boolean type; 0/1 is what researchers expect, a nullable column may hold NA.
        return series.astype("Int8" if series.isna().any() else "int8")
    if pd.api.types.is_datetime64_any_dtype(series):
        if getattr(series.dt, "tz", None) is not None:
            # pyreadstat would shift to UTC; the wall-clock time of the frame's own zone is what a reader expects.
            series = series.dt.tz_localize(None)
        if _date_only(series):
            # A date, not a datetime at midnight: SPSS shows DATE11, Stata %td.
            return pd.Series(_native_column(series, keep_timezone=False), dtype=object)
        return series
    if series.dtype == object:
        odd = [value for value in series if isinstance(value, list | tuple | dict | set | np.ndarray)]
        if odd:
            raise ValueError(
                f"dataset {dataset!r}, column {name!r}: SPSS and Stata take one value per cell, not {odd[0]!r}"
            )
    return series


def _labelled(
    series: pd.Series, variable: Variable, dataset: str, *, stata: bool
) -> tuple[pd.Series, dict[int | float, str], bool]:
    """The column and its value labels by number; text codes become 1..n in the order of the labels."""
    keys = list(variable.values)
    where = f"dataset {dataset!r}, column {variable.name!r}"
    if all(isinstance(key, str) for key in keys):
        numbers = {key: number for number, key in enumerate(keys, start=1)}
        present = series[series.notna()]
        unknown = sorted({str(value) for value in present if value not in numbers})
        if unknown:
            raise ValueError(f"{where}: codes without a value label: {', '.join(unknown[:5])}")
        coded = series.map(numbers)
        # Whole numbers when nothing is missing; SPSS/Stata need a float column to mark a missing code.
        coded = coded.astype("float64") if coded.isna().any() else coded.astype("int64")
        return coded, {numbers[key]: str(text) for key, text in variable.values.items()}, True
    if not all(isinstance(key, int | float | np.integer | np.floating) for key in keys):
        raise ValueError(f"{where}: value label codes must be all text or all numbers, not {keys!r}")
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        raise ValueError(f"{where}: numeric value labels on a column of {series.dtype}")
    labels: dict[int | float, str] = {}
    for key, text in variable.values.items():
        number = float(key)
        if number.is_integer():
            labels[int(number)] = str(text)
        elif stata:
            raise ValueError(f"{where}: Stata labels whole numbers only, not {key!r}")
        else:
            labels[number] = str(text)
    return series, labels, False


def _integral(series: pd.Series) -> bool:
    if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    if pd.api.types.is_integer_dtype(series):
        return True
    present = series.dropna()
    return bool(np.isfinite(present).all() and (present == np.floor(present)).all())


def _digits(series: pd.Series) -> int:
    present = series.dropna()
    largest = int(present.abs().max()) if len(present) else 0
    # One place for a minus sign; SPSS's F width runs from 1 to 40, 8 is its usual default.
    return min(max(8, len(str(largest)) + 1), 40)


def _fits_long(series: pd.Series) -> bool:
    present = series.dropna()
    return len(present) == len(series) and (
        not len(present) or (int(present.min()) >= DTA_LONG_MIN and int(present.max()) <= DTA_LONG_MAX)
    )


def _cut_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # errors="ignore" drops the partial character left at the cut.
    return encoded[:limit].decode("utf-8", errors="ignore")


__all__ = [
    "FORMATS",
    "Dataset",
    "Variable",
    "write",
    "write_csv",
    "write_dta",
    "write_json",
    "write_sav",
    "write_xlsx",
]
