"""Questionnaires as data: the shipped instruments, every kind of broken file, skip logic, placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_tui.model import (
    Answer,
    QuestionnaireError,
    QuestionType,
    SpecialAnswer,
    check_questionnaire,
    flow,
    load_questionnaire,
)
from tests.conftest import ROOT

DISCONNECT = ROOT / "questionnaires" / "disconnect_phone.yaml"
STAFF = ROOT / "questionnaires" / "staff_interview.yaml"


def test_disconnect_phone_is_faithful_to_the_study() -> None:
    q = load_questionnaire(DISCONNECT)
    assert [x.id for x in q.answerable] == [
        "q1_operator",
        "q2_competitor_reason",
        "q3_leave_reason",
        "q4_retention_call",
        "q5_factors",
        "q6_package_pref",
    ]
    assert [c.code for c in q.question("q1_operator").choices] == [
        "china_telecom",
        "china_mobile",
        "china_unicom",
        "china_broadnet",
        "other_isp",
        "none",
    ]
    assert q.question("q1_operator").choice("other_isp").specify
    assert [c.code for c in q.question("q4_retention_call").choices] == ["yes", "no", "not_sure"]
    assert [c.code for c in q.question("q5_factors").choices] == [
        "price",
        "speed",
        "service",
        "install",
        "bundle",
        "brand",
        "other",
    ]
    assert q.question("q5_factors").type is QuestionType.MULTIPLE_CHOICE
    assert [c.code for c in q.question("q6_package_pref").choices] == ["single", "fusion", "no_preference"]
    intro = flow.render(q.question("intro").text, q, {})
    assert intro == "您好，这里是邵阳电信客服部，为提高电信宽带业务水平，特向您咨询以下几个问题"
    assert q.question("closing").text == "感谢您的支持与配合！祝您和家人健康快乐！"
    assert len(q.content_hash) == 64


def test_staff_interview_asks_the_two_open_questions_of_the_study() -> None:
    q = load_questionnaire(STAFF)
    ids = [x.id for x in q.answerable]
    assert ids[:5] == ["staff_id", "department", "role", "branch", "years_of_service"]
    assert q.question("q_churn_reasons").type is QuestionType.LONG_TEXT
    assert "政企宽带" in q.question("q_retention_means").text
    assert q.question("notes").required is False
    years = q.question("years_of_service")
    assert flow.validate(years, Answer(60), {}) == "工作年限应在 0 到 50 年之间"
    assert flow.validate(years, Answer(8), {}) is None


@pytest.mark.parametrize(
    ("operator", "asked"),
    [
        ("china_mobile", True),
        ("china_unicom", True),
        ("other_isp", True),
        ("china_telecom", False),
        ("none", False),
        (None, False),
    ],
)
def test_q2_is_asked_only_of_competitor_users(operator: str | None, asked: bool) -> None:
    q = load_questionnaire(DISCONNECT)
    answers = {"q1_operator": Answer(operator)} if operator else {}
    following = flow.next_question(q, answers, after="q1_operator")
    assert (following.id == "q2_competitor_reason") is asked
    if not asked:
        assert following.id == "q3_leave_reason"


def test_a_refused_q1_skips_q2() -> None:
    q = load_questionnaire(DISCONNECT)
    answers = {"q1_operator": Answer(special=SpecialAnswer.REFUSED)}
    assert flow.next_question(q, answers, after="q1_operator").id == "q3_leave_reason"


def test_q2_names_the_operator_chosen_or_specified() -> None:
    q = load_questionnaire(DISCONNECT)
    q2 = q.question("q2_competitor_reason")
    assert flow.render(q2.text, q, {"q1_operator": Answer("china_mobile")}) == (
        "请问您选择中国移动宽带的原因是什么呢？"
    )
    specified = {"q1_operator": Answer("other_isp", other_text="长城宽带")}
    assert flow.render(q2.text, q, specified) == "请问您选择长城宽带宽带的原因是什么呢？"


def test_going_back_keeps_later_answers_and_reapplies_conditions() -> None:
    q = load_questionnaire(DISCONNECT)
    answers = {
        "q1_operator": Answer("china_mobile"),
        "q2_competitor_reason": Answer("送的"),
        "q3_leave_reason": Answer("太贵"),
    }
    assert flow.previous_question(q, answers, "q3_leave_reason").id == "q2_competitor_reason"
    answers["q1_operator"] = Answer("china_telecom")
    assert flow.previous_question(q, answers, "q3_leave_reason").id == "q1_operator"
    assert "q2_competitor_reason" in answers
    assert flow.progress(q, answers, "q3_leave_reason") == (2, 5)
    assert flow.first_unanswered(q, answers).id == "q4_retention_call"


def test_validation_of_answers() -> None:
    q = load_questionnaire(DISCONNECT)
    q1, q5 = q.question("q1_operator"), q.question("q5_factors")
    assert flow.validate(q1, Answer("china_mobile"), {}) is None
    assert "not one of the choices" in flow.validate(q1, Answer("cmcc"), {})
    assert "specify" in flow.validate(q1, Answer("other_isp"), {})
    assert flow.validate(q1, Answer(), {}) == "an answer is required"
    assert flow.validate(q1, Answer(special=SpecialAnswer.REFUSED), {}) is None
    assert flow.validate(q5, Answer(["price", "speed"]), {}) is None
    assert "twice" in flow.validate(q5, Answer(["price", "price"]), {})


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    return path


HEADER = "id: broken\nversion: 1\ntitle: 测试\nsettings:\n  company: 某电信\nquestions:\n"


@pytest.mark.parametrize(
    ("questions", "line", "question_id", "message"),
    [
        ("  - id: a\n    type: single\n    text: x\n", 8, "a", "unknown type 'single'"),
        (
            "  - id: a\n    type: short_text\n    text: x\n  - id: a\n    type: short_text\n    text: y\n",
            10,
            "a",
            "duplicate question id (first defined on line 7)",
        ),
        (
            "  - id: a\n    type: short_text\n    text: x\n    relevant: ${zz} = '1'\n",
            10,
            "a",
            "unknown question 'zz'",
        ),
        (
            "  - id: a\n    type: short_text\n    text: x\n    relevant: ${b} = '1'\n"
            "  - id: b\n    type: short_text\n    text: y\n",
            10,
            "a",
            "'b', which comes later",
        ),
        (
            "  - id: a\n    type: single_choice\n    text: x\n    choices:\n"
            "      - {code: x1, label: 一}\n      - {code: x1, label: 二}\n",
            12,
            "a",
            "duplicate choice code 'x1'",
        ),
        (
            "  - id: a\n    type: short_text\n    text: 您好{operator}\n",
            9,
            "a",
            "placeholder {operator} is neither a setting nor an earlier question",
        ),
        (
            "  - id: a\n    type: short_text\n    text: 您好{b}\n  - id: b\n    type: short_text\n    text: y\n",
            9,
            "a",
            "names a question that comes later",
        ),
        ("  - id: a\n    type: short_text\n    text: x\n    relevant: ${a = 1\n", 10, "a", "relevant:"),
        (
            "  - id: a\n    type: single_choice\n    text: x\n    choices:\n"
            "      - {code: yes1, label: 是}\n  - id: b\n    type: short_text\n    text: y\n"
            "    relevant: ${a} = 'yes2'\n",
            15,
            "b",
            "'yes2' is not a choice code of 'a'",
        ),
        ("  - id: a\n    type: short_text\n    txet: x\n", 9, "a", "unknown key 'txet'"),
        ("  - id: a\n    type: single_choice\n    text: x\n", 7, "a", "needs a non-empty list"),
        (
            "  - id: a\n    type: short_text\n    text: x\n    special: [maybe]\n",
            10,
            "a",
            "unknown special answer 'maybe'",
        ),
    ],
)
def test_each_kind_of_broken_questionnaire_names_file_line_and_question(
    tmp_path: Path, questions: str, line: int, question_id: str, message: str
) -> None:
    path = write(tmp_path, HEADER + questions)
    problems = check_questionnaire(path)
    assert any(p.line == line and p.question_id == question_id and message in p.message for p in problems), [
        str(p) for p in problems
    ]
    assert all(p.file == str(path) for p in problems)
    with pytest.raises(QuestionnaireError):
        load_questionnaire(path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + (
            "  - id: a\n    type: bogus\n    text: x\n"
            "  - id: a\n    type: short_text\n    text: 您好{nobody}\n"
            "  - id: c\n    type: short_text\n    text: y\n    relevant: ${nothing} = '1'\n"
        ),
    )
    assert len(check_questionnaire(path)) == 4
    assert str(check_questionnaire(path)[0]).startswith(f"{path}:8: [a] unknown type 'bogus'")


def test_yaml_syntax_errors_and_non_utf8_files_are_reported_with_a_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "  - id: a\n    type: [short_text\n")
    [problem] = check_questionnaire(path)
    assert problem.line >= 7 and "YAML syntax" in problem.message
    gbk = tmp_path / "gbk.yaml"
    ascii_header = "id: broken\nversion: 1\ntitle: t\nquestions:\n"
    gbk.write_bytes((ascii_header + "  - id: a\n    type: short_text\n    text: 您好\n").encode("gbk"))
    [problem] = check_questionnaire(gbk)
    assert problem.line == 7 and "UTF-8" in problem.message


def test_yes_and_no_stay_codes_not_booleans(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER + "  - id: a\n    type: single_choice\n    text: x\n"
        "    choices:\n      - {code: yes, label: 是}\n      - {code: no, label: 否}\n",
    )
    assert [c.code for c in load_questionnaire(path).question("a").choices] == ["yes", "no"]


FEATURES = """id: features
version: 1
title: 功能
questions:
  - id: region
    type: single_choice
    text: 区？
    required_message: 请选择区
    choices:
      - {code: north, label: 北区}
      - {code: south, label: 南区}
  - id: town
    type: single_choice
    text: 镇？
    choice_filter: region = ${region}
    choices:
      - {code: t1, label: 一镇, columns: {region: north}}
      - {code: t2, label: 二镇, columns: {region: south}}
  - id: fee
    type: decimal
    text: 月费？
    default: '99.5'
  - id: yearly
    type: calculate
    calculation: ${fee} * 12
  - group: cancel
    text: 拆机
    relevant: ${yearly} > 600
    questions:
      - id: when
        type: date
        text: 哪天？
        constraint: . <= today()
  - id: consent
    type: acknowledge
    text: 同意吗？
"""


def test_yaml_takes_every_xlsform_feature(tmp_path: Path) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(FEATURES, encoding="utf-8")
    q = load_questionnaire(path)
    assert [g.id for g in q.groups] == ["cancel"] and q.question("when").group == "cancel"
    assert q.question("consent").choices[0].code == "OK"
    answers = {"region": Answer("north"), "fee": Answer(20.0)}
    assert [c.code for c in flow.visible_choices(q.question("town"), answers)] == ["t1"]
    assert flow.calculated_values(q, answers) == {"yearly": 240}
    assert not flow.is_relevant(q.question("when"), {**answers, "yearly": Answer(240)}, q)
    assert flow.validate(q.question("region"), Answer(), {}) == "请选择区"
    assert flow.validate(q.question("when"), Answer("2024-02-30"), {}) == "a date (YYYY-MM-DD) is expected"
    assert flow.validate(q.question("when"), Answer("2024-02-29"), {}) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("choice_filter: region = ${region}", "choice_filter: province = ${region}"), "'province' is not a column"),
        (("default: '99.5'", "default: cheap"), "default 'cheap' is not a number"),
        (("    calculation: ${fee} * 12\n", ""), "a calculate needs a 'calculation'"),
        (("relevant: ${yearly} > 600", "relevant: ${when} > 600"), "refers to question 'when', which comes later"),
        (("  - id: consent", "  - id: cancel"), "duplicate question id"),
    ],
)
def test_broken_xlsform_features_in_yaml_are_reported(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(FEATURES.replace(*change), encoding="utf-8")
    problems = check_questionnaire(path)
    assert any(message in p.message for p in problems), [str(p) for p in problems]
