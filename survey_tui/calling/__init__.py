"""Calling: the rules of the call centre, without Textual, shared by the app's screens and the CLI.

- `queue`: the next case (the one held first, then due callbacks, then the list; claimed atomically)
- `call`: one call: the interview begun or resumed in one transaction, the outcome recorded
  with the last-attempt rule
- `interviews`: an interview in progress, and staff interviews
- `outbox`: writes that are never lost, as typed operations that replay across versions
- `call_list`: call-list files read and imported
- `callbacks`: callback appointment times
- `supervisor`: progress and AAPOR rates per agent
- `desk`: all of it for one agent, as the app's screens take it
"""

from survey_tui.calling.call import Call
from survey_tui.calling.desk import Desk
from survey_tui.calling.interviews import InterviewEnded, InterviewSession, SaveResult
from survey_tui.calling.outbox import Outbox
from survey_tui.store import Attempt, Case, StoreError, StoreUnavailable

__all__ = [
    "Attempt",
    "Call",
    "Case",
    "Desk",
    "InterviewEnded",
    "InterviewSession",
    "Outbox",
    "SaveResult",
    "StoreError",
    "StoreUnavailable",
]
