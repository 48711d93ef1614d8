"""Typed questionnaire model: questions, choices, special answers and given answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from survey_tui.model.conditions import Condition


class QuestionType(StrEnum):
    """What kind of answer a question takes; `note` is read out and takes none."""

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    INTEGER = "integer"
    YES_NO = "yes_no"
    NOTE = "note"


CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.YES_NO})
TEXT_TYPES = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT})


class SpecialAnswer(StrEnum):
    """Answers outside the question's own range, each with one key in the app."""

    DONT_KNOW = "dont_know"
    REFUSED = "refused"

    @property
    def label(self) -> str:
        return {"dont_know": "不知道", "refused": "拒答"}[self.value]


@dataclass(frozen=True)
class Choice:
    """One option of a choice question; `code` is stable across versions, `label` is read out."""

    code: str
    label: str
    specify: bool = False  # "other, please specify": selecting it asks for a text


@dataclass(frozen=True)
class Question:
    """One question of an instrument as the agent reads it."""

    id: str
    type: QuestionType
    text: str
    hint: str | None = None
    required: bool = True
    relevant: Condition | None = None
    constraint: Condition | None = None
    constraint_message: str | None = None
    choices: tuple[Choice, ...] = ()
    special: tuple[SpecialAnswer, ...] = ()
    line: int = 0

    @property
    def takes_answer(self) -> bool:
        return self.type is not QuestionType.NOTE

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    def choice(self, code: str) -> Choice | None:
        for choice in self.choices:
            if choice.code == code:
                return choice
        return None


YES_NO_CHOICES = (Choice("yes", "是"), Choice("no", "否"))


@dataclass(frozen=True)
class Answer:
    """What the respondent said to one question.

    `value` is a choice code (single choice, yes/no), a list of codes (multiple choice), an int
    (integer) or a str (text); it is None when `special` holds "don't know" or "refused".
    `other_text` is the specification typed for an "other, please specify" choice.
    """

    value: Any = None
    special: SpecialAnswer | None = None
    other_text: str | None = None

    @property
    def is_given(self) -> bool:
        if self.special is not None:
            return True
        return self.value not in (None, "", [])


@dataclass(frozen=True)
class Questionnaire:
    """An instrument: settings for its placeholders and its questions in order."""

    id: str
    version: str
    title: str
    questions: tuple[Question, ...]
    settings: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str | None = None
    source: Path | None = None
    content_hash: str = ""

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    def index(self, question_id: str) -> int:
        for position, question in enumerate(self.questions):
            if question.id == question_id:
                return position
        raise KeyError(question_id)

    @property
    def answerable(self) -> tuple[Question, ...]:
        return tuple(q for q in self.questions if q.takes_answer)
