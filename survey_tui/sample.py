"""Loading a call list file into the store: read, validate, deduplicate, import in one transaction."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from survey_tui.call_list import SkippedRow, read_call_list
from survey_tui.store import Store

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
