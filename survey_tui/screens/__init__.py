"""The screens of the agents' app, one per file with its stylesheet beside it."""

from survey_tui.screens.call_screen import CallScreen
from survey_tui.screens.interview_screen import InterviewScreen
from survey_tui.screens.queue_screen import QueueScreen
from survey_tui.screens.review_screen import ReviewScreen
from survey_tui.screens.supervisor_screen import SupervisorScreen

__all__ = ["CallScreen", "InterviewScreen", "QueueScreen", "ReviewScreen", "SupervisorScreen"]
