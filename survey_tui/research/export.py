"""One export of a study: the interviews, the call attempts and (XLSX, JSON) the summary tables, in one format."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from survey_tui.research import writers
from survey_tui.research.datasets import interview_dataset, outcome_dataset, summary_datasets
from survey_tui.research.errors import ResearchError
from survey_tui.research.respondents import Filters
from survey_tui.research.study import Study
from survey_tui.store import Disclosure, Store

FORMATS = writers.FORMATS
# The formats that hold several tables in one file: they carry every summary table too.
WITH_TABLES = ("xlsx", "json")


@dataclass(frozen=True)
class Exported:
    """What an export wrote: its files (the first holds the interviews) and how many rows."""

    paths: list[Path]
    interviews: int
    call_attempts: int
    masked: bool


def export(
    store: Store,
    study: Study,
    fmt: str,
    output: Path,
    *,
    filters: Filters = Filters(),
    include_pii: bool = False,
    disclosure: Disclosure | None = None,
) -> Exported:
    """Write the study's interviews (a column for every question, with its labels) and the call
    attempts in `fmt` (csv, xlsx, sav, dta, json) at `output`; CSV, SPSS and Stata put each
    table in a file of its own beside it (`<name>_call_attempts.<ext>`).

    Phone numbers and accounts are masked unless `include_pii`; then `disclosure` (who asks) is
    recorded in the store's audit before the first byte is written, and if that fails nothing is.
    """
    if fmt not in FORMATS:
        raise ResearchError(f"unknown export format {fmt!r}; the formats are {', '.join(FORMATS)}")
    if include_pii and disclosure is None:
        raise ValueError("an export with full phone numbers needs the disclosure to record in the audit")
    datasets = [
        interview_dataset(store, study, filters, include_pii=include_pii),
        outcome_dataset(store, include_pii=include_pii),
    ]
    if fmt in WITH_TABLES:
        datasets += summary_datasets(store, study, filters)
    interviews, attempts = len(datasets[0].frame), len(datasets[1].frame)
    if include_pii and disclosure is not None:
        what = {
            "format": fmt,
            "output": str(output.resolve()),
            "interviews": interviews,
            "call_attempts": attempts,
            "filters": {k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None},
        }
        store.record_disclosure(disclosure, what)
    try:
        written = writers.write(fmt, datasets, output)
    except (ValueError, OSError) as error:
        raise ResearchError(str(error)) from error
    return Exported(written, interviews, attempts, masked=not include_pii)
