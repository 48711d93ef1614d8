"""An agent's desk: one agent's work on one store, every step the app's screens take, without Textual."""

from __future__ import annotations

from survey_tui.calling import queue
from survey_tui.calling.call import Call
from survey_tui.calling.interviews import InterviewSession, begin_staff_interview, open_session
from survey_tui.calling.outbox import Outbox
from survey_tui.calling.supervisor import AgentProgress, progress_by_agent
from survey_tui.model.questionnaire import Questionnaire
from survey_tui.store import Begun, Case, Store


class Desk:
    """The queue, the calls, the interviews and the staff interviews of `agent`.

    The app's screens call these methods and nothing below them; each is one step of the
    agent's (a key on a screen), and a test or a script can take them the same way.
    """

    def __init__(
        self,
        store: Store,
        outbox: Outbox,
        agent: str,
        *,
        questionnaire: Questionnaire,
        staff_questionnaire: Questionnaire,
        max_attempts: int,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.agent = agent
        self.questionnaire = questionnaire
        self.staff_questionnaire = staff_questionnaire
        self.max_attempts = max_attempts
        self.questionnaire_ids: dict[str, int] = {}

    def open(self) -> None:
        """Register the instruments (the store keeps the exact source of each) and replay what
        waits in the spool since the last run."""
        for instrument in (self.questionnaire, self.staff_questionnaire):
            self.questionnaire_ids[instrument.id] = self.store.register_questionnaire(instrument)
        self.outbox.flush()

    @property
    def location(self) -> str:
        return self.store.location

    # -- the queue -------------------------------------------------------------------------------

    def today(self) -> queue.Today:
        return queue.today(self.store, self.agent)

    def next_case(self) -> Case | None:
        return queue.next_case(self.store, self.agent)

    def call(self, case: Case) -> Call:
        """The call to a case just taken from the queue."""
        return Call(
            self.store,
            self.outbox,
            case,
            self.agent,
            questionnaire_id=self.questionnaire_ids[self.questionnaire.id],
            max_attempts=self.max_attempts,
        )

    # -- interviews ------------------------------------------------------------------------------

    def staff_interview(self) -> Begun:
        """This researcher's unfinished staff interview, reopened, else a new one."""
        return begin_staff_interview(self.store, self.questionnaire_ids[self.staff_questionnaire.id], self.agent)

    def interview(self, questionnaire: Questionnaire, interview_id: int) -> InterviewSession:
        """An interview begun (by a call or as a staff interview), as stored so far."""
        return open_session(self.store, self.outbox, questionnaire, interview_id)

    # -- the supervisor ----------------------------------------------------------------------------

    def progress(self) -> list[AgentProgress]:
        return progress_by_agent(self.store)
