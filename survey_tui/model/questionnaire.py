"""Typed questionnaire model: questions, groups, choices, special answers and given answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from survey_tui.model.conditions import Condition


class QuestionType(StrEnum):
    """What kind of answer a question takes.

    A `note` is read out and takes none; an `acknowledge` is confirmed with one key (stored as
    "OK", as ODK does); a `calculate` is never shown: its value is computed from earlier answers
    and stored with them.
    """

    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    YES_NO = "yes_no"
    ACKNOWLEDGE = "acknowledge"
    NOTE = "note"
    CALCULATE = "calculate"


CHOICE_TYPES = frozenset(
    {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.YES_NO, QuestionType.ACKNOWLEDGE}
)
# Choice types whose choices the researcher lists (the others have theirs built in).
LISTED_CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE})
TEXT_TYPES = frozenset({QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT})
NUMBER_TYPES = frozenset({QuestionType.INTEGER, QuestionType.DECIMAL})


# `tally:` names the summary table of the study that counts a question's answers, so that the
# research side follows the questionnaire instead of knowing question ids. These names have the
# study's own meaning; any other name is a table of respondents per choice of a choice question.
STUDY_TALLIES: MappingProxyType[str, frozenset[QuestionType]] = MappingProxyType(
    {
        # Why the customer left, in their words: coded into the codebook's reasons (`code`), the
        # reasons table and its cross-tabs.
        "reasons": TEXT_TYPES,
        # The operator the customer uses now, its codes those of coding.ids.COMPETITORS.
        "competitors": frozenset({QuestionType.SINGLE_CHOICE}),
        # Why they chose that operator: coded with data/competitor_reasons.yaml.
        "choice_reasons": TEXT_TYPES,
        # Staff interviews: the texts `churn-survey themes` reads for terms and themes.
        "themes": TEXT_TYPES,
    }
)
TALLY_CHOICE_TYPES = frozenset({QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.YES_NO})
# Tables every study has, and the cross-tabs of the reasons: not names a question can take.
RESERVED_TALLIES = frozenset({"call_outcomes", "response_rates"})
# A name several questions may share (their texts are read together).
SHARED_TALLIES = frozenset({"themes"})


def tally_problem(qtype: QuestionType, tally: str) -> str | None:
    """Why a question of type `qtype` cannot be tallied in the table `tally`, or None."""
    if not tally.isidentifier() or not tally.isascii():
        return f"tally '{tally}' must be a name of letters, digits and _"
    if tally in RESERVED_TALLIES or tally.startswith("reasons_by_"):
        return f"tally '{tally}' is a table of every study; choose another name"
    if tally in STUDY_TALLIES:
        fits = STUDY_TALLIES[tally]
        if qtype not in fits:
            kinds = " or ".join(sorted(t.value for t in fits))
            return f"tally '{tally}' counts {kinds} questions, not {qtype.value}"
        return None
    if qtype not in TALLY_CHOICE_TYPES:
        return f"tally '{tally}' is a table of respondents per choice: only a choice question takes it"
    return None


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
    # Extra columns of the choice (XLSForm choices sheet), which a choice_filter can test.
    columns: tuple[tuple[str, str], ...] = ()

    def column_values(self) -> dict[str, str]:
        """What a choice_filter sees: `name` and `label` and the extra columns."""
        return {"name": self.code, "label": self.label, **dict(self.columns)}


@dataclass(frozen=True)
class Group:
    """A group of questions (XLSForm begin group/end group): asked only while it is relevant."""

    id: str
    label: str | None = None
    relevant: Condition | None = None
    parent: str | None = None
    line: int = field(default=0, compare=False)


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
    required_message: str | None = None
    # The answer offered when the question is first shown, written as in XLSForm: a number,
    # a date (YYYY-MM-DD), a choice code, or codes separated by spaces for a multiple choice.
    default: str | None = None
    choice_filter: Condition | None = None  # which choices are offered, tested on each one
    calculation: Condition | None = None  # the value of a calculate
    group: str | None = None  # the innermost group the question is in
    # The summary table of the study that counts this question's answers (see STUDY_TALLIES).
    tally: str | None = None
    line: int = field(default=0, compare=False)

    @property
    def takes_answer(self) -> bool:
        """Whether a value is stored for it (a calculate's is computed, not asked)."""
        return self.type is not QuestionType.NOTE

    @property
    def is_shown(self) -> bool:
        """Whether the agent sees it: everything but a calculate."""
        return self.type is not QuestionType.CALCULATE

    @property
    def is_asked(self) -> bool:
        """Whether the agent enters an answer for it."""
        return self.takes_answer and self.is_shown

    @property
    def is_choice(self) -> bool:
        return self.type in CHOICE_TYPES

    def choice(self, code: str) -> Choice | None:
        for choice in self.choices:
            if choice.code == code:
                return choice
        return None


YES_NO_CHOICES = (Choice("yes", "是"), Choice("no", "否"))
# ODK stores "OK" for an acknowledged acknowledge question.
ACKNOWLEDGE_CHOICES = (Choice("OK", "确认"),)


@dataclass(frozen=True)
class Answer:
    """What the respondent said to one question.

    `value` is a choice code (single choice, yes/no, acknowledge), a list of codes (multiple
    choice), an int (integer), an int or float (decimal), an ISO date string (date), a str (text)
    or a computed value (calculate); it is None when `special` holds "don't know" or "refused".
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
    """An instrument: settings for its placeholders, its questions in order and their groups.

    Two instruments are equal when their content is, wherever it was read from.
    """

    id: str
    version: str
    title: str
    questions: tuple[Question, ...]
    settings: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str | None = None
    groups: tuple[Group, ...] = ()
    source: Path | None = field(default=None, compare=False)
    content_hash: str = field(default="", compare=False)
    # The text registered with the store as the instrument's source (YAML); None: read `source`.
    content: str | None = field(default=None, compare=False, repr=False)

    def group(self, group_id: str) -> Group:
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    def group_path(self, question: Question) -> tuple[Group, ...]:
        """The groups `question` is in, outermost first."""
        path: list[Group] = []
        group_id = question.group
        while group_id is not None:
            group = self.group(group_id)
            path.append(group)
            group_id = group.parent
        return tuple(reversed(path))

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
