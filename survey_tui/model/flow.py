"""Interview flow: which question comes next, skip logic, answer validation and texts to read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from survey_tui.model.placeholders import fill
from survey_tui.model.questionnaire import Answer, Question, Questionnaire, QuestionType

# A long interview answer is some thousands of characters; far more is a paste gone wrong.
MAX_TEXT_CHARS = 100_000


def condition_values(answers: Mapping[str, Answer]) -> dict[str, Any]:
    """Answers as conditions see them: a special answer counts as no answer."""
    return {qid: (None if answer.special is not None else answer.value) for qid, answer in answers.items()}


def is_relevant(question: Question, answers: Mapping[str, Answer]) -> bool:
    """Whether `question` is asked, given the answers so far."""
    if question.relevant is None:
        return True
    return question.relevant.evaluate(condition_values(answers))


def relevant_questions(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> list[Question]:
    """The questions asked for these answers, in order; later answers do not hide earlier ones."""
    return [q for q in questionnaire.questions if is_relevant(q, answers)]


def next_question(
    questionnaire: Questionnaire, answers: Mapping[str, Answer], after: str | None = None
) -> Question | None:
    """The first relevant question after `after` (from the start when None); None at the end."""
    start = 0 if after is None else questionnaire.index(after) + 1
    for question in questionnaire.questions[start:]:
        if is_relevant(question, answers):
            return question
    return None


def previous_question(questionnaire: Questionnaire, answers: Mapping[str, Answer], before: str) -> Question | None:
    """The nearest relevant question before `before`; None at the start."""
    for question in reversed(questionnaire.questions[: questionnaire.index(before)]):
        if is_relevant(question, answers):
            return question
    return None


def first_unanswered(questionnaire: Questionnaire, answers: Mapping[str, Answer]) -> Question | None:
    """Where a resumed interview picks up: the first relevant question still without an answer."""
    for question in relevant_questions(questionnaire, answers):
        if question.takes_answer and not (question.id in answers and answers[question.id].is_given):
            return question
    return None


def progress(questionnaire: Questionnaire, answers: Mapping[str, Answer], current: str) -> tuple[int, int]:
    """(position, total) of `current` among the relevant questions that take an answer."""
    asked = [q.id for q in relevant_questions(questionnaire, answers) if q.takes_answer]
    position = asked.index(current) + 1 if current in asked else len(asked)
    return position, len(asked)


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
        return "an answer is required" if question.required else None
    problem = _check_type(question, value, answer.other_text)
    if problem:
        return problem
    if question.constraint is not None and not question.constraint.evaluate(condition_values(answers), current=value):
        return question.constraint_message or "the answer is outside the allowed range"
    return None


def _check_type(question: Question, value: Any, other_text: str | None) -> str | None:
    if question.type is QuestionType.NOTE:
        return "a note takes no answer"
    if question.type is QuestionType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return "a whole number is expected"
        return None
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.YES_NO):
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
