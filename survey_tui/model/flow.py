"""Interview flow: which question comes next, skip logic, answer validation and texts to read."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from survey_tui.model.placeholders import fill
from survey_tui.model.questionnaire import Answer, Choice, Question, Questionnaire, QuestionType

# A long interview answer is some thousands of characters; far more is a paste gone wrong.
MAX_TEXT_CHARS = 100_000


def condition_values(answers: Mapping[str, Answer]) -> dict[str, Any]:
    """Answers as conditions see them: a special answer counts as no answer."""
    return {qid: (None if answer.special is not None else answer.value) for qid, answer in answers.items()}


def is_relevant(question: Question, answers: Mapping[str, Answer], questionnaire: Questionnaire | None = None) -> bool:
    """Whether `question` is asked, given the answers so far; with `questionnaire`, its groups count too."""
    conditions = [g.relevant for g in questionnaire.group_path(question)] if questionnaire is not None else []
    conditions.append(question.relevant)
    if all(c is None for c in conditions):
        return True
    values = condition_values(answers)
    return all(c.evaluate(values) for c in conditions if c is not None)


def relevant_questions(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Question]:
    """The questions asked for these answers, in order; later answers do not hide earlier ones."""
    return [q for q in questionnaire.questions if is_relevant(q, answers, questionnaire)]


def next_question(
    questionnaire: Questionnaire, answers: Mapping[str, Answer], after: str | None = None
) -> Question | None:
    """The first relevant question shown after `after` (from the start when None); None at the end."""
    start = 0 if after is None else questionnaire.index(after) + 1
    for question in questionnaire.questions[start:]:
        if question.is_shown and is_relevant(question, answers, questionnaire):
            return question
    return None


def previous_question(questionnaire: Questionnaire, answers: Mapping[str, Answer], before: str) -> Question | None:
    """The nearest relevant question shown before `before`; None at the start."""
    for question in reversed(questionnaire.questions[: questionnaire.index(before)]):
        if question.is_shown and is_relevant(question, answers, questionnaire):
            return question
    return None


def asked_questions(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Question]:
    """The relevant questions the agent enters an answer for (no notes, no calculates)."""
    return [q for q in relevant_questions(questionnaire, answers) if q.is_asked]


def first_unanswered(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> Question | None:
    """Where a resumed interview picks up: the first relevant question still without an answer."""
    for question in asked_questions(questionnaire, answers):
        if not (question.id in answers and answers[question.id].is_given):
            return question
    return None


def progress(questionnaire: Questionnaire, answers: Mapping[str, Answer], current: str) -> tuple[int, int]:
    """(position, total) of `current` among the relevant questions that take an answer."""
    asked = [q.id for q in asked_questions(questionnaire, answers)]
    position = asked.index(current) + 1 if current in asked else len(asked)
    return position, len(asked)


def visible_choices(question: Question, answers: Mapping[str, Answer]) -> tuple[Choice, ...]:
    """The choices offered for these answers: all of them, or those its choice_filter keeps."""
    if question.choice_filter is None:
        return question.choices
    values = condition_values(answers)
    return tuple(c for c in question.choices if question.choice_filter.evaluate(values, row=c.column_values()))


def calculated_values(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> dict[str, Any]:
    """The value of every calculate for these answers, in order, each seeing the ones before it.

    A calculate that is not relevant has no value (None), as in ODK.
    """
    known = dict(answers)
    results: dict[str, Any] = {}
    for question in questionnaire.questions:
        if question.calculation is None:
            continue
        value = None
        if is_relevant(question, known, questionnaire):
            value = _stored_form(question.calculation.value(condition_values(known)))
        results[question.id] = value
        known[question.id] = Answer(value)
    return results


def _stored_form(value: object) -> Any:
    """A computed value as the store keeps it: numbers stay numbers, NaN and '' become None."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value)
    if value == "":
        return None
    return value


_DATE_TEXT = re.compile(r"\s*([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?\s*")


def parse_date(text: str) -> str | None:
    """An ISO date (YYYY-MM-DD) from what an agent types: 2024-05-01, 2024/5/1, 2024年5月1日."""
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3))).isoformat()
    except ValueError:
        return None


def parse_number(text: str, question_type: QuestionType) -> int | float | None:
    """An integer or decimal answer from typed text; None when it is not one."""
    text = text.strip()
    try:
        if question_type is QuestionType.INTEGER:
            return int(text)
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or "e" in text.lower():
        return None
    return int(number) if number.is_integer() and "." not in text else number


def default_answer(question: Question) -> Answer | None:
    """The answer a question offers before the agent gives one, from its `default`."""
    if question.default is None:
        return None
    text = question.default
    if question.type is QuestionType.MULTIPLE_CHOICE:
        return Answer(text.split())
    if question.type in (QuestionType.INTEGER, QuestionType.DECIMAL):
        number = parse_number(text, question.type)
        return Answer(number) if number is not None else None
    if question.type is QuestionType.DATE:
        parsed = parse_date(text)
        return Answer(parsed) if parsed else None
    return Answer(text)


def render(text: str, questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> str:
    """A question text or hint with its placeholders filled."""
    by_id = {q.id: q for q in questionnaire.questions}
    return fill(text, questionnaire.settings, by_id, answers)


def validate(question: Question, answer: Answer, answers: Mapping[str, Answer]) -> str | None:
    """Why `answer` cannot be stored for `question`, or None when it can."""
    if answer.special is not None:
        if answer.special not in question.special:
            return f"'{answer.special.label}' is not allowed for this question"
        return None
    value = answer.value
    if not answer.is_given:
        return (question.required_message or "an answer is required") if question.required else None
    problem = _check_type(question, value, answer.other_text)
    if problem:
        return problem
    if question.choice_filter is not None:
        offered = {c.code for c in visible_choices(question, answers)}
        codes = value if isinstance(value, list) else [value]
        if any(str(code) not in offered for code in codes):
            return "a choice that is not offered for the earlier answers"
    if question.constraint is not None and not question.constraint.evaluate(condition_values(answers), current=value):
        return question.constraint_message or "the answer is outside the allowed range"
    return None


def _check_type(question: Question, value: Any, other_text: str | None) -> str | None:
    if question.type is QuestionType.NOTE:
        return "a note takes no answer"
    if question.type is QuestionType.CALCULATE:
        return "a calculate is computed, not answered"
    if question.type is QuestionType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return "a whole number is expected"
        return None
    if question.type is QuestionType.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return "a number is expected"
        return None
    if question.type is QuestionType.DATE:
        if not isinstance(value, str) or parse_date(value) != value:
            return "a date (YYYY-MM-DD) is expected"
        return None
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.YES_NO, QuestionType.ACKNOWLEDGE):
        return _check_choice(question, value, other_text)
    if question.type is QuestionType.MULTIPLE_CHOICE:
        if not isinstance(value, list):
            return "a list of choices is expected"
        if len(set(value)) != len(value):
            return "a choice is selected twice"
        for code in value:
            if problem := _check_choice(question, code, other_text):
                return problem
        return None
    if not isinstance(value, str):
        return "text is expected"
    if len(value) > MAX_TEXT_CHARS:
        return f"the answer has {len(value):,} characters; at most {MAX_TEXT_CHARS:,} are kept, shorten it"
    return None


def _check_choice(question: Question, code: Any, other_text: str | None) -> str | None:
    choice = question.choice(str(code))
    if choice is None:
        return f"'{code}' is not one of the choices"
    if choice.specify and not (other_text or "").strip():
        return f"please specify '{choice.label}'"
    return None
