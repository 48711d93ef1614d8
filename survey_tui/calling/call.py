"""One call to one customer: earlier attempts, the interview begun or resumed, the outcome recorded."""

from __future__ import annotations

from datetime import UTC, datetime

from survey_tui.calling.interviews import InterviewEnded
from survey_tui.calling.outbox import Outbox
from survey_tui.model.dispositions import Outcome, interview_outcome, is_last_attempt, outcome
from survey_tui.store import Attempt, Begun, Case, Store


class Call:
    """The call to `case` that `agent` is making: from dialling to the outcome of the attempt."""

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        case: Case,
        agent: str,
        *,
        questionnaire_id: int,
        max_attempts: int,
        started_at: datetime | None = None,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.case = case
        self.agent = agent
        self.questionnaire_id = questionnaire_id
        self.max_attempts = max_attempts
        self.started_at = started_at or datetime.now(UTC)

    @property
    def number(self) -> int:
        """Which call to the case this is (1 for the first)."""
        return self.case.attempts + 1

    @property
    def is_last(self) -> bool:
        """Whether this call closes the case whatever its outcome (`--max-attempts`)."""
        return is_last_attempt(self.case.attempts, self.max_attempts)

    def earlier_attempts(self) -> list[Attempt]:
        return self.store.attempts_for(self.case.id)

    def begin_interview(self) -> Begun:
        """The customer is on the line: the case's unfinished interview resumed, else a new one,
        in one transaction."""
        return self.store.begin_interview(self.questionnaire_id, self.agent, case_id=self.case.id)

    def outcome_of(self, ended: InterviewEnded) -> Outcome:
        """The attempt's outcome from how the interview ended. A broken-off interview goes back
        to the queue to be resumed, except on the last call, where it is final: partial or
        break-off by AAPOR's rule."""
        if ended.complete or self.is_last:
            return interview_outcome(ended.answered, ended.applicable, finished=ended.complete)
        return outcome("break_off")

    def record(self, chosen: Outcome, *, note: str | None = None, callback_at: datetime | None = None) -> bool:
        """Store the attempt through the outbox (spooled if the database is away); True when it
        is in the store. The store applies the last-attempt rule in the same transaction."""
        return self.outbox.record_attempt(
            self.case.id,
            self.agent,
            chosen.code,
            aapor_code=chosen.aapor_code,
            started_at=self.started_at,
            ended_at=datetime.now(UTC),
            note=note,
            callback_at=callback_at,
            final=chosen.final,
            max_attempts=self.max_attempts,
        )

    def put_back(self) -> None:
        """The case goes back to the queue untouched: it was not dialled."""
        self.store.release_case(self.case.id, self.agent)
