"""Whole coding runs over files: read in chunks, code, write the result table as it goes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from coding.coder import Coder, PendingCodes
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
    processes: int | None = None,
) -> RunReport:
    """Code every answer of `source` into `output` (CSV, UTF-8 with BOM), chunk by chunk, on
    `processes` cores (default: all); an answer seen in an earlier chunk is not coded again."""
    columns = [text_column] + [c for c in (id_column, competitor_column) if c and c != text_column]
    report = RunReport()
    started = time.perf_counter()
    with CsvForExcel(output) as writer, coder.pooled(processes):

        def write(pending: PendingCodes) -> None:
            coded = pending.result()
            writer.write(for_csv(coded))
            report.answers += len(coded)
            report.needs_review += int(coded["needs_review"].sum())
            report.seconds = time.perf_counter() - started
            if progress is not None:
                progress(report)

        # While the workers code one chunk, this process writes the one before and reads the next.
        previous: PendingCodes | None = None
        read = 0
        for chunk in read_chunks(source, columns, chunk_rows):
            ids = chunk[id_column].tolist() if id_column else list(range(read + 1, read + len(chunk) + 1))
            hints = chunk[competitor_column].tolist() if competitor_column else None
            current = coder.start(chunk[text_column].tolist(), ids=ids, competitor_hints=hints)
            read += len(chunk)
            if previous is not None:
                write(previous)
            previous = current
        if previous is not None:
            write(previous)
        if writer.rows == 0:
            writer.write(for_csv(coder.code([])))
    report.seconds = time.perf_counter() - started
    return report
