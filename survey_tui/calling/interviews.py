"""Interviews: one in progress (the current question, answers saved through the outbox, going back,
the end), how one is begun or resumed for a case or a member of staff."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from survey_tui.calling.outbox import Outbox
from survey_tui.model import flow
from survey_tui.model.questionnaire import Answer, Choice, Question, Questionnaire
from survey_tui.store import Begun, Store, StoredAnswer

# Control characters other than newline and tab come from pasting (terminal colour codes, a
# stray bell or NUL); they are invisible to the agent and would only reach the exports.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def typed_text(text: str) -> str:
    """Text as the agent sees it: line breaks as \\n, invisible control characters dropped."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _cleaned(answer: Answer) -> Answer:
    value = typed_text(answer.value) if isinstance(answer.value, str) else answer.value
    other = typed_text(answer.other_text) if answer.other_text is not None else None
    if value == answer.value and other == answer.other_text:
        return answer
    return Answer(value.strip() or None if isinstance(value, str) else value, answer.special, other)


@dataclass(frozen=True)
class SaveResult:
    """What happened to an answer: refused with a reason, or saved (in the store or spooled)."""

    problem: str | None = None
    in_store: bool = True


@dataclass(frozen=True)
class InterviewEnded:
    """How an interview ended, for the call's outcome: complete or broken off (with the reason),
    and how many of the questions that applied were answered (AAPOR's partial rule)."""

    complete: bool
    answered: int
    applicable: int
    reason: str | None = None


def begin_staff_interview(store: Store, questionnaire_id: int, agent: str) -> Begun:
    """This researcher's unfinished staff interview of the instrument, reopened, else a new one."""
    return store.begin_interview(questionnaire_id, agent)


def open_session(store: Store, outbox: Outbox, questionnaire: Questionnaire, interview_id: int) -> InterviewSession:
    """The interview as stored so far, ready to go on at its first unanswered question."""
    return InterviewSession(questionnaire, outbox, interview_id, store.answers_for(interview_id))


class InterviewSession:
    """Walks a questionnaire for one interview; every answer is written before moving on."""

    def __init__(
        self,
        questionnaire: Questionnaire,
        outbox: Outbox,
        interview_id: int,
        stored: dict[str, StoredAnswer] | None = None,
    ) -> None:
        self.questionnaire = questionnaire
        self.outbox = outbox
        self.interview_id = interview_id
        stored = stored or {}
        self.answers: dict[str, Answer] = {qid: s.answer for qid, s in stored.items() if not s.draft}
        self.drafts: dict[str, str] = {qid: str(s.answer.value or "") for qid, s in stored.items() if s.draft}
        self.current: Question | None = None
        self.shown_at: datetime | None = None

    # -- where we are ----------------------------------------------------------------------------

    def start(self) -> Question | None:
        """The question to show first: the first unanswered one (the intro for a new interview)."""
        fresh = not self.answers and not self.drafts
        self.recalculate()
        if fresh:
            return self.show(flow.next_question(self.questionnaire, self.answers))
        return self.show(flow.first_unanswered(self.questionnaire, self.answers))

    def recalculate(self) -> bool:
        """Store the calculates whose value the answers changed, as ODK recalculates on every change.

        True when everything reached the store (False: some wait in the spool)."""
        in_store = True
        for question_id, value in flow.calculated_values(self.questionnaire, self.answers).items():
            known = self.answers.get(question_id)
            if (known.value if known else None) == value:
                continue
            computed = Answer(value)
            in_store = self.outbox.save_answer(self.interview_id, question_id, computed) and in_store
            self.answers[question_id] = computed
        return in_store

    def show(self, question: Question | None) -> Question | None:
        self.current = question
        self.shown_at = datetime.now(UTC)
        return question

    @property
    def finished(self) -> bool:
        return self.current is None

    def text(self, question: Question) -> str:
        return flow.render(question.text, self.questionnaire, self.answers)

    def render(self, text: str) -> str:
        """Any text of the questionnaire (a group label, say) with its placeholders filled."""
        return flow.render(text, self.questionnaire, self.answers)

    def hint(self, question: Question) -> str | None:
        return flow.render(question.hint, self.questionnaire, self.answers) if question.hint else None

    def progress(self) -> tuple[int, int]:
        if self.current is None:
            total = len(flow.asked_questions(self.questionnaire, self.answers))
            return total, total
        return flow.progress(self.questionnaire, self.answers, self.current.id)

    def answered_share(self) -> tuple[int, int]:
        """(answered, applicable) among the questions asked so far, for the AAPOR partial rule."""
        asked = flow.asked_questions(self.questionnaire, self.answers)
        answered = sum(1 for q in asked if q.id in self.answers and self.answers[q.id].is_given)
        return answered, len(asked)

    # -- moving ------------------------------------------------------------------------------

    def answer(self, answer: Answer) -> SaveResult:
        """Validate and save the answer to the current question, then move to the next one."""
        question = self.current
        if question is None:
            return SaveResult("the interview is finished")
        if not question.takes_answer:
            self.show(flow.next_question(self.questionnaire, self.answers, after=question.id))
            return SaveResult()
        answer = _cleaned(answer)
        problem = flow.validate(question, answer, self.answers)
        if problem:
            return SaveResult(problem)
        in_store = self.outbox.save_answer(
            self.interview_id,
            question.id,
            answer,
            shown_at=self.shown_at,
            answered_at=datetime.now(UTC),
        )
        self.answers[question.id] = answer
        self.drafts.pop(question.id, None)
        in_store = self.recalculate() and in_store
        self.show(flow.next_question(self.questionnaire, self.answers, after=question.id))
        return SaveResult(in_store=in_store)

    def choices(self, question: Question) -> tuple[Choice, ...]:
        """The choices offered now (a choice_filter keeps those that fit the earlier answers)."""
        return flow.visible_choices(question, self.answers)

    def save_draft(self, text: str) -> bool:
        """Keep text still being typed (long answers); True when it reached the store."""
        question = self.current
        text = typed_text(text)
        if question is None or self.drafts.get(question.id) == text or len(text) > flow.MAX_TEXT_CHARS:
            # Past the limit the answer will be refused anyway; the agent is told when moving on.
            return True
        self.drafts[question.id] = text
        return self.outbox.save_answer(
            self.interview_id,
            question.id,
            Answer(text),
            shown_at=self.shown_at,
            answered_at=datetime.now(UTC),
            draft=True,
        )

    def back(self) -> Question | None:
        """Go to the previous relevant question; later answers are kept."""
        if self.current is None:
            relevant = [q for q in flow.relevant_questions(self.questionnaire, self.answers) if q.is_shown]
            return self.show(relevant[-1]) if relevant else None
        previous = flow.previous_question(self.questionnaire, self.answers, self.current.id)
        if previous is None:
            return self.current
        return self.show(previous)

    # -- the end -----------------------------------------------------------------------------

    def finish(self) -> InterviewEnded:
        """Close the interview as complete (every question done)."""
        self.outbox.finish_interview(self.interview_id, "complete")
        return InterviewEnded(True, *self.answered_share())

    def break_off(self, reason: str) -> InterviewEnded:
        """Close the interview as broken off, its answers kept; it is resumed at the next call."""
        self.outbox.finish_interview(self.interview_id, "break_off", reason=reason)
        return InterviewEnded(False, *self.answered_share(), reason=f"中断：{reason}")
