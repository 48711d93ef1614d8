"""A study: a questionnaire as research reads it, every question of every version the store holds.

Everything the research side makes follows the questionnaire: the exports have a column for
every question (of the newest version, then any that only older versions asked, then any id
the store has answers for that no version describes), and the summary tables come from the
questions' `tally` keys (survey_tui.model.questionnaire.STUDY_TALLIES), not from question ids
written into code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from survey_tui.model import Question, Questionnaire, QuestionnaireError, QuestionType, load_questionnaire
from survey_tui.model.files import XLSFORM_SUFFIXES
from survey_tui.model.loader import parse_yaml
from survey_tui.model.questionnaire import SHARED_TALLIES, STUDY_TALLIES, tally_problem
from survey_tui.research.errors import ResearchError
from survey_tui.resources import CUSTOMER_QUESTIONNAIRE, find_questionnaire
from survey_tui.store import Store

# The customer questionnaire of the study, which research commands read unless told otherwise.
DEFAULT_STUDY = CUSTOMER_QUESTIONNAIRE


@dataclass(frozen=True)
class Study:
    """The questionnaire `name` as research reads it: its texts and labels from `questionnaire`
    (the newest version), the questions that take an answer across every version, and the ids
    the store holds answers to that no version describes (exported as they are)."""

    name: str
    questionnaire: Questionnaire
    questions: tuple[Question, ...]
    undescribed: tuple[str, ...] = ()

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    @property
    def answer_ids(self) -> tuple[str, ...]:
        """Every question id whose answers research reads, in export order."""
        return (*(q.id for q in self.questions), *self.undescribed)

    def tallied(self, table: str) -> list[Question]:
        return [q for q in self.questions if q.tally == table]

    def _one(self, table: str) -> Question | None:
        found = self.tallied(table)
        return found[0] if found else None

    @property
    def reasons(self) -> Question | None:
        """The question whose texts are coded into the codebook's reasons (why they left)."""
        return self._one("reasons")

    @property
    def competitors(self) -> Question | None:
        """The question of the operator the customer uses now."""
        return self._one("competitors")

    @property
    def choice_reasons(self) -> Question | None:
        """The question of why they chose that operator."""
        return self._one("choice_reasons")

    @property
    def themes(self) -> list[Question]:
        """Staff interviews: the questions whose texts `themes` reads."""
        return self.tallied("themes")

    @property
    def choice_tables(self) -> list[Question]:
        """The choice questions with a table of respondents per choice, by the table's name."""
        return [q for q in self.questions if q.tally and q.tally not in STUDY_TALLIES]


def load_study(store: Store, name_or_file: str = DEFAULT_STUDY, *, language: str | None = None) -> Study:
    """The study of a questionnaire id (or file: its id) with every version the store registered.

    The texts are those of the file given, else of the newest version registered, else of the
    shipped questionnaire of that id. A version registered before questionnaires declared their
    tables (the `tally` key) takes its declarations from the file or shipped questionnaire of
    the same id, so that an older store keeps its tables.
    """
    given = _given_file(name_or_file, language)
    name = given.id if given is not None else name_or_file
    registered = [
        _parsed(row.content, row.name, row.version, row.content_hash) for row in store.list_questionnaires(name)
    ]
    versions = [version for version in reversed(registered) if version is not None]
    shipped = None if given is not None else _shipped(name, language)
    instruments = [i for i in (given, *versions) if i is not None]
    if not instruments and shipped is not None:
        instruments = [shipped]
    if not instruments:
        raise ResearchError(f"no questionnaire {name!r}: none is registered in {store.location} and none is shipped")
    lenders = [*instruments, *([shipped] if shipped is not None else [])]
    questions = _merged(instruments, lenders)
    known = {q.id for q in questions} | {q.id for i in instruments for q in i.questions}
    undescribed = tuple(qid for qid in store.question_ids(name) if qid not in known)
    return Study(name, instruments[0], questions, undescribed)


def study_names(store: Store) -> list[str]:
    """The ids of the questionnaires the store has registered, in the order first registered."""
    return list(dict.fromkeys(row.name for row in store.list_questionnaires()))


def _given_file(name_or_file: str, language: str | None) -> Questionnaire | None:
    path = Path(name_or_file).expanduser()
    if path.suffix.lower() in (".yaml", ".yml", *XLSFORM_SUFFIXES) or path.is_file():
        return load_questionnaire(path, language=language)
    return None


def _shipped(name: str, language: str | None) -> Questionnaire | None:
    path = find_questionnaire(name)
    return load_questionnaire(path, language=language) if path.is_file() else None


def _parsed(content: str, name: str, version: str, content_hash: str) -> Questionnaire | None:
    """A registered version from the source the store kept; None when this version cannot read it
    (its answers are still exported, as undescribed questions)."""
    try:
        return parse_yaml(content, name=f"{name} version {version} (as registered)", content_hash=content_hash)
    except QuestionnaireError:
        return None


def _merged(instruments: list[Questionnaire], lenders: list[Questionnaire]) -> tuple[Question, ...]:
    """The questions that take an answer, the first instrument's order first; each as its first
    instrument has it, its `tally` from the first instrument (or lender) that declares one."""
    merged: dict[str, Question] = {}
    for instrument in instruments:
        for question in instrument.answerable:
            merged.setdefault(question.id, question)
    taken: set[str] = set()
    for question_id, question in merged.items():
        tally = next((q.tally for lender in lenders for q in lender.questions if q.id == question_id and q.tally), None)
        if tally is not None and tally != question.tally and _fits(question, tally, taken):
            merged[question_id] = replace(question, tally=tally)
        if merged[question_id].tally:
            taken.add(str(merged[question_id].tally))
    return tuple(merged.values())


def _fits(question: Question, tally: str, taken: set[str]) -> bool:
    return tally_problem(QuestionType(question.type), tally) is None and (tally not in taken or tally in SHARED_TALLIES)
