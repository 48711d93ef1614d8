"""What is wrong with a questionnaire file: each problem with its file, line (or sheet, row, column) and id."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file."""

    file: str
    line: int
    question_id: str | None
    message: str
    # Set for spreadsheets (XLSForm): the sheet of `line` (its row) and the column's header.
    sheet: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.sheet is None:
            where = f"{self.file}:{self.line}" if self.line else self.file
        else:
            where = f"{self.file}: sheet {self.sheet}, row {self.line}"
            if self.column:
                where += f", column {self.column}"
        return f"{where}: [{self.question_id}] {self.message}" if self.question_id else (f"{where}: {self.message}")


class QuestionnaireError(Exception):
    """A questionnaire that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
