"""Whole coding runs over files: read in chunks, code, write the result table as it goes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coding.coder import Coder
from coding.tables import CsvForExcel, read_chunks


@dataclass
class RunReport:
    """What a coding run did, for the person who started it."""

    answers: int = 0
    needs_review: int = 0
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.answers / self.seconds if self.seconds else 0.0


def for_csv(coded: pd.DataFrame) -> pd.DataFrame:
    """The contract's spelling of booleans: `true` / `false`."""
    return coded.assign(needs_review=coded["needs_review"].map({True: "true", False: "false"}))


def code_file(
    coder: Coder,
    source: str | Path,
    output: str | Path,
    *,
    text_column: str,
    id_column: str | None = None,
    competitor_column: str | None = None,
    progress: Callable[[RunReport], None] | None = None,
    chunk_rows: int = 100_000,
) -> RunReport:
    """Code every answer of `source` into `output` (CSV, UTF-8 with BOM), chunk by chunk."""
    columns = [text_column] + [c for c in (id_column, competitor_column) if c and c != text_column]
    report = RunReport()
    started = time.perf_counter()
    with CsvForExcel(output) as writer:
        for chunk in read_chunks(source, columns, chunk_rows):
            ids = (
                chunk[id_column].tolist()
                if id_column
                else list(range(report.answers + 1, report.answers + len(chunk) + 1))
            )
            hints = chunk[competitor_column].tolist() if competitor_column else None
            coded = coder.code(chunk[text_column].tolist(), ids=ids, competitor_hints=hints)
            writer.write(for_csv(coded))
            report.answers += len(coded)
            report.needs_review += int(coded["needs_review"].sum())
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report)
        if writer.rows == 0:
            writer.write(for_csv(coder.code([])))
    report.seconds = time.perf_counter() - started
    return report
