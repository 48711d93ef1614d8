"""XLSForm import and export: pyxform's example forms, our instruments both ways, the commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pyxform.xls2json_backends import md_table_to_workbook
from pyxform.xls2xform import convert

from survey_tui.cli import cli
from survey_tui.model import QuestionnaireError, flow, load_questionnaire
from survey_tui.model.questionnaire import Answer, QuestionType, SpecialAnswer
from survey_tui.model.xlsform import check_xlsform, read_xlsform, write_xlsform
from tests.conftest import ROOT

FORMS = ROOT / "tests" / "xlsform"
PYXFORM_FORMS = FORMS / "pyxform"


def workbook(md: Path, directory: Path) -> Path:
    """The .xlsx of a Markdown XLSForm, made by pyxform's own converter."""
    target = directory / f"{md.stem}.xlsx"
    md_table_to_workbook(md.read_text("utf-8")).save(target)
    return target


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- conformance with pyxform's example forms -----------------------------------------------------

# form: None when it imports, else (sheet, row, column header, words of the message) of the first
# problem reported.
CONFORMANCE: dict[str, tuple[str | None, int, str | None, str] | None] = {
    "example_specify_other": None,
    "example_text_and_integer": None,
    "example_yes_or_no_question": None,
    "groups_group_type": None,
    "groups_relevant_included_in_bind": None,
    "inline_translations_choice_filter": None,
    "example_group": ("survey", 4, "type", "'phone number' cannot be run"),
    "example_loop": ("survey", 3, "type", "repeats cannot be run"),
    "example_case_insensitivity": ("survey", 3, "TYPE", "'select_one_external c1' cannot be run"),
    "example_include": (None, 0, None, "not a valid XLSForm"),
    "example_include_json": (None, 0, None, "not a valid XLSForm"),
    "groups_group_intent": ("survey", 3, "intent", "'intent' is not supported"),
    "groups_nested_same_names": ("survey", 6, "name", "names must be unique"),
    "groups_repeat_context": ("survey", 3, "type", "repeats cannot be run"),
    "static_defaults": ("survey", 2, "default", "default 'foo' is not a whole number"),
    "static_image_defaults": ("survey", 2, "type", "'image' cannot be run"),
    "round_calculation": ("survey", 3, "calculation", "unknown function 'round'"),
    "choice_filter_translations_media": ("choices", 2, "image", "media cannot be shown"),
}


def test_every_pyxform_form_on_disk_has_an_expected_outcome() -> None:
    assert sorted(p.stem for p in PYXFORM_FORMS.glob("*.md")) == sorted(CONFORMANCE)
    assert "BSD-2-Clause" in (FORMS / "README.md").read_text()
    assert "Redistributions of source code must retain" in (PYXFORM_FORMS / "LICENSE").read_text()


@pytest.mark.parametrize("name", sorted(CONFORMANCE))
def test_pyxform_forms_import_or_are_refused_naming_the_row(name: str, tmp_path: Path) -> None:
    path = workbook(PYXFORM_FORMS / f"{name}.md", tmp_path)
    problems = check_xlsform(path)
    expected = CONFORMANCE[name]
    if expected is None:
        assert problems == []
        loaded = read_xlsform(path)
        assert loaded.questions and all(q.text for q in loaded.questions if q.is_shown)
        return
    sheet, row, column, words = expected
    assert problems, f"{name} should be refused"
    first = problems[0]
    assert (first.sheet, first.line, first.column) == (sheet, row, column)
    assert words in first.message
    with pytest.raises(QuestionnaireError):
        read_xlsform(path)


def test_imported_pyxform_forms_keep_their_meaning(tmp_path: Path) -> None:
    specify = read_xlsform(workbook(PYXFORM_FORMS / "example_specify_other.md", tmp_path))
    [sex] = specify.questions
    assert [(c.code, c.label, c.specify) for c in sex.choices] == [
        ("male", "Male", False),
        ("female", "Female", False),
        ("other", "Other", True),  # or specify other: the app asks the text with the choice
    ]
    assert sex.required is False  # XLSForm questions are optional unless they say required

    yes_no = read_xlsform(workbook(PYXFORM_FORMS / "example_yes_or_no_question.md", tmp_path))
    assert yes_no.questions[0].type is QuestionType.SINGLE_CHOICE  # its labels are not 是/否

    grouped = read_xlsform(workbook(PYXFORM_FORMS / "groups_relevant_included_in_bind.md", tmp_path))
    [group] = grouped.groups
    q2 = grouped.question("q2")
    assert (q2.group, group.label) == ("g1", "G1")
    assert not flow.is_relevant(q2, {"q1": Answer(2)}, grouped)
    assert flow.is_relevant(q2, {"q1": Answer(1)}, grouped)


# -- our features -----------------------------------------------------------------------------------


@pytest.fixture
def features(tmp_path: Path) -> Path:
    return workbook(FORMS / "churn_features.md", tmp_path)


def test_every_supported_feature_maps_onto_the_model(features: Path) -> None:
    form = read_xlsform(features)
    assert (form.id, form.version, form.title) == ("churn_form", "2024.1", "拆机回访")
    assert dict(form.settings) == {"company": "邵阳电信"}  # a constant calculate used in labels
    assert flow.render(form.question("intro").text, form, {}) == "您好，这里是邵阳电信"
    types = {q.id: q.type for q in form.questions}
    assert types == {
        "intro": QuestionType.NOTE,
        "region": QuestionType.SINGLE_CHOICE,
        "town": QuestionType.SINGLE_CHOICE,
        "factors": QuestionType.MULTIPLE_CHOICE,
        "monthly_fee": QuestionType.DECIMAL,
        "yearly_fee": QuestionType.CALCULATE,
        "cancel_date": QuestionType.DATE,
        "reason": QuestionType.LONG_TEXT,
        "consent": QuestionType.ACKNOWLEDGE,
    }
    region, town, fee = form.question("region"), form.question("town"), form.question("monthly_fee")
    assert region.required_message == "请选择区"
    assert [c.code for c in flow.visible_choices(town, {"region": Answer("south")})] == ["t2", "t3"]
    assert flow.validate(town, Answer("t1"), {"region": Answer("south")}) is not None
    assert flow.default_answer(fee) == Answer(99.5)
    assert flow.validate(fee, Answer(2000), {}) == "月费应在 0 到 1000 元之间"
    assert flow.calculated_values(form, {"monthly_fee": Answer(99.5)})["yearly_fee"] == 1194
    assert form.question("cancel_date").line == 10  # the sheet row, for messages at run time
    assert not flow.is_relevant(form.question("cancel_date"), {"monthly_fee": Answer(20)}, form)


def test_labels_in_the_language_chosen(features: Path) -> None:
    english = read_xlsform(features, language="en")
    assert english.question("region").text == "Region?"
    assert english.question("town").choices[0].label == "T1"
    assert read_xlsform(features, language="English (en)") == english
    assert read_xlsform(features, language="Chinese").question("region").text == "您在哪个区？"
    with pytest.raises(QuestionnaireError, match=r"no labels in 'fr' \(languages: Chinese \(zh\), English \(en\)\)"):
        read_xlsform(features, language="fr")


def test_a_form_in_several_languages_without_a_default_asks_for_one(tmp_path: Path) -> None:
    md = tmp_path / "two.md"
    md.write_text(
        "| survey |\n| | type | name | label::English (en) | label::French (fr) |\n| | text | a | A | Ah |\n",
        "utf-8",
    )
    problems = check_xlsform(workbook(md, tmp_path))
    assert [p.message for p in problems] == [
        "the form is in several languages (English (en), French (fr)); choose one with --language"
    ]
    assert read_xlsform(workbook(md, tmp_path), language="fr").questions[0].text == "Ah"


UNSUPPORTED = [
    ("| | geopoint | where | Where? | |", 2, "type", "'geopoint' cannot be run"),
    # pyxform's own check, with its message and row.
    ("| | text | a | A ${b} | |", 2, None, "Could not find the name 'b'"),
    ("| | integer | a | A | pulldata('x', 'y', 'z', 'w') |", 2, "calculation", "unknown function 'pulldata'"),
    (
        "| | integer | a | A | |\n| | calculate | c | | jr:choice-name(${a}, '${a}') |",
        3,
        "calculation",
        "unknown function 'jr:choice-name'",
    ),
    ("| | integer | a | A | |\n| | calculate | c | | once(${a}) |", 3, "calculation", "unknown function 'once'"),
]


@pytest.mark.parametrize(("row", "line", "column", "words"), UNSUPPORTED)
def test_unsupported_features_are_reported_by_row_and_column(
    row: str, line: int, column: str | None, words: str, tmp_path: Path
) -> None:
    md = tmp_path / "form.md"
    md.write_text(f"| survey |\n| | type | name | label | calculation |\n{row}\n", "utf-8")
    problems = check_xlsform(workbook(md, tmp_path))
    assert any((p.sheet, p.line, p.column) == ("survey", line, column) and words in p.message for p in problems), [
        str(p) for p in problems
    ]


def test_dynamic_defaults_and_computed_required_are_refused(tmp_path: Path) -> None:
    md = tmp_path / "form.md"
    md.write_text(
        "| survey |\n| | type | name | label | default | required |\n"
        "| | integer | a | A | | |\n| | integer | b | B | ${a} + 1 | |\n| | text | c | C | | ${a} > 3 |\n",
        "utf-8",
    )
    messages = [(p.line, p.column, p.message) for p in check_xlsform(workbook(md, tmp_path))]
    assert (3, "default", "a default computed from an expression is not supported") in messages
    assert (4, "required", "a required that depends on other answers is not supported") in messages


# -- our two instruments ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["disconnect_phone", "staff_interview"])
def test_shipped_xlsforms_import_as_the_yaml_instruments(name: str) -> None:
    from_yaml = load_questionnaire(ROOT / "questionnaires" / f"{name}.yaml")
    from_xlsform = load_questionnaire(ROOT / "questionnaires" / f"{name}.xlsx")
    assert from_xlsform == from_yaml
    assert from_xlsform.question("q5_factors" if name == "disconnect_phone" else "department").choice("other").specify


@pytest.mark.parametrize("name", ["disconnect_phone", "staff_interview"])
def test_export_writes_an_xlsform_that_pyxform_converts(name: str, tmp_path: Path) -> None:
    target = tmp_path / f"{name}.xlsx"
    result = run("questionnaire", "export", name, "--format", "xlsform", "--output", str(target))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    converted = convert(xlsform=str(target), warnings=[])
    assert f'id="{name}"' in converted.xform and "<h:title>" in converted.xform
    assert load_questionnaire(target) == load_questionnaire(ROOT / "questionnaires" / f"{name}.yaml")


def test_export_of_every_feature_round_trips(features: Path, tmp_path: Path) -> None:
    form = read_xlsform(features)
    again = tmp_path / "again.xlsx"
    write_xlsform(form, again)
    convert(xlsform=str(again), warnings=[])
    assert read_xlsform(again) == form


def test_export_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    target = tmp_path / "d.xlsx"
    target.write_bytes(b"keep me")
    result = run("questionnaire", "export", "disconnect_phone", "--output", str(target))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert target.read_bytes() == b"keep me"
    assert run("questionnaire", "export", "disconnect_phone", "-o", str(target), "--force").exit_code == 0  # type: ignore[attr-defined]
    assert load_questionnaire(target).id == "disconnect_phone"


# -- the import command -----------------------------------------------------------------------------


def test_import_writes_yaml_that_loads_as_the_same_questionnaire(features: Path, tmp_path: Path) -> None:
    output = tmp_path / "churn_form.yaml"
    result = run("questionnaire", "import", str(features), "--output", str(output))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert load_questionnaire(output) == read_xlsform(features)
    assert run("questionnaire", "check", str(output)).exit_code == 0  # type: ignore[attr-defined]
    english = tmp_path / "english.yaml"
    assert run("questionnaire", "import", str(features), "-o", str(english), "--language", "en").exit_code == 0  # type: ignore[attr-defined]
    assert load_questionnaire(english).question("consent").text == "OK?"


def test_a_refused_import_writes_nothing_and_names_every_row(tmp_path: Path) -> None:
    md = tmp_path / "bad.md"
    md.write_text(
        "| survey |\n| | type | name | label | relevant |\n| | text | a | A | |\n"
        "| | begin repeat | r | R | |\n| | image | photo | Photo | |\n| | end repeat | | | |\n"
        "| | text | b | B | pulldata('f', 'c', 'k', ${a}) = 1 |\n",
        "utf-8",
    )
    form = workbook(md, tmp_path)
    output = tmp_path / "bad.yaml"
    runner = CliRunner()
    result = runner.invoke(cli, ["questionnaire", "import", str(form), "--output", str(output)])
    assert result.exit_code == 1
    assert not output.exists()
    assert "Traceback" not in result.output
    assert "sheet survey, row 3, column type: [r] repeats cannot be run in the app" in result.output
    assert "sheet survey, row 4, column type: [photo] the question type 'image' cannot be run" in result.output
    assert "sheet survey, row 6, column relevant: [b] the app cannot run this expression" in result.output


def test_a_file_that_is_no_spreadsheet_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    result = CliRunner().invoke(cli, ["questionnaire", "import", str(broken)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "broken.xlsx" in result.output


def test_tui_runs_an_xlsform_directly(features: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from survey_tui.app import SurveyApp

    ran: list[SurveyApp] = []
    monkeypatch.setattr(SurveyApp, "run", lambda self, *a, **k: ran.append(self))
    db = tmp_path / "s.db"
    result = run("tui", "--db", str(db), "--questionnaire", str(features), "--language", "zh", "--agent", "a1")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    [app] = ran
    assert app.questionnaire.id == "churn_form" and app.questionnaire.question("region").text == "您在哪个区？"
    bad = tmp_path / "bad.md"
    bad.write_text("| survey |\n| | type | name | label |\n| | geotrace | g | G |\n", "utf-8")
    refused = CliRunner().invoke(cli, ["tui", "--db", str(db), "--questionnaire", str(workbook(bad, tmp_path))])
    assert refused.exit_code == 1 and "row 2, column type" in refused.output


def test_special_answers_travel_in_their_own_column(tmp_path: Path) -> None:
    staff = load_questionnaire(ROOT / "questionnaires" / "staff_interview.xlsx")
    assert staff.question("years_of_service").special == (SpecialAnswer.REFUSED,)
    assert staff.question("notes").special == ()
