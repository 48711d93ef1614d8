"""Research follows the questionnaire: every question of any questionnaire reaches the exports with its
labels, and the tables come from the questionnaire's `tally` keys, not from ids written into code."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner

from survey_tui.app import make_app
from survey_tui.cli import cli
from survey_tui.model import Answer, QuestionnaireError, load_questionnaire
from survey_tui.model.xlsform import read_xlsform, write_xlsform
from survey_tui.research import load_study, tables
from survey_tui.screens import QueueScreen
from survey_tui.store import Store
from tests.conftest import ROOT
from tests.test_store import rows
from tests.test_tui import SIZE, STAFF, answer, on, open_interview, typed, until

SHIPPED = ROOT / "questionnaires" / "disconnect_phone.yaml"
EXTRA = """
  - id: q7_recommend
    type: single_choice
    text: 您会向亲友推荐电信宽带吗？
    choices:
      - {code: surely, label: 一定会}
      - {code: maybe, label: 可能会}
      - {code: never, label: 不会}

"""


def copy_with_an_extra_question(folder: Path) -> Path:
    """The shipped questionnaire with one more question before the closing script."""
    text = SHIPPED.read_text("utf-8")
    text = text.replace("  - id: closing\n", EXTRA.lstrip("\n") + "  - id: closing\n")
    copy = folder / "disconnect_phone.yaml"
    copy.write_text(text, "utf-8")
    return copy


async def test_an_extra_question_answered_in_the_app_reaches_every_export(tmp_path: Path) -> None:
    questionnaire = load_questionnaire(copy_with_an_extra_question(tmp_path))
    db = str(tmp_path / "survey.db")
    with Store.open(db) as store:
        store.import_cases(rows(1))
        app = make_app(store, agent="a1", questionnaire=questionnaire, staff_questionnaire=STAFF, spool_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await open_interview(pilot, app)
            await answer(pilot, app, ["enter"], "q1_operator")
            await answer(pilot, app, ["2"], "q2_competitor_reason")
            await answer(pilot, app, [*typed("移动送的"), "enter"], "q3_leave_reason")
            await answer(pilot, app, [*typed("太贵了"), "enter"], "q4_retention_call")
            await answer(pilot, app, ["2"], "q5_factors")
            await answer(pilot, app, ["1", "enter"], "q6_package_pref")
            await answer(pilot, app, ["2"], "q7_recommend")
            await answer(pilot, app, ["2"], "closing")
            await pilot.press("enter")
            await until(pilot, on(app, QueueScreen))
        [interview] = store.list_interviews()
        assert store.answers_for(interview.id)["q7_recommend"].answer == Answer("maybe")

    runner = CliRunner()
    for fmt in ("csv", "xlsx", "sav", "dta"):
        done = runner.invoke(cli, ["export", "--db", db, "--format", fmt, "--output", str(tmp_path / f"raw.{fmt}")])
        assert done.exit_code == 0, done.output
    label = "您会向亲友推荐电信宽带吗？"
    csv = pd.read_csv(tmp_path / "raw.csv", encoding="utf-8-sig")
    assert csv["q7_recommend"].tolist() == ["maybe"]
    sheet = openpyxl.load_workbook(tmp_path / "raw.xlsx", read_only=True)
    interviews = list(sheet["interviews"].values)
    assert interviews[1][list(interviews[0]).index("q7_recommend")] == "maybe"
    documented = {row[1]: row for row in sheet["variables"].values}
    assert documented["q7_recommend"][2] == label and "maybe = 可能会" in documented["q7_recommend"][3]
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        frame, meta = reader(str(tmp_path / f"raw.{fmt}"))
        assert meta.column_names_to_labels["q7_recommend"] == label, fmt
        code = frame["q7_recommend"].iloc[0]
        assert meta.variable_value_labels["q7_recommend"][code] == "可能会", fmt


def test_questions_of_older_versions_and_undescribed_answers_are_kept(tmp_path: Path) -> None:
    newer = load_questionnaire(copy_with_an_extra_question(tmp_path))
    with Store.open(tmp_path / "survey.db") as store:
        store.import_cases(rows(2))
        old_id = store.register_questionnaire(load_questionnaire(SHIPPED))
        new_id = store.register_questionnaire(newer)
        first = store.start_interview(old_id, "a1", case_id=1)
        store.save_answer(first, "q4_retention_call", Answer("yes"))
        store.save_answer(first, "q9_gone", Answer("问过一次"))  # asked by no version the store knows
        store.finish_interview(first, "complete")
        second = store.start_interview(new_id, "a1", case_id=2)
        store.save_answer(second, "q7_recommend", Answer("never"))
        store.finish_interview(second, "complete")
        study = load_study(store)
        assert study.questionnaire == newer  # texts and labels of the newest version
        assert "q7_recommend" in study.answer_ids and study.undescribed == ("q9_gone",)
        done = CliRunner().invoke(
            cli, ["export", "--db", str(tmp_path / "survey.db"), "--format", "csv", "-o", str(tmp_path / "r.csv")]
        )
        assert done.exit_code == 0, done.output
        exported = pd.read_csv(tmp_path / "r.csv", encoding="utf-8-sig")
        assert exported["q4_retention_call"].iloc[0] == "yes"
        assert exported["q7_recommend"].iloc[1] == "never" and exported["q9_gone"].iloc[0] == "问过一次"


def test_the_tables_are_those_the_questionnaire_declares(tmp_path: Path) -> None:
    text = SHIPPED.read_text("utf-8").replace("    tally: retention_call\n", "    tally: called_back\n")
    text = text.replace("    tally: choice_reasons\n", "")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(text, "utf-8")
    with Store.open(tmp_path / "survey.db") as store:
        store.register_questionnaire(load_questionnaire(renamed))
        names = list(tables(store, load_study(store, str(renamed))))
    assert "called_back" in names and "retention_call" not in names and "choice_reasons" not in names
    assert names[:2] == ["reasons", "competitors"] and "reasons_by_branch" in names


def test_the_staff_interview_exports_every_question_with_its_labels(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    with Store.open(db) as store:
        staff = store.begin_interview(store.register_questionnaire(STAFF), "r1").interview_id
        for question_id, value in (("staff_id", "ST01"), ("department", "marketing"), ("branch", "双清支局")):
            store.save_answer(staff, question_id, Answer(value))
        store.save_answer(staff, "q_churn_reasons", Answer("价格太高"))
        store.finish_interview(staff, "complete")
    out = tmp_path / "staff.sav"
    done = CliRunner().invoke(
        cli, ["export", "--db", db, "--questionnaire", "staff_interview", "--format", "sav", "-o", str(out)]
    )
    assert done.exit_code == 0, done.output
    frame, meta = pyreadstat.read_sav(str(out))
    assert frame["branch"].tolist() == ["双清支局"]  # the staff member's own answer; the case's is case_branch
    assert meta.column_names_to_labels["q_churn_reasons"].startswith("你们认为如今")
    assert meta.variable_value_labels["department"][frame["department"].iloc[0]] == "市场部"
    assert "reason_price" not in frame  # no question of it is tallied as reasons


def test_a_tally_is_checked_where_it_is_written(tmp_path: Path) -> None:
    text = SHIPPED.read_text("utf-8").replace("    tally: retention_call\n", "    tally: reasons\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text, "utf-8")
    message = r"\[q4_retention_call\] tally 'reasons' counts long_text or short_text"
    with pytest.raises(QuestionnaireError, match=message):
        load_questionnaire(bad)


def test_tallies_survive_the_trip_through_xlsform(tmp_path: Path) -> None:
    shipped = load_questionnaire(SHIPPED)
    write_xlsform(shipped, tmp_path / "form.xlsx")
    assert read_xlsform(tmp_path / "form.xlsx") == shipped
    shipped_form = read_xlsform(ROOT / "questionnaires" / "disconnect_phone.xlsx")
    assert shipped_form.question("q3_leave_reason").tally == "reasons"
